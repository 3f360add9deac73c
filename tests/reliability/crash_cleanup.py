"""The cleanup phase of the crash suite (docs/reliability.md, section 1): `kill -9` of
`orgsplit cleanup PLAN --ou NAME --yes --delete-logs` at random and at targeted moments, then
the same command again until it ends by itself; the source account must end (and be, after
each cleanup) as an uninterrupted run leaves it, no removal recorded `succeeded` may start
again, no resource may be deleted twice, and no action may fail in a command's final run.

Every run of this phase, the reference included, starts on a fresh emulator from the world of
the cutover phase (crash_cutover.applied_world: apply of plan.json and plan2.json, with the
ECS services), then cutover dev and cutover prod of plan2.json, uninterrupted. Then SEQUENCE:
cleanup dev; the person's step (PERSON: empty the versioned bucket acme-terraform-state of
every object version and delete marker, stop the standalone tasks of the cluster `batch`,
through boto3, as crates/orgsplit/tests/cleanup.rs does; without it prod's cleanup exits 3);
cleanup prod (which also deletes the shared resources: dev's cleanup succeeded).

1. Random kills: each cleanup is SIGKILLed after a delay drawn uniformly from [0, T_cmd], T_cmd
   = the reference's time for that command, at most --cleanup-kills-per-command times per
   crash run, then runs until it ends by itself; crash runs go on until --cleanup-kills kills
   hit a running cleanup.
2. Targeted kills, per round and command: for each delete operation the reference's command
   made in the source account (DeleteParameter, DeleteSecret, DetachRolePolicy, DeleteRole,
   DeregisterTaskDefinition…), in the order they first arrived, a kill as soon as the
   emulator's request log shows its first 2xx: between a delete and its `succeeded` record;
   then right after the journal shows a `started` of a secret's removal
   (`cleanup/arn:aws:secretsmanager:…`), and a delay from [0, longest] after a role's removal
   started (mid role teardown). As in the cutover phase, every call
   is delayed by WRITE_LATENCY_MS once the run has started, until the kill, to widen that
   window beyond the harness's polling.

The request log is drained (read and cleared) after every cleanup process, keeping the entries
that carry a `resource` (deletes); it is cleared after the setup and after the person's step,
so that only cleanup's own deletes are counted: "at most one successful delete per resource"
groups the 2xx entries by (account, region, service, operation, resource).
"""
from __future__ import annotations

import collections
import json
import random
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import common as c
import crash_cutover as cc
import snapshot
from kills import JournalTail, Kills

SEQUENCE = [("cleanup dev", "dev"), ("cleanup prod", "prod")]
BUCKET, CLUSTER = "acme-terraform-state", "batch"
WRITE_LATENCY_MS = cc.WRITE_LATENCY_MS


def cleanup_kind(address: str) -> str:
    """`cleanup/arn:aws:iam::111111111111:role/dev-api-task` -> `iam role`; `cleanup/arn:aws:
    codepipeline:us-east-1:1:name` -> `codepipeline pipeline`; anything else -> `?`."""
    if not address.startswith("cleanup/arn:"):
        return "?"
    parts = address[len("cleanup/"):].split(":", 5)
    service, rest = parts[2], parts[5] if len(parts) > 5 else ""
    kind = rest.split("/", 1)[0].split(":", 1)[0] if ("/" in rest or ":" in rest) else ""
    if service == "codepipeline":
        kind = "pipeline"
    elif service == "s3":
        kind = "bucket"
    return f"{service} {kind}".strip()


class CleanupKinds(dict):
    def get(self, address, default=None):  # noqa: D102 - a Mapping's get
        return cleanup_kind(address)


def cleanup_records(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("address", "").startswith("cleanup/")]


