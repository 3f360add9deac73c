#!/usr/bin/env python3
"""The apply-throughput benchmark (docs/performance.md).

Copies N SSM parameters (default 2,000; half String, half SecureString) from the source account
into a new account while the emulator enforces AWS's per-operation quotas
(`{"quotas": "aws"}`: tests/emulator/orgsplit_emulator/quotas.py; ssm:PutParameter 3/s burst 3,
the GetParameter* group 40/s, one bucket per account and region). In one run:
1. starts a fresh emulator with the `org-only` scenario and seeds the parameters in the source
   account 111111111111 (us-east-1) with the seeder's User-Agent (neither logged nor throttled);
2. runs `orgsplit inventory` and `orgsplit plan` without quotas, then turns the quotas on,
   clears the request log and runs `orgsplit apply plan.json --ou bench --yes`;
3. measures the copy window from the journal (first ssm step `started` to last ssm step
   `succeeded`) and the calls from the request log, per quota group and account; the
   allowed-rate bound is the largest (calls in a group) / (the group's rate);
4. runs the boto3 baseline beside it, same emulator, same quotas: a sequential loop of
   get_parameter(WithDecryption) in the source and put_parameter(Overwrite) in another new
   account, boto3's default retries (legacy mode, default attempts);
5. reads every copied parameter back (decrypted) and compares it with the source.

Prints the figures and a JSON summary; exits 1 when orgsplit misses the target (window <=
1.15 x bound, zero failed steps, apply exit 0, zero mismatches).

    tests/bench/apply-throughput [--count 2000] [--orgsplit target/release/orgsplit] [--json FILE]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "emulator"))
from orgsplit_emulator.process import EmulatorProcess  # noqa: E402  (the emulator's own client)
MANAGEMENT = "123456789012"
SOURCE = "111111111111"
REGION = "us-east-1"
ACCESS_ROLE = "OrganizationAccountAccessRole"
SEED_UA = "orgsplit-emulator-seed"
PREFIX = "/bench/app/"
OU = "bench"
TARGET = 1.15
# A target GetParameter answers 400 for a parameter not there yet, as a throttle does: the log
# has no error code, so those are told apart by count (see throttled()).
THROTTLE_STATUSES = (400,)

CONFIG = """\
# The apply-throughput benchmark (tests/bench/apply_throughput.py).
version = 1
home_region = "us-east-1"
regions = ["us-east-1"]
access_role = "OrganizationAccountAccessRole"

[source]
account_id = "111111111111"

[[ou]]
name = "bench"
environment = "bench"
admin_account = "bench-admin"
stacksets = []

[[account]]
name = "bench-admin"
email = "aws+bench-admin@example.com"
ou = "bench"

[[account]]
name = "bench-workloads"
email = "aws+bench-workloads@example.com"
ou = "bench"
workloads = true

