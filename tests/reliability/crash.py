"""Crash and resume (docs/reliability.md): `kill -9` of `orgsplit apply` at random moments,
then `apply` again, until each OU's apply ends by itself; the final state must equal an
uninterrupted run's, nothing may exist twice, and the journal must stay consistent. Then the
same for `orgsplit cutover` and `cutover --rollback` (crash_cutover.py).

The apply phase has two parts, each on fresh emulators, each judged against one uninterrupted
reference run:

1. random kills (the target's measurement, docs/reliability.md): each apply is killed after a delay drawn
   uniformly from [0, T_ou], T_ou = the reference's apply time for that OU, until at least
   --kills kills hit a running process;
2. targeted kills (coverage): uniform moments land mostly in the long SSM copy, so each of
   --targeted-rounds rounds kills once per step kind, in the order kinds start in the
   reference: as soon as the journal shows a step of that kind started, after a delay drawn
   from [0, that kind's longest reference step time].

The cutover phase (see crash_cutover.py) runs cutover dev, cutover prod, rollback prod and
cutover prod again on the applied demo with its ECS services copied, with random kills
(--cutover-kills, at most --cutover-kills-per-command per command and run) and
--cutover-targeted-rounds targeted rounds. The cleanup phase (see crash_cleanup.py) runs cleanup
dev, the person's step, cleanup prod after cutover of both OUs, with random kills
(--cleanup-kills, at most --cleanup-kills-per-command per command and run) and
--cleanup-targeted-rounds targeted rounds. `--phase apply|cutover|cleanup` runs one phase.

Usage: tests/reliability/crash [--phase all|apply|cutover|cleanup] [--kills 25] [--targeted-rounds 2]
       [--cutover-kills 25] [--cutover-kills-per-command 2] [--cutover-targeted-rounds 2]
       [--cleanup-kills 25] [--cleanup-kills-per-command 3] [--cleanup-targeted-rounds 1]
       [--seed N] [--json FILE] [--keep] [--orgsplit BIN]
"""
from __future__ import annotations

import collections
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import common as c
import crash_cleanup
import crash_cutover
from kills import Kills


def judge(n: int, phase: str, ref: dict, snap: dict, records: list, bad: list, torn: bool, rows: list,
          plan_doc: dict, results: dict, kills: int) -> dict:
    differences = c.diff(ref["snapshot"], snap)
    dups = c.duplicates(snap, ref["snapshot"])
    jprob = c.journal_problems(records, bad, torn, plan_doc["digest"])
    unsucc = c.unsucceeded(rows, plan_doc, c.OUS)
    run = {
        "run": n, "phase": phase, "kills": kills,
        "apply_runs": sum(len(r.runs) for r in results.values()),
        "outcome": {ou: r.outcome for ou, r in results.items()},
        "problems": [r.problem for r in results.values() if r.problem],
        "identical": not differences, "diff": differences[:40],
        "duplicates": dups, "journal_problems": jprob, "journal_records": len(records),
        "unsucceeded": unsucc,
        "unsucceeded_not_in_reference": sorted(set(unsucc) - set(ref["unsucceeded"])),
    }
    c.log(f"   {phase} run {n + 1}: {kills} kills, {run['apply_runs']} apply processes, identical {run['identical']}, "
          f"duplicates {len(dups)}, journal problems {len(jprob)}, steps not succeeded {sorted(unsucc) or 'none'}")
    for line in differences[:40]:
        c.log(f"     {line}")
    for d in dups:
        c.log(f"     duplicate: {d}")
    for p in jprob + run["problems"]:
        c.log(f"     problem: {p}")
    return run


def planned_world(bin: Path, emu: c.Emulator, root: Path, name: str):
    """A workspace planned against the emulator: (workspace, SDK side, plan path, plan
    document, address -> step kind)."""
    ws = c.new_workspace(bin, emu, root, name)
    plan = ws.plan()
    plan_doc = c.load_plan(plan)
    kinds = {s["address"]: s["kind"] for s in c.plan_steps(plan_doc)}
    return ws, c.Aws(emu.url), plan, plan_doc, kinds


