#!/usr/bin/env python3
"""The backfill benchmark (docs/performance.md): StackSet operations of `orgsplit reconcile`.

An organization whose OUs already have their StackSets gets N accounts (default 300, split
evenly between two OUs) that have none of the StackSets' instances (accounts made before the
StackSets, or by hand). Two ways to give them their instances, each on a fresh emulator with the
same setup:
- **backfill**: `orgsplit reconcile` (no account: every account of the configured OUs), which
  groups the missing instances of each StackSet and Region into one `CreateStackInstances` (per
  500 accounts) with OU targets and `AccountFilterType = INTERSECTION`;
- **per account**: `orgsplit reconcile --account ID` for every account in one run, one StackSet
  operation per account (what the reconcile did before, and what the new-account trigger does).

The emulator deploys `CreateStackInstances` with OU targets as AWS does: `INTERSECTION` only to
the named accounts of the OUs (moto deployed to the whole OU, which made one per-account
operation cover the OU and hid the cost). For each: StackSet operations (CreateStackInstances
calls) per (StackSet, Region), API calls by service, wall time, and every account read back
through boto3: its `terraform-apply` role trusts exactly its OU's admin account.

Setup (not measured): the two OUs and the N accounts created and moved into them with the
seeder's User-Agent (neither logged nor throttled), then `orgsplit plan` and `apply --ou` of both
OUs (the baseline StackSets with auto-deployment, the admin and workloads accounts). The accounts
are there before the StackSets, so the StackSets' auto-deployment (which the emulator runs, as
AWS does, for accounts that join a targeted OU) does not cover them: the backfill's case.

Exits 1 when the backfill needs more than 2 operations per (StackSet, Region) or an account is
not verified.

    tests/bench/backfill [--accounts 300] [--orgsplit target/release/orgsplit] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "emulator"))
from orgsplit_emulator.process import EmulatorProcess  # noqa: E402  (the emulator's own client)

MANAGEMENT = "123456789012"
REGION = "us-east-1"
ACCESS_ROLE = "OrganizationAccountAccessRole"
SEED_UA = "orgsplit-emulator-seed"
OUS = ("alpha", "beta")
MAX_OPERATIONS = 2

CONFIG = """\
# The backfill benchmark (tests/bench/backfill.py).
version = 1
home_region = "us-east-1"
regions = ["us-east-1"]

[source]
account_id = "111111111111"
""" + "".join(f"""
[[ou]]
name = "{ou}"
environment = "{ou}"
admin_account = "{ou}-admin"
stacksets = ["baseline"]

[[account]]
name = "{ou}-admin"
email = "aws+{ou}-admin@example.com"
ou = "{ou}"

[[account]]
name = "{ou}-workloads"
email = "aws+{ou}-workloads@example.com"
ou = "{ou}"
workloads = true
""" for ou in OUS)

MANAGEMENT_CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def seed_config() -> Config:
    return Config(user_agent_extra=SEED_UA, retries={"max_attempts": 8, "mode": "standard"},
                  max_pool_connections=16)


def client(url: str, service: str, creds: dict | None = None):
    return boto3.session.Session().client(service, endpoint_url=url, region_name=REGION, config=seed_config(),
                                          **(creds or MANAGEMENT_CREDS))


def orgsplit_env(url: str) -> dict:
    return dict(os.environ, AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                AWS_REGION=REGION, AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
                AWS_EC2_METADATA_DISABLED="true")


def run(binary: Path, work: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), *args, "--no-progress"], cwd=work, env=orgsplit_env(url),
                          capture_output=True, text=True, timeout=3600)


def must(p: subprocess.CompletedProcess, what: str, codes=(0,)) -> None:
    if p.returncode not in codes:
        sys.exit(f"{what}: exit {p.returncode}\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")


def setup(url: str, binary: Path, work: Path, count: int) -> dict[str, list[str]]:
    """`count` accounts in the OUs, then the OUs' StackSets (so the accounts have no instances:
    auto-deployment covers only accounts that join an OU after its StackSet targets it, as on
    AWS): OU -> ids."""
    org = client(url, "organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    ou_ids = {ou: org.create_organizational_unit(ParentId=root, Name=ou)["OrganizationalUnit"]["Id"] for ou in OUS}

    def make(i: int) -> tuple[str, str]:
        ou = OUS[i % len(OUS)]
        status = org.create_account(Email=f"aws+bench-{i:04d}@example.com", AccountName=f"bench-{i:04d}")["CreateAccountStatus"]
        for _ in range(240):
            if status.get("State") == "SUCCEEDED":
                break
            if status.get("State") == "FAILED":
                raise RuntimeError(f"account bench-{i:04d}: {status.get('FailureReason')}")
            time.sleep(0.25)
            status = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
        account = status["AccountId"]
        org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou_ids[ou])
        return ou, account

    out: dict[str, list[str]] = {ou: [] for ou in OUS}
    with ThreadPoolExecutor(8) as pool:
        for ou, account in pool.map(make, range(count)):
            out[ou].append(account)
    # The OUs exist already: the plan keeps them and makes the StackSets, their instances in
    # the configured accounts only (INTERSECTION), and the admin and workloads accounts.
    (work / "orgsplit.toml").write_text(CONFIG)
    must(run(binary, work, url, "inventory", "--out", "inventory.json"), "inventory")
    must(run(binary, work, url, "plan", "--inventory", "inventory.json", "--out", "plan.json"), "plan")
    for ou in OUS:
        must(run(binary, work, url, "apply", "plan.json", "--ou", ou, "--yes"), f"apply --ou {ou}")
    return out


def admins(url: str) -> dict[str, str]:
    """OU -> its admin account's id (by e-mail)."""
    org = client(url, "organizations")
    by_email = {a["Email"]: a["Id"] for page in org.get_paginator("list_accounts").paginate() for a in page["Accounts"]}
    return {ou: by_email[f"aws+{ou}-admin@example.com"] for ou in OUS}


