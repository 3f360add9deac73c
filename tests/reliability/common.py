"""Shared harness of the reliability suites (crash, faults, concurrency); the AWS clients are in
harness_aws.py, the state snapshot in snapshot.py.

Everything here talks to AWS through boto3 or to the emulator's admin endpoints, never through
orgsplit: the suites judge orgsplit by the state it leaves behind, read independently.

The harness's own boto3 calls carry the emulator's seeder mark in their User-Agent, so they are
neither logged nor faulted: the request log holds orgsplit's calls only, and a snapshot taken
while faults are on still reads the truth.
"""
from __future__ import annotations

import argparse
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
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

# The AWS side and the snapshot live in their own modules; the suites reach them through this
# one (`c.Aws`, `c.snapshot`, ...).
from harness_aws import (ACCESS_ROLE, MANAGEMENT, REGIONS, SEED_UA_MARK, SOURCE, Aws,  # noqa: F401
                         error_code, member_accounts, org_accounts, pages, pending_connections, safe)
from snapshot import (diff, duplicates, policy_doc, sha, short, snap_account, snap_region,  # noqa: F401
                      snapshot)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "emulator"))
from orgsplit_emulator.process import EmulatorProcess  # noqa: E402  (the emulator's own client)
DEMO_CONFIG = ROOT / "plans" / "examples" / "orgsplit.toml"
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
