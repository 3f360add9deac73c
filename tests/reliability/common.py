"""Shared harness of the reliability suites (crash, faults, concurrency).

Everything here talks to AWS through boto3 or to the emulator's admin endpoints, never through
orgsplit: the suites judge orgsplit by the state it leaves behind, read independently.

The harness's own boto3 calls carry the emulator's seeder mark in their User-Agent, so they are
neither logged nor faulted: the request log holds orgsplit's calls only, and a snapshot taken
while faults are on still reads the truth.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import boto3
import botocore.config
import botocore.exceptions

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "emulator"))
from orgsplit_emulator.process import EmulatorProcess  # noqa: E402  (the emulator's own client)
DEMO_CONFIG = ROOT / "plans" / "examples" / "orgsplit.toml"
MANAGEMENT = "123456789012"
SOURCE = "111111111111"
ACCESS_ROLE = "OrganizationAccountAccessRole"
SEED_UA_MARK = "orgsplit-emulator-seed"  # see tests/emulator/orgsplit_emulator/app.py
REGIONS = ["us-east-1", "eu-west-1"]
OUS = ["dev", "prod"]
# Exit codes of orgsplit (README.md).
EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 3
# Whether emulators keep ECS tasks RUNNING (see Emulator.freeze_task_status); off with
# --moto-task-lifecycle.
FREEZE_TASKS = True


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- building


def build_orgsplit() -> Path:
    """`cargo build --bin orgsplit` (debug); the executable's path comes from cargo itself,
    so CARGO_TARGET_DIR and shared target dirs work."""
    log("== cargo build --bin orgsplit")
    proc = subprocess.run(
        ["cargo", "build", "--bin", "orgsplit", "--message-format=json-render-diagnostics"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"cargo build --bin orgsplit failed (exit {proc.returncode})")
    exe = None
    for line in proc.stdout.splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["target"]["name"] == "orgsplit":
            exe = msg["executable"]
    if not exe:
        raise SystemExit("cargo build did not report the orgsplit executable")
    return Path(exe)


def frozen_binary(root: Path, given: str | None = None) -> Path:
    """Builds orgsplit (or takes the `--orgsplit` binary) and copies it into the suite's working
    dir: others rebuild the shared target dir while a suite runs, and every run of one suite
    must use the same binary."""
    exe = Path(given) if given else build_orgsplit()
    dest = root / "orgsplit"
    shutil.copy2(exe, dest)
    return dest


# ----------------------------------------------------------------------------- emulator


class Emulator(EmulatorProcess):
    """`tests/emulator/run --port 0 --scenario NAME`, stopped by `stop()` (or when this process
    dies: its stdin is a pipe and it runs with --exit-on-stdin-eof)."""

    def __init__(self, workdir: Path, scenario: str = "demo", freeze_tasks: bool | None = None):
        self.workdir = workdir
        super().__init__(["--scenario", scenario], log=workdir / "emulator.log", admin_timeout=60)
        if FREEZE_TASKS if freeze_tasks is None else freeze_tasks:
            self.freeze_task_status()
        else:
            # The emulator itself keeps tasks RUNNING (orgsplit_emulator/ecs_tasks.py); moto's
            # own lifecycle is its default transition.
            self.moto_api("state-manager/unset-transition", {"model_name": "ecs::task"})

    def freeze_task_status(self) -> None:
        # moto advances an ECS task's lastStatus on every DescribeTasks (RUNNING -> DEACTIVATING
        # -> ... -> STOPPED); on AWS the demo's long-running task keeps running. Its status is
        # part of the plan's fingerprints, so without this every plan goes stale after a few
        # reads (see docs/reliability.md).
        self.moto_api("state-manager/set-transition",
                      {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 10**9}})

    def requests(self) -> list[dict]:
        return self.admin("GET", "requests")

    def clear_requests(self) -> None:
        self.admin("DELETE", "requests")

    def set_faults(self, cfg: dict) -> dict:
        return self.admin("POST", "faults", cfg)

    def clear_faults(self) -> None:
        self.admin("POST", "faults", {})

    def mark_available(self, arn: str) -> None:
        self.admin("POST", "connections/available", {"arn": arn})



# ----------------------------------------------------------------------------- boto3


class Aws:
    """boto3 clients for the emulator, per account (assumed access role) and region."""

    def __init__(self, url: str):
        self.url = url
        self.config = botocore.config.Config(
            user_agent_extra=f"{SEED_UA_MARK} reliability-harness",
            retries={"mode": "standard", "max_attempts": 8},
            connect_timeout=10, read_timeout=120,
        )
        self.creds: dict[str, dict] = {}
        self.clients: dict[tuple, Any] = {}

    def _base(self, service: str, region: str, creds: dict) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=self.url, config=self.config, **creds)

    def client(self, service: str, account: str = MANAGEMENT, region: str = "us-east-1") -> Any:
        key = (service, account, region)
        if key not in self.clients:
            self.clients[key] = self._base(service, region, self._creds(account))
        return self.clients[key]

    def _creds(self, account: str) -> dict:
        if account == MANAGEMENT:
            return {"aws_access_key_id": "harness", "aws_secret_access_key": "harness"}
        if account not in self.creds:
            sts = self.client("sts")
            c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ACCESS_ROLE}",
                                RoleSessionName="reliability-harness")["Credentials"]
            self.creds[account] = {"aws_access_key_id": c["AccessKeyId"],
                                   "aws_secret_access_key": c["SecretAccessKey"],
                                   "aws_session_token": c["SessionToken"]}
        return self.creds[account]


def pages(client: Any, op: str, key: str, **kwargs: Any) -> list:
    """Every item of a paginated list call (follows NextToken/Marker by hand where boto3 has
    no paginator)."""
    if client.can_paginate(op):
        out: list = []
        for page in client.get_paginator(op).paginate(**kwargs):
            out.extend(page.get(key, []))
        return out
    out = []
    while True:
        page = getattr(client, op)(**kwargs)
        out.extend(page.get(key, []))
        token = page.get("NextToken")
        if not token:
            return out
        kwargs["NextToken"] = token


def error_code(e: Exception) -> str:
    if isinstance(e, botocore.exceptions.ClientError):
        return e.response.get("Error", {}).get("Code", "")
    return ""


def org_accounts(aws: Aws) -> list[dict]:
    return pages(aws.client("organizations"), "list_accounts", "Accounts")


def member_accounts(aws: Aws) -> list[dict]:
    """The accounts a snapshot covers: the organization's, minus management and source."""
    return [a for a in org_accounts(aws) if a["Id"] not in (MANAGEMENT, SOURCE)]


