"""The cutover phase of the crash suite (docs/reliability.md, section 1): `kill -9` of
`orgsplit cutover` and `orgsplit cutover --rollback` at random moments, then the same command
again until it ends by itself; the final state must equal an uninterrupted run's, no action
recorded `succeeded` may be started again, and no action may fail in a command's final run.

Every run of this phase, the reference included, starts on a fresh emulator from the applied
demo with its ECS services copied: inventory, plan and apply of dev and prod (the services are
manual items there: the config has no `[[network]]`), then one `[[network]]` per environment
(the new workloads account's default VPC: two subnets and the default security group, read
with boto3), `plan --out plan2.json` from a fresh inventory and apply of dev and prod of that
plan (as crates/orgsplit/tests/cutover.rs does). Then the sequence SEQUENCE on plan2.json:
cutover dev, cutover prod, rollback prod, cutover prod again (generation 2).

1. Random kills: each command is SIGKILLed after a delay drawn uniformly from [0, T_cmd], T_cmd
   = the reference's time for that command, and run again, at most --cutover-kills-per-command
   times; then it runs until it ends by itself. (Unlike apply's, a cutover's rerun is not
   shorter than its first run: its prechecks alone take most of T_cmd, so a command killed at
   every run in [0, T_cmd] would hardly ever end.) Crash runs go on until at least
   --cutover-kills kills hit a running process.
2. Targeted kills (coverage): each of --cutover-targeted-rounds rounds kills each command once
   per action kind (copy kind and phase, e.g. `ecs-service target-up`), first phases before
   second phases and, within each, the shortest reference times first (the first phases start
   at once, and a short one would end beside a longer target):
   a delay drawn from [0, that kind's longest reference time] after the journal shows an action
   of that kind `started` (for `target-up`, mid steady-state wait), and, for a chain's first
   phase, also right after its `succeeded` (between the two phases). Before those, a pipeline's
   hold and release are killed right after the emulator's request log shows their write
   (DisableStageTransition, EnableStageTransition in the source account), before their
   `succeeded`: they read the very transition they change.
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
from typing import Callable

import common as c
import snapshot
from kills import JournalTail, Kills

# (label, OU, --rollback): what every run of this phase does, in this order.
SEQUENCE = [("cutover dev", "dev", False), ("cutover prod", "prod", False),
            ("rollback prod", "prod", True), ("cutover prod again", "prod", False)]
WAIT_MINUTES = "5"
# The emulator's latency on orgsplit's calls while a `write:` target waits (cutover_once).
WRITE_LATENCY_MS = 200
# The phase that opens a chain: its `succeeded` is a second target (kill between the phases).
FIRST_PHASES = ("target-up", "target-on", "source-up", "source-on")


def action_kind(address: str) -> str:
    """`cutover/1/prod/prod-workloads/ecs-service:batch/prod-api/target-up` -> `ecs-service
    target-up`; anything else (an apply step) -> `?`."""
    parts = address.split("/")
    if parts[0] not in ("cutover", "rollback"):
        return "?"
    copy = next((p.split(":", 1)[0] for p in parts if ":" in p), "?")
    return f"{copy} {parts[-1]}"


class ActionKinds(dict):
    """The kind of every address, for Kills.record."""

    def get(self, address, default=None):  # noqa: D102 - a Mapping's get
        return action_kind(address)


# ----------------------------------------------------------------------------- the world


@dataclass
class World:
    ws: c.Workspace
    aws: c.Aws
    plan: Path  # plan2.json, with the services
    plan_doc: dict
    setup_seconds: float = 0.0
    service_steps: list[str] = field(default_factory=list)
    emu: c.Emulator | None = None


def add_networks(ws: c.Workspace, aws: c.Aws) -> None:
    """One `[[network]]` per environment: the workloads account's default VPC in the home
    Region, its two first subnets by CIDR (moto draws the ids, CIDRs are stable) and its
    default security group."""
    ids = {a["Email"]: a["Id"] for a in c.org_accounts(aws)}
    text = (ws.dir / "orgsplit.toml").read_text()
    for env in c.OUS:
        ec2 = aws.client("ec2", ids[f"aws+{env}-workloads@example.com"], c.REGIONS[0])
        vpc = next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault"))
        subnets = sorted(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"],
                         key=lambda s: s["CidrBlock"])[:2]
        group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                      {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]
        text += (f"\n[[network]]\nenvironment = {json.dumps(env)}\n"
                 f"subnets = [{', '.join(json.dumps(s['SubnetId']) for s in subnets)}]\n"
                 f"security_groups = [{json.dumps(group['GroupId'])}]\n")
    (ws.dir / "orgsplit.toml").write_text(text)


def applied_world(bin: Path, emu: c.Emulator, root: Path, name: str) -> World:
    """The demo applied twice over (see the module's doc), every apply uninterrupted."""
    t0 = time.monotonic()
    ws = c.new_workspace(bin, emu, root, name)
    aws = c.Aws(emu.url)
    plan = ws.plan()
    for ou in c.OUS:
        r = c.apply_ou(ws, aws, plan, ou, "setup")
        if r.outcome != "succeeded":
            raise RuntimeError(f"{name}: setup apply --ou {ou} of plan.json: {r.outcome} {r.problem}")
    add_networks(ws, aws)
    p = ws.run("--no-progress", "plan", "--out", "plan2.json")
    if p.returncode != 0:
        raise RuntimeError(f"{name}: plan --out plan2.json exited {p.returncode}: {c.last_error(p.stderr)}")
    plan2 = ws.dir / "plan2.json"
    for ou in c.OUS:
        r = c.apply_ou(ws, aws, plan2, ou, "setup2")
        if r.outcome != "succeeded":
            raise RuntimeError(f"{name}: setup apply --ou {ou} of plan2.json: {r.outcome} {r.problem}")
    doc = c.load_plan(plan2)
    services = [s["address"] for s in c.change_steps(doc, c.OUS) if s["kind"] == "ecs-service"]
    return World(ws, aws, plan2, doc, time.monotonic() - t0, services, emu)


# ----------------------------------------------------------------------------- one command


def start_cutover(ws: c.Workspace, plan: Path, ou: str, rollback: bool, tag: str) -> tuple[subprocess.Popen, Path, Path]:
    out, err = ws.dir / f"cutover-{tag}.ndjson", ws.dir / f"cutover-{tag}.err"
    args = [str(ws.bin), "--output", "json", "--no-progress", "cutover", str(plan), "--ou", ou, "--yes",
            "--wait-minutes", WAIT_MINUTES] + (["--rollback"] if rollback else [])
    proc = subprocess.Popen(args, cwd=ws.dir, env=ws.env, stdin=subprocess.DEVNULL,
                            stdout=open(out, "wb"), stderr=open(err, "wb"))
    return proc, out, err


def cutover_once(w: World, ou: str, rollback: bool, tag: str, kill_after: float | None = None,
                 trigger: tuple[str, str, float] | None = None, timeout: float = 900) -> c.ApplyRun:
    """One cutover (or rollback) process. `kill_after`: SIGKILL after that many seconds;
    `trigger` (kind, event, delay): SIGKILL `delay` s after the journal shows an action of
    that kind with that event (`started` or `succeeded`) in this run, or, for the event
    `write:OPERATION`, as soon as the emulator's request log shows that call answered 200 in
    the source account: the action's write is done, its `succeeded` not yet written. To make
    that window wider than the harness's polling, every call orgsplit makes once the run has
    started (its `run-started`, after the prechecks) is delayed by WRITE_LATENCY_MS (the
    emulator's latency fault, nothing else), until the kill. `killed` is true only when the
    process died of the SIGKILL."""
    before = len(c.read_journal(w.plan)[0])
    tail = JournalTail(w.plan)
    watch_requests = trigger is not None and trigger[1].startswith("write:")
    if watch_requests:
        w.emu.clear_requests()
    t0 = time.monotonic()
    proc, out, err = start_cutover(w.ws, w.plan, ou, rollback, tag)
    if trigger is None:
        try:
            proc.wait(timeout=kill_after if kill_after is not None else timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    else:
        kind, event, delay = trigger
        fired, slowed = None, False
        while proc.poll() is None and time.monotonic() - t0 < timeout:
            now = time.monotonic()
            if fired is None and watch_requests:
                if not slowed and any(r.get("event") == "run-started" for r in tail.new()):
                    w.emu.set_faults({"latency_ms": WRITE_LATENCY_MS})
                    slowed = True
                if slowed and any(r.get("operation") == event[len("write:"):] and r.get("account") == c.SOURCE
                                  and r.get("status") == 200 for r in w.emu.requests()):
                    fired = now
            elif fired is None and any(r.get("event") == event and action_kind(r.get("address", "")) == kind
                                       for r in tail.new()):
                fired = now
            if fired is not None and now - fired >= delay:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        if proc.poll() is None and fired is None:
            proc.send_signal(signal.SIGKILL)  # timed out
        if slowed:
            w.emu.clear_faults()
    proc.wait()
    run = c.finish_apply(proc, out, err, ou, t0, killed=proc.returncode == -signal.SIGKILL)
    run.journal_before = before
    return run


@dataclass
class CommandResult:
    label: str
    runs: list[c.ApplyRun] = field(default_factory=list)
    outcome: str = ""  # succeeded | failed | gave-up
    problem: str = ""
    state: dict = field(default_factory=dict)  # switch_state once the command has ended

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.runs)


def run_command(w: World, label: str, ou: str, rollback: bool, tag: str,
                kill_delay: Callable[[], float | None] = lambda: None,
                on_kill: Callable[[c.ApplyRun], None] = lambda r: None,
                result: CommandResult | None = None, max_kills: int = 0, max_runs: int = 60,
                once: Callable[[str, float | None], c.ApplyRun] | None = None) -> CommandResult:
    """The command until it ends by itself: the first `max_kills` runs get the delay
    `kill_delay` draws, the next none. Exit 0 is `succeeded`; any other exit of a run that was
    not killed ends the flow as `failed` (the harness never hides a failure by running the
    command again). `once(tag, kill_after)` runs one process (default: cutover_once)."""
    res = result or CommandResult(label)
    once = once or (lambda t, k: cutover_once(w, ou, rollback, t, kill_after=k))
    for n in range(max_runs):
        delay = kill_delay() if n < max_kills else None
        run = once(f"{tag}-{n}", delay)
        res.runs.append(run)
        if run.killed:
            on_kill(run)
            continue
        if run.rc == c.EXIT_OK:
            res.outcome = "succeeded"
        else:
            res.outcome = "failed"
            res.problem = f"{label} exited {run.rc}: {c.last_error(run.stderr)}"
        return res
    res.outcome, res.problem = "gave-up", f"{label} did not end by itself in {max_runs} runs"
    return res


# ----------------------------------------------------------------------------- judging


def switch_state(w: World) -> dict:
    """What cutover switches, in the source and the workloads accounts (snapshot.snap_switches),
    account ids as e-mails. Read after every command: the sequence ends where `cutover prod`
    left it, so the final snapshot alone would not see a rollback that did nothing."""
    accounts = c.org_accounts(w.aws)
    labels = {a["Id"]: f"<{a['Email']}>" for a in accounts}
    out = {a["Email"]: snapshot.snap_switches(w.aws, a["Id"]) for a in accounts
           if a["Id"] == c.SOURCE or a["Email"].endswith("-workloads@example.com")}
    return snapshot.normalise(out, labels)


def starts_after_success(records: list[dict]) -> list[str]:
    """Addresses `started` after they were recorded `succeeded` (orgsplit-model's
    `journal::starts_after_success`)."""
    done, out = set(), []
    for r in records:
        if r.get("event") == "succeeded":
            done.add(r.get("address"))
        elif r.get("event") == "started" and r.get("address") in done:
            out.append(r["address"])
    return out


def cutover_records(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("address", "").startswith(("cutover/", "rollback/"))]


def final_run_failures(w: World, results: list[CommandResult]) -> list[str]:
    """Actions that failed in each command's final run: its NDJSON `failed` steps and the
    journal's `failed` records appended by it."""
    records = c.read_journal(w.plan)[0]
    out = []
    for res in results:
        if not res.runs:
            continue
        last = res.runs[-1]
        out += [f"{res.label}: {e.get('address')} failed (NDJSON)" for e in last.step_events("failed")]
        if last.summary and last.summary.get("failed"):
            out.append(f"{res.label}: summary counts {last.summary['failed']} failed")
        end = next((i for i in range(last.journal_before, len(records))
                    if records[i].get("event") == "run-finished"), len(records))
        out += [f"{res.label}: {r['address']} failed (journal): {r.get('error')}"
                for r in records[last.journal_before:end + 1] if r.get("event") == "failed"]
    return out


def succeeded_actions(records: list[dict]) -> list[str]:
    return sorted({r["address"] for r in cutover_records(records) if r.get("event") == "succeeded"})


def world_state(w: World) -> dict:
    records, bad, torn = c.read_journal(w.plan)
    return {"snapshot": c.snapshot(w.aws), "records": records, "bad": bad, "torn": torn,
            "rows": c.status_rows(w.ws, w.plan)}


def judge(n: int, phase: str, ref: dict, w: World, state: dict, results: list[CommandResult], kills: int) -> dict:
    snap, records = state["snapshot"], state["records"]
    differences = c.diff(ref["snapshot"], snap)
    dups = c.duplicates(snap, ref["snapshot"])
    jprob = c.journal_problems(records, state["bad"], state["torn"], w.plan_doc["digest"])
    again = starts_after_success(records)
    failures = final_run_failures(w, results)
    unsucc = c.unsucceeded(state["rows"], w.plan_doc, c.OUS)
    actions = succeeded_actions(records)
    between = {r.label: c.diff(ref["states"][r.label], r.state) for r in results}
    between = {k: v for k, v in between.items() if v}
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
        "failed_records": sum(1 for r in cutover_records(records) if r.get("event") == "failed"),
        "apply_steps_unsucceeded": unsucc,
        "succeeded_actions_not_in_reference": sorted(set(actions) - set(ref["actions"])),
        "reference_actions_not_succeeded": sorted(set(ref["actions"]) - set(actions)),
    }
    c.log(f"   cutover {phase} run {n + 1}: {kills} kills, {run['processes']} cutover processes "
          f"{run['processes_per_command']}, identical {run['identical']}, duplicates {len(dups)}, "
          f"starts after success {len(again)}, journal problems {len(jprob)}, final-run failures {len(failures)}")
    for line in differences[:40]:
        c.log(f"     {line}")
    for label, lines in between.items():
        for line in lines[:20]:
            c.log(f"     after {label}: {line}")
    for p in dups + jprob + failures + run["problems"]:
        c.log(f"     problem: {p}")
    for a in run["succeeded_actions_not_in_reference"] + run["reference_actions_not_succeeded"]:
        c.log(f"     action set differs from the reference: {a}")
    return run


