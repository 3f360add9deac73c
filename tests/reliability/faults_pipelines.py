"""Faults for `orgsplit pipelines` (docs/reliability.md: "pipelines migrate completes"): on
the demo scenario, while the emulator throttles 30 % of orgsplit's requests, drops 5 % of the
connections, answers 2 % with a 5xx and adds 100 ms to each:

1. `pipelines scan` of the S3 states with the token: exit 0, the same report as without faults;
2. `pipelines migrate --create-connection NAME --yes`: exit 3 (PENDING), one connection;
3. the handshake (through the emulator, not faulted), then `migrate` again: exit 0;
4. `pipelines rollback` of one pipeline, then `migrate` of it again: exit 0 each;
5. read back through boto3, without faults: every pipeline a CodeStar source on the connection,
   no webhook left, the role allowed to use it, exactly one connection.

Any command that exits otherwise is a failure: `migrate` must absorb the faults itself.

Usage: tests/reliability/faults-pipelines [--runs 1] [--seed N] [--json FILE] [--keep]
"""
from __future__ import annotations

import collections
import hashlib
import json
import sys
import time
from datetime import datetime, timezone

import common as c

TOKEN_ENV = "GH_TOKEN"
CONNECTION = "github-acme"
PIPELINES = ["dev-api-build", "mail-sender-release", "prod-api-release"]
REGION = "us-east-1"


def demo_token() -> str:
    s = json.loads((c.ROOT / "tests/emulator/scenarios/demo.json").read_text())
    return s["workloads"]["pipelines"][0]["token"]


def secrets(token: str) -> list[str]:
    """The token, its sha256 (the `hash-` form's tail) and the demo's webhook secrets."""
    s = json.loads((c.ROOT / "tests/emulator/scenarios/demo.json").read_text())
    hooks = [p["webhook"]["secret"] for p in s["workloads"]["pipelines"] if p.get("webhook")]
    return [token, hashlib.sha256(token.encode()).hexdigest(), *hooks]


def leaks(text: str, token: str) -> bool:
    return any(s in text for s in secrets(token))


def scan_summary(ws: c.Workspace, token: str) -> tuple[int, dict | None, str]:
    env = dict(ws.env, **{TOKEN_ENV: token})
    p = c.subprocess.run([str(ws.bin), "--no-progress", "pipelines", "scan", "--tfstate", "s3://acme-terraform-state/",
                          "--token-env", TOKEN_ENV, "--output", "json"], cwd=ws.dir, env=env, text=True,
                         capture_output=True, timeout=900)
    if p.returncode != 0:
        return p.returncode, None, p.stderr
    r = json.loads(p.stdout)
    found = sorted((s["location"], x.get("resource"), x["form"], x["matches_token"])
                   for s in r["states"] for x in s["references"])
    return 0, {"pipelines": sorted(x["name"] for x in r["pipelines"]), "references": found}, p.stdout + p.stderr


def read_back(aws: c.Aws) -> list[str]:
    problems = []
    cp = aws.client("codepipeline", c.SOURCE, REGION)
    conns = [x for x in c.pages(aws.client("codestar-connections", c.SOURCE, REGION), "list_connections", "Connections")
             if x["ConnectionName"] == CONNECTION]
    if len(conns) != 1:
        problems.append(f"{len(conns)} connections named {CONNECTION}")
    arn = conns[0]["ConnectionArn"] if conns else None
    for name in PIPELINES:
        d = cp.get_pipeline(name=name)["pipeline"]
        a = d["stages"][0]["actions"][0]
        if a["actionTypeId"]["provider"] != "CodeStarSourceConnection" or a["configuration"].get("ConnectionArn") != arn:
            problems.append(f"{name}: source is {a['actionTypeId']['provider']} on {a['configuration'].get('ConnectionArn')}")
    hooks = c.pages(cp, "list_webhooks", "webhooks")
    if hooks:
        problems.append(f"webhooks left: {[h['definition']['name'] for h in hooks]}")
    iam = aws.client("iam", c.SOURCE)
    try:
        doc = c.policy_doc(iam.get_role_policy(RoleName="codepipeline-service", PolicyName="orgsplit-use-connection")["PolicyDocument"])
        if arn not in json.dumps(doc):
            problems.append("the role's policy does not name the connection")
    except Exception as e:  # noqa: BLE001
        problems.append(f"role policy: {c.error_code(e) or e}")
    return problems