def pending_connections(aws: Aws) -> list[str]:
    """ARNs of every PENDING connection in the organization's accounts (connections are global:
    each is listed from every Region, so once per account is enough)."""
    arns = []
    for a in org_accounts(aws):
        c = aws.client("codeconnections", a["Id"], REGIONS[0])
        for conn in pages(c, "list_connections", "Connections"):
            if conn.get("ConnectionStatus") == "PENDING" and conn["ConnectionArn"] not in arns:
                arns.append(conn["ConnectionArn"])
    return arns


# ----------------------------------------------------------------------------- orgsplit


@dataclass
class Workspace:
    """A temp dir with the demo config, the orgsplit binary and the emulator's env."""

    dir: Path
    bin: Path
    emulator: Emulator

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({
            "AWS_ENDPOINT_URL": self.emulator.url, "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo", "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true", "NO_COLOR": "1",
        })
        return env

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bin), *args], cwd=self.dir, env=self.env, text=True,
                              capture_output=True, timeout=timeout)

    def plan(self, name: str = "plan.json") -> Path:
        """inventory + plan into this workspace; returns the plan's path."""
        for args in (["inventory", "--out", "inventory.json"],
                     ["plan", "--inventory", "inventory.json", "--out", name]):
            p = self.run("--no-progress", *args)
            if p.returncode != 0:
                raise RuntimeError(f"orgsplit {' '.join(args)} exited {p.returncode}: {p.stderr.strip()[-2000:]}")
        return self.dir / name


def new_workspace(bin: Path, emulator: Emulator, root: Path, name: str) -> Workspace:
    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEMO_CONFIG, d / "orgsplit.toml")
    return Workspace(d, bin, emulator)


@dataclass
class ApplyRun:
    """One `orgsplit apply` process."""

    ou: str
    rc: int | None  # None: killed by us
    seconds: float
    events: list[dict]
    stderr: str
    killed: bool = False
    journal_before: int = 0  # complete journal records before this run started

    @property
    def summary(self) -> dict | None:
        return next((e for e in reversed(self.events) if e.get("event") == "summary"), None)

    @property
    def waiting(self) -> bool:
        """Some step waits for a person (whatever else failed: the exit code is then 1)."""
        s = self.summary
        return s is not None and (s.get("waiting") or 0) > 0

    def step_events(self, status: str) -> list[dict]:
        return [e for e in self.events if e.get("event") == "step" and e.get("status") == status]


def start_apply(ws: Workspace, plan: Path, ou: str, tag: str) -> tuple[subprocess.Popen, Path, Path]:
    out, err = ws.dir / f"apply-{tag}.ndjson", ws.dir / f"apply-{tag}.err"
    proc = subprocess.Popen(
        [str(ws.bin), "--output", "json", "--no-progress", "apply", str(plan), "--ou", ou, "--yes"],
        cwd=ws.dir, env=ws.env, stdin=subprocess.DEVNULL,
        stdout=open(out, "wb"), stderr=open(err, "wb"),
    )
    return proc, out, err


def parse_ndjson(path: Path) -> list[dict]:
    events = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # a killed process may leave a torn last line
    return events


def finish_apply(proc: subprocess.Popen, out: Path, err: Path, ou: str, started: float, killed: bool) -> ApplyRun:
    rc = proc.wait()
    seconds = time.monotonic() - started
    return ApplyRun(ou=ou, rc=None if killed else rc, seconds=seconds, events=parse_ndjson(out),
                    stderr=err.read_text(errors="replace"), killed=killed)


def apply_once(ws: Workspace, plan: Path, ou: str, tag: str, kill_after: float | None = None,
               timeout: float = 900) -> ApplyRun:
    """Runs one apply; with kill_after, SIGKILLs it after that many seconds if it still runs.
    `killed` is true only when the kill hit a running process (it died of SIGKILL)."""
    started = time.monotonic()
    proc, out, err = start_apply(ws, plan, ou, tag)
    try:
        proc.wait(timeout=kill_after if kill_after is not None else timeout)
    except subprocess.TimeoutExpired:
        if kill_after is None:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"apply --ou {ou} did not finish within {timeout} s")
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = proc.returncode == -signal.SIGKILL
    return finish_apply(proc, out, err, ou, started, killed)