def verify(url: str, accounts: dict[str, list[str]]) -> dict:
    """Each account's terraform-apply role trusts exactly its OU's admin account."""
    admin = admins(url)
    sts = client(url, "sts")

    def check(item: tuple[str, str]) -> str | None:
        ou, account = item
        try:
            c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ACCESS_ROLE}", RoleSessionName="bench")["Credentials"]
            iam = client(url, "iam", {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                                      "aws_session_token": c["SessionToken"]})
            doc = iam.get_role(RoleName="terraform-apply")["Role"]["AssumeRolePolicyDocument"]
        except Exception as e:  # noqa: BLE001 - reported per account
            return f"{account}: {type(e).__name__}"
        doc = json.loads(doc) if isinstance(doc, str) else doc
        principals = []
        for st in doc.get("Statement", []):
            p = st.get("Principal", {}).get("AWS", [])
            principals += p if isinstance(p, list) else [p]
        want = [f"arn:aws:iam::{admin[ou]}:root"]
        return None if principals == want else f"{account}: trusts {principals}, not {want}"

    items = [(ou, a) for ou, ids in accounts.items() for a in ids]
    with ThreadPoolExecutor(8) as pool:
        problems = [p for p in pool.map(check, items) if p]
    return {"accounts": len(items), "verified": len(items) - len(problems), "problems": problems[:5]}


def figures(emu: EmulatorProcess, seconds: float, p: subprocess.CompletedProcess) -> dict:
    log = emu.admin("GET", "requests")
    ops = [r for r in log if r["service"] == "cloudformation" and r["operation"] == "CreateStackInstances"]
    return {
        "exit": p.returncode,
        "wall_seconds": round(seconds, 2),
        "stackset_operations": len(ops),
        "api_calls": len(log),
        "api_calls_by_service": dict(sorted(Counter(r["service"] for r in log).items())),
        "summary": (p.stdout.strip().splitlines() or [""])[-1],
    }


def one_way(binary: Path, count: int, per_account: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="orgsplit-backfill-") as tmp, EmulatorProcess() as emu:
        seeded = emu.admin("POST", "seed", {"scenario": "org-only"})
        if isinstance(seeded, dict) and seeded.get("error"):
            sys.exit(f"seeding org-only failed: {seeded['error']}")
        work = Path(tmp)
        t0 = time.monotonic()
        accounts = setup(emu.url, binary, work, count)
        setup_seconds = time.monotonic() - t0
        emu.admin("DELETE", "requests")
        args = ["reconcile"]
        if per_account:
            for ids in accounts.values():
                for a in ids:
                    args += ["--account", a]
        t0 = time.monotonic()
        p = run(binary, work, emu.url, *args)
        seconds = time.monotonic() - t0
        out = figures(emu, seconds, p)
        if p.returncode != 0:
            out["stderr"] = p.stderr[-2000:]
        out["setup_seconds"] = round(setup_seconds, 1)
        out["check"] = verify(emu.url, accounts)
        return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=300)
    ap.add_argument("--orgsplit", type=Path, default=ROOT / "target" / "release" / "orgsplit")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    args.orgsplit = args.orgsplit.resolve()
    if not args.orgsplit.exists():
        sys.exit(f"{args.orgsplit} not found: cargo build --release --bin orgsplit")
    # Every account of the two OUs (the admin and workloads accounts already have theirs).
    stacksets = len(OUS)  # one baseline StackSet per OU, one Region
    backfill = one_way(args.orgsplit, args.accounts, per_account=False)
    per_account = one_way(args.orgsplit, args.accounts, per_account=True)
    result = {"accounts": args.accounts, "ous": len(OUS), "stacksets_x_regions": stacksets,
              "backfill": backfill, "per_account": per_account}
    for name, r in (("backfill", backfill), ("per account", per_account)):
        print(f"{name:12} exit {r['exit']}: {r['stackset_operations']} StackSet operations "
              f"({r['stackset_operations'] / stacksets:.1f} per StackSet and Region), {r['api_calls']} API calls, "
              f"{r['wall_seconds']} s; {r['check']['verified']}/{r['check']['accounts']} accounts verified")
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    ok = (backfill["exit"] == 0 and backfill["stackset_operations"] <= MAX_OPERATIONS * stacksets
          and backfill["check"]["verified"] == backfill["check"]["accounts"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
