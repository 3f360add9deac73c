"""Seeds scenarios/NAME.json into a running emulator through boto3 (the AWS API), never through orgsplit.

Scenario format: see README.md. Calls carry SEED_UA_MARK in their User-Agent, so they are neither
logged in the request log nor subject to fault injection.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config

from . import accounts
from .app import SEED_UA_MARK

SCENARIO_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scenarios")
MANAGEMENT = "123456789012"
ACCESS_ROLE = "OrganizationAccountAccessRole"


def load_scenario(name: str) -> dict:
    if not name.replace("-", "").replace("_", "").isalnum():
        raise FileNotFoundError(f"invalid scenario name {name!r}")
    path = os.path.join(SCENARIO_DIR, f"{name}.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no scenario {name!r} ({path})")
    with open(path) as f:
        return json.load(f)


class Clients:
    def __init__(self, url: str, creds: dict | None = None):
        self.url = url
        self.creds = creds or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        self.cache: dict = {}
        self.config = Config(user_agent_extra=SEED_UA_MARK, retries={"max_attempts": 5, "mode": "standard"},
                             max_pool_connections=32)

    def __call__(self, service: str, region: str = "us-east-1"):
        key = (service, region)
        if key not in self.cache:
            self.cache[key] = boto3.session.Session().client(
                service, endpoint_url=self.url, region_name=region, config=self.config, **self.creds)
        return self.cache[key]


def setup_organization(c: Clients, org: dict) -> dict[str, str]:
    o = c("organizations")
    try:
        o.describe_organization()
    except o.exceptions.AWSOrganizationsNotInUseException:
        o.create_organization(FeatureSet=org.get("feature_set", "ALL"))
    existing = {a["Email"].lower(): a["Id"] for p in o.get_paginator("list_accounts").paginate() for a in p["Accounts"]}
    ids = {}
    for acct in org.get("accounts", []):
        if acct.get("id"):
            accounts.pin_email(acct["email"], acct["id"])
        if acct["email"].lower() in existing:
            ids[acct["name"]] = existing[acct["email"].lower()]
            continue
        st = o.create_account(Email=acct["email"], AccountName=acct["name"])["CreateAccountStatus"]
        ids[acct["name"]] = st["AccountId"]
    return ids


def assume(c: Clients, account: str) -> Clients:
    cr = c("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ACCESS_ROLE}", RoleSessionName="orgsplit-emulator-seed")["Credentials"]
    return Clients(c.url, {"aws_access_key_id": cr["AccessKeyId"], "aws_secret_access_key": cr["SecretAccessKey"],
                           "aws_session_token": cr["SessionToken"]})


def _tags(d: dict | None, key="Key", value="Value") -> list[dict]:
    return [{key: k, value: v} for k, v in (d or {}).items()]


def network(c: Clients, region: str) -> tuple[list[str], list[str]]:
    ec2 = c("ec2", region)
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if vpcs:
        vpc = vpcs[0]["VpcId"]
    else:
        vpc = ec2.create_vpc(CidrBlock="172.31.0.0/16")["Vpc"]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    if not subnets:
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock="172.31.0.0/20")["Subnet"]["SubnetId"]]
    sgs = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["batch-tasks"]},
                                                {"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
    sg = sgs[0]["GroupId"] if sgs else ec2.create_security_group(GroupName="batch-tasks", Description="batch tasks", VpcId=vpc)["GroupId"]
    return subnets[:2], [sg]


def tfstate(spec: dict, account: str, region: str, pipelines: dict[str, dict]) -> bytes:
    lineage = str(uuid.UUID(hashlib.md5(json.dumps(spec, sort_keys=True).encode()).hexdigest()))
    resources = []
    if spec["tfstate"] == "pipelines":
        for name in spec["pipelines"]:
            p = pipelines[name]
            token = p["token"] if spec.get("token_form", "raw") == "raw" else "hash-" + hashlib.sha256(p["token"].encode()).hexdigest()
            resources.append({
                "mode": "managed", "type": "aws_codepipeline", "name": name.replace("-", "_"),
                "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                "instances": [{"schema_version": 0, "attributes": {
                    "arn": f"arn:aws:codepipeline:{region}:{account}:{name}", "id": name, "name": name,
                    "role_arn": f"arn:aws:iam::{account}:role/{p['role']}",
                    "artifact_store": [{"encryption_key": [], "location": p["artifact_bucket"], "region": "", "type": "S3"}],
                    "stage": [
                        {"name": "Source", "action": [{
                            "category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1",
                            "name": "Source", "configuration": {
                                "Branch": p["branch"], "OAuthToken": token, "Owner": p["owner"],
                                "PollForSourceChanges": "true" if p.get("poll") else "false", "Repo": p["repo"]},
                            "input_artifacts": [], "output_artifacts": ["source_output"], "namespace": "",
                            "region": "", "role_arn": "", "run_order": 1}]},
                        {"name": "Approve", "action": [{
                            "category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1",
                            "name": "Approve", "configuration": {}, "input_artifacts": [], "output_artifacts": [],
                            "namespace": "", "region": "", "role_arn": "", "run_order": 1}]}],
                    "tags": p.get("tags", {}), "tags_all": p.get("tags", {})},
                    "sensitive_attributes": [], "private": "bnVsbA=="}],
            })
            if p.get("webhook"):
                resources.append({
                    "mode": "managed", "type": "aws_codepipeline_webhook", "name": name.replace("-", "_"),
                    "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                    "instances": [{"schema_version": 0, "attributes": {
                        "id": f"arn:aws:codepipeline:{region}:{account}:webhook:{p['webhook']['name']}",
                        "name": p["webhook"]["name"], "authentication": "GITHUB_HMAC",
                        "authentication_configuration": [{"allowed_ip_range": "", "secret_token": p["webhook"]["secret"]}],
                        "target_action": "Source", "target_pipeline": name},
                        "sensitive_attributes": [], "private": "bnVsbA=="}]})
    else:
        resources = [
            {"mode": "managed", "type": "aws_vpc", "name": "main", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": [{"schema_version": 1, "attributes": {"id": "vpc-0a1b2c3d4e5f60718", "cidr_block": "10.20.0.0/16",
                                                                "tags": {"Name": "dev"}}, "sensitive_attributes": []}]},
            {"mode": "managed", "type": "aws_subnet", "name": "private", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": [{"index_key": i, "schema_version": 1, "attributes": {"id": f"subnet-0dev{i:013d}", "cidr_block": f"10.20.{i}.0/24",
                                                                                "vpc_id": "vpc-0a1b2c3d4e5f60718"}, "sensitive_attributes": []}
                           for i in range(2)]},
        ]
    doc = {"version": 4, "terraform_version": "1.5.7", "serial": 42, "lineage": lineage, "outputs": {}, "resources": resources,
           "check_results": None}
    return json.dumps(doc, indent=2).encode()


def pipeline_decl(p: dict, account: str) -> dict:
    return {
        "name": p["name"],
        "roleArn": f"arn:aws:iam::{account}:role/{p['role']}",
        "artifactStore": {"type": "S3", "location": p["artifact_bucket"]},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
                "runOrder": 1,
                "configuration": {"Owner": p["owner"], "Repo": p["repo"], "Branch": p["branch"], "OAuthToken": p["token"],
                                  "PollForSourceChanges": "true" if p.get("poll") else "false"},
                "outputArtifacts": [{"name": "source_output"}], "inputArtifacts": []}]},
            *([{"name": "Build", "actions": [{
                "name": "Build",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "runOrder": 1, "configuration": {"ProjectName": p["build_project"]},
                "outputArtifacts": [{"name": "build_output"}], "inputArtifacts": [{"name": "source_output"}]}]}]
              if p.get("build_project") else []),
            {"name": "Approve", "actions": [{
                "name": "Approve",
                "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
                "runOrder": 1, "configuration": {}, "outputArtifacts": [], "inputArtifacts": []}]},
        ],
        "version": 1,
    }


def container_defs(td: dict, region: str) -> list[dict]:
    out = []
    for cdef in td["containers"]:
        # container-level cpu/memory: moto's RunTask needs them even on Fargate (docs/emulator-gaps.md)
        d: dict[str, Any] = {"name": cdef["name"], "image": cdef["image"], "essential": cdef.get("essential", True),
                             "cpu": int(cdef.get("cpu", td["cpu"])), "memory": int(cdef.get("memory", td["memory"])),
                             "environment": cdef.get("environment", []), "secrets": cdef.get("secrets", [])}
        if cdef.get("log_group"):
            d["logConfiguration"] = {"logDriver": "awslogs", "options": {
                "awslogs-group": cdef["log_group"], "awslogs-region": region, "awslogs-stream-prefix": "ecs"}}
        if cdef.get("port"):
            d["portMappings"] = [{"containerPort": cdef["port"], "protocol": "tcp"}]
        out.append(d)
    return out


def with_placeholders(v: Any, kind: str, arns: dict[str, str]) -> Any:
    """`v` with every "{KIND:NAME}" replaced by the ARN of NAME."""
    if isinstance(v, str):
        for name, arn in arns.items():
            v = v.replace("{" + kind + ":" + name + "}", arn)
        return v
    if isinstance(v, list):
        return [with_placeholders(x, kind, arns) for x in v]
    if isinstance(v, dict):
        return {k: with_placeholders(x, kind, arns) for k, x in v.items()}
    return v


def seed_workloads(c: Clients, w: dict) -> dict:
    account = w["account"]
    region = w.get("region", "us-east-1")
    counts: dict[str, int] = {}

    def count(k: str, n: int = 1) -> None:
        counts[k] = counts.get(k, 0) + n

    # KMS keys first (parameters are encrypted under them); their policies once the roles exist.
    key_arns: dict[str, str] = {}
    for k in w.get("kms_keys", []):
        kms = c("kms", k.get("region", region))
        meta = kms.create_key(Description=k.get("description", ""), Tags=_tags(k.get("tags"), "TagKey", "TagValue"))["KeyMetadata"]
        for alias in k["aliases"]:
            kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
            key_arns[alias] = meta["Arn"]
        if k.get("rotation"):
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        count("kms")
    # A key's ARN holds an id KMS chooses: the scenario names it "{kms-arn:ALIAS}".
    w = with_placeholders(w, "kms-arn", key_arns)
    for p in w.get("ssm_parameters", []):
        kw = {"Name": p["name"], "Value": p["value"], "Type": p["type"], "Overwrite": False}
        if p.get("key"):
            kw["KeyId"] = p["key"]
        if p.get("tier"):
            kw["Tier"] = p["tier"]
        if p.get("policies"):
            kw["Policies"] = json.dumps(p["policies"])
        if p.get("tags"):
            kw["Tags"] = _tags(p["tags"])
        c("ssm", p.get("region", region)).put_parameter(**kw)
        count("ssm")
    secret_arns: dict[str, str] = {}
    for s in w.get("secrets", []):
        kw = {"Name": s["name"], "SecretString": s["value"]}
        if s.get("replica_regions"):
            kw["AddReplicaRegions"] = [{"Region": r} for r in s["replica_regions"]]
        if s.get("tags"):
            kw["Tags"] = _tags(s["tags"])
        secret_arns[s["name"]] = c("secretsmanager", s.get("region", region)).create_secret(**kw)["ARN"]
        count("secret")
    # A secret's full ARN ends in a random suffix known only now: the scenario names it
    # "{secret-arn:NAME}" (in task definitions and policies), replaced here.
    w = with_placeholders(w, "secret-arn", secret_arns)
    for r in w.get("ecr_repositories", []):
        c("ecr", region).create_repository(repositoryName=r["name"], tags=_tags(r.get("tags")))
        count("ecr")
    for lg in w.get("log_groups", []):
        kw = {"logGroupName": lg["name"]}
        if lg.get("tags"):
            kw["tags"] = lg["tags"]
        if lg.get("kms"):
            kw["kmsKeyId"] = lg["kms"]
        c("logs", region).create_log_group(**kw)
        if lg.get("retention_days"):
            c("logs", region).put_retention_policy(logGroupName=lg["name"], retentionInDays=lg["retention_days"])
        count("logs")
    iam = c("iam")
    for pol in w.get("iam_policies", []):
        iam.create_policy(PolicyName=pol["name"], PolicyDocument=json.dumps(pol["document"]))
        count("iam-policy")
    for role in w.get("iam_roles", []):
        iam.create_role(RoleName=role["name"], AssumeRolePolicyDocument=json.dumps(role["trust"]), Tags=_tags(role.get("tags")))
        for mp in role.get("managed_policies", []):
            arn = mp if mp.startswith("arn:") else f"arn:aws:iam::{account}:policy/{mp}"
            iam.attach_role_policy(RoleName=role["name"], PolicyArn=arn)
        for pname, doc in (role.get("inline_policies") or {}).items():
            iam.put_role_policy(RoleName=role["name"], PolicyName=pname, PolicyDocument=json.dumps(doc))
        count("iam-role")
    for k in w.get("kms_keys", []):
        if k.get("policy"):
            kms = c("kms", k.get("region", region))
            kms.put_key_policy(KeyId=key_arns[k["aliases"][0]], PolicyName="default", Policy=json.dumps(k["policy"]))
    for cb in w.get("codebuild_projects", []):
        env = {"type": "LINUX_CONTAINER", "image": cb["image"], "computeType": "BUILD_GENERAL1_SMALL",
               "environmentVariables": cb.get("variables", [])}
        c("codebuild", region).create_project(
            name=cb["name"], source={"type": "CODEPIPELINE", "location": "codepipeline"},
            artifacts={"type": "CODEPIPELINE", "location": "codepipeline"}, environment=env,
            serviceRole=f"arn:aws:iam::{account}:role/{cb['role']}",
            logsConfig={"cloudWatchLogs": {"status": "ENABLED", "groupName": cb["log_group"]}})
        count("codebuild")
    ecs = c("ecs", region)
    cluster_arns = {}
    for cl in w.get("ecs_clusters", []):
        cluster_arns[cl["name"]] = ecs.create_cluster(clusterName=cl["name"], tags=_tags(cl.get("tags"), "key", "value"))["cluster"]["clusterArn"]
        count("ecs-cluster")
    td_arns: dict[str, str] = {}
    for td in w.get("task_definitions", []):
        kw = dict(family=td["family"], networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu=td["cpu"],
                  memory=td["memory"], containerDefinitions=container_defs(td, region),
                  executionRoleArn=f"arn:aws:iam::{account}:role/{td['execution_role']}")
        if td.get("task_role"):
            kw["taskRoleArn"] = f"arn:aws:iam::{account}:role/{td['task_role']}"
        if td.get("tags"):
            kw["tags"] = _tags(td["tags"], "key", "value")
        td_arns[td["family"]] = ecs.register_task_definition(**kw)["taskDefinition"]["taskDefinitionArn"]
        count("ecs-taskdef-revision")
    subnets, sgs = ([], [])
    if w.get("services") or w.get("tasks") or w.get("events_rules") or w.get("schedules"):
        subnets, sgs = network(c, region)
    netconf = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": sgs, "assignPublicIp": "DISABLED"}}
    for s in w.get("services", []):
        ecs.create_service(cluster=s["cluster"], serviceName=s["name"], taskDefinition=s["task_definition"],
                           desiredCount=s.get("desired_count", 1), launchType="FARGATE", networkConfiguration=netconf)
        count("ecs-service")
    task_arns = []
    for t in w.get("tasks", []):
        r = ecs.run_task(cluster=t["cluster"], taskDefinition=t["task_definition"], launchType="FARGATE", count=1,
                         networkConfiguration=netconf, startedBy=t.get("started_by", "manual"))
        arns = [x["taskArn"] for x in r["tasks"]]
        if t.get("started_hours_ago") is not None:
            from .ecs_tasks import backdate

            for arn in arns:
                backdate(account, region, arn, float(t["started_hours_ago"]))
        task_arns += arns
        count("ecs-task", len(r["tasks"]))
    ev = c("events", region)
    for rule in w.get("events_rules", []):
        ev.put_rule(Name=rule["name"], ScheduleExpression=rule["schedule"], State="ENABLED")
        ev.put_targets(Rule=rule["name"], Targets=[{
            "Id": "run-task", "Arn": cluster_arns.get(rule["cluster"]) or f"arn:aws:ecs:{region}:{account}:cluster/{rule['cluster']}",
            "RoleArn": f"arn:aws:iam::{account}:role/{rule['role']}",
            "EcsParameters": {"TaskDefinitionArn": td_arns[rule["task_definition"]], "TaskCount": 1, "LaunchType": "FARGATE",
                              "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": subnets, "SecurityGroups": sgs,
                                                                               "AssignPublicIp": "DISABLED"}}}}])
        count("events-rule")
    for sch in w.get("schedules", []):
        sc = c("scheduler", region)
        if sch.get("group", "default") != "default":
            try:
                sc.create_schedule_group(Name=sch["group"])
            except sc.exceptions.ConflictException:
                pass
        sc.create_schedule(Name=sch["name"], GroupName=sch.get("group", "default"), ScheduleExpression=sch["expression"],
                           FlexibleTimeWindow={"Mode": "OFF"}, State="ENABLED", Target={
                               "Arn": cluster_arns.get(sch["cluster"]) or f"arn:aws:ecs:{region}:{account}:cluster/{sch['cluster']}",
                               "RoleArn": f"arn:aws:iam::{account}:role/{sch['role']}",
                               "EcsParameters": {"TaskDefinitionArn": td_arns[sch["task_definition"]], "TaskCount": 1,
                                                 "LaunchType": "FARGATE", "NetworkConfiguration": {"awsvpcConfiguration": {
                                                     "Subnets": subnets, "SecurityGroups": sgs, "AssignPublicIp": "DISABLED"}}}})
        count("schedule")
    s3 = c("s3", region)
    pipelines = {p["name"]: p for p in w.get("pipelines", [])}
    for b in w.get("s3_buckets", []):
        s3.create_bucket(Bucket=b["name"])
        if b.get("tags"):
            s3.put_bucket_tagging(Bucket=b["name"], Tagging={"TagSet": _tags(b["tags"])})
        if b.get("versioning"):
            s3.put_bucket_versioning(Bucket=b["name"], VersioningConfiguration={"Status": "Enabled"})
        if b.get("ownership"):
            s3.put_bucket_ownership_controls(Bucket=b["name"], OwnershipControls={"Rules": [{"ObjectOwnership": b["ownership"]}]})
        if b.get("public_access_block"):
            s3.put_public_access_block(Bucket=b["name"], PublicAccessBlockConfiguration=b["public_access_block"])
        if b.get("policy"):
            s3.put_bucket_policy(Bucket=b["name"], Policy=json.dumps(b["policy"]))
        if b.get("lifecycle"):
            s3.put_bucket_lifecycle_configuration(Bucket=b["name"], LifecycleConfiguration={"Rules": b["lifecycle"]})
        if b.get("cors"):
            s3.put_bucket_cors(Bucket=b["name"], CORSConfiguration={"CORSRules": b["cors"]})
        if b.get("encryption"):
            s3.put_bucket_encryption(Bucket=b["name"], ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        for key, spec in (b.get("objects") or {}).items():
            body = tfstate(spec, account, region, pipelines) if isinstance(spec, dict) and "tfstate" in spec else str(spec).encode()
            s3.put_object(Bucket=b["name"], Key=key, Body=body)
            count("s3-object")
        count("s3")
    cp = c("codepipeline", region)
    for p in w.get("pipelines", []):
        kw = {"pipeline": pipeline_decl(p, account)}
        if p.get("tags"):
            kw["tags"] = _tags(p["tags"], "key", "value")
        cp.create_pipeline(**kw)
        if p.get("webhook"):
            cp.put_webhook(webhook={
                "name": p["webhook"]["name"], "targetPipeline": p["name"], "targetAction": "Source",
                "filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/{Branch}"}],
                "authentication": "GITHUB_HMAC", "authenticationConfiguration": {"SecretToken": p["webhook"]["secret"]}})
            cp.register_webhook_with_third_party(webhookName=p["webhook"]["name"])
            count("webhook")
        count("pipeline")
    for q in w.get("sqs_queues", []):
        c("sqs", region).create_queue(QueueName=q["name"], tags=q.get("tags") or {})
        count("other")
    for t in w.get("dynamodb_tables", []):
        c("dynamodb", region).create_table(
            TableName=t["name"], BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], Tags=_tags(t.get("tags")))
        count("other")
    for f in w.get("lambda_functions", []):
        c("lambda", region).create_function(
            FunctionName=f["name"], Runtime="python3.12", Handler="index.handler",
            Role=f"arn:aws:iam::{account}:role/{f['role']}", Code={"ZipFile": _zip_of("def handler(e, c):\n    return e\n")})
        count("other")
    return {"counts": counts, "task_arns": task_arns}


def _zip_of(source: str) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", source)
    return buf.getvalue()


def seed_large(c: Clients, g: dict, scale: float, threads: int = 8) -> dict:
    account, region = g["account"], g.get("region", "us-east-1")

    def n(key: str) -> int:
        return max(1, int(round(g[key] * scale)))

    counts: dict[str, int] = {}
    envs = ("dev", "prod")
    token = "ghp_LargeScenarioToken000000000000000000"
    iam, ecs, ssm, s3, cp = c("iam"), c("ecs", region), c("ssm", region), c("s3", region), c("codepipeline", region)

    def pmap(fn, items):
        with ThreadPoolExecutor(threads) as ex:
            list(ex.map(fn, items))

    nparams = n("ssm_parameters")

    def put_param(i: int) -> None:
        env = envs[i % 2]
        secure = i % 2 == 0
        ssm.put_parameter(Name=f"/{env}/app{i // 50:03d}/PARAM_{i:05d}", Value=(f"large-secret-{i:05d}" if secure else f"value-{i}"),
                          Type="SecureString" if secure else "String", **({"Tags": [{"Key": "Environment", "Value": env}]} if i % 5 == 0 else {}))
    pmap(put_param, range(nparams))
    counts["ssm"] = nparams

    # one statement per service: moto's CreatePipeline only accepts a plain-string Service principal
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": svc}, "Action": "sts:AssumeRole"}
        for svc in ("ecs-tasks.amazonaws.com", "codepipeline.amazonaws.com")]})
    nroles = n("roles")

    def mk_role(i: int) -> None:
        iam.create_role(RoleName=f"{envs[i % 2]}-role-{i:04d}", AssumeRolePolicyDocument=trust)
        iam.put_role_policy(RoleName=f"{envs[i % 2]}-role-{i:04d}", PolicyName="inline", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": "*"}]}))
    pmap(mk_role, range(nroles))
    counts["iam-role"] = nroles

    clusters = ["large-dev", "large-prod"]
    for cl in clusters:
        ecs.create_cluster(clusterName=cl)
    counts["ecs-cluster"] = 2
    fams = n("task_definition_families")
    revs = g.get("revisions", 3)

    def reg_family(i: int) -> None:
        env = envs[i % 2]
        for r in range(revs):
            ecs.register_task_definition(
                family=f"{env}-family-{i:04d}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
                executionRoleArn=f"arn:aws:iam::{account}:role/{envs[(i % nroles) % 2]}-role-{i % nroles:04d}",
                containerDefinitions=[{"name": "app", "image": f"{account}.dkr.ecr.{region}.amazonaws.com/app:{r}", "essential": True,
                                       "secrets": [{"name": "P", "valueFrom": f"arn:aws:ssm:{region}:{account}:parameter/{env}/app000/PARAM_{i % 2:05d}"}]}])
    pmap(reg_family, range(fams))
    counts["ecs-taskdef"] = fams
    counts["ecs-taskdef-revision"] = fams * revs

    subnets, sgs = network(c, region)
    nsvc = n("services")

    def mk_service(i: int) -> None:
        env = envs[i % 2]
        j = i % fams
        ecs.create_service(cluster=f"large-{env}", serviceName=f"{env}-svc-{i:03d}", taskDefinition=f"{envs[j % 2]}-family-{j:04d}",
                           desiredCount=1, launchType="FARGATE",
                           networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": sgs}})
    pmap(mk_service, range(nsvc))
    counts["ecs-service"] = nsvc

    nb = n("buckets")

    def mk_bucket(i: int) -> None:
        s3.create_bucket(Bucket=f"large-{envs[i % 2]}-bucket-{i:03d}")
        s3.put_bucket_tagging(Bucket=f"large-{envs[i % 2]}-bucket-{i:03d}", Tagging={"TagSet": [{"Key": "Environment", "Value": envs[i % 2]}]})
    pmap(mk_bucket, range(nb))
    counts["s3"] = nb

    npipe = n("pipelines")

    def mk_pipe(i: int) -> None:
        env = envs[i % 2]
        cp.create_pipeline(pipeline=pipeline_decl({
            "name": f"{env}-pipeline-{i:03d}", "role": f"{envs[(i % nroles) % 2]}-role-{i % nroles:04d}",
            "artifact_bucket": f"large-{envs[(i % nb) % 2]}-bucket-{i % nb:03d}",
            "owner": "acme", "repo": f"repo-{i}", "branch": "main", "token": token, "poll": True}, account))
    pmap(mk_pipe, range(npipe))
    counts["pipeline"] = npipe
    return {"counts": counts}


def seed_scenario(url: str, name: str, params: dict) -> dict:
    t0 = time.monotonic()
    sc = load_scenario(name)
    c = Clients(url)
    ids = setup_organization(c, sc.get("organization", {}))
    result: dict[str, Any] = {"scenario": name, "management_account": MANAGEMENT, "accounts": ids}
    if sc.get("workloads"):
        w = sc["workloads"]
        result.update(seed_workloads(assume(c, w["account"]), w))
        result["workload_account"] = w["account"]
    elif sc.get("generator"):
        g = sc["generator"]
        scale = float(params.get("scale", 1.0))
        result.update(seed_large(assume(c, g["account"]), g, scale, int(params.get("threads", 8))))
        result["workload_account"] = g["account"]
        result["scale"] = scale
    else:
        result["counts"] = {}
    result["expect_count"] = len(sc["expect"]) if sc.get("expect") is not None else None
    result["seconds"] = round(time.monotonic() - t0, 2)
    return result