# ----------------------------------------------------------------------------- the phase


def reference(bin: Path, root: Path) -> dict:
    c.log("== cutover reference run (fresh emulator, apply of plan.json and plan2.json, then the sequence with no kills)")
    with c.Emulator(c.mkdir(root / "cutover-reference")) as emu:
        w = applied_world(bin, emu, root, "cutover-reference")
        before = c.snapshot(w.aws)
        results, per_command = [], {}
        for i, (label, ou, rollback) in enumerate(SEQUENCE):
            start = len(c.read_journal(w.plan)[0])
            res = run_command(w, label, ou, rollback, f"ref-{i}")
            res.state = switch_state(w)
            results.append(res)
            recs = c.read_journal(w.plan)[0][start:]
            per_command[label] = recs
        state = world_state(w)
    durations: dict[str, float] = collections.defaultdict(float)
    order: dict[str, list[str]] = {}
    addresses: dict[str, dict[str, list[str]]] = {}
    for label, recs in per_command.items():
        started: dict[str, float] = {}
        order[label] = []
        addresses[label] = collections.defaultdict(list)
        for r in cutover_records(recs):
            kind = action_kind(r["address"])
            if r["event"] == "started":
                started[r["address"]] = c.record_time(r)
                if kind not in order[label]:
                    order[label].append(kind)
                addresses[label][kind].append(r["address"])
            elif r["event"] in ("succeeded", "failed") and r["address"] in started:
                durations[kind] = max(durations[kind], c.record_time(r) - started.pop(r["address"]))
    out = {
        "snapshot": state["snapshot"], "snapshot_before": before, "journal": state["records"],
        "states": {r.label: r.state for r in results},
        "actions": succeeded_actions(state["records"]),
        "setup_seconds": w.setup_seconds,
        "command_seconds": {r.label: r.seconds for r in results},
        "command_outcome": {r.label: r.outcome for r in results},
        "problems": [r.problem for r in results if r.problem],
        "kind_order": order, "kind_addresses": {k: dict(v) for k, v in addresses.items()},
        "kind_longest_s": {k: round(v, 3) for k, v in sorted(durations.items())},
        "service_steps": w.service_steps,
        "final_run_failures": final_run_failures(w, results),
        "switched": c.diff(before, state["snapshot"], limit=60),
    }
    c.log(f"   cutover reference: setup {w.setup_seconds:.1f} s, commands {c.fmt_secs(out['command_seconds'])}, "
          f"outcome {out['command_outcome']}, {len(out['actions'])} actions, ECS service copies {w.service_steps}")
    c.log(f"   what the sequence changed (reference, before -> after): {len(out['switched'])} differences")
    for line in out["switched"]:
        c.log(f"     {line}")
    for p in out["problems"] + out["final_run_failures"]:
        c.log(f"   reference problem: {p}")
    return out