@dataclass
class OuResult:
    ou: str
    runs: list[ApplyRun] = field(default_factory=list)
    handshakes: int = 0
    outcome: str = ""  # succeeded | failed | refused | gave-up
    problem: str = ""
    # Runs that ended with an error outside any step (no summary): each is a miss, but the
    # flow goes on when `retry_aborted` allows, to see whether the state still converges.
    aborts: list[str] = field(default_factory=list)

    @property
    def apply_seconds(self) -> float:
        return sum(r.seconds for r in self.runs)


def apply_ou(ws: Workspace, aws: Aws, plan: Path, ou: str, tag: str,
             kill_delay: Callable[[], float | None] = lambda: None,
             on_kill: Callable[[ApplyRun], None] = lambda r: None,
             max_runs: int = 100, retry_aborted: int = 0) -> OuResult:
    """The full flow for one OU: apply until it ends by itself; a run that waits for the
    CodeStar handshake gets it (connections marked AVAILABLE) and apply runs again. With
    `kill_delay`, each run is SIGKILLed after the delay it returns (None: never)."""
    res = OuResult(ou)
    handshake_rounds = 0
    for n in range(max_runs):
        before = len(read_journal(plan)[0])
        run = apply_once(ws, plan, ou, f"{ou}-{tag}-{n}", kill_after=kill_delay())
        run.journal_before = before
        res.runs.append(run)
        if run.killed:
            on_kill(run)
            continue
        if run.rc == EXIT_OK:
            res.outcome = "succeeded"
            return res
        if run.waiting and handshake_rounds < 3:
            handshake_rounds += 1
            arns = pending_connections(aws)
            for arn in arns:
                ws.emulator.mark_available(arn)
            res.handshakes += len(arns)
            if arns:
                continue
        if run.rc == EXIT_FAILED and run.summary is not None:
            res.outcome = "failed"
            return res
        if run.rc == EXIT_FAILED and run.summary is None and len(res.aborts) < retry_aborted:
            res.aborts.append(last_error(run.stderr))
            continue
        res.outcome = "refused" if run.rc == EXIT_REFUSED else "failed"
        res.problem = f"apply --ou {ou} exited {run.rc}: {last_error(run.stderr)}"
        return res
    res.outcome = "gave-up"
    res.problem = f"apply --ou {ou} did not finish in {max_runs} runs"
    return res


def last_error(stderr: str) -> str:
    lines = [l for l in stderr.splitlines() if l.startswith("error:")]
    return lines[-1] if lines else (stderr.strip().splitlines() or ["(no stderr)"])[-1]


# ----------------------------------------------------------------------------- plan & journal


def load_plan(path: Path) -> dict:
    return json.loads(path.read_text())


def plan_steps(plan: dict) -> list[dict]:
    steps = list(plan["organization"])
    for ou in plan["ous"]:
        steps += ou["steps"]
        for a in ou["accounts"]:
            steps += a["steps"]
    return steps


def change_steps(plan: dict, ous: list[str] | None = None) -> list[dict]:
    """Steps that change something (not no-op, not manual), of the organization and `ous`."""
    steps = list(plan["organization"])
    for ou in plan["ous"]:
        if ous is None or ou["name"] in ous:
            steps += ou["steps"]
            for a in ou["accounts"]:
                steps += a["steps"]
    return [s for s in steps if s["action"] not in ("no-op", "manual")]


def journal_path(plan: Path) -> Path:
    return plan.with_name(plan.name + ".journal.jsonl")


def read_journal(plan: Path) -> tuple[list[dict], list[str], bool]:
    """(records, malformed complete lines, torn tail present)."""
    path = journal_path(plan)
    if not path.exists():
        return [], [], False
    text = path.read_text(errors="replace")
    complete = text.rfind("\n") + 1
    records, bad = [], []
    for line in text[:complete].splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            bad.append(line[:200])
    return records, bad, complete < len(text)


def in_flight(records: list[dict]) -> list[str]:
    """Addresses started and not finished in these records (one run's)."""
    open_: dict[str, bool] = {}
    for r in records:
        if r.get("event") == "started":
            open_[r["address"]] = True
        elif r.get("event") in ("succeeded", "failed", "waiting"):
            open_.pop(r["address"], None)
    return list(open_)


def journal_problems(records: list[dict], bad: list[str], torn: bool, digest: str) -> list[str]:
    """Consistency of a journal at rest (after the last apply): every line parses, one plan,
    no step started after it succeeded, a finished run leaves no step open."""
    problems = [f"malformed line: {b}" for b in bad]
    if torn:
        problems.append("torn last line left in place")
    for r in records:
        if r.get("plan_digest") != digest:
            problems.append(f"record of another plan: {r.get('plan_digest')}")
            break
    succeeded: set[str] = set()
    open_: set[str] = set()
    for r in records:
        ev, addr = r.get("event"), r.get("address")
        if ev == "run-started":
            open_ = set()  # steps left open by a killed run: the new run takes them over
        elif ev == "run-finished":
            if open_:
                problems.append(f"run finished with steps still open: {sorted(open_)}")
            open_ = set()
        elif ev == "started":
            if addr in succeeded:
                problems.append(f"{addr}: started again after it succeeded")
            if addr in open_:
                problems.append(f"{addr}: started twice in one run")
            open_.add(addr)
        elif ev in ("succeeded", "failed", "waiting"):
            if addr not in open_:
                problems.append(f"{addr}: {ev} without a started in the same run")
            open_.discard(addr)
            if ev == "succeeded":
                succeeded.add(addr)
    return problems