def random_run(n: int, bin: Path, root: Path, ref: dict, rng: random.Random, kills: Kills) -> dict:
    c.log(f"== random-kill run {n + 1} (fresh emulator; {kills.count} kills so far)")
    before = kills.count
    with c.Emulator(c.mkdir(root / f"random-{n}")) as emu:
        ws, aws, plan, plan_doc, kinds = planned_world(bin, emu, root, f"random-{n}")
        results = {}
        for ou in c.OUS:
            t_ou = ref["ou_seconds"][ou]
            results[ou] = c.apply_ou(
                ws, aws, plan, ou, f"random{n}",
                kill_delay=lambda t=t_ou: rng.uniform(0, t),
                on_kill=lambda r, ou=ou: kills.record(plan, r, kinds, {"phase": "random", "run": n, "ou": ou}))
        snap = c.snapshot(aws)
        records, bad, torn = c.read_journal(plan)
        rows = c.status_rows(ws, plan)
    return judge(n, "random", ref, snap, records, bad, torn, rows, plan_doc, results, kills.count - before)


def kind_schedule(ref: dict) -> dict[str, list[tuple[str, float]]]:
    """Per OU, the step kinds in the order they first start in the reference journal, each
    with its longest step time there (seconds)."""
    kinds = ref["kinds"]
    order: dict[str, list[str]] = {}
    longest: dict[str, float] = collections.defaultdict(float)
    started: dict[str, float] = {}
    ou = None
    for r in ref["journal"]:
        ev = r.get("event")
        if ev == "run-started":
            ou = r.get("ou")
        elif ev == "started":
            started[r["address"]] = c.record_time(r)
            kind = kinds.get(r["address"], "?")
            if kind not in order.setdefault(ou, []):
                order[ou].append(kind)
        elif ev in ("succeeded", "failed", "waiting") and r["address"] in started:
            kind = kinds.get(r["address"], "?")
            longest[kind] = max(longest[kind], c.record_time(r) - started.pop(r["address"]))
    return {o: [(k, max(longest[k], 0.02)) for k in ks] for o, ks in order.items()}


def apply_until_kind(ws: c.Workspace, plan: Path, ou: str, tag: str, kinds: dict[str, str], kind: str,
                     delay: float) -> c.ApplyRun:
    """Runs apply and SIGKILLs it `delay` seconds after the journal shows a step of `kind`
    started in this run (never, when the run ends first)."""
    before = len(c.read_journal(plan)[0])
    t0 = time.monotonic()
    proc, out, err = c.start_apply(ws, plan, ou, tag)
    fired = None
    deadline = t0 + 900
    while proc.poll() is None and time.monotonic() < deadline:
        now = time.monotonic()
        if fired is None:
            recs = c.read_journal(plan)[0][before:]
            if any(r.get("event") == "started" and kinds.get(r.get("address")) == kind for r in recs):
                fired = now
        if fired is not None and now - fired >= delay:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    try:
        proc.wait(timeout=900)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    run = c.finish_apply(proc, out, err, ou, t0, killed=proc.returncode == -signal.SIGKILL)
    run.journal_before = before
    return run


def targeted_run(n: int, bin: Path, root: Path, ref: dict, rng: random.Random, kills: Kills,
                 targeted: dict[str, bool]) -> dict:
    c.log(f"== targeted-kill round {n + 1} (fresh emulator; one kill per step kind)")
    before = kills.count
    schedule = kind_schedule(ref)
    with c.Emulator(c.mkdir(root / f"targeted-{n}")) as emu:
        ws, aws, plan, plan_doc, kinds = planned_world(bin, emu, root, f"targeted-{n}")
        results = {}
        for ou in c.OUS:
            res = c.OuResult(ou)
            # The OU's change steps by kind: a kind whose steps all succeeded already (they ran
            # beside an earlier target) cannot be hit any more and is skipped.
            steps_of: dict[str, set[str]] = collections.defaultdict(set)
            for s in c.change_steps(plan_doc, [ou]):
                steps_of[s["kind"]].add(s["address"])
            tried: set[str] = set()
            for i in range(60):
                done = c.succeeded_addresses(c.read_journal(plan)[0])
                todo = [(k, t) for k, t in schedule.get(ou, []) if k not in tried and steps_of.get(k, set()) - done]
                if not todo:
                    break
                kind, longest = todo[0]
                run = apply_until_kind(ws, plan, ou, f"targeted{n}-{ou}-{i}", kinds, kind, rng.uniform(0, longest))
                res.runs.append(run)
                if run.killed:
                    tried.add(kind)
                    flying = {kinds.get(a) for a in c.in_flight(c.read_journal(plan)[0][run.journal_before:])}
                    targeted[kind] = targeted.get(kind, False) or kind in flying
                    kills.record(plan, run, kinds, {"phase": "targeted", "run": n, "ou": ou, "target": kind})
                    continue
                if run.waiting:
                    # The target's steps wait on the handshake (a pipeline on its connection).
                    for arn in c.pending_connections(aws):
                        emu.mark_available(arn)
                    continue
                break  # the run ended by itself: every kind left ran unharmed
            for kind, _ in schedule.get(ou, []):
                targeted.setdefault(kind, False)
            # Finish the OU (and collect its outcome) the ordinary way.
            rest = c.apply_ou(ws, aws, plan, ou, f"targeted{n}-final")
            res.runs += rest.runs
            res.outcome, res.problem = rest.outcome, rest.problem
            results[ou] = res
        snap = c.snapshot(aws)
        records, bad, torn = c.read_journal(plan)
        rows = c.status_rows(ws, plan)
    return judge(n, "targeted", ref, snap, records, bad, torn, rows, plan_doc, results, kills.count - before)


