"""Crash and resume (shared/spec/quality.md): `kill -9` of `orgsplit apply` at random moments,
then `apply` again, until each OU's apply ends by itself; the final state must equal an
uninterrupted run's, nothing may exist twice, and the journal must stay consistent.

Usage: tests/reliability/crash [--kills 25] [--seed N] [--json FILE] [--keep]
"""
from __future__ import annotations

import collections
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import common as c


def main() -> int:
    ap = c.base_args(__doc__)
    ap.add_argument("--kills", type=int, default=25, help="kills that hit a running apply, at least (default 25)")
    ap.add_argument("--seed", type=int, default=None, help="seed of the kill moments (default: drawn, printed)")
    ap.add_argument("--max-emulators", type=int, default=15, help="give up after this many crash runs")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    rng = random.Random(seed)
    c.log(f"crash suite: seed {seed}, target {args.kills} kills")
    root = c.workdir(args, "crash")
    started = time.monotonic()
    bin = c.frozen_binary(root, args.orgsplit)
    ref = c.reference_run(bin, root)
    t_ou = ref["ou_seconds"]

    kills = 0
    histogram: collections.Counter[str] = collections.Counter()
    nothing_in_flight = 0
    steps_in_flight: list[int] = []
    kill_moments: list[dict] = []
    torn_seen = 0
    runs: list[dict] = []
    all_kinds: set[str] = set()
    for n in range(args.max_emulators):
        if kills >= args.kills:
            break
        c.log(f"== crash run {n + 1} (fresh emulator; {kills}/{args.kills} kills so far)")
        with c.Emulator(c.mkdir(root / f"crash-{n}")) as emu:
            ws = c.new_workspace(bin, emu, root, f"crash-{n}")
            aws = c.Aws(emu.url)
            plan = ws.plan()
            plan_doc = c.load_plan(plan)
            kinds = {s["address"]: s["kind"] for s in c.plan_steps(plan_doc)}
            all_kinds.update(s["kind"] for s in c.change_steps(plan_doc, c.OUS))
            run_kills = 0

            def on_kill(run: c.ApplyRun, ou: str) -> None:
                nonlocal kills, nothing_in_flight, torn_seen, run_kills
                kills += 1
                run_kills += 1
                records, _, torn = c.read_journal(plan)
                torn_seen += int(torn)
                flying = c.in_flight(records[run.journal_before:])
                steps_in_flight.append(len(flying))
                if not flying:
                    nothing_in_flight += 1
                for kind in sorted({kinds.get(a, "?") for a in flying}):
                    histogram[kind] += 1
                kill_moments.append({"run": n, "ou": ou, "after_s": round(run.seconds, 2),
                                     "in_flight": sorted(flying), "torn_tail": torn})
                c.log(f"   kill {kills}: {ou} after {run.seconds:.1f} s, {len(flying)} steps in flight"
                      f"{' (' + ', '.join(sorted({kinds.get(a, '?') for a in flying})) + ')' if flying else ''}")

            results = {}
            for ou in c.OUS:
                results[ou] = c.apply_ou(ws, aws, plan, ou, f"crash{n}",
                                         kill_delay=lambda ou=ou: rng.uniform(0, t_ou[ou]),
                                         on_kill=lambda r, ou=ou: on_kill(r, ou))
            snap = c.snapshot(aws)
            records, bad, torn = c.read_journal(plan)
            rows = c.status_rows(ws, plan)
        differences = c.diff(ref["snapshot"], snap)
        dups = c.duplicates(snap, ref["snapshot"])
        jprob = c.journal_problems(records, bad, torn, plan_doc["digest"])
        unsucc = c.unsucceeded(rows, plan_doc, c.OUS)
        run = {
            "run": n, "kills": run_kills,
            "apply_runs": sum(len(r.runs) for r in results.values()),
            "outcome": {ou: r.outcome for ou, r in results.items()},
            "problems": [r.problem for r in results.values() if r.problem],
            "identical": not differences, "diff": differences[:40],
            "duplicates": dups, "journal_problems": jprob,
            "journal_records": len(records),
            "unsucceeded": unsucc,
            "unsucceeded_not_in_reference": sorted(set(unsucc) - set(ref["unsucceeded"])),
        }
        runs.append(run)
        c.log(f"   run {n + 1}: {run_kills} kills, {run['apply_runs']} apply processes, identical {run['identical']}, "
              f"duplicates {len(dups)}, journal problems {len(jprob)}, steps not succeeded {sorted(unsucc) or 'none'}")
        for line in differences[:40]:
            c.log(f"     {line}")
        for d in dups:
            c.log(f"     duplicate: {d}")
        for p in jprob + run["problems"]:
            c.log(f"     problem: {p}")

    figures = {
        "suite": "crash",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": c.git_head(),
        "seed": seed,
        "kills": kills,
        "kills_target": args.kills,
        "crash_runs": len(runs),
        "apply_processes": sum(r["apply_runs"] for r in runs),
        "kill_in_flight_by_kind": dict(sorted(histogram.items())),
        "kills_with_no_step_in_flight": nothing_in_flight,
        "step_kinds_never_in_flight_at_a_kill": sorted(set(all_kinds) - set(histogram)),
        "steps_in_flight_per_kill": dict(sorted(collections.Counter(steps_in_flight).items())),
        "torn_journal_tails_seen": torn_seen,
        "identical": all(r["identical"] for r in runs) and bool(runs),
        "identical_runs": sum(r["identical"] for r in runs),
        "duplicates": sum(len(r["duplicates"]) for r in runs),
        "journal_consistent": not any(r["journal_problems"] for r in runs),
        "reference": {k: ref[k] for k in ("elapsed", "ou_seconds", "ou_outcome", "failed_steps", "unsucceeded", "api_calls", "problems")},
        "runs": runs,
        "kill_moments": kill_moments,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    missed = []
    if kills < args.kills:
        missed.append(f"only {kills} kills hit a running apply (target {args.kills})")
    if not figures["identical"]:
        missed.append(f"final state differs from the uninterrupted run in {len(runs) - figures['identical_runs']} of {len(runs)} crash runs")
    if figures["duplicates"]:
        missed.append(f"{figures['duplicates']} things exist more often than in the uninterrupted run")
    if not figures["journal_consistent"]:
        missed.append("journal inconsistent (see runs[].journal_problems)")
    for r in runs:
        for p in r["problems"]:
            missed.append(f"crash run {r['run'] + 1}: {p}")
        if r["unsucceeded"]:
            extra = r["unsucceeded_not_in_reference"]
            missed.append(
                f"crash run {r['run'] + 1}: {len(r['unsucceeded'])} change steps not succeeded at the end "
                f"({', '.join(sorted(r['unsucceeded']))}); "
                + (f"{len(extra)} of them succeed in the uninterrupted run: {', '.join(extra)}" if extra
                   else "all of them fail in the uninterrupted run too (not a crash effect)"))
    if ref["problems"]:
        missed += [f"reference run: {p}" for p in ref["problems"]]
    print_figures(figures)
    return c.finish(args, root, figures, missed)


def print_figures(f: dict) -> None:
    print(f"crash suite  seed {f['seed']}  commit {f['commit']}  {f['date']}")
    print(f"  kills that hit a running apply: {f['kills']} (target >= {f['kills_target']}) over {f['crash_runs']} crash runs, "
          f"{f['apply_processes']} apply processes")
    print(f"  in flight at the kill (kills per step kind): {f['kill_in_flight_by_kind']}")
    print(f"  kills with no step in flight (start-up, precheck, between steps): {f['kills_with_no_step_in_flight']}")
    print(f"  step kinds of the plan never in flight at a kill: {f['step_kinds_never_in_flight_at_a_kill']}")
    print(f"  steps in flight per kill: {f['steps_in_flight_per_kill']}")
    print(f"  torn journal tails seen after a kill: {f['torn_journal_tails_seen']}")
    print(f"  final state identical to the uninterrupted run: {'yes' if f['identical'] else 'NO'} "
          f"({f['identical_runs']}/{f['crash_runs']} runs)")
    print(f"  duplicates: {f['duplicates']}")
    print(f"  journal consistent: {'yes' if f['journal_consistent'] else 'NO'}")
    ref = f["reference"]
    print(f"  reference run: {ref['elapsed']:.1f} s ({c.fmt_secs(ref['ou_seconds'])}), {ref['api_calls']} API calls, "
          f"steps not succeeded: {sorted(ref['unsucceeded']) or 'none'}")
    print(f"  elapsed: {f['elapsed_s']} s")


if __name__ == "__main__":
    sys.exit(main())