def status_rows(ws: Workspace, plan: Path) -> list[dict]:
    p = ws.run("--output", "json", "status", str(plan))
    if p.returncode != 0:
        raise RuntimeError(f"orgsplit status exited {p.returncode}: {last_error(p.stderr)}")
    return json.loads(p.stdout)["steps"]


def unsucceeded(rows: list[dict], plan: dict, ous: list[str]) -> dict[str, str]:
    """Change steps of `ous` (and the organization) whose journal state is not done."""
    wanted = {s["address"] for s in change_steps(plan, ous)}
    return {r["address"]: r["state"] for r in rows
            if r["address"] in wanted and not r["state"].startswith("done")}


def record_time(r: dict) -> float:
    """A journal record's RFC 3339 time (nanoseconds cut to micro) as a POSIX timestamp."""
    t = re.sub(r"(\.\d{6})\d*", r"\1", r["time"]).replace("Z", "+00:00")
    return datetime.fromisoformat(t).timestamp()


def succeeded_addresses(records: list[dict]) -> set[str]:
    """Steps whose latest journal event is `succeeded`."""
    last: dict[str, str] = {}
    for r in records:
        if r.get("event") in ("started", "succeeded", "failed", "waiting"):
            last[r["address"]] = r["event"]
    return {a for a, e in last.items() if e == "succeeded"}


def journal_failures(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("event") == "failed"]


# ----------------------------------------------------------------------------- snapshot

VOLATILE_KEYS = {
    "CreateDate", "CreationDate", "LastModifiedDate", "LastModificationDate", "LastUpdatedTime",
    "LastUpdatedDate", "registeredAt", "deregisteredAt", "createdAt", "updatedAt", "creationTime",
    "RoleId", "PolicyId", "ResponseMetadata", "LastAccessedDate", "RoleLastUsed",
    "CalculatedSpend", "TimePeriod", "LastChangedDate", "DeletedDate", "CreatedDate", "registeredBy",
}
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SECRET_SUFFIX_RE = re.compile(r"(:secret:[A-Za-z0-9/_+=.@-]+?)-[A-Za-z0-9]{6}\b")


def sha(text: str | bytes | None) -> str | None:
    if text is None:
        return None
    return "sha256:" + hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def strip_volatile(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: strip_volatile(x) for k, x in v.items() if k not in VOLATILE_KEYS}
    if isinstance(v, list):
        return [strip_volatile(x) for x in v]
    return v


def policy_doc(doc: Any) -> Any:
    if isinstance(doc, str):
        try:
            return json.loads(urllib.parse.unquote(doc))
        except json.JSONDecodeError:
            return json.loads(doc)
    return doc


def tags_dict(tags: list | None, k: str = "Key", v: str = "Value") -> dict:
    return {t[k]: t[v] for t in tags or []}


def safe(fn: Callable[[], Any], missing: tuple[str, ...] = (), default: Any = None) -> Any:
    """fn(), or `default` when it fails with one of the `missing` error codes."""
    try:
        return fn()
    except botocore.exceptions.ClientError as e:
        if error_code(e) in missing:
            return default
        raise


def snap_ssm(c: Any) -> dict:
    params = pages(c, "describe_parameters", "Parameters")
    names = [p["Name"] for p in params]
    values: dict[str, Any] = {}
    for i in range(0, len(names), 10):
        for p in c.get_parameters(Names=names[i:i + 10], WithDecryption=True)["Parameters"]:
            values[p["Name"]] = p
    out = {}
    for p in params:
        v = values.get(p["Name"], {})
        out[p["Name"]] = {
            "type": p.get("Type"), "tier": p.get("Tier"), "data_type": p.get("DataType"),
            "description": p.get("Description"), "version": p.get("Version"),
            "value": sha(v.get("Value")),
            "key_id": p.get("KeyId"),
            "tags": tags_dict(c.list_tags_for_resource(ResourceType="Parameter", ResourceId=p["Name"]).get("TagList")),
        }
    return out


def snap_secrets(c: Any) -> dict:
    out = {}
    for s in pages(c, "list_secrets", "SecretList"):
        value = safe(lambda: c.get_secret_value(SecretId=s["ARN"]), ("ResourceNotFoundException",), {})
        versions = pages(c, "list_secret_version_ids", "Versions", SecretId=s["ARN"])
        out[s["Name"]] = {
            "description": s.get("Description"), "kms_key": s.get("KmsKeyId"),
            "tags": tags_dict(s.get("Tags")), "value": sha(value.get("SecretString")),
            "versions": len(versions),
        }
    return out