def run_once(n: int, bin, root, faults: dict, reference: dict, token: str) -> dict:
    c.log(f"== faulty run {n + 1}: {faults}")
    with c.Emulator(c.mkdir(root / f"faulty-{n}")) as emu:
        ws = c.new_workspace(bin, emu, root, f"faulty-{n}")
        aws = c.Aws(emu.url)
        emu.clear_requests()
        emu.set_faults(faults)
        steps = []
        t0 = time.monotonic()

        def step(label: str, args: list[str], want: int, env_token: bool = False) -> None:
            env = dict(ws.env, **({TOKEN_ENV: token} if env_token else {}))
            s = time.monotonic()
            p = c.subprocess.run([str(bin), "--no-progress", *args], cwd=ws.dir, env=env, text=True,
                                 capture_output=True, timeout=900)
            steps.append({"step": label, "exit": p.returncode, "want": want, "seconds": round(time.monotonic() - s, 1),
                          "error": c.last_error(p.stderr) if p.returncode != want else None,
                          "token_in_output": leaks(p.stdout + p.stderr, token)})

        code, summary, out = scan_summary(ws, token)
        steps.append({"step": "scan", "exit": code, "want": 0, "same_as_fault_free": summary == reference,
                      "error": None if code == 0 else c.last_error(out), "token_in_output": leaks(out, token)})
        step("migrate (pending)", ["pipelines", "migrate", "--create-connection", CONNECTION, "--yes"], 3)
        emu.clear_faults()
        pending = c.pending_connections(aws)
        for arn in pending:
            emu.mark_available(arn)
        emu.set_faults(faults)
        step("migrate", ["pipelines", "migrate", "--create-connection", CONNECTION, "--yes"], 0)
        step("rollback", ["pipelines", "rollback", "--pipeline", "prod-api-release", "--token-env", TOKEN_ENV], 0, env_token=True)
        step("migrate again", ["pipelines", "migrate", "--create-connection", CONNECTION, "--yes"], 0)
        elapsed = time.monotonic() - t0
        requests = emu.requests()
        emu.clear_faults()
        problems = read_back(aws)
    statuses = collections.Counter(r.get("status") for r in requests)
    failed = [s for s in steps if s["exit"] != s["want"] or s.get("same_as_fault_free") is False]
    out = {
        "run": n, "seed": faults["seed"], "steps": steps, "failed_commands": failed,
        "read_back_problems": problems, "pending_connections_after_migrate": len(pending),
        "api_calls": len(requests), "dropped": statuses.get(0, 0),
        "status_5xx": sum(v for k, v in statuses.items() if isinstance(k, int) and k >= 500),
        "status_400": statuses.get(400, 0), "elapsed_s": round(elapsed, 1),
        "token_in_output": any(s["token_in_output"] for s in steps),
    }
    print(f"faulty run {n + 1} (seed {faults['seed']}): " + ", ".join(f"{s['step']} exit {s['exit']}" for s in steps)
          + f"; read-back problems: {len(problems)}; API calls {out['api_calls']}, dropped {out['dropped']}, "
          f"5xx {out['status_5xx']}, 400 {out['status_400']}; {out['elapsed_s']} s", flush=True)
    for p in problems + [f"{s['step']}: exit {s['exit']} (want {s['want']}): {s.get('error')}" for s in failed]:
        c.log(f"    {p}")
    return out


def main() -> int:
    args = c.fault_args(__doc__).parse_args()
    seed, base = c.fault_settings(args)
    root = c.workdir(args, "faults-pipelines")
    started = time.monotonic()
    bin = c.frozen_binary(root, args.orgsplit)
    token = demo_token()
    c.log("== fault-free scan (reference)")
    with c.Emulator(c.mkdir(root / "reference")) as emu:
        ws = c.new_workspace(bin, emu, root, "reference")
        code, reference, out = scan_summary(ws, token)
        if code != 0:
            raise SystemExit(f"fault-free scan exited {code}: {out[-1000:]}")
    runs = [run_once(n, bin, root, base | {"seed": seed + n}, reference, token) for n in range(args.runs)]
    figures = {
        "suite": "faults-pipelines", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": c.git_head(), "faults": base, "seeds": [seed + n for n in range(args.runs)], "runs": runs,
        "failed_commands": sum(len(r["failed_commands"]) for r in runs),
        "read_back_problems": sum(len(r["read_back_problems"]) for r in runs),
        "api_calls": sum(r["api_calls"] for r in runs), "dropped": sum(r["dropped"] for r in runs),
        "status_5xx": sum(r["status_5xx"] for r in runs), "elapsed_s": round(time.monotonic() - started, 1),
    }
    missed = []
    for r in runs:
        label = f"run {r['run'] + 1} (seed {r['seed']})"
        missed += [f"{label}: {s['step']} exited {s['exit']}, want {s['want']}: {s.get('error')}" for s in r["failed_commands"]]
        missed += [f"{label}: {p}" for p in r["read_back_problems"]]
        if r["token_in_output"]:
            missed.append(f"{label}: the token appeared in an output")
    print(f"faults-pipelines  {base}  seeds {figures['seeds']}  commit {figures['commit']}: failed commands "
          f"{figures['failed_commands']}, read-back problems {figures['read_back_problems']}, API calls {figures['api_calls']}, "
          f"dropped {figures['dropped']}, 5xx {figures['status_5xx']}; {figures['elapsed_s']} s")
    return c.finish(args, root, figures, missed)


if __name__ == "__main__":
    sys.exit(main())
