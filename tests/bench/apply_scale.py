#!/usr/bin/env python3
"""The apply-at-scale benchmark (issue 17, docs/performance.md, "Apply at scale").

Copies N SSM parameters (default 10,000; half String, half SecureString) from the source account
into a new account with nothing slowing the copy down on purpose: the emulator enforces no quota
and the plan's `[limits] enabled = false` turns orgsplit's own limiter off. What is left of the
wall time is the emulator answering and orgsplit's own work; this run tells them apart:
1. starts a fresh emulator with the `org-only` scenario and seeds the parameters in the source
   account 111111111111 (us-east-1) with the seeder's User-Agent (not logged);
2. runs `orgsplit inventory` and `orgsplit plan`, clears the request log and runs
   `orgsplit apply plan.json --ou bench --yes` as a child whose resource use `wait4` reports;
3. the executor's overhead is the CPU time orgsplit used (user + system): the time a process
   spends waiting on an answer or on its limiter is not CPU time. It includes the SDK's own
   work (signing, serialising, parsing): an upper bound of what the executor adds per step.
   Beside it, the emulator's summed answer time (`ms` of each logged request) and the calls;
4. the journal's size (bytes, records, bytes a step);
5. runs the same apply again: every step is journalled as done, so the run only reads the plan
   and the journal, checks the caller and the organization, and finds nothing to do: the resume
   time at this size (the 100k-step resume is timed by tests/bench/planner);
6. reads every copied parameter back (decrypted) and compares it with the source.

Prints a JSON summary; exits 1 when the apply fails, a step fails or a copy differs. There is no
time target: the issue asks for the overhead to be measured and reported.

    tests/bench/apply-scale [--count 10000] [--orgsplit target/release/orgsplit] [--json FILE]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from apply_throughput import (  # noqa: E402  (the same seeding, clients and journal reading)
    CONFIG, OU, ROOT, WORKLOADS_EMAIL, EmulatorProcess, account_by_email, is_ssm_step,
    journal_figures, mismatches, orgsplit_env, parameters, read_back, seed_org_only, step_addresses)

UNLIMITED = "\n[limits]\n# Measurement only: no client-side limit, so no time is spent waiting on it.\nenabled = false\n"


def run_rusage(argv: list[str], cwd: Path, env: dict) -> dict:
    """Runs a child; its exit code, output, wall seconds, user and system CPU seconds and peak
    resident set, from `wait4`."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    started = time.monotonic()
    child = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    err.seek(0)
    return {"code": child.returncode, "stdout": out.read().decode(errors="replace"),
            "stderr": err.read().decode(errors="replace"), "wall": wall,
            "user": usage.ru_utime, "system": usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024}