@dataclass
class World:
    w: cc.World
    deletes: list[dict] = field(default_factory=list)  # the request log's deletes by cleanup processes
    person: dict | None = None  # what the person's step did

    def drain(self) -> None:
        """Keeps the log's deletes and clears it, once no call is in flight: a killed process's
        last call may still be answered after its death (up to 5 s)."""
        deadline = time.monotonic() + 5
        while True:
            log = self.w.emu.requests()
            if all(r.get("status") is not None for r in log) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.deletes += [r for r in log if r.get("resource") is not None]
        self.w.emu.clear_requests()


def cut_over_world(bin: Path, emu: c.Emulator, root: Path, name: str) -> World:
    w = cc.applied_world(bin, emu, root, name)
    t0 = time.monotonic()
    for label, ou in (("cutover dev", "dev"), ("cutover prod", "prod")):
        res = cc.run_command(w, label, ou, False, f"setup-{ou}")
        if res.outcome != "succeeded":
            raise RuntimeError(f"{name}: setup {label}: {res.outcome} {res.problem}")
    w.setup_seconds += time.monotonic() - t0
    emu.clear_requests()
    return World(w)


def person_step(cw: World) -> dict:
    """What a person does before prod's cleanup: every object version and delete marker of the
    versioned bucket deleted, the standalone tasks of the cluster stopped (boto3, as the
    harness, never orgsplit). Its own deletes are not counted (the log is cleared after it)."""
    cw.drain()
    aws = cw.w.aws
    s3 = aws.client("s3", c.SOURCE)
    n = 0
    while True:
        got = s3.list_object_versions(Bucket=BUCKET)
        items = got.get("Versions", []) + got.get("DeleteMarkers", [])
        if not items:
            break
        for v in items:
            s3.delete_object(Bucket=BUCKET, Key=v["Key"], VersionId=v["VersionId"])
            n += 1
    ecs = aws.client("ecs", c.SOURCE, c.REGIONS[0])
    tasks = ecs.list_tasks(cluster=CLUSTER)["taskArns"]
    for t in tasks:
        ecs.stop_task(cluster=CLUSTER, task=t, reason="person's step before prod's cleanup")
    cw.w.emu.clear_requests()
    return {"object_versions_and_markers_deleted": n, "tasks_stopped": len(tasks)}


def cleanup_once(cw: World, ou: str, tag: str, kill_after: float | None = None,
                 trigger: tuple[str, str, float] | None = None, timeout: float = 900) -> c.ApplyRun:
    """One cleanup process. `kill_after`: SIGKILL after that many seconds; `trigger` (kind,
    event, delay): SIGKILL `delay` s after the journal shows a removal of that kind `started`
    in this run, or, for the event `write:OPERATION`, as soon as the request log shows that
    operation answered 2xx in the source account (every call delayed by WRITE_LATENCY_MS once
    the journal shows `run-started`, until the kill). The request log is drained after it."""
    w = cw.w
    before = len(c.read_journal(w.plan)[0])
    tail = JournalTail(w.plan)
    t0 = time.monotonic()
    out, err = w.ws.dir / f"cleanup-{tag}.ndjson", w.ws.dir / f"cleanup-{tag}.err"
    args = [str(w.ws.bin), "--output", "json", "--no-progress", "cleanup", str(w.plan), "--ou", ou, "--yes",
            "--delete-logs"]
    proc = subprocess.Popen(args, cwd=w.ws.dir, env=w.ws.env, stdin=subprocess.DEVNULL,
                            stdout=open(out, "wb"), stderr=open(err, "wb"))
    slowed = False
    if trigger is None:
        try:
            proc.wait(timeout=kill_after if kill_after is not None else timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    else:
        kind, event, delay = trigger
        op = event[len("write:"):] if event.startswith("write:") else None
        fired = None
        while proc.poll() is None and time.monotonic() - t0 < timeout:
            now = time.monotonic()
            if fired is None:
                recs = tail.new()
                if op is not None:
                    if not slowed and any(r.get("event") == "run-started" for r in recs):
                        w.emu.set_faults({"latency_ms": WRITE_LATENCY_MS})
                        slowed = True
                    if slowed and any(r.get("operation") == op and r.get("account") == c.SOURCE
                                      and 200 <= (r.get("status") or 0) < 300 for r in w.emu.requests()):
                        fired = now
                elif any(r.get("event") == event and cleanup_kind(r.get("address", "")) == kind for r in recs):
                    fired = now
            if fired is not None and now - fired >= delay:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002 if op is None else 0.01)
        if proc.poll() is None and fired is None:
            proc.send_signal(signal.SIGKILL)  # timed out
    proc.wait()
    if slowed:
        w.emu.clear_faults()
    run = c.finish_apply(proc, out, err, ou, t0, killed=proc.returncode == -signal.SIGKILL)
    run.journal_before = before
    cw.drain()
    return run


