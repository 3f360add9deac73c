#!/usr/bin/env python3
"""The inventory benchmark (docs/performance.md).

Seeds the `large` scenario into a fresh emulator, then in one run:
1. reads the ground truth with boto3 (how many of everything exist: the inputs of the
   minimum-call formula), before anything is measured;
2. runs `orgsplit inventory` and counts its calls per operation in the emulator's request log;
3. computes the minimum number of calls the APIs allow for that ground truth, per operation;
4. runs the straightforward boto3 inventory (tests/bench/inventory_boto3.py) against the same
   emulator and times it beside orgsplit.
Every timed run (orgsplit with its limiter on, with it off, boto3) meets AWS's published
request quotas (the emulator's `{"quotas": "aws"}`: SSM's Parameter Store throughput, ECS's
bucket per API action category), each from full buckets, as an account at rest; `--quotas none`
times them against an emulator that never throttles.

Prints a table and a JSON summary; exits 1 when orgsplit's calls exceed 1.1 x the minimum.

    tests/bench/inventory [--scale 1.0] [--orgsplit target/release/orgsplit]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "emulator"))
from orgsplit_emulator.process import EmulatorProcess  # noqa: E402  (the emulator's own client)
SOURCE = "111111111111"
REGION = "us-east-1"


def ceil(n: int, page: int) -> int:
    return math.ceil(n / page)


def at_least_one(n: int, page: int) -> int:
    return max(1, math.ceil(n / page))


def ground_truth(url: str) -> dict:
    """Counts of what exists, read with boto3 (never through orgsplit)."""
    base = dict(endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    org = boto3.client("organizations", **base)
    root = org.list_roots()["Roots"][0]["Id"]
    parents, stack = 0, [root]
    while stack:
        parent = stack.pop()
        parents += 1
        for p in org.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent):
            stack.extend(ou["Id"] for ou in p["OrganizationalUnits"])
    cr = boto3.client("sts", **base).assume_role(
        RoleArn=f"arn:aws:iam::{SOURCE}:role/OrganizationAccountAccessRole", RoleSessionName="truth")["Credentials"]
    kw = dict(endpoint_url=url, region_name=REGION, aws_access_key_id=cr["AccessKeyId"],
              aws_secret_access_key=cr["SecretAccessKey"], aws_session_token=cr["SessionToken"])
    c = lambda name: boto3.client(name, **kw)  # noqa: E731

    def count(client, op, key, **args):
        return sum(len(p.get(key, [])) for p in client.get_paginator(op).paginate(**args))

    ecs = c("ecs")
    clusters = [a for p in ecs.get_paginator("list_clusters").paginate() for a in p["clusterArns"]]
    services = {k: count(ecs, "list_services", "serviceArns", cluster=k) for k in clusters}
    tasks = {k: count(ecs, "list_tasks", "taskArns", cluster=k, desiredStatus="RUNNING") for k in clusters}
    s3 = c("s3")
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    objects = {b: count(s3, "list_objects_v2", "Contents", Bucket=b) for b in buckets}
    iam = c("iam")
    return {
        "org_parents": parents,
        "ssm_parameters": count(c("ssm"), "describe_parameters", "Parameters"),
        "tagged_resources": count(c("resourcegroupstaggingapi"), "get_resources", "ResourceTagMappingList"),
        "secrets": count(c("secretsmanager"), "list_secrets", "SecretList"),
        "iam_roles": count(iam, "list_roles", "Roles"),
        "iam_policies": count(iam, "list_policies", "Policies", Scope="Local"),
        "clusters": len(clusters),
        "taskdef_families": count(ecs, "list_task_definition_families", "families", status="ACTIVE"),
        "services": services,
        "running_tasks": tasks,
        "rules": count(c("events"), "list_rules", "Rules"),
        "schedules": count(c("scheduler"), "list_schedules", "Schedules"),
        "pipelines": count(c("codepipeline"), "list_pipelines", "pipelines"),
        "webhooks": len(c("codepipeline").list_webhooks().get("webhooks", [])),
        "buckets": len(buckets),
        "objects": objects,
        "log_groups": count(c("logs"), "describe_log_groups", "logGroups"),
        "ecr_repositories": count(c("ecr"), "describe_repositories", "repositories"),
    }


def minimum_calls(t: dict) -> Counter:
    """The fewest calls the APIs allow for this ground truth (largest page sizes, batch
    describes, tags from the listing or the Tagging API wherever AWS offers them)."""
    m: Counter = Counter()
    # Who am I, and a session in the source account.
    m["sts:GetCallerIdentity"] = 1
    m["sts:AssumeRole"] = 1
    # The organization: its shape, one listing of OUs and of accounts per parent (20 a page).
    m["organizations:DescribeOrganization"] = 1
    m["organizations:ListRoots"] = 1
    m["organizations:ListOrganizationalUnitsForParent"] = t["org_parents"]
    m["organizations:ListAccountsForParent"] = t["org_parents"]
    m["organizations:ListAWSServiceAccessForOrganization"] = 1
    m["organizations:ListPolicies"] = 1
    # SSM: DescribeParameters 50 a page; tags of everything the Tagging API covers, 100 a page.
    m["ssm:DescribeParameters"] = at_least_one(t["ssm_parameters"], 50)
    m["tagging:GetResources"] = at_least_one(t["tagged_resources"], 100)
    m["secretsmanager:ListSecrets"] = at_least_one(t["secrets"], 100)
    # IAM: one listing gives roles and customer-managed policies with documents; ListRoles adds
    # Description and MaxSessionDuration; a policy's tags need one call each.
    m["iam:GetAccountAuthorizationDetails"] = at_least_one(t["iam_roles"] + t["iam_policies"], 1000)
    m["iam:ListRoles"] = at_least_one(t["iam_roles"], 1000)
    m["iam:ListPolicyTags"] = t["iam_policies"]
    # ECS: 100 a page for lists, DescribeServices 10 a call, DescribeClusters/Tasks 100 a call,
    # the latest ACTIVE revision of each family one describe each.
    m["ecs:ListClusters"] = at_least_one(t["clusters"], 100)
    m["ecs:DescribeClusters"] = ceil(t["clusters"], 100)
    m["ecs:ListTaskDefinitionFamilies"] = at_least_one(t["taskdef_families"], 100)
    m["ecs:DescribeTaskDefinition"] = t["taskdef_families"]
    m["ecs:ListServices"] = sum(at_least_one(n, 100) for n in t["services"].values())
    m["ecs:DescribeServices"] = sum(ceil(n, 10) for n in t["services"].values())
    m["ecs:ListTasks"] = sum(at_least_one(n, 100) for n in t["running_tasks"].values())
    m["ecs:DescribeTasks"] = sum(ceil(n, 100) for n in t["running_tasks"].values())
    m["events:ListRules"] = at_least_one(t["rules"], 100)
    m["events:ListTargetsByRule"] = t["rules"]
    m["scheduler:ListSchedules"] = at_least_one(t["schedules"], 100)
    m["scheduler:GetSchedule"] = t["schedules"]
    m["codepipeline:ListPipelines"] = at_least_one(t["pipelines"], 1000)
    m["codepipeline:GetPipeline"] = t["pipelines"]
    m["codepipeline:ListTagsForResource"] = t["pipelines"]
    m["codepipeline:ListWebhooks"] = at_least_one(t["webhooks"], 100)
    m["s3:ListBuckets"] = 1
    # AWS's ListBuckets returns each bucket's region; moto's does not, so one GetBucketLocation
    # per bucket is the minimum here.
    m["s3:GetBucketLocation"] = t["buckets"]
    m["s3:GetBucketVersioning"] = t["buckets"]
    m["s3:GetBucketEncryption"] = t["buckets"]
    m["s3:ListObjectsV2"] = sum(at_least_one(n, 1000) for n in t["objects"].values())
    # What a bucket's copy carries: S3 has no call that lists or batches a bucket's settings,
    # so each setting is one call per bucket (a 404 when the bucket has none of it).
    for op in ("GetBucketPolicy", "GetPublicAccessBlock", "GetBucketOwnershipControls", "GetBucketCors",
               "GetBucketLifecycleConfiguration", "GetBucketReplication",
               "GetBucketNotificationConfiguration", "GetBucketLogging"):
        m[f"s3:{op}"] = t["buckets"]
    # KMS keys (the scenario has no customer-managed key: a listing of keys and of aliases), the
    # CodeBuild projects, and whether StackSets may act for the organization.
    m["kms:ListKeys"] = 1
    m["kms:ListAliases"] = 1
    m["codebuild:ListProjects"] = 1
    m["cloudformation:DescribeOrganizationsAccess"] = 1
    # The coverage sweep: one listing page per kind orgsplit does not migrate, so that such
    # resources become manual items instead of being missed (none exist in the scenario).
    for op in ("lambda:ListFunctions", "dynamodb:ListTables", "sqs:ListQueues", "sns:ListTopics",
               "rds:DescribeDBInstances", "rds:DescribeDBClusters", "states:ListStateMachines",
               "apigateway:GetRestApis", "apigateway:GetApis", "kinesis:ListStreams",
               "elasticache:DescribeCacheClusters", "events:ListEventBuses",
               "ecr:DescribePullThroughCacheRules"):
        m[op] = 1
    m["logs:DescribeLogGroups"] = at_least_one(t["log_groups"], 50)
    m["ecr:DescribeRepositories"] = at_least_one(t["ecr_repositories"], 1000)
    m["ecr:ListTagsForResource"] = t["ecr_repositories"]
    return +m


# Where moto 5.2.5 serves other page sizes than AWS (docs/emulator-gaps.md): on the emulator
# the fewest calls possible are fewer (one page for everything). SSM's DescribeParameters pages
# are the emulator's correction of moto (ssm_parameter_pages.py): AWS's 50, so AWS's minimum.
def emulator_minimum(t: dict, aws_minimum: Counter) -> Counter:
    m = Counter(aws_minimum)
    for op in ("ecs:ListClusters", "ecs:ListTaskDefinitionFamilies", "ecr:DescribeRepositories",
               "codepipeline:ListPipelines", "scheduler:ListSchedules", "iam:GetAccountAuthorizationDetails"):
        m[op] = 1
    m["ecs:ListServices"] = len(t["services"])
    m["ecs:ListTasks"] = len(t["running_tasks"])
    return +m


def _seconds_by_operation(log: list[dict]) -> Counter:
    """The emulator's time answering each operation, the five costliest (seconds)."""
    spent: Counter = Counter()
    for r in log:
        spent[f"{r['service']}:{r['operation']}"] += r.get("ms", 0) / 1000
    return Counter({op: round(s, 2) for op, s in spent.most_common(5)})