[[rule]]
environment = "bench"
name_pattern = '^/bench/'
"""
WORKLOADS_EMAIL = "aws+bench-workloads@example.com"
BOTO3_EMAIL = "aws+bench-boto3@example.com"


# ------------------------------------------------------------------------------ clients

def client(url: str, service: str, creds: dict, config: Config):
    return boto3.session.Session().client(service, endpoint_url=url, region_name=REGION, config=config, **creds)


def seed_config() -> Config:
    """Neither logged nor throttled by the emulator: setup and read-back, never measured."""
    return Config(user_agent_extra=SEED_UA, retries={"max_attempts": 5, "mode": "standard"},
                  max_pool_connections=16)


MANAGEMENT_CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def assume(url: str, account: str, config: Config) -> dict:
    cr = client(url, "sts", MANAGEMENT_CREDS, config).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{ACCESS_ROLE}", RoleSessionName="bench")["Credentials"]
    return {"aws_access_key_id": cr["AccessKeyId"], "aws_secret_access_key": cr["SecretAccessKey"],
            "aws_session_token": cr["SessionToken"]}


def parameters(count: int) -> dict[str, tuple[str, str]]:
    """name -> (type, value): even numbers String, odd SecureString; values unique per name."""
    out = {}
    for i in range(count):
        kind = "String" if i % 2 == 0 else "SecureString"
        digest = hashlib.sha256(f"bench-{i}".encode()).hexdigest()[:16]
        value = f"value-{i:04d}-{digest}" if kind == "String" else f"secret-{i:04d}-{digest}"
        out[f"{PREFIX}param-{i:04d}"] = (kind, value)
    return out


def seed(url: str, params: dict[str, tuple[str, str]]) -> None:
    ssm = client(url, "ssm", assume(url, SOURCE, seed_config()), seed_config())

    def put(item):
        name, (kind, value) = item
        ssm.put_parameter(Name=name, Value=value, Type=kind, Overwrite=True)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, params.items()))


def seed_org_only(emu, params: dict[str, tuple[str, str]]) -> float:
    """A fresh emulator's `org-only` scenario, then `params` in the source account: the seconds
    the parameters took."""
    seeded = emu.admin("POST", "seed", {"scenario": "org-only"})
    if isinstance(seeded, dict) and seeded.get("error"):
        sys.exit(f"seeding org-only failed: {seeded['error']}")
    t0 = time.monotonic()
    seed(emu.url, params)
    return time.monotonic() - t0


def account_by_email(url: str, email: str) -> str | None:
    org = client(url, "organizations", MANAGEMENT_CREDS, seed_config())
    for page in org.get_paginator("list_accounts").paginate():
        for a in page["Accounts"]:
            if a["Email"].lower() == email:
                return a["Id"]
    return None


def create_account(url: str, email: str, name: str) -> str:
    org = client(url, "organizations", MANAGEMENT_CREDS, seed_config())
    status = org.create_account(Email=email, AccountName=name)["CreateAccountStatus"]
    for _ in range(60):
        if status.get("State") == "SUCCEEDED":
            return status["AccountId"]
        if status.get("State") == "FAILED":
            sys.exit(f"creating account {name} failed: {status.get('FailureReason')}")
        time.sleep(0.5)
        status = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    sys.exit(f"creating account {name}: still {status.get('State')} after 30 s")


def read_back(url: str, account: str, names: list[str]) -> dict[str, tuple[str, str]]:
    """name -> (type, decrypted value) in `account`, for the names that exist."""
    ssm = client(url, "ssm", assume(url, account, seed_config()), seed_config())
    out = {}
    for i in range(0, len(names), 10):
        got = ssm.get_parameters(Names=names[i:i + 10], WithDecryption=True)
        for p in got["Parameters"]:
            out[p["Name"]] = (p["Type"], p["Value"])
    return out


def mismatches(expected: dict[str, tuple[str, str]], got: dict[str, tuple[str, str]]) -> dict:
    missing = [n for n in expected if n not in got]
    wrong_value = [n for n in expected if n in got and got[n][1] != expected[n][1]]
    wrong_type = [n for n in expected if n in got and got[n][0] != expected[n][0]]
    return {"missing": len(missing), "wrong_value": len(wrong_value), "wrong_type": len(wrong_type),
            "total": len(set(missing) | set(wrong_value) | set(wrong_type)),
            "examples": sorted(set(missing) | set(wrong_value) | set(wrong_type))[:5]}


# ---------------------------------------------------------------------------- orgsplit

def orgsplit_env(url: str) -> dict:
    return dict(os.environ, AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                AWS_REGION=REGION, AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
                AWS_EC2_METADATA_DISABLED="true")


def run_orgsplit(binary: Path, work: Path, env: dict, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), *args, "--no-progress"], cwd=work, env=env, capture_output=True,
                          text=True, timeout=timeout)


def parse_time(s: str) -> float:
    """RFC 3339 -> epoch seconds (fractions past microseconds cut: Python reads six digits)."""
    m = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", s)
    if not m:
        raise ValueError(f"not an RFC 3339 time: {s!r}")
    base, frac, zone = m.groups()
    zone = "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(f"{base}{'.' + (frac + '000000')[:6] if frac else ''}{zone}").timestamp()


def step_addresses(plan: dict) -> list[str]:
    """Every step's address: organization-wide, per OU, per account."""
    steps = list(plan.get("organization", []))
    for ou in plan.get("ous", []):
        steps += ou.get("steps", [])
        for acc in ou.get("accounts", []):
            steps += acc.get("steps", [])
    return [s.get("address", "") for s in steps]


def is_ssm_step(address: str) -> bool:
    return "/ssm:" in address or "/ssm@" in address