def apply_phase(args, bin: Path, root: Path, rng: random.Random) -> tuple[dict, list[str]]:
    """The apply phase: its figures and the targets it missed."""
    started = time.monotonic()
    ref = c.reference_run(bin, root)

    random_kills, targeted_kills = Kills(), Kills()
    runs: list[dict] = []
    for n in range(args.max_emulators):
        if random_kills.count >= args.kills:
            break
        runs.append(random_run(n, bin, root, ref, rng, random_kills))
    targeted: dict[str, bool] = {}
    for n in range(args.targeted_rounds):
        runs.append(targeted_run(n, bin, root, ref, rng, targeted_kills, targeted))

    all_kinds = ref["change_kinds"]
    hit = set(random_kills.by_kind) | set(targeted_kills.by_kind)
    figures = {
        "kills": random_kills.count,
        "kills_target": args.kills,
        "random": random_kills.figures(),
        "targeted": targeted_kills.figures() | {"kinds_targeted": targeted},
        "step_kinds_never_in_flight_at_a_kill": sorted(set(all_kinds) - hit),
        "crash_runs": len(runs),
        "apply_processes": sum(r["apply_runs"] for r in runs),
        "identical": bool(runs) and all(r["identical"] for r in runs),
        "identical_runs": sum(r["identical"] for r in runs),
        "duplicates": sum(len(r["duplicates"]) for r in runs),
        "journal_consistent": not any(r["journal_problems"] for r in runs),
        "reference": {k: ref[k] for k in ("elapsed", "ou_seconds", "ou_outcome", "failed_steps", "unsucceeded", "api_calls", "problems")},
        "runs": runs,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    missed = []
    if random_kills.count < args.kills:
        missed.append(f"only {random_kills.count} random kills hit a running apply (target {args.kills})")
    if not figures["identical"]:
        missed.append(f"final state differs from the uninterrupted run in {len(runs) - figures['identical_runs']} of {len(runs)} crash runs")
    if figures["duplicates"]:
        missed.append(f"{figures['duplicates']} things exist more often than in the uninterrupted run")
    if not figures["journal_consistent"]:
        missed.append("journal inconsistent (see runs[].journal_problems)")
    for r in runs:
        label = f"{r['phase']} run {r['run'] + 1}"
        missed += [f"{label}: {p}" for p in r["problems"]]
        if r["unsucceeded"]:
            extra = r["unsucceeded_not_in_reference"]
            missed.append(
                f"{label}: {len(r['unsucceeded'])} change steps not succeeded at the end "
                f"({', '.join(sorted(r['unsucceeded']))}); "
                + (f"{len(extra)} of them succeed in the uninterrupted run: {', '.join(extra)}" if extra
                   else "all of them fail in the uninterrupted run too (not a crash effect)"))
    missed += [f"reference run: {p}" for p in ref["problems"]]
    return figures, missed


def main() -> int:
    ap = c.base_args(__doc__)
    ap.add_argument("--phase", choices=("all", "apply", "cutover", "cleanup"), default="all",
                    help="run the apply, the cutover or the cleanup phase, or all three (default all)")
    ap.add_argument("--kills", type=int, default=25, help="random kills that hit a running apply, at least (default 25)")
    ap.add_argument("--targeted-rounds", type=int, default=2, help="rounds of one kill per step kind (default 2; 0: none)")
    ap.add_argument("--cutover-kills", type=int, default=25,
                    help="random kills that hit a running cutover or rollback, at least (default 25)")
    ap.add_argument("--cutover-kills-per-command", type=int, default=2,
                    help="random kills of one cutover command per crash run, at most; its next run is not killed (default 2)")
    ap.add_argument("--cutover-targeted-rounds", type=int, default=2,
                    help="rounds of one kill per command and action kind (default 2; 0: none)")
    ap.add_argument("--cleanup-kills", type=int, default=25,
                    help="random kills that hit a running cleanup, at least (default 25)")
    ap.add_argument("--cleanup-kills-per-command", type=int, default=3,
                    help="random kills of one cleanup command per crash run, at most (default 3)")
    ap.add_argument("--cleanup-targeted-rounds", type=int, default=1,
                    help="rounds of targeted cleanup kills (default 1; 0: none)")
    ap.add_argument("--seed", type=int, default=None, help="seed of the kill moments (default: drawn, printed)")
    ap.add_argument("--max-emulators", type=int, default=15, help="give up a phase's random kills after this many runs")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    c.log(f"crash suite: seed {seed}, phase {args.phase}; apply: target {args.kills} random kills, "
          f"{args.targeted_rounds} targeted rounds; cutover: target {args.cutover_kills} random kills, "
          f"{args.cutover_targeted_rounds} targeted rounds; cleanup: target {args.cleanup_kills} random kills, "
          f"{args.cleanup_targeted_rounds} targeted rounds")
    root = c.workdir(args, "crash")
    started = time.monotonic()
    bin = c.frozen_binary(root, args.orgsplit)
    figures = {
        "suite": "crash",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": c.git_head(),
        "seed": seed,
        "phase": args.phase,
    }
    missed: list[str] = []
    if args.phase in ("all", "apply"):
        figures["apply"], m = apply_phase(args, bin, root, random.Random(seed))
        missed += m
    if args.phase in ("all", "cutover"):
        # Its own RNG from the same seed: `--phase cutover` draws the moments the full suite does.
        figures["cutover"], m = crash_cutover.phase(bin, root, random.Random(f"cutover-{seed}"), args.cutover_kills,
                                                    args.cutover_targeted_rounds, args.max_emulators,
                                                    args.cutover_kills_per_command)
        missed += m
    if args.phase in ("all", "cleanup"):
        figures["cleanup"], m = crash_cleanup.phase(bin, root, random.Random(f"cleanup-{seed}"), args.cleanup_kills,
                                                    args.cleanup_targeted_rounds, args.max_emulators,
                                                    args.cleanup_kills_per_command)
        missed += m
    figures["elapsed_s"] = round(time.monotonic() - started, 1)
    print_figures(figures)
    return c.finish(args, root, figures, missed)


def print_figures(f: dict) -> None:
    print(f"crash suite  seed {f['seed']}  commit {f['commit']}  {f['date']}  phase {f['phase']}")
    if "apply" in f:
        print_apply_figures(f["apply"])
    if "cutover" in f:
        crash_cutover.print_figures(f["cutover"])
    if "cleanup" in f:
        crash_cleanup.print_figures(f["cleanup"])
    print(f"  elapsed: {f['elapsed_s']} s")


def print_apply_figures(f: dict) -> None:
    r, t = f["random"], f["targeted"]
    print(f"  random kills that hit a running apply: {f['kills']} (target >= {f['kills_target']}); "
          f"targeted kills: {t['kills']}; {f['crash_runs']} crash runs, {f['apply_processes']} apply processes")
    print(f"  random kills, step kinds in flight (kills per kind): {r['in_flight_by_kind']}")
    print(f"    with no step in flight (start-up, precheck, between steps): {r['kills_with_no_step_in_flight']}; "
          f"steps in flight per kill: {r['steps_in_flight_per_kill']}")
    print(f"  targeted kills, step kinds in flight (kills per kind): {t['in_flight_by_kind']}")
    missed = sorted(k for k, v in t["kinds_targeted"].items() if not v)
    print(f"    kinds targeted: {len(t['kinds_targeted'])}, in flight when killed: {len(t['kinds_targeted']) - len(missed)}"
          + (f" (not hit: {missed})" if missed else ""))
    print(f"  step kinds never in flight at any kill: {f['step_kinds_never_in_flight_at_a_kill'] or 'none'}")
    print(f"  torn journal tails seen after a kill: {r['torn_journal_tails_seen'] + t['torn_journal_tails_seen']}")
    print(f"  final state identical to the uninterrupted run: {'yes' if f['identical'] else 'NO'} "
          f"({f['identical_runs']}/{f['crash_runs']} runs)")
    print(f"  duplicates: {f['duplicates']}")
    print(f"  journal consistent: {'yes' if f['journal_consistent'] else 'NO'}")
    ref = f["reference"]
    print(f"  reference run: {ref['elapsed']:.1f} s ({c.fmt_secs(ref['ou_seconds'])}), {ref['api_calls']} API calls, "
          f"steps not succeeded: {sorted(ref['unsucceeded']) or 'none'}")
    print(f"  apply phase elapsed: {f['elapsed_s']} s")


if __name__ == "__main__":
    sys.exit(main())
