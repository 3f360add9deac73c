"""Scenario files: well-formed, seeded through the API, every `expect` entry exists, envs follow the rules."""
import json
import os
import re

import pytest

from conftest import HERE, SHARED

SCEN = os.path.join(os.path.dirname(HERE), "scenarios")
KINDS = {"ssm", "secret", "iam-role", "iam-policy", "ecs-cluster", "ecs-taskdef", "ecs-service", "ecs-task", "events-rule",
         "schedule", "pipeline", "s3", "logs", "ecr", "kms", "codebuild", "other"}


def load(name):
    with open(os.path.join(SCEN, f"{name}.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("name", ["demo", "org-only", "large"])
def test_scenario_file_shape(name):
    sc = load(name)
    assert isinstance(sc["secrets"], list)
    if sc["expect"] is None:
        assert name == "large"
        return
    seen = set()
    for e in sc["expect"]:
        assert set(e) >= {"kind", "name", "region", "account", "env", "manual"}, e
        assert e["kind"] in KINDS and e["env"] in ("dev", "prod", "shared")
        assert e["account"] == SHARED
        assert (e["region"] is None) == e["kind"].startswith("iam-")
        assert e["manual"] == (e["kind"] in ("ecs-task", "other"))
        if e["kind"] == "ecs-task":
            assert e["name"] is None and e["taskdef"]
        key = (e["kind"], e["name"], e["region"], e.get("taskdef"))
        assert key not in seen, key
        seen.add(key)


def classify_demo(sc):
    """Independent re-derivation of every expect.env by the example config's rules."""
    w = sc["workloads"]
    tags: dict = {}
    for p in w["ssm_parameters"]:
        tags[("ssm", p["name"])] = p.get("tags", {})
    for b in w["s3_buckets"]:
        tags[("s3", b["name"])] = b.get("tags", {})
    for p in w["pipelines"]:
        tags[("pipeline", p["name"])] = p.get("tags", {})
    for k in w.get("kms_keys", []):
        tags[("kms", k["aliases"][0].removeprefix("alias/"))] = k.get("tags", {})
    for q in w.get("sqs_queues", []):
        tags[("other", f"arn:aws:sqs:us-east-1:{SHARED}:{q['name']}")] = q.get("tags", {})
    for t in w.get("dynamodb_tables", []):
        tags[("other", f"arn:aws:dynamodb:us-east-1:{SHARED}:table/{t['name']}")] = t.get("tags", {})

    def by_rules(kind, name):
        env = (tags.get((kind, name)) or {}).get("Environment")
        if env in ("prod", "production"):
            return "prod"
        if env in ("dev", "development"):
            return "dev"
        if env == "shared":
            return "shared"
        short = name.split(":")[-1].split("/")[-1] if kind == "other" and name.startswith("arn:") else name
        if kind == "other":
            short = name.rsplit(":", 1)[-1]
        if re.search(r"^/shared/", short):
            return "shared"
        if re.search(r"(^|[-_/.])(prod|production)([-_/.]|$)", short):
            return "prod"
        if re.search(r"(^|[-_/.])(dev|development)([-_/.]|$)", short):
            return "dev"
        return None

    # references: referrer -> referenced
    refs = []
    for td in w["task_definitions"]:
        src = ("ecs-taskdef", td["family"])
        refs.append((src, ("iam-role", td["execution_role"])))
        if td.get("task_role"):
            refs.append((src, ("iam-role", td["task_role"])))
        for cdef in td["containers"]:
            repo = cdef["image"].split("/", 1)[1].split(":")[0]
            refs.append((src, ("ecr", repo)))
            refs.append((src, ("logs", cdef["log_group"])))
            for s in cdef["secrets"]:
                if s["valueFrom"].startswith("{secret-arn:"):
                    refs.append((src, ("secret", s["valueFrom"][len("{secret-arn:"):-1])))
                else:
                    refs.append((src, ("ssm", s["valueFrom"].split(":parameter", 1)[1])))
    for s in w["services"]:
        src = ("ecs-service", f"{s['cluster']}/{s['name']}")
        refs += [(src, ("ecs-cluster", s["cluster"])), (src, ("ecs-taskdef", s["task_definition"]))]
    for r in w["events_rules"]:
        src = ("events-rule", r["name"])
        refs += [(src, ("ecs-cluster", r["cluster"])), (src, ("ecs-taskdef", r["task_definition"])), (src, ("iam-role", r["role"]))]
    for r in w["schedules"]:
        src = ("schedule", f"{r['group']}/{r['name']}")
        refs += [(src, ("ecs-cluster", r["cluster"])), (src, ("ecs-taskdef", r["task_definition"])), (src, ("iam-role", r["role"]))]
    for p in w["pipelines"]:
        src = ("pipeline", p["name"])
        refs += [(src, ("iam-role", p["role"])), (src, ("s3", p["artifact_bucket"]))]
        if p.get("build_project"):
            refs.append((src, ("codebuild", p["build_project"])))
    for cb in w.get("codebuild_projects", []):
        src = ("codebuild", cb["name"])
        refs += [(src, ("iam-role", cb["role"])), (src, ("logs", cb["log_group"]))]
        refs += [(src, ("ssm", v["value"])) for v in cb.get("variables", []) if v["type"] == "PARAMETER_STORE"]
    for lg in w["log_groups"]:
        if lg.get("kms"):
            refs.append((("logs", lg["name"]), ("kms", "prod/app")))
    for p in w["ssm_parameters"]:
        if p.get("key"):
            refs.append((("ssm", p["name"]), ("kms", p["key"].removeprefix("alias/"))))
    for k in w.get("kms_keys", []):
        for st in (k.get("policy") or {}).get("Statement", []):
            principal = st["Principal"].get("AWS", "")
            if ":role/" in principal:
                refs.append((("kms", k["aliases"][0].removeprefix("alias/")), ("iam-role", principal.rsplit("/", 1)[1])))
    for r in w["iam_roles"]:
        for mp in r.get("managed_policies", []):
            refs.append((("iam-role", r["name"]), ("iam-policy", mp)))

    keys = {(e["kind"], e["name"]) for e in sc["expect"] if e["kind"] != "ecs-task"}
    env: dict = {k: by_rules(*k) for k in keys}
    for _ in range(10):  # propagate to a fixed point
        for k in keys:
            if by_rules(*k) is not None:
                continue
            users = {env.get(src) for src, dst in refs if dst == k} - {None}
            env[k] = None if not users else (users.pop() if len(users) == 1 else "shared")
    return env


def test_demo_envs_follow_rules():
    sc = load("demo")
    env = classify_demo(sc)
    for e in sc["expect"]:
        if e["kind"] == "ecs-task":
            continue
        assert env[(e["kind"], e["name"])] == e["env"], e
    assert None not in env.values()


def test_demo_seeded_and_every_expect_exists(demo):
    sc = load("demo")
    r = demo.seed_result
    assert r["accounts"] == {"shared-workloads": SHARED} and r["workload_account"] == SHARED
    print(f"demo seeded in {demo.seed_seconds:.2f}s")
    creds = demo.assume(SHARED)
    c = lambda svc, region="us-east-1": demo.client(svc, region=region, creds=creds)  # noqa: E731
    org = demo.client("organizations")
    assert org.describe_organization()["Organization"]["FeatureSet"] == "ALL"
    assert {a["Id"] for a in org.list_accounts()["Accounts"]} == {"123456789012", SHARED}
    assert org.list_organizational_units_for_parent(ParentId=org.list_roots()["Roots"][0]["Id"])["OrganizationalUnits"] == []

    for e in sc["expect"]:
        k, n, reg = e["kind"], e["name"], e["region"]
        if k == "ssm":
            p = c("ssm", reg).get_parameter(Name=n, WithDecryption=True)["Parameter"]
            assert p["Name"] == n
        elif k == "secret":
            assert c("secretsmanager", reg).describe_secret(SecretId=n)["Name"] == n
        elif k == "iam-role":
            assert c("iam").get_role(RoleName=n)["Role"]["RoleName"] == n
        elif k == "iam-policy":
            c("iam").get_policy(PolicyArn=f"arn:aws:iam::{SHARED}:policy/{n}")
        elif k == "ecs-cluster":
            assert c("ecs", reg).describe_clusters(clusters=[n])["clusters"][0]["clusterName"] == n
        elif k == "ecs-taskdef":
            td = c("ecs", reg).describe_task_definition(taskDefinition=n)["taskDefinition"]
            assert td["family"] == n and td["revision"] >= 2 and td["requiresCompatibilities"] == ["FARGATE"]
        elif k == "ecs-service":
            cl, svc = n.split("/")
            assert c("ecs", reg).describe_services(cluster=cl, services=[svc])["services"][0]["serviceName"] == svc
        elif k == "ecs-task":
            arns = c("ecs", reg).list_tasks(cluster="batch")["taskArns"]
            tasks = c("ecs", reg).describe_tasks(cluster="batch", tasks=arns)["tasks"]
            assert any(e["taskdef"] in t["taskDefinitionArn"] and t.get("startedBy") == "manual-release" for t in tasks)
            # back-dated by the scenario (started_hours_ago = 80), and RUNNING however often described
            import datetime
            for _ in range(3):
                task = c("ecs", reg).describe_tasks(cluster="batch", tasks=arns)["tasks"][0]
                assert task["lastStatus"] == "RUNNING", task["lastStatus"]
            age = datetime.datetime.now(datetime.timezone.utc) - task["startedAt"]
            assert datetime.timedelta(hours=79) < age < datetime.timedelta(hours=81), age
        elif k == "events-rule":
            assert c("events", reg).describe_rule(Name=n)["ScheduleExpression"] == "cron(0 2 * * ? *)"
            t = c("events", reg).list_targets_by_rule(Rule=n)["Targets"][0]
            assert "prod-mail-sender" in t["EcsParameters"]["TaskDefinitionArn"] and t["RoleArn"].endswith("/ecs-events-invoke")
        elif k == "schedule":
            g, name = n.split("/")
            s = c("scheduler", reg).get_schedule(GroupName=g, Name=name)
            assert "dev-mail-sender" in s["Target"]["EcsParameters"]["TaskDefinitionArn"]
        elif k == "pipeline":
            p = c("codepipeline", reg).get_pipeline(name=n)["pipeline"]
            act = p["stages"][0]["actions"][0]
            assert act["actionTypeId"]["provider"] == "GitHub" and act["configuration"]["OAuthToken"] == "****"
        elif k == "s3":
            c("s3", reg).head_bucket(Bucket=n)
        elif k == "logs":
            groups = c("logs", reg).describe_log_groups(logGroupNamePrefix=n)["logGroups"]
            assert groups[0]["logGroupName"] == n and groups[0]["retentionInDays"] in (14, 90)
        elif k == "ecr":
            assert c("ecr", reg).describe_repositories(repositoryNames=[n])["repositories"][0]["repositoryName"] == n
        elif k == "kms":
            meta = c("kms", reg).describe_key(KeyId=f"alias/{n}")["KeyMetadata"]
            assert meta["KeyManager"] == "CUSTOMER" and c("kms", reg).get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"]
            policy = json.loads(c("kms", reg).get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"])
            assert any(st["Principal"]["AWS"].endswith(":role/prod-mail-sender-task") for st in policy["Statement"])
        elif k == "codebuild":
            project = c("codebuild", reg).batch_get_projects(names=[n])["projects"][0]
            assert project["serviceRole"].endswith(":role/codebuild-service")
        elif k == "other":
            pass  # checked through the tagging API below
    # the task definitions reference the full SSM ARNs of their env, one shared execution role
    td = c("ecs").describe_task_definition(taskDefinition="prod-mail-sender")["taskDefinition"]
    assert td["executionRoleArn"].endswith(":role/ecs-task-execution") and td["taskRoleArn"].endswith(":role/prod-mail-sender-task")
    cd = td["containerDefinitions"][0]
    assert cd["image"] == f"{SHARED}.dkr.ecr.us-east-1.amazonaws.com/mail-sender:1.4.2"
    assert f"arn:aws:ssm:us-east-1:{SHARED}:parameter/prod/mailer/SMTP_PASSWORD" in [s["valueFrom"] for s in cd["secrets"]]
    assert cd["logConfiguration"]["options"]["awslogs-group"] == "/ecs/prod-mail-sender"
    assert [p["PolicyName"] for p in c("iam").list_attached_role_policies(RoleName="prod-mail-sender-task")["AttachedPolicies"]] == ["prod-mailer-ses-send"]
    # the tagging API lists the tagged "other" resources, and not the never-tagged ones, as on
    # AWS (GetResources returns resources that have or had tags): those exist all the same
    arns = {m["ResourceARN"] for p in c("resourcegroupstaggingapi").get_paginator("get_resources").paginate()
            for m in p["ResourceTagMappingList"]}
    w = sc["workloads"]
    tagged = {f"arn:aws:sqs:us-east-1:{SHARED}:{q['name']}" for q in w["sqs_queues"] if q.get("tags")}
    tagged |= {f"arn:aws:dynamodb:us-east-1:{SHARED}:table/{t['name']}" for t in w["dynamodb_tables"] if t.get("tags")}
    listed = {f"arn:aws:dynamodb:us-east-1:{SHARED}:table/{t}" for t in c("dynamodb").list_tables()["TableNames"]}
    listed |= {f["FunctionArn"] for f in c("lambda").list_functions()["Functions"]}
    untagged = 0
    for e in sc["expect"]:
        if e["kind"] == "other":
            assert (e["name"] in arns) == (e["name"] in tagged), e["name"]
            untagged += e["name"] not in tagged
            assert e["name"] in arns or e["name"] in listed, e["name"]
    assert untagged == 2
    # webhooks and terraform states
    wh = c("codepipeline").list_webhooks()["webhooks"]
    assert [w["definition"]["targetPipeline"] for w in wh] == ["prod-api-release"]
    s3 = c("s3")
    raw = s3.get_object(Bucket="acme-terraform-state", Key="prod/pipelines.tfstate")["Body"].read().decode()
    legacy = s3.get_object(Bucket="acme-terraform-state", Key="legacy/pipelines.tfstate")["Body"].read().decode()
    net = s3.get_object(Bucket="acme-terraform-state", Key="dev/network.tfstate")["Body"].read().decode()
    token = next(s for s in sc["secrets"] if s.startswith("ghp_"))
    hashed = next(s for s in sc["secrets"] if s.startswith("hash-"))
    assert json.loads(raw)["version"] == 4 and f'"OAuthToken": "{token}"' in raw
    assert f'"OAuthToken": "{hashed}"' in legacy and token not in legacy
    assert "OAuthToken" not in net
    assert s3.get_bucket_tagging(Bucket="acme-terraform-state")["TagSet"] == [{"Key": "Environment", "Value": "shared"}]
    # prod's mailer key is replicated to eu-west-1, where it is listed as a replica
    replica = c("secretsmanager", "eu-west-1").describe_secret(SecretId="prod/mailer/api-key")
    assert replica["PrimaryRegion"] == "us-east-1"
    assert [r["Region"] for r in c("secretsmanager").describe_secret(SecretId="prod/mailer/api-key")["ReplicationStatus"]] == ["eu-west-1"]
    # the signing key is under the customer-managed key; the api pipelines build with api-build
    p = c("ssm").describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/prod/api/SIGNING_KEY"]}])["Parameters"][0]
    assert p["KeyId"] == "alias/prod/app"
    group = c("logs").describe_log_groups(logGroupNamePrefix="/ecs/prod-api")["logGroups"][0]
    assert group["kmsKeyId"] == c("kms").describe_key(KeyId="alias/prod/app")["KeyMetadata"]["Arn"]
    build = c("codepipeline").get_pipeline(name="prod-api-release")["pipeline"]["stages"][1]["actions"][0]
    assert build["configuration"]["ProjectName"] == "api-build"
    # SecureString values are the seeded secrets
    v = c("ssm").get_parameter(Name="/prod/mailer/SMTP_PASSWORD", WithDecryption=True)["Parameter"]["Value"]
    assert v in sc["secrets"]
    assert len([p for p in c("ssm", "eu-west-1").describe_parameters()["Parameters"]]) == 3
    # seeding left no trace in the request log
    assert demo.admin("GET", "/_emulator/requests")[1] == [] or all(
        e["operation"] not in ("PutParameter", "CreateCluster") for e in demo.admin("GET", "/_emulator/requests")[1])


def test_org_only_and_large_small(fresh):
    status, r = fresh.admin("POST", "/_emulator/seed", {"scenario": "org-only"})
    assert status == 200 and r["accounts"] == {"shared-workloads": SHARED}
    # seeding twice is idempotent for the organization part
    status, r = fresh.admin("POST", "/_emulator/seed", {"scenario": "org-only"})
    assert status == 200 and r["accounts"] == {"shared-workloads": SHARED}
    assert len(fresh.client("organizations").list_accounts()["Accounts"]) == 2
    fresh.reset()
    status, r = fresh.admin("POST", "/_emulator/seed", {"scenario": "large", "params": {"scale": 0.02}})
    assert status == 200, r
    assert r["counts"]["ssm"] == 100 and r["counts"]["ecs-taskdef"] == 6 and r["counts"]["ecs-taskdef-revision"] == 18
    creds = fresh.assume(SHARED)
    n = sum(len(p["Parameters"]) for p in fresh.client("ssm", creds=creds).get_paginator("describe_parameters").paginate())
    assert n == 100
    fams = fresh.client("ecs", creds=creds).list_task_definition_families(status="ACTIVE")["families"]
    assert len(fams) == 6