def journal_figures(path: Path) -> dict:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    events = Counter(r["event"] for r in records)
    ssm = [r for r in records if is_ssm_step(r["address"])]
    started = [parse_time(r["time"]) for r in ssm if r["event"] == "started"]
    done = sorted(parse_time(r["time"]) for r in ssm if r["event"] == "succeeded")
    run = [parse_time(r["time"]) for r in records if r["address"] == "-"]
    if not started or not done:
        return {"events": dict(events), "ssm_steps_succeeded": len(done), "window_seconds": None}
    first, last = min(started), max(done)
    gaps = [b - a for a, b in zip(done, done[1:])]
    # The steady pace of the copy, leaving out the first and last 5 % (burst and tail).
    lo, hi = len(done) // 20, len(done) - 1 - len(done) // 20
    steady = (hi - lo) / (done[hi] - done[lo]) if hi > lo and done[hi] > done[lo] else None
    changed = sum(1 for r in ssm if r["event"] == "succeeded" and r.get("changed"))
    return {
        "events": dict(events),
        "failed": events.get("failed", 0),
        "ssm_steps_started": len(started),
        "ssm_steps_succeeded": len(done),
        "ssm_steps_changed": changed,
        "window_seconds": round(last - first, 2),
        "run_seconds": round(max(run) - min(run), 2) if len(run) >= 2 else None,
        "before_first_ssm_step_seconds": round(first - min(run), 2) if run else None,
        "steady_ssm_steps_per_second": round(steady, 3) if steady else None,
        "longest_gap_between_ssm_successes_seconds": round(max(gaps), 2) if gaps else 0,
    }


# ------------------------------------------------------------------------------- calls

def quota_groups(emu: EmulatorProcess) -> dict[str, dict]:
    """operation -> {"group", "rate", "burst"} from the emulator's own table."""
    table = {}
    for g in emu.admin("GET", "quotas")["default"]:
        for op in g["operations"]:
            table[op] = {"group": g["name"], "rate": float(g["rate"]), "burst": float(g.get("burst", g["rate"]))}
    return table


def throttled(log: list[dict], not_found: dict[tuple[str, str], int]) -> Counter:
    """Throttled attempts per (account, operation). The emulator answers a throttle with 400,
    and so does moto for a parameter that is not there: `not_found` says how many of the 400s
    of (account, operation) were that (each ssm step reads its fresh target once before
    writing it), the rest were throttles."""
    status400 = Counter((r["account"], f"{r['service']}:{r['operation']}") for r in log
                        if r["service"] == "ssm" and r.get("status") in THROTTLE_STATUSES)
    return Counter({k: max(0, n - not_found.get(k, 0)) for k, n in status400.items()})


def call_figures(log: list[dict], table: dict[str, dict], not_found: dict[tuple[str, str], int]) -> dict:
    thr = throttled(log, not_found)
    groups: dict[tuple, dict] = defaultdict(lambda: {"attempts": 0, "throttled": 0})
    for r in log:
        op = f"{r['service']}:{r['operation']}"
        if op in table:
            g = groups[(r["account"], r["region"], table[op]["group"])]
            g["attempts"] += 1
    for (account, op), n in thr.items():
        if op in table:
            groups[(account, REGION, table[op]["group"])]["throttled"] += n
    rate = {t["group"]: t["rate"] for t in table.values()}
    rows = []
    for (account, region, group), g in sorted(groups.items()):
        accepted = g["attempts"] - g["throttled"]
        rows.append({"account": account, "region": region, "group": group, "rate": rate[group],
                     "attempts": g["attempts"], "throttled": g["throttled"], "accepted": accepted,
                     "seconds_at_rate": round(accepted / rate[group], 2),
                     "seconds_at_rate_with_throttled": round(g["attempts"] / rate[group], 2)})
    strict = max(rows, key=lambda r: r["seconds_at_rate"], default=None)
    loose = max(rows, key=lambda r: r["seconds_at_rate_with_throttled"], default=None)
    ssm = [r for r in log if r["service"] == "ssm"]
    return {
        "groups": rows,
        "bound_seconds": strict["seconds_at_rate"] if strict else None,
        "bound_group": f"{strict['group']}@{strict['account']}" if strict else None,
        "bound_seconds_with_throttled": loose["seconds_at_rate_with_throttled"] if loose else None,
        "ssm_calls": len(ssm),
        "ssm_calls_by_operation": dict(sorted(Counter(f"ssm:{r['operation']}" for r in ssm).items())),
        "ssm_400_responses": sum(1 for r in ssm if r.get("status") == 400),
        "throttled": sum(thr.values()),
        "throttled_by_operation": {f"{a} {op}": n for (a, op), n in sorted(thr.items()) if n},
        "other_errors": dict(Counter(f"{r['service']}:{r['operation']} {r['status']}" for r in log
                                     if r.get("status") not in (200, 400, None) or
                                     (r.get("status") == 400 and r["service"] != "ssm"))),
        "all_calls": len(log),
    }