def run_cleanup(cw: World, label: str, ou: str, tag: str, **kw) -> cc.CommandResult:
    return cc.run_command(cw.w, label, ou, False, tag, once=lambda t, k: cleanup_once(cw, ou, t, kill_after=k), **kw)


# ----------------------------------------------------------------------------- judging


def delete_key(r: dict) -> str:
    return json.dumps([r.get("account"), r.get("region"), r.get("service"), r.get("operation"), r.get("resource")],
                      sort_keys=True)


def deletes(cw: World) -> dict[str, int]:
    """Successful deletes per (account, region, service, operation, resource), account ids as
    e-mails, ARN suffixes as labels."""
    labels = {a["Id"]: f"<{a['Email']}>" for a in c.org_accounts(cw.w.aws)}
    keys = [delete_key(r) for r in cw.deletes if 200 <= (r.get("status") or 0) < 300]
    return dict(collections.Counter(snapshot.normalise(keys, labels)))


def world_state(cw: World) -> dict:
    records, bad, torn = c.read_journal(cw.w.plan)
    snap = c.snapshot(cw.w.aws) | {"source_account": snapshot.snap_source(cw.w.aws)}
    return {"snapshot": snap, "records": records, "bad": bad, "torn": torn, "deletes": deletes(cw)}


def succeeded_removals(records: list[dict]) -> list[str]:
    """Addresses, secret ARN suffixes as labels (moto draws them)."""
    return sorted(set(snapshot.normalise([r["address"] for r in cleanup_records(records)
                                          if r.get("event") == "succeeded"], {})))


def judge(n: int, phase: str, ref: dict, cw: World, state: dict, results: list[cc.CommandResult], kills: int) -> dict:
    snap, records = state["snapshot"], state["records"]
    differences = c.diff(ref["snapshot"], snap)
    dups = c.duplicates(snap, ref["snapshot"])
    jprob = c.journal_problems(records, state["bad"], state["torn"], cw.w.plan_doc["digest"])
    again = cc.starts_after_success(records)
    failures = cc.final_run_failures(cw.w, results)
    removals = succeeded_removals(records)
    between = {r.label: c.diff(ref["states"][r.label], r.state) for r in results}
    between = {k: v for k, v in between.items() if v}
    twice = {k: v for k, v in state["deletes"].items() if v > 1}
    run = {
        "run": n, "phase": phase, "kills": kills,
        "processes": sum(len(r.runs) for r in results),
        "processes_per_command": {r.label: len(r.runs) for r in results},
        "outcome": {r.label: r.outcome for r in results},
        "problems": [r.problem for r in results if r.problem],
        "identical": not differences, "diff": differences[:40],
        "states_after_command_differing": between,
        "duplicates": dups, "journal_problems": jprob, "journal_records": len(records),
        "starts_after_success": again,
        "final_run_failures": failures,
        "failed_records": sum(1 for r in cleanup_records(records) if r.get("event") == "failed"),
        "deleted_twice": twice,
        "deletes": sum(state["deletes"].values()),
        "deleted_not_in_reference": sorted(set(state["deletes"]) - set(ref["deletes"])),
        "reference_deleted_not_here": sorted(set(ref["deletes"]) - set(state["deletes"])),
        "succeeded_removals_not_in_reference": sorted(set(removals) - set(ref["removals"])),
        "reference_removals_not_succeeded": sorted(set(ref["removals"]) - set(removals)),
    }
    c.log(f"   cleanup {phase} run {n + 1}: {kills} kills, {run['processes']} cleanup processes "
          f"{run['processes_per_command']}, identical {run['identical']}, duplicates {len(dups)}, deleted twice "
          f"{len(twice)}, starts after success {len(again)}, journal problems {len(jprob)}, "
          f"final-run failures {len(failures)}, failed records {run['failed_records']}")
    for line in differences[:40]:
        c.log(f"     {line}")
    for label, lines in between.items():
        for line in lines[:20]:
            c.log(f"     after {label}: {line}")
    for p in dups + jprob + failures + run["problems"] + [f"deleted {v} times: {k}" for k, v in twice.items()]:
        c.log(f"     problem: {p}")
    for a in (run["deleted_not_in_reference"] + run["reference_deleted_not_here"]
              + run["succeeded_removals_not_in_reference"] + run["reference_removals_not_succeeded"]):
        c.log(f"     differs from the reference: {a}")
    return run