def random_run(n: int, bin: Path, root: Path, ref: dict, rng: random.Random, kills: Kills, per_command: int) -> dict:
    c.log(f"== cutover random-kill run {n + 1} (fresh emulator; {kills.count} kills so far)")
    before = kills.count
    with c.Emulator(c.mkdir(root / f"cutover-random-{n}")) as emu:
        w = applied_world(bin, emu, root, f"cutover-random-{n}")
        results = []
        for i, (label, ou, rollback) in enumerate(SEQUENCE):
            t = ref["command_seconds"][label]
            results.append(run_command(
                w, label, ou, rollback, f"random{n}-{i}", kill_delay=lambda t=t: rng.uniform(0, t),
                on_kill=lambda r, label=label: kills.record(w.plan, r, ActionKinds(),
                                                            {"phase": "cutover-random", "run": n, "command": label}),
                max_kills=per_command))
            results[-1].state = switch_state(w)
        state = world_state(w)
    return judge(n, "random", ref, w, state, results, kills.count - before)


def targets(ref: dict, label: str) -> list[tuple[str, str, float]]:
    """(kind, event, longest) per target of one command: the kinds that start at once (a
    chain's first phase, a pipeline's only one) before the second phases, and within each
    group the shortest reference times first, ties in the order they start in the reference."""
    out = []
    kinds = ref["kind_order"].get(label, [])

    def key(k: str) -> tuple:
        second = k.split(" ")[-1] not in FIRST_PHASES + ("source-hold", "source-release")
        return (second, ref["kind_longest_s"].get(k, 0.0), kinds.index(k))

    # A pipeline's hold (or release) reads the very transition it writes: a kill between its
    # write and its `succeeded` comes first, on the emulator's request log.
    for kind, op in (("pipeline source-hold", "DisableStageTransition"), ("pipeline source-release", "EnableStageTransition")):
        if kind in kinds:
            out.append((kind, f"write:{op}", 0.0))
    for kind in sorted(kinds, key=key):
        longest = max(ref["kind_longest_s"].get(kind, 0.0), 0.02)
        out.append((kind, "started", longest))
        if kind.split(" ")[-1] in FIRST_PHASES:
            out.append((kind, "succeeded", 0.0))
    return out