def calls_by_operation(log: list[dict]) -> Counter:
    return Counter(f"{r['service']}:{r['operation']}" for r in log)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="size of the large scenario (1.0 = the target's, docs/performance.md)")
    ap.add_argument("--orgsplit", default=None, help="the binary (default: target/release, else target/debug)")
    ap.add_argument("--json", default=None, help="also write the summary here")
    ap.add_argument("--quotas", choices=("aws", "none"), default="aws",
                    help="the emulator enforces AWS's published request quotas in the timed runs (default), or none")
    a = ap.parse_args()
    binary = Path(a.orgsplit).resolve() if a.orgsplit else next(
        (p for p in (ROOT / "target/release/orgsplit", ROOT / "target/debug/orgsplit") if p.exists()), None)
    if binary is None or not binary.exists():
        sys.exit("build orgsplit first: cargo build --release --bin orgsplit")

    emu = EmulatorProcess()
    url = emu.url
    try:
        t0 = time.monotonic()
        seeded = emu.admin("POST", "seed", {"scenario": "large", "params": {"scale": a.scale}})
        seed_seconds = time.monotonic() - t0
        truth = ground_truth(url)

        work = Path(tempfile.mkdtemp(prefix="orgsplit-bench-"))
        config = (ROOT / "plans/examples/orgsplit.toml").read_text().replace(
            'regions = ["us-east-1", "eu-west-1"]', 'regions = ["us-east-1"]')
        (work / "orgsplit.toml").write_text(config)
        env = dict(os.environ, AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_REGION=REGION, AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
                   AWS_EC2_METADATA_DISABLED="true")

        def quiet_account() -> None:
            """The emulator done with the calls of the run before (a run that failed leaves some
            in its queue), the log emptied, and every quota bucket full again (setting the faults
            anew refills them)."""
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and any("status" not in r for r in emu.admin("GET", "requests")):
                time.sleep(0.5)
            emu.admin("POST", "faults", {"quotas": "aws"} if a.quotas == "aws" else {})
            emu.admin("DELETE", "requests")

        def inventory(config_file: str, may_fail: bool = False) -> tuple[float, list[dict], int | str]:
            """Seconds, the request log, and the resources inventoried (or, when it may fail and
            did, its error line)."""
            quiet_account()
            t0 = time.monotonic()
            run = subprocess.run([str(binary), "--config", config_file, "inventory", "--out", "inventory.json",
                                  "--output", "json", "--no-progress"],
                                 cwd=work, env=env, capture_output=True, text=True)
            seconds = time.monotonic() - t0
            if run.returncode != 0:
                if may_fail:
                    return seconds, emu.admin("GET", "requests"), run.stderr.strip().splitlines()[-1][:300]
                sys.exit(f"orgsplit inventory ({config_file}) failed: {run.stderr}")
            return seconds, emu.admin("GET", "requests"), json.loads(run.stdout)["resources"]

        # The limiter's cost, measured: the same inventory with `[limits] enabled = false`. Under
        # AWS's quotas it may fail (its retries spent): that is measured too, not hidden.
        (work / "unlimited.toml").write_text(config + "\n[limits]\nenabled = false\n")
        unlimited_seconds, unlimited_log, unlimited_outcome = inventory("unlimited.toml", may_fail=True)
        orgsplit_seconds, orgsplit_log, resources = inventory("orgsplit.toml")

        quiet_account()
        t0 = time.monotonic()
        base = subprocess.run([sys.executable, str(ROOT / "tests/bench/inventory_boto3.py"), "--endpoint-url", url,
                               "--account", SOURCE, "--regions", REGION, "--out", str(work / "boto3.json")],
                              capture_output=True, text=True)
        boto3_seconds = time.monotonic() - t0
        if base.returncode != 0:
            sys.exit(f"boto3 baseline failed: {base.stderr}")
        boto3_log = emu.admin("GET", "requests")
        boto3_calls = len(boto3_log)
        emu.admin("POST", "faults", {})
    finally:
        emu.stop()

    actual = calls_by_operation(orgsplit_log)
    aws_min = minimum_calls(truth)
    minimum = emulator_minimum(truth, aws_min)
    ops = sorted(set(actual) | set(minimum) | set(aws_min))
    print(f"{'operation':<52} {'calls':>7} {'minimum':>8} {'(AWS)':>7}")
    for op in ops:
        flag = "" if actual[op] <= minimum[op] else "  <- above the minimum"
        print(f"{op:<52} {actual[op]:>7} {minimum[op]:>8} {aws_min[op]:>7}{flag}")
    total, least = sum(actual.values()), sum(minimum.values())
    summary = {
        "scale": a.scale,
        "quotas": a.quotas,
        "binary": str(binary.relative_to(ROOT)) if binary.is_relative_to(ROOT) else str(binary),
        "seeded": seeded.get("counts"),
        "seed_seconds": round(seed_seconds, 1),
        "resources_inventoried": resources,
        "api_calls": total,
        "minimum_calls": least,
        "minimum_calls_aws_page_sizes": sum(aws_min.values()),
        "calls_ratio": round(total / least, 3),
        "error_responses": dict(Counter(f"{r['service']}:{r['operation']} {r['status']}" for r in orgsplit_log
                                        if r.get("status") not in (200, None))),
        "orgsplit_seconds": round(orgsplit_seconds, 2),
        "orgsplit_seconds_limiter_off": round(unlimited_seconds, 2),
        "limiter_off_outcome": (f"{unlimited_outcome} resources" if isinstance(unlimited_outcome, int)
                                else f"failed: {unlimited_outcome}"),
        # The emulator's time answering each run's calls, summed (moto's work holds Python's
        # GIL, so answers that overlap share one core: a sum near the wall time means the run
        # waits on the emulator, not on its own limiter).
        "emulator_seconds_orgsplit": round(sum(r.get("ms", 0) for r in orgsplit_log) / 1000, 2),
        "emulator_seconds_limiter_off": round(sum(r.get("ms", 0) for r in unlimited_log) / 1000, 2),
        "emulator_seconds_boto3": round(sum(r.get("ms", 0) for r in boto3_log) / 1000, 2),
        "emulator_seconds_by_operation": dict(_seconds_by_operation(orgsplit_log)),
        "api_calls_limiter_off": len(unlimited_log),
        "throttled_responses": sum(1 for r in orgsplit_log if r.get("throttled")),
        "throttled_responses_limiter_off": sum(1 for r in unlimited_log if r.get("throttled")),
        "boto3_seconds": round(boto3_seconds, 2),
        "boto3_calls": boto3_calls,
        "throttled_responses_boto3": sum(1 for r in boto3_log if r.get("throttled")),
        "wall_time_ratio": round(orgsplit_seconds / boto3_seconds, 3),
        "wall_time_ratio_limiter_off": round(unlimited_seconds / boto3_seconds, 3),
    }
    print(json.dumps(summary, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if summary["calls_ratio"] <= 1.1 else 1


if __name__ == "__main__":
    sys.exit(main())