def run_sequence(cw: World, command: callable) -> list[cc.CommandResult]:
    """SEQUENCE with the person's step before prod's cleanup; `command(i, label, ou)` runs one
    command to its end and returns its CommandResult."""
    results = []
    for i, (label, ou) in enumerate(SEQUENCE):
        if ou == "prod":
            cw.person = person_step(cw)
        res = command(i, label, ou)
        res.state = snapshot.snap_source(cw.w.aws)
        results.append(res)
    return results


# ----------------------------------------------------------------------------- the phase


def reference(bin: Path, root: Path) -> dict:
    c.log("== cleanup reference run (fresh emulator, apply of plan.json and plan2.json, cutover dev and prod, "
          "then cleanup dev, the person's step, cleanup prod, no kills)")
    with c.Emulator(c.mkdir(root / "cleanup-reference")) as emu:
        cw = cut_over_world(bin, emu, root, "cleanup-reference")
        before = snapshot.snap_source(cw.w.aws)
        per_command, ops = {}, {}

        def command(i, label, ou):
            start, n = len(c.read_journal(cw.w.plan)[0]), len(cw.deletes)
            res = run_cleanup(cw, label, ou, f"ref-{i}")
            per_command[label] = c.read_journal(cw.w.plan)[0][start:]
            ops[label] = list(dict.fromkeys(r["operation"] for r in cw.deletes[n:] if r.get("account") == c.SOURCE
                                            and 200 <= (r.get("status") or 0) < 300))  # in order of arrival
            return res

        results = run_sequence(cw, command)
        state = world_state(cw)
    durations: dict[str, float] = collections.defaultdict(float)
    counts: dict[str, collections.Counter] = {}
    for label, recs in per_command.items():
        started: dict[str, float] = {}
        counts[label] = collections.Counter()
        for r in cleanup_records(recs):
            kind = cleanup_kind(r["address"])
            if r["event"] == "started":
                started[r["address"]] = c.record_time(r)
                counts[label][kind] += 1
            elif r["event"] in ("succeeded", "failed") and r["address"] in started:
                durations[kind] = max(durations[kind], c.record_time(r) - started.pop(r["address"]))
    out = {
        "snapshot": state["snapshot"], "journal": state["records"], "deletes": state["deletes"],
        "states": {r.label: r.state for r in results},
        "removals": succeeded_removals(state["records"]),
        "setup_seconds": round(cw.w.setup_seconds, 1),
        "command_seconds": {r.label: r.seconds for r in results},
        "command_outcome": {r.label: r.outcome for r in results},
        "problems": [r.problem for r in results if r.problem],
        "removal_kinds": {k: dict(v) for k, v in counts.items()},
        "kind_longest_s": {k: round(v, 3) for k, v in sorted(durations.items())},
        "delete_operations": ops,
        "person_step": cw.person,
        "final_run_failures": cc.final_run_failures(cw.w, results),
        "deleted_twice": {k: v for k, v in state["deletes"].items() if v > 1},
        "removed": c.diff(before, state["snapshot"]["source_account"], limit=400),
    }
    c.log(f"   cleanup reference: setup {cw.w.setup_seconds:.1f} s, commands {c.fmt_secs(out['command_seconds'])}, "
          f"outcome {out['command_outcome']}, {len(out['removals'])} removals succeeded, "
          f"{sum(out['deletes'].values())} successful deletes, person's step {out['person_step']}")
    c.log(f"   removal kinds: {out['removal_kinds']}; delete operations: {ops}")
    c.log(f"   source account, before -> after: {len(out['removed'])} differences")
    for p in out["problems"] + out["final_run_failures"] + [f"deleted twice: {k}" for k in out["deleted_twice"]]:
        c.log(f"   reference problem: {p}")
    return out