def snap_iam(c: Any) -> dict:
    roles = {}
    for r in pages(c, "list_roles", "Roles"):
        name = r["RoleName"]
        if name == ACCESS_ROLE or r.get("Path", "").startswith("/aws-service-role/") or name.startswith("AWSServiceRole"):
            continue
        inline = {}
        for pn in pages(c, "list_role_policies", "PolicyNames", RoleName=name):
            inline[pn] = policy_doc(c.get_role_policy(RoleName=name, PolicyName=pn)["PolicyDocument"])
        roles[name] = {
            "path": r.get("Path"), "description": r.get("Description"),
            "max_session": r.get("MaxSessionDuration"),
            "trust": policy_doc(r.get("AssumeRolePolicyDocument")),
            "attached": sorted(p["PolicyArn"] for p in pages(c, "list_attached_role_policies", "AttachedPolicies", RoleName=name)),
            "inline": inline,
            "tags": tags_dict(pages(c, "list_role_tags", "Tags", RoleName=name)),
        }
    policies = {}
    for p in pages(c, "list_policies", "Policies", Scope="Local"):
        versions = pages(c, "list_policy_versions", "Versions", PolicyArn=p["Arn"])
        doc = c.get_policy_version(PolicyArn=p["Arn"], VersionId=p["DefaultVersionId"])["PolicyVersion"]["Document"]
        policies[p["PolicyName"]] = {"path": p.get("Path"), "document": policy_doc(doc), "versions": len(versions)}
    return {"roles": roles, "policies": policies}


def snap_s3(c: Any) -> dict:
    out = {}
    for b in c.list_buckets().get("Buckets", []):
        name = b["Name"]
        enc = safe(lambda: c.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"],
                   ("ServerSideEncryptionConfigurationNotFoundError",))
        out[name] = {
            "versioning": c.get_bucket_versioning(Bucket=name).get("Status"),
            "encryption": enc,
            "tags": tags_dict(safe(lambda: c.get_bucket_tagging(Bucket=name)["TagSet"], ("NoSuchTagSet",), [])),
        }
    return out


def snap_logs(c: Any) -> dict:
    return {g["logGroupName"]: {"retention": g.get("retentionInDays"), "kms": g.get("kmsKeyId")}
            for g in pages(c, "describe_log_groups", "logGroups")}


TASKDEF_KEYS = ("family", "revision", "status", "taskRoleArn", "executionRoleArn", "networkMode",
                "containerDefinitions", "volumes", "requiresCompatibilities", "cpu", "memory",
                "runtimePlatform", "placementConstraints")


def snap_ecs(c: Any) -> dict:
    clusters = {}
    arns = pages(c, "list_clusters", "clusterArns")
    if arns:
        for cl in c.describe_clusters(clusters=arns, include=["TAGS", "SETTINGS"])["clusters"]:
            services = {}
            sarns = pages(c, "list_services", "serviceArns", cluster=cl["clusterArn"])
            for i in range(0, len(sarns), 10):
                for s in c.describe_services(cluster=cl["clusterArn"], services=sarns[i:i + 10], include=["TAGS"])["services"]:
                    services[s["serviceName"]] = {k: s.get(k) for k in (
                        "status", "taskDefinition", "desiredCount", "launchType", "networkConfiguration",
                        "schedulingStrategy", "platformVersion", "loadBalancers")} | {"tags": tags_dict(s.get("tags"), "key", "value")}
            clusters[cl["clusterName"]] = {"status": cl.get("status"), "tags": tags_dict(cl.get("tags"), "key", "value"),
                                           "settings": cl.get("settings"), "services": services}
    families: dict[str, list] = {}
    for status in ("ACTIVE", "INACTIVE"):
        for arn in pages(c, "list_task_definitions", "taskDefinitionArns", status=status):
            td = c.describe_task_definition(taskDefinition=arn, include=["TAGS"])
            d = td["taskDefinition"]
            entry = {k: d.get(k) for k in TASKDEF_KEYS} | {"tags": tags_dict(td.get("tags"), "key", "value")}
            families.setdefault(d["family"], []).append(entry)
    for revs in families.values():
        revs.sort(key=lambda r: r["revision"])
    return {"clusters": clusters, "task_definitions": families}


def snap_events(c: Any) -> dict:
    out = {}
    for r in pages(c, "list_rules", "Rules"):
        targets = pages(c, "list_targets_by_rule", "Targets", Rule=r["Name"])
        out[r["Name"]] = {k: r.get(k) for k in ("ScheduleExpression", "EventPattern", "State", "Description", "RoleArn", "EventBusName")} | {
            "targets": sorted(targets, key=lambda t: t["Id"])}
    return out


def snap_scheduler(c: Any) -> dict:
    out = {}
    for g in pages(c, "list_schedule_groups", "ScheduleGroups"):
        for s in pages(c, "list_schedules", "Schedules", GroupName=g["Name"]):
            full = c.get_schedule(GroupName=g["Name"], Name=s["Name"])
            out[f"{g['Name']}/{s['Name']}"] = strip_volatile(full)
    return out


def snap_pipelines(c: Any) -> dict:
    out = {}
    for p in pages(c, "list_pipelines", "pipelines"):
        got = c.get_pipeline(name=p["name"])
        decl = got["pipeline"]
        decl.pop("version", None)  # a pipeline's version counts its updates
        arn = got.get("metadata", {}).get("pipelineArn")
        tags = safe(lambda: c.list_tags_for_resource(resourceArn=arn)["tags"], ("ResourceNotFoundException",), []) if arn else []
        out[p["name"]] = {"declaration": decl, "tags": tags_dict(tags, "key", "value")}
    return out