# ------------------------------------------------------------------------------- boto3

def boto3_copy(url: str, target: str, params: dict[str, tuple[str, str]]) -> dict:
    """The straightforward copy: sequential, boto3's default retries (legacy mode, its default
    attempts), an exception after the retries counted as a failure and the loop goes on."""
    cfg = Config(retries={"mode": "legacy"})
    src = client(url, "ssm", assume(url, SOURCE, cfg), cfg)
    dst = client(url, "ssm", assume(url, target, cfg), cfg)
    retried = Counter()

    def count_throttle(attempts, response=None, caught_exception=None, operation=None, **_):
        parsed = response[1] if response else {}
        if parsed.get("Error", {}).get("Code") == "ThrottlingException":
            retried[operation.name if operation else "?"] += 1

    for c in (src, dst):
        c.meta.events.register("needs-retry.ssm", count_throttle)
    failures: Counter = Counter()
    t0 = time.monotonic()
    for name, (kind, _value) in params.items():
        try:
            got = src.get_parameter(Name=name, WithDecryption=True)["Parameter"]
            dst.put_parameter(Name=name, Value=got["Value"], Type=got["Type"], Overwrite=True)
        except Exception as e:  # noqa: BLE001 - the loop counts failures and goes on
            failures[type(e).__name__ if not hasattr(e, "response") else e.response["Error"]["Code"]] += 1
    return {"seconds": round(time.monotonic() - t0, 2), "failures": sum(failures.values()),
            "failures_by_error": dict(failures), "throttles_seen_by_client": sum(retried.values()),
            "throttles_seen_by_client_by_operation": dict(retried)}