def random_run(n: int, bin: Path, root: Path, ref: dict, rng: random.Random, kills: Kills, per_command: int) -> dict:
    c.log(f"== cleanup random-kill run {n + 1} (fresh emulator; {kills.count} kills so far)")
    before = kills.count
    with c.Emulator(c.mkdir(root / f"cleanup-random-{n}")) as emu:
        cw = cut_over_world(bin, emu, root, f"cleanup-random-{n}")

        def command(i, label, ou):
            t = ref["command_seconds"][label]
            return run_cleanup(cw, label, ou, f"random{n}-{i}", kill_delay=lambda: rng.uniform(0, t),
                               on_kill=lambda r: kills.record(cw.w.plan, r, CleanupKinds(),
                                                              {"phase": "cleanup-random", "run": n, "command": label}),
                               max_kills=per_command)

        results = run_sequence(cw, command)
        state = world_state(cw)
    return judge(n, "random", ref, cw, state, results, kills.count - before)


def targets(ref: dict, label: str) -> list[tuple[str, str, float]]:
    """(kind, event, delay bound) per target of one command: each delete operation right after
    its first 2xx, in the order they first arrive in the reference (a run killed there leaves
    the later ones to do: a command lasts about a second), then a secret's removal right after
    its `started` and a role's mid teardown."""
    kinds = ref["removal_kinds"].get(label, {})
    out = [("*", f"write:{op}", 0.0) for op in ref["delete_operations"].get(label, [])]
    if "secretsmanager secret" in kinds:
        out.append(("secretsmanager secret", "started", 0.0))
    if "iam role" in kinds:
        out.append(("iam role", "started", max(ref["kind_longest_s"].get("iam role", 0.0), 0.02)))
    return out


def targeted_run(n: int, bin: Path, root: Path, ref: dict, rng: random.Random, kills: Kills,
                 hit: dict[str, collections.Counter]) -> dict:
    """`hit` counts, per "command: target", how its tries went: `hit` (killed with a removal of
    the kind in flight, or right after the delete call answered), `ended before` (killed, the
    removal of that kind had ended), `command ended first` (a run ended by itself first)."""
    c.log(f"== cleanup targeted-kill round {n + 1} (fresh emulator)")
    before = kills.count
    with c.Emulator(c.mkdir(root / f"cleanup-targeted-{n}")) as emu:
        cw = cut_over_world(bin, emu, root, f"cleanup-targeted-{n}")

        def command(i, label, ou):
            res = cc.CommandResult(label)
            ended = False
            for j, (kind, event, longest) in enumerate(targets(ref, label)):
                target = event if kind == "*" else f"{kind} {event}"
                tally = hit.setdefault(f"{label}: {target}", collections.Counter())
                if ended:
                    tally["command ended first"] += 1
                    continue
                delay = rng.uniform(0, longest) if event == "started" else 0.0
                run = cleanup_once(cw, ou, f"targeted{n}-{i}-{j}", trigger=(kind, event, delay))
                res.runs.append(run)
                if not run.killed:
                    ended = True
                    tally["command ended first"] += 1
                    continue
                flying = c.in_flight(c.read_journal(cw.w.plan)[0][run.journal_before:])
                tally["hit" if kind == "*" or kind in {cleanup_kind(a) for a in flying} else "ended before"] += 1
                if kind == "*":
                    c.log(f"   ({target}: fired on the request log, in flight {flying})")
                kills.record(cw.w.plan, run, CleanupKinds(), {"phase": "cleanup-targeted", "run": n, "command": label,
                                                              "target": target, "delay_s": round(delay, 3)})
            if ended and res.runs[-1].rc == c.EXIT_OK:
                res.outcome = "succeeded"
            elif ended:
                res.outcome, res.problem = "failed", f"{label} exited {res.runs[-1].rc}: {c.last_error(res.runs[-1].stderr)}"
            else:
                run_cleanup(cw, label, ou, f"targeted{n}-{i}-final", result=res)
            return res

        results = run_sequence(cw, command)
        state = world_state(cw)
    return judge(n, "targeted", ref, cw, state, results, kills.count - before)