def snap_connections(c: Any) -> dict:
    out: dict[str, dict] = {}
    for conn in pages(c, "list_connections", "Connections"):
        e = out.setdefault(conn["ConnectionName"], {"count": 0, "statuses": [], "provider": conn.get("ProviderType")})
        e["count"] += 1
        e["statuses"].append(conn.get("ConnectionStatus"))
    return out


def snap_budgets(c: Any, account: str) -> dict:
    out = {}
    for b in pages(c, "describe_budgets", "Budgets", AccountId=account):
        notes = pages(c, "describe_notifications_for_budget", "Notifications", AccountId=account, BudgetName=b["BudgetName"])
        out[b["BudgetName"]] = {k: b.get(k) for k in ("BudgetLimit", "TimeUnit", "BudgetType", "CostFilters", "CostTypes")} | {
            "notifications": sorted(notes, key=json.dumps)}
    return out


def snap_region(aws: Aws, account: str, region: str) -> dict:
    c = lambda svc: aws.client(svc, account, region)  # noqa: E731
    return {
        "ssm": snap_ssm(c("ssm")),
        "secrets": snap_secrets(c("secretsmanager")),
        "logs": snap_logs(c("logs")),
        "ecs": snap_ecs(c("ecs")),
        "events": snap_events(c("events")),
        "scheduler": snap_scheduler(c("scheduler")),
        "pipelines": snap_pipelines(c("codepipeline")),
        "connections": snap_connections(c("codeconnections")),
    }


def snap_account(aws: Aws, account: str) -> dict:
    out: dict[str, Any] = {
        "iam": snap_iam(aws.client("iam", account)),
        "s3": snap_s3(aws.client("s3", account)),
        "budgets": snap_budgets(aws.client("budgets", account), account),
    }
    for region in REGIONS:
        out[region] = snap_region(aws, account, region)
    return out


def snap_organization(aws: Aws, labels: dict[str, str]) -> dict:
    org = aws.client("organizations")
    root = org.list_roots()["Roots"][0]
    labels[root["Id"]] = "<root>"
    labels[org.describe_organization()["Organization"]["Id"]] = "<organization>"
    ous: dict[str, Any] = {}

    def walk(parent: str, path: str) -> None:
        for ou in pages(org, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent):
            p = f"{path}/{ou['Name']}"
            labels[ou["Id"]] = f"<ou:{p}>"
            entry = ous.setdefault(p, {"count": 0, "accounts": []})
            entry["count"] += 1
            entry["accounts"] += sorted(a["Email"] for a in pages(org, "list_accounts_for_parent", "Accounts", ParentId=ou["Id"]))
            walk(ou["Id"], p)

    walk(root["Id"], "")
    at_root = sorted(a["Email"] for a in pages(org, "list_accounts_for_parent", "Accounts", ParentId=root["Id"]))
    scps: dict[str, Any] = {}
    for p in pages(org, "list_policies", "Policies", Filter="SERVICE_CONTROL_POLICY"):
        labels[p["Id"]] = f"<policy:{p['Name']}>"
        if p.get("AwsManaged"):
            continue
        content = org.describe_policy(PolicyId=p["Id"])["Policy"]["Content"]
        targets = pages(org, "list_targets_for_policy", "Targets", PolicyId=p["Id"])
        e = scps.setdefault(p["Name"], {"count": 0, "content": policy_doc(content), "targets": []})
        e["count"] += 1
        e["targets"] += sorted(t["TargetId"] for t in targets)
    access = sorted(s["ServicePrincipal"] for s in pages(org, "list_aws_service_access_for_organization", "EnabledServicePrincipals"))
    cfn_access = aws.client("cloudformation").describe_organizations_access().get("Status")
    return {"ous": ous, "accounts_at_root": at_root, "scps": scps, "trusted_access": access,
            "cloudformation_organizations_access": cfn_access}


def snap_stacksets(aws: Aws) -> dict:
    cfn = aws.client("cloudformation")
    out = {}
    for s in pages(cfn, "list_stack_sets", "Summaries", Status="ACTIVE"):
        d = cfn.describe_stack_set(StackSetName=s["StackSetName"])["StackSet"]
        instances = pages(cfn, "list_stack_instances", "Summaries", StackSetName=s["StackSetName"])
        e = out.setdefault(s["StackSetName"], {"count": 0})
        e["count"] += 1
        e.update({
            "parameters": {p["ParameterKey"]: p.get("ParameterValue") for p in d.get("Parameters", [])},
            "permission_model": d.get("PermissionModel"), "capabilities": sorted(d.get("Capabilities", [])),
            "template": sha(d.get("TemplateBody")), "description": d.get("Description"),
            "instances": sorted(([i["Account"], i["Region"], i.get("Status"), i.get("OrganizationalUnitId")] for i in instances)),
        })
    return out


def snap_source_ecr(aws: Aws) -> dict:
    out = {}
    for region in REGIONS:
        c = aws.client("ecr", SOURCE, region)
        for r in pages(c, "describe_repositories", "repositories"):
            pol = safe(lambda: c.get_repository_policy(repositoryName=r["repositoryName"])["policyText"],
                       ("RepositoryPolicyNotFoundException",))
            out[f"{region}/{r['repositoryName']}"] = policy_doc(pol) if pol else None
    return out