def calls(log: list[dict]) -> dict:
    answered = sum(r.get("ms", 0.0) for r in log) / 1000
    by_op = Counter(f"{r['service']}:{r['operation']}" for r in log)
    return {"calls": len(log), "emulator_answer_seconds": round(answered, 1),
            "by_operation": dict(by_op.most_common(8)),
            "errors": dict(Counter(f"{r['service']}:{r['operation']} {r.get('status')}" for r in log
                                   if r.get("status") not in (200, None) and
                                   not (r["operation"] == "GetParameter" and r.get("status") == 400)))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=10000, help="parameters to copy (the issue's: 10000)")
    ap.add_argument("--orgsplit", default=str(ROOT / "target" / "release" / "orgsplit"))
    ap.add_argument("--json", default=None, help="also write the summary here")
    a = ap.parse_args()
    if not 1 <= a.count <= 99999:
        sys.exit("--count: between 1 and 99999")
    binary = Path(a.orgsplit).resolve()
    if not binary.exists():
        sys.exit(f"{binary} not found: cargo build --release --bin orgsplit first")

    params = parameters(a.count)
    work = Path(tempfile.mkdtemp(prefix="orgsplit-bench-apply-scale-"))
    emu = EmulatorProcess()
    url = emu.url
    try:
        seed_seconds = seed_org_only(emu, params)
        print(f"seeded {a.count} parameters in {seed_seconds:.0f} s", file=sys.stderr, flush=True)
        (work / "orgsplit.toml").write_text(CONFIG + UNLIMITED)
        env = orgsplit_env(url)
        for args in (("inventory", "--out", "inventory.json"),
                     ("plan", "--inventory", "inventory.json", "--out", "plan.json")):
            run = subprocess.run([str(binary), *args, "--no-progress"], cwd=work, env=env,
                                 capture_output=True, text=True, timeout=3600)
            if run.returncode != 0:
                sys.exit(f"orgsplit {args[0]} failed (exit {run.returncode}): {run.stderr.strip()}")
        plan = json.loads((work / "plan.json").read_text())
        if plan.get("limits") != {"enabled": False}:
            sys.exit(f"the plan does not record [limits] enabled = false: {plan.get('limits')!r}")
        planned_ssm = sum(1 for addr in step_addresses(plan) if is_ssm_step(addr))
        if planned_ssm != a.count:
            sys.exit(f"the plan has {planned_ssm} ssm steps, expected {a.count} (work dir {work})")

        apply_argv = [str(binary), "apply", "plan.json", "--ou", OU, "--yes", "--no-progress"]
        emu.admin("DELETE", "requests")
        print(f"applying {a.count} parameters, no quota, no limiter...", file=sys.stderr, flush=True)
        first = run_rusage(apply_argv, work, env)
        first_log = emu.admin("GET", "requests")
        journal_path = work / "plan.json.journal.jsonl"
        journal = journal_figures(journal_path)
        journal_bytes = journal_path.stat().st_size
        records = sum(1 for _ in journal_path.open())
        (work / "apply.stderr").write_text(first["stderr"])

        emu.admin("DELETE", "requests")
        again = run_rusage(apply_argv, work, env)
        again_log = emu.admin("GET", "requests")
        target = account_by_email(url, WORKLOADS_EMAIL)
        copy_check = mismatches(params, read_back(url, target, list(params))) if target else {"total": a.count}
    finally:
        emu.stop()

    steps = journal.get("ssm_steps_succeeded") or 0
    cpu = first["user"] + first["system"]
    first_calls = calls(first_log)
    summary = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "count": a.count,
        "binary": str(binary.relative_to(ROOT)) if binary.is_relative_to(ROOT) else str(binary),
        "seed_seconds": round(seed_seconds, 1),
        "apply": {
            "exit_code": first["code"],
            "wall_seconds": round(first["wall"], 2),
            "cpu_user_seconds": round(first["user"], 2),
            "cpu_system_seconds": round(first["system"], 2),
            "peak_mib": round(first["peak_mib"], 1),
            "steps_succeeded": steps,
            "failed": journal.get("failed", 0),
            "steps_per_second": round(steps / first["wall"], 1) if first["wall"] else None,
            "wall_ms_per_step": round(first["wall"] * 1000 / steps, 2) if steps else None,
            "executor_cpu_ms_per_step": round(cpu * 1000 / steps, 3) if steps else None,
            "cpu_share_of_wall": round(cpu / first["wall"], 3) if first["wall"] else None,
            **first_calls,
            "calls_per_step": round(first_calls["calls"] / steps, 2) if steps else None,
        },
        "journal": {"bytes": journal_bytes, "records": records,
                    "bytes_per_step": round(journal_bytes / steps, 1) if steps else None,
                    "window_seconds": journal.get("window_seconds")},
        "resume_all_done": {
            "exit_code": again["code"], "wall_seconds": round(again["wall"], 2),
            "cpu_seconds": round(again["user"] + again["system"], 2),
            "peak_mib": round(again["peak_mib"], 1), "calls": len(again_log),
        },
        "mismatches": copy_check,
        "work_dir": str(work),
    }
    ok = first["code"] == 0 and again["code"] == 0 and summary["apply"]["failed"] == 0 \
        and steps == a.count and copy_check["total"] == 0
    summary["ok"] = ok
    if first["code"] != 0:
        summary["apply_stderr_tail"] = first["stderr"].strip().splitlines()[-5:]
    print(json.dumps(summary, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