def targeted_run(n: int, bin: Path, root: Path, ref: dict, rng: random.Random, kills: Kills,
                 hit: dict[str, collections.Counter]) -> dict:
    """`hit` counts, per "command: kind event" target, how its tries went: `hit` (the kill
    landed with an action of the kind in flight, or right after the `succeeded` it waited
    for), `ended before` (killed, but that kind's actions had all ended), `done beside an
    earlier target` (skipped: nothing of the kind left to do), `command ended first` (the run
    the target was set on ended by itself before it fired, or an earlier one did)."""
    c.log(f"== cutover targeted-kill round {n + 1} (fresh emulator; one kill per action kind and command)")
    before = kills.count
    with c.Emulator(c.mkdir(root / f"cutover-targeted-{n}")) as emu:
        w = applied_world(bin, emu, root, f"cutover-targeted-{n}")
        results = []
        for i, (label, ou, rollback) in enumerate(SEQUENCE):
            res = CommandResult(label)
            ended = False
            for j, (kind, event, longest) in enumerate(targets(ref, label)):
                key = f"{label}: {kind} {event}"
                tally = hit.setdefault(key, collections.Counter())
                if ended:
                    tally["command ended first"] += 1
                    continue
                done = c.succeeded_addresses(c.read_journal(w.plan)[0])
                if not set(ref["kind_addresses"][label].get(kind, [])) - done:
                    tally["done beside an earlier target"] += 1
                    continue
                delay = rng.uniform(0, longest) if event == "started" else 0.0
                run = cutover_once(w, ou, rollback, f"targeted{n}-{i}-{j}", trigger=(kind, event, delay))
                res.runs.append(run)
                target = f"{kind} {event}"
                if not run.killed:
                    ended = True  # the run ended by itself: the targets left ran unharmed
                    tally["command ended first"] += 1
                    continue
                flying = {action_kind(a) for a in c.in_flight(c.read_journal(w.plan)[0][run.journal_before:])}
                tally["hit" if event == "succeeded" or kind in flying else "ended before"] += 1
                if event.startswith("write:"):
                    c.log(f"   ({target}: fired on the request log, {sorted(a for a in c.in_flight(c.read_journal(w.plan)[0][run.journal_before:]) if action_kind(a) == kind)} in flight)")
                kills.record(w.plan, run, ActionKinds(), {"phase": "cutover-targeted", "run": n, "command": label,
                                                          "target": target, "delay_s": round(delay, 3)})
            if ended and res.runs[-1].rc == c.EXIT_OK:
                res.outcome = "succeeded"
            elif ended:
                res.outcome, res.problem = "failed", f"{label} exited {res.runs[-1].rc}: {c.last_error(res.runs[-1].stderr)}"
            else:
                run_command(w, label, ou, rollback, f"targeted{n}-{i}-final", result=res)
            res.state = switch_state(w)
            results.append(res)
        state = world_state(w)
    return judge(n, "targeted", ref, w, state, results, kills.count - before)