def snapshot(aws: Aws) -> dict:
    """The organization and every member account's migrated resources, read through boto3,
    with account ids, OU/root/policy ids, UUIDs and secret ARN suffixes replaced by stable
    labels so that two emulators' snapshots compare."""
    accounts = org_accounts(aws)
    labels = {a["Id"]: f"<{a['Email']}>" for a in accounts}
    snap: dict[str, Any] = {"organization": snap_organization(aws, labels)}
    emails = [a["Email"].lower() for a in accounts]
    snap["organization"]["emails_used_twice"] = sorted({e for e in emails if emails.count(e) > 1})
    snap["stacksets"] = snap_stacksets(aws)
    snap["source_ecr_policies"] = snap_source_ecr(aws)
    members = member_accounts(aws)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        per = dict(zip([a["Email"] for a in members], pool.map(lambda a: snap_account(aws, a["Id"]), members)))
        for found in pool.map(lambda a: network_labels(aws, a), [a for a in accounts if a["Id"] != MANAGEMENT]):
            labels.update(found)
    snap["accounts"] = per
    return canon(normalise(strip_volatile(snap), labels))


def network_labels(aws: Aws, account: dict) -> dict[str, str]:
    """moto draws VPC, subnet and security-group ids at random, so two emulators give the same
    network different ids: label each by what it is (account, region, CIDR, group name)."""
    out = {}
    for region in REGIONS:
        ec2 = aws.client("ec2", account["Id"], region)
        vpcs = {v["VpcId"]: v.get("CidrBlock") for v in pages(ec2, "describe_vpcs", "Vpcs")}
        where = f"{account['Email']}:{region}"
        for vid, cidr in vpcs.items():
            out[vid] = f"<vpc:{where}:{cidr}>"
        for sn in pages(ec2, "describe_subnets", "Subnets"):
            out[sn["SubnetId"]] = f"<subnet:{where}:{sn.get('CidrBlock')}>"
        for g in pages(ec2, "describe_security_groups", "SecurityGroups"):
            out[g["GroupId"]] = f"<sg:{where}:{vpcs.get(g.get('VpcId'))}:{g.get('GroupName')}>"
    return out


def canon(snap: dict) -> dict:
    """Sorts the lists whose order means nothing, after ids became labels."""
    for e in snap["organization"]["scps"].values():
        e["targets"].sort()
    for e in snap["stacksets"].values():
        e["instances"].sort(key=json.dumps)
    for acc in snap["accounts"].values():
        for r in acc["iam"]["roles"].values():
            r["attached"].sort()
    return snap


def normalise(v: Any, labels: dict[str, str]) -> Any:
    keys = sorted(labels, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(k) for k in keys)) if keys else None

    def fix(s: str) -> str:
        if pattern:
            s = pattern.sub(lambda m: labels[m.group(0)], s)
        s = UUID_RE.sub("<uuid>", s)
        return SECRET_SUFFIX_RE.sub(r"\1-<suffix>", s)

    def walk(x: Any) -> Any:
        if isinstance(x, dict):
            return {fix(k): walk(y) for k, y in x.items()}
        if isinstance(x, list):
            return [walk(y) for y in x]
        if isinstance(x, str):
            return fix(x)
        return x

    return walk(v)


