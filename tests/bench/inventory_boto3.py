#!/usr/bin/env python3
"""Baseline for the inventory benchmark (docs/performance.md): a straightforward, sequential boto3
inventory of the resource kinds orgsplit inventories, in the source account reached through
AssumeRole. Every page, a describe per resource, its tags. Writes JSON.

Run with the emulator's venv:
  tests/emulator/.venv/bin/python tests/bench/inventory_boto3.py \
      --endpoint-url http://127.0.0.1:PORT --account 111111111111 --regions us-east-1 --out /tmp/inv.json
"""
import argparse
import json
import sys
import time

import boto3
from botocore.exceptions import ClientError


def pages(client, op, key, **kw):
    if client.can_paginate(op):
        for page in client.get_paginator(op).paginate(**kw):
            yield from page.get(key, [])
    else:
        yield from getattr(client, op)(**kw).get(key, [])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint-url", required=True)
    ap.add_argument("--account", required=True)
    ap.add_argument("--regions", default="us-east-1", help="comma-separated")
    ap.add_argument("--role", default="OrganizationAccountAccessRole")
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    t0 = time.monotonic()
    base = dict(endpoint_url=a.endpoint_url, aws_access_key_id="testing", aws_secret_access_key="testing")
    cr = boto3.client("sts", region_name="us-east-1", **base).assume_role(
        RoleArn=f"arn:aws:iam::{a.account}:role/{a.role}", RoleSessionName="inventory-boto3")["Credentials"]
    kw = dict(endpoint_url=a.endpoint_url, aws_access_key_id=cr["AccessKeyId"], aws_secret_access_key=cr["SecretAccessKey"],
              aws_session_token=cr["SessionToken"])
    c = lambda svc, region="us-east-1": boto3.client(svc, region_name=region, **kw)  # noqa: E731
    inv: dict = {"account": a.account, "resources": []}
    add = lambda kind, name, region, **x: inv["resources"].append({"kind": kind, "name": name, "region": region, **x})  # noqa: E731

    iam = c("iam")
    for r in pages(iam, "list_roles", "Roles"):
        name = r["RoleName"]
        if name == a.role or r.get("Path", "/").startswith(("/aws-service-role/", "/aws-reserved/")):
            continue
        role = iam.get_role(RoleName=name)["Role"]
        inline = {p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                  for p in pages(iam, "list_role_policies", "PolicyNames", RoleName=name)}
        attached = [p["PolicyArn"] for p in pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)]
        tags = list(pages(iam, "list_role_tags", "Tags", RoleName=name))
        add("iam-role", name, None, trust=role["AssumeRolePolicyDocument"], inline=inline, attached=attached, tags=tags)
    for p in pages(iam, "list_policies", "Policies", Scope="Local"):
        doc = iam.get_policy_version(PolicyArn=p["Arn"], VersionId=p["DefaultVersionId"])["PolicyVersion"]["Document"]
        add("iam-policy", p["PolicyName"], None, document=doc)

    s3 = c("s3")
    for b in s3.list_buckets().get("Buckets", []):
        name = b["Name"]
        loc = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        try:
            tags = s3.get_bucket_tagging(Bucket=name)["TagSet"]
        except ClientError:
            tags = []
        ver = s3.get_bucket_versioning(Bucket=name).get("Status")
        try:
            enc = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]
        except ClientError:
            enc = None
        objects = sum(1 for _ in pages(s3, "list_objects_v2", "Contents", Bucket=name))
        add("s3", name, loc, tags=tags, versioning=ver, encryption=enc, objects=objects)

    for region in a.regions.split(","):
        ssm = c("ssm", region)
        for p in pages(ssm, "describe_parameters", "Parameters"):
            tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=p["Name"])["TagList"]
            add("ssm", p["Name"], region, type=p["Type"], tags=tags)
        sm = c("secretsmanager", region)
        for s in pages(sm, "list_secrets", "SecretList"):
            d = sm.describe_secret(SecretId=s["ARN"])
            add("secret", d["Name"], region, tags=d.get("Tags", []))
        ecs = c("ecs", region)
        for fam in pages(ecs, "list_task_definition_families", "families", status="ACTIVE"):
            td = ecs.describe_task_definition(taskDefinition=fam, include=["TAGS"])
            add("ecs-taskdef", fam, region, revision=td["taskDefinition"]["revision"], tags=td.get("tags", []))
        for carn in pages(ecs, "list_clusters", "clusterArns"):
            cl = ecs.describe_clusters(clusters=[carn], include=["TAGS"])["clusters"][0]
            add("ecs-cluster", cl["clusterName"], region, tags=cl.get("tags", []))
            sarns = list(pages(ecs, "list_services", "serviceArns", cluster=carn))
            for i in range(0, len(sarns), 10):
                for s in ecs.describe_services(cluster=carn, services=sarns[i:i + 10], include=["TAGS"])["services"]:
                    add("ecs-service", f"{cl['clusterName']}/{s['serviceName']}", region, taskdef=s["taskDefinition"])
            tarns = list(pages(ecs, "list_tasks", "taskArns", cluster=carn))
            for i in range(0, len(tarns), 100):
                for t in ecs.describe_tasks(cluster=carn, tasks=tarns[i:i + 100])["tasks"]:
                    add("ecs-task", t["taskArn"], region, taskdef=t["taskDefinitionArn"], started=str(t.get("startedAt")))
        ev = c("events", region)
        for r in pages(ev, "list_rules", "Rules"):
            targets = list(pages(ev, "list_targets_by_rule", "Targets", Rule=r["Name"]))
            if any("EcsParameters" in t for t in targets):
                add("events-rule", r["Name"], region, targets=len(targets))
        sch = c("scheduler", region)
        for s in pages(sch, "list_schedules", "Schedules"):
            d = sch.get_schedule(GroupName=s.get("GroupName", "default"), Name=s["Name"])
            if "EcsParameters" in d.get("Target", {}):
                add("schedule", f"{s.get('GroupName', 'default')}/{s['Name']}", region)
        cp = c("codepipeline", region)
        for p in pages(cp, "list_pipelines", "pipelines"):
            got = cp.get_pipeline(name=p["name"])
            tags = cp.list_tags_for_resource(resourceArn=got["metadata"]["pipelineArn"])["tags"]
            add("pipeline", p["name"], region, stages=len(got["pipeline"]["stages"]), tags=tags)
        webhooks = list(pages(cp, "list_webhooks", "webhooks"))
        inv.setdefault("webhooks", []).extend(w["arn"] for w in webhooks)
        logs = c("logs", region)
        for g in pages(logs, "describe_log_groups", "logGroups"):
            add("logs", g["logGroupName"], region, retention=g.get("retentionInDays"))
        ecr = c("ecr", region)
        for r in pages(ecr, "describe_repositories", "repositories"):
            add("ecr", r["repositoryName"], region)
        tagging = c("resourcegroupstaggingapi", region)
        inv.setdefault("tagged", []).extend(m["ResourceARN"] for m in pages(tagging, "get_resources", "ResourceTagMappingList"))

    inv["seconds"] = round(time.monotonic() - t0, 3)
    out = json.dumps(inv, indent=1, default=str)
    if a.out == "-":
        sys.stdout.write(out + "\n")
    else:
        with open(a.out, "w") as f:
            f.write(out)
    sys.stderr.write(f"inventory_boto3: {len(inv['resources'])} resources in {inv['seconds']} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
