#!/usr/bin/env python3
"""The Terraform state scan memory benchmark (issue 4, docs/performance.md).

`orgsplit pipelines scan` must stream states of any size: a 500 MB state read whole would
need gigabytes of memory once parsed. In one run this script
1. writes a synthetic Terraform state of --size-mb megabytes (default 500), version 4, made of
   ordinary resources (SSM parameters with long descriptions, a few KB each) with a handful of
   `aws_codepipeline` resources spread through it holding the token raw, `hash-`ed and masked;
   the state is written as it is generated, never held in memory;
2. starts the emulator (demo scenario) and uploads the same state to S3 in the source account;
3. runs the scan on the demo scenario's few-KB states for a baseline, then `orgsplit pipelines scan --tfstate FILE --token-env GH_TOKEN --output json`, then the
   same with `--tfstate s3://BUCKET/KEY`, and reads each process's peak resident set size
   (`wait4` rusage, `ru_maxrss`) and wall time;
4. checks each found exactly the planted references (address, form, match) and that the token
   appears in no output.

Exits 1 when a scan's peak RSS exceeds --limit-mib (default 100) or a check fails.

    tests/bench/tfstate-scan [--size-mb 500] [--orgsplit target/release/orgsplit] [--json FILE]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))
from common import ROOT, SOURCE, Aws, Emulator, log, new_workspace  # noqa: E402

TOKEN = "ghp_BenchTokenForTheStateScan0000000001"
BUCKET = "orgsplit-bench-states"
KEY = "big/huge.tfstate"


def planted() -> list[tuple[str, str, bool]]:
    """(resource address, form, matches the token) of every token planted, in file order."""
    return [("aws_codepipeline.p0", "raw", True), ("aws_codepipeline.p1", "hashed", True),
            ("aws_codepipeline.p2", "masked", False), ("aws_codepipeline.p3", "raw", False)]


def token_value(form: str, matches: bool) -> str:
    if form == "masked":
        return "****"
    if form == "hashed":
        return "hash-" + hashlib.sha256(TOKEN.encode()).hexdigest()
    return TOKEN if matches else "ghp_SomebodyElsesToken00000000000000000"


def pipeline_resource(name: str, token: str) -> dict:
    return {"mode": "managed", "type": "aws_codepipeline", "name": name,
            "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
            "instances": [{"schema_version": 0, "attributes": {
                "name": name, "role_arn": f"arn:aws:iam::{SOURCE}:role/codepipeline-service",
                "stage": [{"name": "Source", "action": [{
                    "category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1",
                    "name": "Source", "configuration": {"Owner": "acme", "Repo": name, "Branch": "main",
                                                        "OAuthToken": token}}]}]},
                "sensitive_attributes": []}]}


def write_state(path: Path, size_mb: int) -> int:
    """Writes the state; returns its size in bytes."""
    target = size_mb * 1024 * 1024
    pipes = planted()
    # Where each planted pipeline goes: spread evenly through the file.
    marks = [target * (i + 1) // (len(pipes) + 1) for i in range(len(pipes))]
    written = 0
    i = 0
    with path.open("w") as f:
        head = '{"version": 4, "terraform_version": "1.9.8", "serial": 7, "lineage": "bench", "outputs": {}, "resources": [\n'
        f.write(head)
        written += len(head)
        first = True
        while written < target:
            if pipes and written >= marks[len(planted()) - len(pipes)]:
                addr, form, matches = pipes.pop(0)
                res = pipeline_resource(addr.split(".")[1], token_value(form, matches))
            else:
                res = {"mode": "managed", "type": "aws_ssm_parameter", "name": f"p{i}",
                       "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                       "instances": [{"schema_version": 0, "attributes": {
                           "name": f"/bench/app/{i:08d}", "type": "String", "tier": "Standard",
                           "description": ("parameter of the state-scan benchmark " * 60)[:2400],
                           "value": f"value-{i}", "tags": {"Environment": "dev", "Index": str(i)}},
                           "sensitive_attributes": []}]}
                i += 1
            text = ("" if first else ",\n") + json.dumps(res)
            first = False
            f.write(text)
            written += len(text)
        for addr, form, matches in pipes:  # any not placed yet (tiny sizes)
            text = ",\n" + json.dumps(pipeline_resource(addr.split(".")[1], token_value(form, matches)))
            f.write(text)
            written += len(text)
        tail = "\n], \"check_results\": null}\n"
        f.write(tail)
        written += len(tail)
    return written


# Linux keeps a process's peak RSS across exec (`ru_maxrss` includes the image it was forked
# from), so orgsplit is not started from this process, whose boto3 alone is ~80 MiB: a small
# interpreter without site packages forks it and reports the rusage of that child.
MEASURE = """
import os, sys
out = sys.argv[1]
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
open(out, "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(argv: list[str], cwd: Path, env: dict) -> tuple[int, str, str, float, int]:
    """Runs a process; returns (exit code, stdout, stderr, seconds, peak RSS in KiB)."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    with tempfile.NamedTemporaryFile("r", suffix=".maxrss") as rss:
        started = time.monotonic()
        code = subprocess.run([sys.executable, "-S", "-c", MEASURE, rss.name, *argv], cwd=cwd, env=env,
                              stdout=out, stderr=err).returncode
        seconds = time.monotonic() - started
        peak = int(Path(rss.name).read_text() or 0)
    out.seek(0)
    err.seek(0)
    return code, out.read().decode(errors="replace"), err.read().decode(errors="replace"), seconds, peak


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=int, default=500)
    ap.add_argument("--limit-mib", type=float, default=100.0)
    ap.add_argument("--orgsplit", default=str(ROOT / "target" / "release" / "orgsplit"))
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--no-s3", action="store_true", help="scan the local file only")
    args = ap.parse_args()
    exe = Path(args.orgsplit)
    if not exe.exists():
        raise SystemExit(f"{exe} not found: cargo build --release --bin orgsplit first")

    with tempfile.TemporaryDirectory(prefix="orgsplit-tfstate-bench-") as tmp:
        root = Path(tmp)
        state = root / "states" / "huge.tfstate"
        state.parent.mkdir()
        t0 = time.monotonic()
        size = write_state(state, args.size_mb)
        log(f"== wrote {state} ({size / 1048576:.1f} MiB) in {time.monotonic() - t0:.1f} s")

        emu = Emulator(root, scenario="demo")
        try:
            ws = new_workspace(exe, emu, root, "ws")
            env = dict(ws.env, GH_TOKEN=TOKEN)
            sources = [("local", str(state))]
            if not args.no_s3:
                aws = Aws(emu.url)
                s3 = aws.client("s3", SOURCE)
                s3.create_bucket(Bucket=BUCKET)
                t0 = time.monotonic()
                s3.upload_file(str(state), BUCKET, KEY)
                log(f"== uploaded to s3://{BUCKET}/{KEY} in {time.monotonic() - t0:.1f} s")
                sources.append(("s3", f"s3://{BUCKET}/{KEY}"))
            results = []
            failures = []
            # Baseline: the same command on the demo's few-KB states, for what the process
            # needs whatever the state's size.
            base = [str(exe), "--no-progress", "pipelines", "scan", "--tfstate", "s3://acme-terraform-state/",
                    "--token-env", "GH_TOKEN", "--output", "json"]
            code, _, err, seconds, rss_kib = run_measured(base, ws.dir, env)
            baseline_mib = rss_kib / 1024
            if code != 0:
                failures.append(f"baseline: exit {code}: {err.strip()[-500:]}")
            log(f"   baseline (demo states, a few KB)  exit {code}  {seconds:6.1f} s  peak RSS {baseline_mib:6.1f} MiB")
            for kind, source in sources:
                argv = [str(exe), "--no-progress", "pipelines", "scan", "--tfstate", source,
                        "--token-env", "GH_TOKEN", "--output", "json"]
                code, out, err, seconds, rss_kib = run_measured(argv, ws.dir, env)
                rss_mib = rss_kib / 1024
                found = []
                if code == 0:
                    report = json.loads(out)
                    found = [(r["resource"], r["form"], r["matches_token"])
                             for s in report["states"] for r in s["references"]]
                else:
                    failures.append(f"{kind}: exit {code}: {err.strip()[-500:]}")
                want = [(a, f, m) for a, f, m in planted()]
                if code == 0 and found != want:
                    failures.append(f"{kind}: found {found}, planted {want}")
                if TOKEN in out or TOKEN in err or hashlib.sha256(TOKEN.encode()).hexdigest() in out + err:
                    failures.append(f"{kind}: the token is in the output")
                if rss_mib > args.limit_mib:
                    failures.append(f"{kind}: peak RSS {rss_mib:.1f} MiB > {args.limit_mib} MiB")
                mbps = size / 1048576 / seconds if seconds else 0
                log(f"   {kind:5}  exit {code}  {seconds:6.1f} s  {mbps:6.1f} MiB/s  peak RSS {rss_mib:6.1f} MiB  "
                    f"references {len(found)}/{len(want)}")
                results.append({"source": kind, "exit": code, "seconds": round(seconds, 2),
                                "rss_above_baseline_mib": round(rss_mib - baseline_mib, 1),
                                "mib_per_second": round(mbps, 1), "peak_rss_mib": round(rss_mib, 1),
                                "references_found": len(found), "references_planted": len(want)})
        finally:
            emu.stop()

    summary = {"state_bytes": size, "state_mib": round(size / 1048576, 1), "limit_mib": args.limit_mib,
               "baseline_peak_rss_mib": round(baseline_mib, 1),
               "results": results, "failures": failures, "ok": not failures}
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    for f in failures:
        log(f"FAIL {f}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