def diff(a: Any, b: Any, path: str = "", out: list[str] | None = None, limit: int = 200) -> list[str]:
    """Human-readable differences between two snapshots (a = reference)."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            p = f"{path}.{k}" if path else k
            if k not in b:
                out.append(f"- {p}: only in the reference")
            elif k not in a:
                out.append(f"+ {p}: only here: {short(b[k])}")
            else:
                diff(a[k], b[k], p, out, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}]", out, limit)
    elif a != b:
        out.append(f"~ {path}: reference {short(a)} != {short(b)}")
    return out


def short(v: Any, n: int = 160) -> str:
    s = json.dumps(v, sort_keys=True, default=str)
    return s if len(s) <= n else s[:n] + "..."


def duplicates(snap: dict, ref: dict | None = None) -> list[str]:
    """Things that exist more often than they may: a name twice where it must be unique, and,
    against a reference, more task-definition revisions, policy versions, parameter or secret
    versions than the reference has (without one: more than one)."""
    out = []
    org = snap["organization"]
    out += [f"two accounts with e-mail {e}" for e in org.get("emails_used_twice", [])]
    out += [f"OU {p} exists {e['count']} times" for p, e in org["ous"].items() if e["count"] > 1]
    out += [f"SCP {n} exists {e['count']} times" for n, e in org["scps"].items() if e["count"] > 1]
    for n, e in org["scps"].items():
        t = e["targets"]
        out += [f"SCP {n} attached twice to {x}" for x in sorted(set(t)) if t.count(x) > 1]
    for n, s in snap["stacksets"].items():
        if s["count"] > 1:
            out.append(f"StackSet {n} exists {s['count']} times")
        keys = [(i[0], i[1]) for i in s["instances"]]
        out += [f"StackSet {n}: two instances for {k}" for k in sorted(set(keys)) if keys.count(k) > 1]

    def more(what: str, n: int, r: int | None) -> None:
        limit = 1 if r is None else r
        if n > limit:
            out.append(f"{what}: {n} (" + (f"reference {r})" if r is not None else "more than one)"))

    refacc = (ref or {}).get("accounts", {})
    for email, acc in snap["accounts"].items():
        ra = refacc.get(email) if ref else None
        for name, p in acc["iam"]["policies"].items():
            rp = ra["iam"]["policies"].get(name) if ra else None
            more(f"{email}: policy {name} versions", p["versions"], rp["versions"] if rp else None)
        for region in REGIONS:
            reg = acc[region]
            rr = ra.get(region) if ra else None
            for name, c in reg["connections"].items():
                if c["count"] > 1:
                    out.append(f"{email} {region}: {c['count']} connections named {name}")
            for fam, revs in reg["ecs"]["task_definitions"].items():
                rrevs = rr["ecs"]["task_definitions"].get(fam) if rr else None
                more(f"{email} {region}: task definition {fam} revisions", len(revs), len(rrevs) if rrevs else None)
            for name, p in reg["ssm"].items():
                rp = rr["ssm"].get(name) if rr else None
                more(f"{email} {region}: parameter {name} versions", p["version"] or 0, (rp["version"] or 0) if rp else None)
            for name, s in reg["secrets"].items():
                rs = rr["secrets"].get(name) if rr else None
                more(f"{email} {region}: secret {name} versions", s["versions"], rs["versions"] if rs else None)
    return out


# ----------------------------------------------------------------------------- suites' plumbing


def reference_run(bin: Path, root: Path) -> dict:
    """A fault-free, uninterrupted demo run: both OUs applied to completion, then a snapshot."""
    log("== reference run (fresh emulator, no kills, no faults)")
    with Emulator(mkdir(root / "reference")) as emu:
        ws = new_workspace(bin, emu, root, "reference")
        aws = Aws(emu.url)
        plan = ws.plan()
        plan_doc = load_plan(plan)
        emu.clear_requests()
        started = time.monotonic()
        results = {ou: apply_ou(ws, aws, plan, ou, "ref") for ou in OUS}
        elapsed = time.monotonic() - started
        requests = emu.requests()
        snap = snapshot(aws)
        records, _, _ = read_journal(plan)
        rows = status_rows(ws, plan)
    out = {
        "snapshot": snap,
        "elapsed": elapsed,
        "ou_seconds": {ou: r.apply_seconds for ou, r in results.items()},
        "ou_outcome": {ou: r.outcome for ou, r in results.items()},
        "problems": [r.problem for r in results.values() if r.problem],
        "failed_steps": sorted({r["address"] for r in journal_failures(records)}),
        "unsucceeded": unsucceeded(rows, plan_doc, OUS),
        "api_calls": len(requests),
        "status_400": sum(1 for r in requests if r.get("status") == 400),
        "steps": len(change_steps(plan_doc, OUS)),
        "journal": records,
        "kinds": {s["address"]: s["kind"] for s in plan_steps(plan_doc)},
        "change_kinds": sorted({s["kind"] for s in change_steps(plan_doc, OUS)}),
    }
    log(f"   reference: {out['elapsed']:.1f} s, per OU {fmt_secs(out['ou_seconds'])}, outcome {out['ou_outcome']}, "
        f"{out['api_calls']} API calls, failed steps {out['failed_steps'] or 'none'}")
    for p in out["problems"]:
        log(f"   reference problem: {p}")
    return out


def mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def fmt_secs(d: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f} s" for k, v in d.items())


def base_args(description: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--json", metavar="FILE", help="write the figures as JSON to FILE")
    ap.add_argument("--keep", action="store_true", help="keep the temp working dir (printed)")
    ap.add_argument("--workdir", metavar="DIR", help="working dir (default: a new temp dir)")
    ap.add_argument("--orgsplit", metavar="BIN", help="use this orgsplit binary instead of building one")
    ap.add_argument("--moto-task-lifecycle", action="store_true",
                    help="let moto move ECS tasks towards STOPPED on every DescribeTasks (default: they stay RUNNING, as on AWS)")
    return ap


def fault_args(description: str) -> argparse.ArgumentParser:
    """The common options plus the fault settings of the faults suites."""
    ap = base_args(description)
    ap.add_argument("--runs", type=int, default=1, help="faulty runs against one fault-free reference")
    ap.add_argument("--seed", type=int, default=None, help="fault seed of the first run (default: drawn, printed)")
    ap.add_argument("--throttle", type=float, default=0.3)
    ap.add_argument("--drop", type=float, default=0.05)
    ap.add_argument("--error5xx", type=float, default=0.02)
    ap.add_argument("--latency-ms", type=int, default=100)
    return ap


def fault_settings(args: argparse.Namespace) -> tuple[int, dict]:
    """The first run's seed (drawn when not given) and the fault rates of every run."""
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    return seed, {"throttle": args.throttle, "drop": args.drop, "error5xx": args.error5xx, "latency_ms": args.latency_ms}


def workdir(args: argparse.Namespace, suite: str) -> Path:
    global FREEZE_TASKS
    FREEZE_TASKS = not args.moto_task_lifecycle
    if args.workdir:
        return mkdir(Path(args.workdir))
    return Path(tempfile.mkdtemp(prefix=f"orgsplit-{suite}-"))


def finish(args: argparse.Namespace, root: Path, figures: dict, missed: list[str]) -> int:
    figures["targets_missed"] = missed
    figures["ok"] = not missed
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, sort_keys=True, default=str) + "\n")
        log(f"figures written to {args.json}")
    if args.keep or args.workdir:
        log(f"working dir kept: {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    if missed:
        log("TARGETS MISSED:")
        for m in missed:
            log(f"  - {m}")
        return 1
    log("all targets met")
    return 0


def git_head() -> str:
    p = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return p.stdout.strip()
