"""Concurrency (docs/reliability.md): two `orgsplit apply` of the same plan started at the
same moment. In every trial exactly one must be refused (exit 3, naming the holder), the other
must run to its end, the journal must show one run, and nothing may be executed twice.

Usage: tests/reliability/concurrency [--trials 10] [--ou dev] [--json FILE] [--keep]
"""
from __future__ import annotations

import collections
import re
import subprocess
import sys
import time
from datetime import datetime, timezone

import common as c

LOCKED = "is locked by another apply of this plan"
HOLDER = re.compile(r"locked by another apply of this plan \(pid \d+ applying OU \S+ since [^)]+\)")


def trial(n: int, bin, root, ou: str) -> dict:
    with c.Emulator(c.mkdir(root / f"trial-{n}")) as emu:
        ws = c.new_workspace(bin, emu, root, f"trial-{n}")
        aws = c.Aws(emu.url)
        plan = ws.plan(f"plan-{n}.json")
        plan_doc = c.load_plan(plan)
        t0 = time.monotonic()
        # Back to back, alternating which one is spawned first.
        order = ["a", "b"] if n % 2 == 0 else ["b", "a"]
        spawned = []
        procs = {}
        for tag in order:
            procs[tag] = c.start_apply(ws, plan, ou, f"race-{n}-{tag}")
            spawned.append(time.monotonic())
        runs = {}
        for tag, (proc, out, err) in procs.items():
            try:
                proc.wait(timeout=900)
            except subprocess.TimeoutExpired:
                proc.kill()
            runs[tag] = c.finish_apply(proc, out, err, ou, t0, killed=False)
        snap = c.snapshot(aws)
        records, bad, torn = c.read_journal(plan)
    refused = [t for t, r in runs.items() if r.rc == c.EXIT_REFUSED and LOCKED in r.stderr]
    winners = [t for t, r in runs.items() if t not in refused]
    holder_named = [t for t in refused if HOLDER.search(runs[t].stderr)]
    run_started = [r for r in records if r.get("event") == "run-started"]
    run_finished = [r for r in records if r.get("event") == "run-finished"]
    starts = collections.Counter(r["address"] for r in records if r.get("event") == "started")
    twice = sorted(a for a, k in starts.items() if k > 1)
    refused_steps = sum(1 for t in refused for e in runs[t].events if e.get("event") == "step")
    result = {
        "trial": n,
        "exit_codes": {t: r.rc for t, r in runs.items()},
        "spawn_gap_ms": round((spawned[1] - spawned[0]) * 1000, 2),
        "refused": len(refused),
        "winners": len(winners),
        "holder_named": len(holder_named),
        "refusal_messages": [c.last_error(runs[t].stderr) for t in refused],
        "winner_outcome": (runs[winners[0]].summary or {}).get("outcome") if len(winners) == 1 else None,
        "winner_seconds": round(runs[winners[0]].seconds, 1) if len(winners) == 1 else None,
        "run_started_records": len(run_started),
        "run_finished_records": len(run_finished),
        "steps_started_twice": twice,
        "steps_reported_by_the_refused": refused_steps,
        "duplicates": c.duplicates(snap),
        "journal_problems": c.journal_problems(records, bad, torn, plan_doc["digest"]),
        "snapshot": snap,
    }
    if len(winners) != 1:
        result["unexpected"] = {t: c.last_error(runs[t].stderr) for t in winners}
    return result


def main() -> int:
    ap = c.base_args(__doc__)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--ou", default="dev")
    args = ap.parse_args()
    root = c.workdir(args, "concurrency")
    started = time.monotonic()
    bin = c.frozen_binary(root, args.orgsplit)
    trials = []
    for n in range(args.trials):
        t = trial(n, bin, root, args.ou)
        trials.append(t)
        c.log(f"   trial {n + 1}: exits {t['exit_codes']}, refused {t['refused']} (holder named {t['holder_named']}), "
              f"winner outcome {t['winner_outcome']} in {t['winner_seconds']} s, run-started {t['run_started_records']}, "
              f"started twice {t['steps_started_twice'] or 'none'}, duplicates {len(t['duplicates'])}")
        for m in t["refusal_messages"]:
            c.log(f"     refused: {m}")
    base = trials[0]["snapshot"] if trials else None
    differing = [t["trial"] for t in trials[1:] if c.diff(base, t["snapshot"])]
    for t in trials:
        t.pop("snapshot")
    double = [t["trial"] for t in trials if t["steps_started_twice"] or t["run_started_records"] != 1]
    figures = {
        "suite": "concurrency",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": c.git_head(),
        "ou": args.ou,
        "trials": len(trials),
        "refused": sum(t["refused"] for t in trials),
        "refused_naming_the_holder": sum(t["holder_named"] for t in trials),
        "winners": sum(t["winners"] for t in trials),
        "trials_with_exactly_one_refused": sum(t["refused"] == 1 and t["winners"] == 1 for t in trials),
        "double_executions": len(double),
        "duplicates": sum(len(t["duplicates"]) for t in trials),
        "winner_outcomes": dict(collections.Counter(str(t["winner_outcome"]) for t in trials)),
        "max_spawn_gap_ms": max((t["spawn_gap_ms"] for t in trials), default=None),
        "final_state_differs_from_trial_1": differing,
        "trial_details": trials,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    missed = []
    for t in trials:
        label = f"trial {t['trial'] + 1}"
        if t["refused"] != 1 or t["winners"] != 1:
            missed.append(f"{label}: {t['refused']} refused, {t['winners']} ran (exits {t['exit_codes']}) {t.get('unexpected', '')}")
        elif t["holder_named"] != 1:
            missed.append(f"{label}: the refusal does not name the holder: {t['refusal_messages']}")
        if t["winner_outcome"] is None and t["winners"] == 1:
            missed.append(f"{label}: the apply that got the lock did not run to its end")
        if t["run_started_records"] != 1 or t["run_finished_records"] != 1:
            missed.append(f"{label}: journal has {t['run_started_records']} run-started, {t['run_finished_records']} run-finished records")
        if t["steps_started_twice"]:
            missed.append(f"{label}: steps started twice: {t['steps_started_twice']}")
        if t["steps_reported_by_the_refused"]:
            missed.append(f"{label}: the refused apply reported {t['steps_reported_by_the_refused']} steps")
        if t["duplicates"]:
            missed.append(f"{label}: duplicates: {t['duplicates']}")
        if t["journal_problems"]:
            missed.append(f"{label}: journal problems: {t['journal_problems'][:5]}")
    if differing:
        missed.append(f"final state of trials {[d + 1 for d in differing]} differs from trial 1's")
    print(f"concurrency suite  OU {args.ou}  commit {figures['commit']}  {figures['date']}")
    print(f"  trials: {figures['trials']}, refused: {figures['refused']} (naming the holder: {figures['refused_naming_the_holder']}), "
          f"winners: {figures['winners']}, trials with exactly one refused: {figures['trials_with_exactly_one_refused']}")
    print(f"  double executions: {figures['double_executions']}, duplicates: {figures['duplicates']}, "
          f"winner outcomes: {figures['winner_outcomes']}, final states differing from trial 1: {len(differing)}")
    print(f"  elapsed: {figures['elapsed_s']} s")
    return c.finish(args, root, figures, missed)


if __name__ == "__main__":
    sys.exit(main())
