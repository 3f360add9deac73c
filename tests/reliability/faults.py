"""Faults (docs/reliability.md): inventory, plan and apply of both OUs while the emulator
throttles 30 % of the requests, drops 5 % of the connections, answers 2 % with a 5xx and adds
100 ms to each; zero failed steps, and the final state must equal a fault-free run's.

Usage: tests/reliability/faults [--runs 1] [--seed N] [--throttle 0.3] [--drop 0.05]
                                [--error5xx 0.02] [--latency-ms 100] [--json FILE] [--keep]

With --runs N, N faulty runs (fault seeds N, N+1, ...) are compared with one fault-free run.
"""
from __future__ import annotations

import collections
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import common as c


def faulty_run(n: int, bin: Path, root: Path, faults: dict, ref: dict) -> dict:
    c.log(f"== faulty run {n + 1} (fresh emulator, faults {faults} from inventory to the last apply)")
    with c.Emulator(c.mkdir(root / f"faulty-{n}")) as emu:
        ws = c.new_workspace(bin, emu, root, f"faulty-{n}")
        aws = c.Aws(emu.url)
        emu.set_faults(faults)
        emu.clear_requests()
        t0 = time.monotonic()
        try:
            plan = ws.plan()
        except RuntimeError as e:
            emu.clear_faults()
            return {"run": n, "seed": faults["seed"], "problems": [f"inventory/plan failed under faults: {e}"],
                    "aborted_applies": [], "failed_steps": [], "identical": False, "duplicates": [],
                    "journal_problems": [], "steps_not_succeeded": {}}
        t_plan = time.monotonic() - t0
        calls_before_apply = len(emu.requests())
        plan_doc = c.load_plan(plan)
        t1 = time.monotonic()
        results = {ou: c.apply_ou(ws, aws, plan, ou, f"faulty{n}", retry_aborted=3) for ou in c.OUS}
        t_apply = time.monotonic() - t1
        requests = emu.requests()
        (root / f"faulty-{n}" / "requests.json").write_text(json.dumps(requests))
        emu.clear_faults()
        snap = c.snapshot(aws)
        records, bad, torn = c.read_journal(plan)
        rows = c.status_rows(ws, plan)

    statuses = collections.Counter(r.get("status") for r in requests)
    ndjson_failed = [e for r in results.values() for run in r.runs for e in run.step_events("failed")]
    journal_failed = c.journal_failures(records)
    failed = sorted({r["address"] for r in journal_failed} | {e["address"] for e in ndjson_failed})
    differences = c.diff(ref["snapshot"], snap)
    n400 = statuses.get(400, 0)
    out = {
        "run": n,
        "seed": faults["seed"],
        "steps": len(c.change_steps(plan_doc, c.OUS)),
        "step_executions": sum(1 for r in results.values() for run in r.runs for e in run.events
                               if e.get("event") == "step" and e.get("status") in ("changed", "unchanged", "failed", "waiting")),
        "apply_processes": sum(len(r.runs) for r in results.values()),
        "failed_step_events": {"journal": len(journal_failed), "ndjson": len(ndjson_failed)},
        "failed_steps": failed,
        "failed_steps_not_failing_without_faults": sorted(set(failed) - set(ref["failed_steps"])),
        "steps_not_succeeded": c.unsucceeded(rows, plan_doc, c.OUS),
        # The request log does not say which 400s were injected: genuine client errors (a
        # lookup that finds nothing) answer 400 too, so throttles are estimated against the
        # fault-free reference. Drops (status 0) and 5xx are exact.
        "api_calls": {
            "request_log": len(requests),
            "inventory_and_plan": calls_before_apply,
            "apply": len(requests) - calls_before_apply,
            "reported_by_orgsplit_apply": sum((run.summary or {}).get("api_calls", 0) for r in results.values() for run in r.runs),
            "dropped": statuses.get(0, 0),
            "status_5xx": sum(v for k, v in statuses.items() if isinstance(k, int) and k >= 500),
            "status_400": n400,
            "status_400_reference": ref["status_400"],
            "throttled_estimate": max(0, n400 - ref["status_400"]),
            "by_status": {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))},
        },
        "identical": not differences,
        "diff": differences[:60],
        "duplicates": c.duplicates(snap, ref["snapshot"]),
        "journal_problems": c.journal_problems(records, bad, torn, plan_doc["digest"]),
        "elapsed_s": {"inventory_and_plan": round(t_plan, 1), "apply": round(t_apply, 1),
                      "apply_per_ou": {ou: round(r.apply_seconds, 1) for ou, r in results.items()}},
        "outcome": {ou: r.outcome for ou, r in results.items()},
        "problems": [r.problem for r in results.values() if r.problem],
        "aborted_applies": [f"apply --ou {ou} aborted: {a}" for ou, r in results.items() for a in r.aborts],
    }
    print_run(out, ref)
    return out