def phase(bin: Path, root: Path, rng: random.Random, want_kills: int, rounds: int, max_emulators: int,
          per_command: int = 3) -> tuple[dict, list[str]]:
    """The whole cleanup phase: its figures and the targets it missed."""
    started = time.monotonic()
    ref = reference(bin, root)
    random_kills, targeted_kills = Kills(), Kills()
    runs: list[dict] = []
    for n in range(max_emulators):
        if random_kills.count >= want_kills:
            break
        runs.append(random_run(n, bin, root, ref, rng, random_kills, per_command))
    hit: dict[str, collections.Counter] = {}
    for n in range(rounds):
        runs.append(targeted_run(n, bin, root, ref, rng, targeted_kills, hit))
    all_kinds = sorted({k for ks in ref["removal_kinds"].values() for k in ks})
    in_flight = set(random_kills.by_kind) | set(targeted_kills.by_kind)
    figures = {
        "sequence": [label for label, _ in SEQUENCE],
        "kills": random_kills.count, "kills_target": want_kills,
        "random": random_kills.figures(),
        "targeted": targeted_kills.figures() | {"targets": {k: dict(v) for k, v in sorted(hit.items())}},
        "kills_per_command_and_run": per_command,
        "removal_kinds_never_in_flight_at_a_kill": sorted(set(all_kinds) - in_flight),
        "crash_runs": len(runs),
        "cleanup_processes": sum(r["processes"] for r in runs),
        "identical": bool(runs) and all(r["identical"] for r in runs),
        "identical_runs": sum(r["identical"] for r in runs),
        "states_after_each_command_identical_runs": sum(not r["states_after_command_differing"] for r in runs),
        "duplicates": sum(len(r["duplicates"]) for r in runs),
        "deleted_twice": sum(len(r["deleted_twice"]) for r in runs),
        "starts_after_success": sum(len(r["starts_after_success"]) for r in runs),
        "final_run_failures": sum(len(r["final_run_failures"]) for r in runs),
        "failed_records": sum(r["failed_records"] for r in runs),
        "journal_consistent": not any(r["journal_problems"] for r in runs),
        "runs_with_another_deleted_set": sum(bool(r["deleted_not_in_reference"] or r["reference_deleted_not_here"])
                                             for r in runs),
        "runs_with_another_removal_set": sum(bool(r["succeeded_removals_not_in_reference"]
                                                  or r["reference_removals_not_succeeded"]) for r in runs),
        "reference": {k: ref[k] for k in ("setup_seconds", "command_seconds", "command_outcome", "problems",
                                          "removal_kinds", "kind_longest_s", "delete_operations", "person_step",
                                          "removals", "final_run_failures", "deleted_twice", "removed")}
                     | {"deletes": sum(ref["deletes"].values())},
        "runs": runs,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    missed = []
    if random_kills.count < want_kills:
        missed.append(f"cleanup: only {random_kills.count} random kills hit a running cleanup (target {want_kills})")
    checks = [("identical_runs", "final state differs from the uninterrupted run's"),
              ("states_after_each_command_identical_runs", "the source account after some cleanup differs from the uninterrupted run's")]
    for key, what in checks:
        if figures[key] < len(runs):
            missed.append(f"cleanup: {what} in {len(runs) - figures[key]} of {len(runs)} crash runs")
    for key, what in (("duplicates", "things exist more often than in the uninterrupted run"),
                      ("deleted_twice", "resources deleted more than once (request log)"),
                      ("starts_after_success", "removals started again after they succeeded"),
                      ("runs_with_another_deleted_set", "crash runs deleted another set of resources than the reference")):
        if figures[key]:
            missed.append(f"cleanup: {figures[key]} {what}")
    if not figures["journal_consistent"]:
        missed.append("cleanup: journal inconsistent (see cleanup.runs[].journal_problems)")
    for r in runs:
        label = f"cleanup {r['phase']} run {r['run'] + 1}"
        missed += [f"{label}: {p}" for p in r["problems"] + r["final_run_failures"]]
    missed += [f"cleanup reference run: {p}" for p in ref["problems"] + ref["final_run_failures"]]
    missed += [f"cleanup reference run: deleted twice: {k}" for k in ref["deleted_twice"]]
    return figures, missed


def print_figures(f: dict) -> None:
    r, t, ref = f["random"], f["targeted"], f["reference"]
    print(f"  cleanup phase ({' -> '.join(f['sequence'])}, the person's step before prod's):")
    print(f"    random kills that hit a running cleanup: {f['kills']} (target >= {f['kills_target']}); "
          f"targeted kills: {t['kills']}; {f['crash_runs']} crash runs, {f['cleanup_processes']} cleanup processes")
    print(f"    random kills, removal kinds in flight (kills per kind): {r['in_flight_by_kind']}")
    print(f"      with no removal in flight (start-up, verification, between removals): "
          f"{r['kills_with_no_step_in_flight']}; removals in flight per kill: {r['steps_in_flight_per_kill']}")
    print(f"    targeted kills, removal kinds in flight (kills per kind): {t['in_flight_by_kind']}")
    missed = sorted(k for k, v in t["targets"].items() if not v.get("hit"))
    print(f"      targets: {len(t['targets'])}, hit at least once: {len(t['targets']) - len(missed)}")
    for k in missed:
        print(f"      never hit: {k}: {t['targets'][k]}")
    print(f"    removal kinds never in flight at any kill: {f['removal_kinds_never_in_flight_at_a_kill'] or 'none'}")
    print(f"    final state identical to the uninterrupted run: {'yes' if f['identical'] else 'NO'} "
          f"({f['identical_runs']}/{f['crash_runs']} runs); source account after each cleanup identical: "
          f"{f['states_after_each_command_identical_runs']}/{f['crash_runs']} runs")
    print(f"    duplicates: {f['duplicates']}; resources deleted twice (request log): {f['deleted_twice']}; "
          f"removals started again after success: {f['starts_after_success']}; actions failed in a final run: "
          f"{f['final_run_failures']}; failed journal records: {f['failed_records']}")
    print(f"    runs deleting another set of resources than the reference: {f['runs_with_another_deleted_set']}; "
          f"with another set of succeeded removals: {f['runs_with_another_removal_set']}")
    print(f"    journal consistent: {'yes' if f['journal_consistent'] else 'NO'}; torn tails seen after a kill: "
          f"{r['torn_journal_tails_seen'] + t['torn_journal_tails_seen']}")
    print(f"    reference: setup {ref['setup_seconds']:.1f} s, {c.fmt_secs(ref['command_seconds'])}; "
          f"{len(ref['removals'])} removals, {ref['deletes']} successful deletes; person's step {ref['person_step']}")
    print(f"    elapsed: {f['elapsed_s']} s")