def phase(bin: Path, root: Path, rng: random.Random, want_kills: int, rounds: int, max_emulators: int,
          per_command: int = 2) -> tuple[dict, list[str]]:
    """The whole cutover phase: its figures and the targets it missed."""
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
    all_kinds = sorted({k for ks in ref["kind_order"].values() for k in ks})
    in_flight = set(random_kills.by_kind) | set(targeted_kills.by_kind)
    figures = {
        "sequence": [label for label, _, _ in SEQUENCE],
        "kills": random_kills.count, "kills_target": want_kills,
        "random": random_kills.figures(),
        "targeted": targeted_kills.figures() | {"targets": {k: dict(v) for k, v in sorted(hit.items())}},
        "kills_per_command_and_run": per_command,
        "action_kinds_never_in_flight_at_a_kill": sorted(set(all_kinds) - in_flight),
        "crash_runs": len(runs),
        "cutover_processes": sum(r["processes"] for r in runs),
        "identical": bool(runs) and all(r["identical"] for r in runs),
        "identical_runs": sum(r["identical"] for r in runs),
        "states_after_each_command_identical_runs": sum(not r["states_after_command_differing"] for r in runs),
        "duplicates": sum(len(r["duplicates"]) for r in runs),
        "starts_after_success": sum(len(r["starts_after_success"]) for r in runs),
        "final_run_failures": sum(len(r["final_run_failures"]) for r in runs),
        "journal_consistent": not any(r["journal_problems"] for r in runs),
        "runs_with_another_action_set": sum(bool(r["succeeded_actions_not_in_reference"] or r["reference_actions_not_succeeded"])
                                            for r in runs),
        "reference": {k: ref[k] for k in ("setup_seconds", "command_seconds", "command_outcome", "problems",
                                          "kind_order", "kind_longest_s", "service_steps", "actions",
                                          "final_run_failures", "switched")},
        "runs": runs,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    missed = []
    if random_kills.count < want_kills:
        missed.append(f"cutover: only {random_kills.count} random kills hit a running cutover (target {want_kills})")
    if not figures["identical"]:
        missed.append(f"cutover: final state differs from the uninterrupted run in "
                      f"{len(runs) - figures['identical_runs']} of {len(runs)} crash runs")
    if figures["states_after_each_command_identical_runs"] < len(runs):
        missed.append(f"cutover: the switched state after some command differs from the uninterrupted run's in "
                      f"{len(runs) - figures['states_after_each_command_identical_runs']} of {len(runs)} crash runs")
    if figures["duplicates"]:
        missed.append(f"cutover: {figures['duplicates']} things exist more often than in the uninterrupted run")
    if figures["starts_after_success"]:
        missed.append(f"cutover: {figures['starts_after_success']} actions started again after they succeeded")
    if not figures["journal_consistent"]:
        missed.append("cutover: journal inconsistent (see cutover.runs[].journal_problems)")
    if not ref["service_steps"]:
        missed.append("cutover: plan2.json copies no ECS service: the services' switch is not covered")
    for r in runs:
        label = f"cutover {r['phase']} run {r['run'] + 1}"
        missed += [f"{label}: {p}" for p in r["problems"] + r["final_run_failures"]]
        missed += [f"{label}: apply step not succeeded: {a}" for a in r["apply_steps_unsucceeded"]]
    missed += [f"cutover reference run: {p}" for p in ref["problems"] + ref["final_run_failures"]]
    return figures, missed


def print_figures(f: dict) -> None:
    r, t = f["random"], f["targeted"]
    ref = f["reference"]
    print(f"  cutover phase ({' -> '.join(f['sequence'])}):")
    print(f"    random kills that hit a running cutover or rollback: {f['kills']} (target >= {f['kills_target']}); "
          f"targeted kills: {t['kills']}; {f['crash_runs']} crash runs, {f['cutover_processes']} cutover processes")
    print(f"    random kills, action kinds in flight (kills per kind): {r['in_flight_by_kind']}")
    print(f"      with no action in flight (start-up, precheck, between actions): {r['kills_with_no_step_in_flight']}; "
          f"actions in flight per kill: {r['steps_in_flight_per_kill']}")
    print(f"    targeted kills, action kinds in flight (kills per kind): {t['in_flight_by_kind']}")
    missed = sorted(k for k, v in t["targets"].items() if not v.get("hit"))
    print(f"      targets: {len(t['targets'])}, hit at least once: {len(t['targets']) - len(missed)}")
    for k in missed:
        print(f"      never hit: {k}: {t['targets'][k]}")
    print(f"    action kinds never in flight at any kill: {f['action_kinds_never_in_flight_at_a_kill'] or 'none'}")
    print(f"    final state identical to the uninterrupted run: {'yes' if f['identical'] else 'NO'} "
          f"({f['identical_runs']}/{f['crash_runs']} runs); switched state after each command identical: "
          f"{f['states_after_each_command_identical_runs']}/{f['crash_runs']} runs")
    print(f"    duplicates: {f['duplicates']}; actions started again after success: {f['starts_after_success']}; "
          f"actions failed in a final run: {f['final_run_failures']}")
    print(f"    runs whose succeeded actions differ from the reference's: {f['runs_with_another_action_set']}")
    print(f"    journal consistent: {'yes' if f['journal_consistent'] else 'NO'}; torn tails seen after a kill: "
          f"{r['torn_journal_tails_seen'] + t['torn_journal_tails_seen']}")
    print(f"    reference: setup {ref['setup_seconds']:.1f} s, {c.fmt_secs(ref['command_seconds'])}; "
          f"{len(ref['actions'])} actions; ECS service copies: {len(ref['service_steps'])}")
    print(f"    elapsed: {f['elapsed_s']} s")