def print_run(f: dict, ref: dict) -> None:
    print(f"faulty run {f['run'] + 1} (fault seed {f['seed']})")
    if "steps" not in f:
        print(f"  {f['problems']}")
        return
    print(f"  change steps: {f['steps']}, step executions: {f['step_executions']}, apply processes: {f['apply_processes']}")
    print(f"  failed steps: {len(f['failed_steps'])} {f['failed_steps'] or ''} "
          f"(failed events: journal {f['failed_step_events']['journal']}, NDJSON {f['failed_step_events']['ndjson']}); "
          f"only under faults: {len(f['failed_steps_not_failing_without_faults'])}")
    print(f"  applies aborted by an error outside any step (run again): {len(f['aborted_applies'])}")
    for x in f["aborted_applies"]:
        print(f"    {x}")
    a = f["api_calls"]
    print(f"  API calls in the request log: {a['request_log']} (inventory+plan {a['inventory_and_plan']}, apply {a['apply']}; "
          f"orgsplit apply reports {a['reported_by_orgsplit_apply']}; fault-free apply: {ref['api_calls']})")
    print(f"  dropped: {a['dropped']}, 5xx: {a['status_5xx']}, 400: {a['status_400']} "
          f"(fault-free: {a['status_400_reference']}, so ~{a['throttled_estimate']} throttled)")
    print(f"  final state identical to the fault-free run: {'yes' if f['identical'] else 'NO'}; "
          f"duplicates: {len(f['duplicates'])}; journal consistent: {'yes' if not f['journal_problems'] else 'NO'}")
    e = f["elapsed_s"]
    print(f"  elapsed: inventory+plan {e['inventory_and_plan']} s, apply {e['apply']} s ({e['apply_per_ou']}); "
          f"fault-free apply {ref['elapsed']:.1f} s", flush=True)
    for line in f["diff"]:
        c.log(f"    {line}")
    for d in f["duplicates"]:
        c.log(f"    duplicate: {d}")


def missed_by(r: dict) -> list[str]:
    label = f"faulty run {r['run'] + 1} (seed {r['seed']})"
    out = []
    if r["failed_steps"]:
        extra = r["failed_steps_not_failing_without_faults"]
        out.append(f"{label}: {len(r['failed_steps'])} steps failed ({', '.join(r['failed_steps'])}); "
                   + (f"{len(extra)} of them only under faults: {', '.join(extra)}" if extra
                      else "all of them fail without faults too (not a fault effect)"))
    elif r["steps_not_succeeded"]:
        out.append(f"{label}: change steps not succeeded at the end: {sorted(r['steps_not_succeeded'])}")
    if not r["identical"]:
        out.append(f"{label}: final state differs from the fault-free run ({len(r.get('diff', []))} differences)")
    if r["duplicates"]:
        out.append(f"{label}: {len(r['duplicates'])} things exist more often than in the fault-free run")
    if r["journal_problems"]:
        out.append(f"{label}: journal inconsistent: {r['journal_problems'][:5]}")
    out += [f"{label}: {p}" for p in r["problems"]]
    out += [f"{label}: {a} (apply was run again)" for a in r["aborted_applies"]]
    return out


def main() -> int:
    args = c.fault_args(__doc__).parse_args()
    seed, base = c.fault_settings(args)
    c.log(f"faults suite: {base}, {args.runs} runs, first seed {seed}")
    root = c.workdir(args, "faults")
    started = time.monotonic()
    bin = c.frozen_binary(root, args.orgsplit)
    ref = c.reference_run(bin, root)
    runs = [faulty_run(n, bin, root, base | {"seed": seed + n}, ref) for n in range(args.runs)]
    ok_runs = [r for r in runs if "steps" in r]
    figures = {
        "suite": "faults",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": c.git_head(),
        "faults": base,
        "seeds": [seed + n for n in range(args.runs)],
        "runs": runs,
        "failed_steps": sum(len(r["failed_steps"]) for r in runs),
        "aborted_applies": sum(len(r["aborted_applies"]) for r in runs),
        "identical_runs": sum(r["identical"] for r in runs),
        "duplicates": sum(len(r["duplicates"]) for r in runs),
        "api_calls": sum(r["api_calls"]["request_log"] for r in ok_runs),
        "dropped": sum(r["api_calls"]["dropped"] for r in ok_runs),
        "status_5xx": sum(r["api_calls"]["status_5xx"] for r in ok_runs),
        "throttled_estimate": sum(r["api_calls"]["throttled_estimate"] for r in ok_runs),
        "reference": {k: ref[k] for k in ("elapsed", "ou_seconds", "ou_outcome", "failed_steps", "api_calls", "status_400", "problems")},
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    missed = [m for r in runs for m in missed_by(r)] + [f"reference run: {p}" for p in ref["problems"]]
    print(f"faults suite  {base}  seeds {figures['seeds']}  commit {figures['commit']}  {figures['date']}")
    print(f"  runs: {len(runs)}, failed steps: {figures['failed_steps']}, applies aborted outside a step: {figures['aborted_applies']}, "
          f"identical to the fault-free run: {figures['identical_runs']}/{len(runs)}, duplicates: {figures['duplicates']}")
    print(f"  API calls: {figures['api_calls']}, dropped: {figures['dropped']}, 5xx: {figures['status_5xx']}, "
          f"throttled (estimate): {figures['throttled_estimate']}; suite elapsed {figures['elapsed_s']} s")
    return c.finish(args, root, figures, missed)


if __name__ == "__main__":
    sys.exit(main())