# -------------------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=2000, help="parameters to copy (the target's: 2000)")
    ap.add_argument("--orgsplit", default=None, help="the binary (default: target/release, else target/debug)")
    ap.add_argument("--json", default=None, help="also write the summary here")
    ap.add_argument("--no-boto3", action="store_true", help="skip the boto3 baseline (trial runs)")
    a = ap.parse_args()
    if not 1 <= a.count <= 9999:
        sys.exit("--count: between 1 and 9999")
    binary = Path(a.orgsplit).resolve() if a.orgsplit else next(
        (p for p in (ROOT / "target/release/orgsplit", ROOT / "target/debug/orgsplit") if p.exists()), None)
    if binary is None or not binary.exists():
        sys.exit("build orgsplit first: cargo build --release --bin orgsplit")

    params = parameters(a.count)
    names = list(params)
    work = Path(tempfile.mkdtemp(prefix="orgsplit-bench-apply-"))
    emu = EmulatorProcess()
    url = emu.url
    try:
        seed_seconds = seed_org_only(emu, params)
        table = quota_groups(emu)

        (work / "orgsplit.toml").write_text(CONFIG)
        env = orgsplit_env(url)
        for args in (("inventory", "--out", "inventory.json"),
                     ("plan", "--inventory", "inventory.json", "--out", "plan.json")):
            run = run_orgsplit(binary, work, env, *args)
            if run.returncode != 0:
                sys.exit(f"orgsplit {args[0]} failed (exit {run.returncode}): {run.stderr.strip()}")
        plan = json.loads((work / "plan.json").read_text())
        planned_ssm = sum(1 for addr in step_addresses(plan) if is_ssm_step(addr))
        if planned_ssm != a.count:
            sys.exit(f"the plan has {planned_ssm} ssm steps, expected {a.count} (work dir {work})")

        emu.admin("POST", "faults", {"quotas": "aws"})
        emu.admin("DELETE", "requests")
        print(f"applying {a.count} parameters under AWS quotas (about {a.count / 3 / 60:.0f} min)...",
              file=sys.stderr, flush=True)
        t0 = time.monotonic()
        apply = run_orgsplit(binary, work, env, "apply", "plan.json", "--ou", OU, "--yes", "--output", "json")
        apply_seconds = time.monotonic() - t0
        orgsplit_log = emu.admin("GET", "requests")
        (work / "apply.stdout").write_text(apply.stdout)
        (work / "apply.stderr").write_text(apply.stderr)
        summary_line = next((json.loads(line) for line in reversed(apply.stdout.splitlines())
                             if line.startswith("{") and '"summary"' in line), {})
        journal = journal_figures(work / "plan.json.journal.jsonl")
        target = account_by_email(url, WORKLOADS_EMAIL)
        # Each ssm step read its fresh target once before writing: one ParameterNotFound each.
        not_found = {(target, "ssm:GetParameter"): journal.get("ssm_steps_changed", 0)}
        orgsplit_calls = call_figures(orgsplit_log, table, not_found)

        baseline = None
        if not a.no_boto3:
            boto3_target = create_account(url, BOTO3_EMAIL, "bench-boto3")
            emu.admin("DELETE", "requests")
            print(f"boto3 baseline: {a.count} parameters (about {a.count / 3 / 60:.0f} min)...",
                  file=sys.stderr, flush=True)
            baseline = boto3_copy(url, boto3_target, params)
            boto3_log = emu.admin("GET", "requests")
            baseline["account"] = boto3_target
            baseline["calls"] = call_figures(boto3_log, table, {})
            baseline["mismatches"] = mismatches(params, read_back(url, boto3_target, names))

        copy_check = mismatches(params, read_back(url, target, names)) if target else {"total": a.count}
    finally:
        emu.stop()

    def ratio(seconds, bound):
        return round(seconds / bound, 3) if seconds is not None and bound else None

    window = journal.get("window_seconds")
    o = {
        "account": target,
        "apply_exit_code": apply.returncode,
        "apply_wall_seconds": round(apply_seconds, 2),
        "orgsplit_reported_api_calls": summary_line.get("api_calls"),
        "journal": journal,
        "calls": orgsplit_calls,
        "ratio": ratio(window, orgsplit_calls["bound_seconds"]),
        "ratio_with_throttled": ratio(window, orgsplit_calls["bound_seconds_with_throttled"]),
        "mismatches": copy_check,
    }
    if apply.returncode != 0:
        o["apply_stderr_tail"] = apply.stderr.strip().splitlines()[-3:]
    met = (o["ratio"] is not None and o["ratio"] <= TARGET and journal.get("failed", 0) == 0
           and apply.returncode == 0 and copy_check["total"] == 0)
    summary = {
        "count": a.count,
        "binary": str(binary.relative_to(ROOT)) if binary.is_relative_to(ROOT) else str(binary),
        "seed_seconds": round(seed_seconds, 1),
        "quotas": {op: t for op, t in sorted(table.items()) if op.startswith("ssm:")},
        "target": f"window <= {TARGET} x bound, zero failed steps",
        "orgsplit": o,
        "met": met,
        "work_dir": str(work),
    }
    if baseline is not None:
        baseline["ratio"] = ratio(baseline["seconds"], baseline["calls"]["bound_seconds"])
        baseline["ratio_with_throttled"] = ratio(baseline["seconds"], baseline["calls"]["bound_seconds_with_throttled"])
        summary["boto3"] = baseline
        if window:
            summary["window_vs_boto3"] = round(window / baseline["seconds"], 3)
    print_table(summary)
    print(json.dumps(summary, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if met else 1


def print_table(s: dict) -> None:
    o, b = s["orgsplit"], s.get("boto3")
    print(f"{'':<40} {'orgsplit':>22} {'boto3':>22}")

    def row(label, ov, bv=None):
        print(f"{label:<40} {str(ov):>22} {str(bv if b else '-'):>22}")

    j = o["journal"]
    row("copy window / loop (s)", j.get("window_seconds"), b and b["seconds"])
    row("bound: accepted calls / rate (s)", o["calls"]["bound_seconds"], b and b["calls"]["bound_seconds"])
    row("bound group", o["calls"]["bound_group"], b and b["calls"]["bound_group"])
    row("ratio (target <= 1.15)", o["ratio"], b and b["ratio"])
    row("bound with throttled attempts (s)", o["calls"]["bound_seconds_with_throttled"],
        b and b["calls"]["bound_seconds_with_throttled"])
    row("ratio with throttled attempts", o["ratio_with_throttled"], b and b["ratio_with_throttled"])
    row("ssm calls", o["calls"]["ssm_calls"], b and b["calls"]["ssm_calls"])
    row("throttled responses", o["calls"]["throttled"], b and b["calls"]["throttled"])
    row("failed steps / failed parameters", j.get("failed"), b and b["failures"])
    row("copy mismatches", o["mismatches"]["total"], b and b["mismatches"]["total"])
    print("per quota group (account, group: accepted + throttled):")
    for label, calls in (("orgsplit", o["calls"]), ("boto3", b and b["calls"])):
        if calls:
            for g in calls["groups"]:
                print(f"  {label:<9} {g['account']} {g['group']:<17} {g['accepted']:>6} + {g['throttled']:<5}"
                      f" at {g['rate']:g}/s = {g['seconds_at_rate']} s")


if __name__ == "__main__":
    sys.exit(main())
