"""What now exists in each account orgsplit created, read through the AWS API (boto3), not
through orgsplit. Used by scripts/demo; runs with the emulator's virtualenv."""
import json
import os
import sys
import urllib.parse

import boto3

URL = os.environ["AWS_ENDPOINT_URL"]
SKIP = {"123456789012", "111111111111"}
REGIONS = ["us-east-1", "eu-west-1"]


def client(service, region="us-east-1", creds=None):
    return boto3.client(service, endpoint_url=URL, region_name=region, **(creds or {}))


def assume(account):
    c = client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                                  RoleSessionName="orgsplit-demo")["Credentials"]
    return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"]}


def trust_of(iam, role):
    doc = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    if isinstance(doc, str):
        doc = json.loads(urllib.parse.unquote(doc))
    return sorted({p for s in doc["Statement"] for p in ([s["Principal"]["AWS"]] if isinstance(s["Principal"].get("AWS"), str) else s["Principal"].get("AWS", []))})


SOURCE = "111111111111"


def running(creds=None):
    """What fires or runs in an account: its rules' and schedules' states, its services' desired
    counts, and its pipelines whose second stage takes runs."""
    out = {"rules ENABLED": 0, "rules DISABLED": 0, "schedules ENABLED": 0, "schedules DISABLED": 0,
           "pipelines held": 0, "pipelines running": 0}
    for region in REGIONS:
        for r in client("events", region, creds).list_rules()["Rules"]:
            if not r.get("ManagedBy"):
                out[f"rules {r['State'].split('_')[0]}"] += 1
        sched = client("scheduler", region, creds)
        for s in sched.list_schedules()["Schedules"]:
            out[f"schedules {s['State']}"] += 1
        cp = client("codepipeline", region, creds)
        for p in cp.list_pipelines()["pipelines"]:
            stages = cp.get_pipeline_state(name=p["name"])["stageStates"]
            enabled = len(stages) < 2 or stages[1].get("inboundTransitionState", {}).get("enabled", True)
            out["pipelines running" if enabled else "pipelines held"] += 1
    return ", ".join(f"{v} {k}" for k, v in out.items() if v) or "nothing"


def holdings(creds):
    """What the shared account still holds of the kinds orgsplit moves, by kind."""
    out = {}
    add = lambda kind, names: out.setdefault(kind, []).extend(names)
    for region in REGIONS:
        pages = client("ssm", region, creds).get_paginator("describe_parameters").paginate(MaxResults=50)
        add("parameters", [p["Name"] for page in pages for p in page["Parameters"]])
        add("secrets", [x["Name"] for x in client("secretsmanager", region, creds).list_secrets()["SecretList"]])
        ecs = client("ecs", region, creds)
        add("task definitions", ecs.list_task_definition_families(status="ACTIVE")["families"])
        for cluster in ecs.list_clusters()["clusterArns"]:
            add("clusters", [cluster.split("/")[-1]])
            add("services", [a.split("/")[-1] for a in ecs.list_services(cluster=cluster)["serviceArns"]])
        add("log groups", [g["logGroupName"] for g in client("logs", region, creds).describe_log_groups()["logGroups"]])
        add("rules", [r["Name"] for r in client("events", region, creds).list_rules()["Rules"] if not r.get("ManagedBy")])
        add("schedules", [x["Name"] for x in client("scheduler", region, creds).list_schedules()["Schedules"]])
        add("pipelines", [p["name"] for p in client("codepipeline", region, creds).list_pipelines()["pipelines"]])
        add("build projects", client("codebuild", region, creds).list_projects()["projects"])
        add("ECR repositories", [r["repositoryName"] for r in client("ecr", region, creds).describe_repositories()["repositories"]])
        kms = client("kms", region, creds)
        keys = [k["KeyId"] for k in kms.list_keys()["Keys"]]
        add("KMS keys", [k for k in keys if kms.describe_key(KeyId=k)["KeyMetadata"]["KeyManager"] == "CUSTOMER"
                         and kms.describe_key(KeyId=k)["KeyMetadata"]["KeyState"] == "Enabled"])
        add("DynamoDB tables (manual items)", client("dynamodb", region, creds).list_tables()["TableNames"])
        add("SQS queues (manual items)", [u.rsplit("/", 1)[-1] for u in client("sqs", region, creds).list_queues().get("QueueUrls", [])])
        add("Lambda functions (manual items)", [f["FunctionName"] for f in client("lambda", region, creds).list_functions()["Functions"]])
    iam = client("iam", creds=creds)
    add("roles", [r["RoleName"] for r in iam.list_roles()["Roles"]
                  if r["RoleName"] != "OrganizationAccountAccessRole" and not r["Path"].startswith("/aws-service-role/")])
    add("policies", [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]])
    add("buckets", [b["Name"] for b in client("s3", creds=creds).list_buckets()["Buckets"]])
    return {k: sorted(v) for k, v in out.items() if v}


def main():
    org = client("organizations")
    names = {a["Id"]: a["Name"] for a in org.list_accounts()["Accounts"]}
    root = org.list_roots()["Roots"][0]["Id"]
    for ou in sorted(org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"], key=lambda o: o["Name"]):
        for acct in sorted(org.list_accounts_for_parent(ParentId=ou["Id"])["Accounts"], key=lambda a: a["Name"]):
            if acct["Id"] in SKIP:
                continue
            creds = assume(acct["Id"])
            iam = client("iam", creds=creds)
            roles = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"] != "OrganizationAccountAccessRole"]
            counts = {"parameters": 0, "secrets": 0, "task definitions": 0, "log groups": 0, "pipelines": 0}
            sources = set()
            for region in REGIONS:
                pages = client("ssm", region, creds).get_paginator("describe_parameters").paginate(MaxResults=50)
                counts["parameters"] += sum(len(p["Parameters"]) for p in pages)
                counts["secrets"] += len(client("secretsmanager", region, creds).list_secrets()["SecretList"])
                counts["task definitions"] += len(client("ecs", region, creds).list_task_definition_families(status="ACTIVE")["families"])
                counts["log groups"] += len(client("logs", region, creds).describe_log_groups()["logGroups"])
                cp = client("codepipeline", region, creds)
                for p in cp.list_pipelines()["pipelines"]:
                    counts["pipelines"] += 1
                    for stage in cp.get_pipeline(name=p["name"])["pipeline"]["stages"]:
                        for action in stage["actions"]:
                            arn = action.get("configuration", {}).get("ConnectionArn")
                            if arn:
                                sources.add(arn)
            buckets = [b["Name"] for b in client("s3", creds=creds).list_buckets()["Buckets"]]
            budgets = client("budgets", creds=creds).describe_budgets(AccountId=acct["Id"]).get("Budgets", [])
            admin = trust_of(iam, "terraform-apply") if "terraform-apply" in roles else []
            admin_names = [f"{names.get(a.split(':')[4], '?')} ({a.split(':')[4]})" for a in admin]
            print(f"OU {ou['Name']} / {acct['Name']} ({acct['Id']})")
            print(f"  terraform-apply trusts: {', '.join(admin_names) or 'NO ROLE'}")
            held = [f"{v} {k}" for k, v in counts.items() if v] + ([f"{len(buckets)} buckets"] if buckets else [])
            print("  " + (", ".join(held) or "no workloads (an admin account)"))
            print(f"  roles: {', '.join(sorted(roles))}")
            for arn in sorted(sources):
                owner = arn.split(":")[4]
                print(f"  pipelines' GitHub connection: {arn} (of {names.get(owner, '?')} {owner}, shared through AWS RAM)")
            print(f"  budgets: {', '.join(b['BudgetName'] + ' ' + b['BudgetLimit']['Amount'] + ' ' + b['BudgetLimit']['Unit'] for b in budgets) or 'none'}")
            if counts["parameters"] or counts["pipelines"]:
                print(f"  running: {running(creds)}")
    print(f"Shared (source) account {SOURCE}")
    creds = assume(SOURCE)
    print(f"  running: {running(creds)}")
    held = holdings(creds)
    for kind, items in held.items():
        print(f"  still holds {len(items)} {kind}: {', '.join(items)}")
    if not held:
        print("  holds none of the kinds orgsplit moves")


if __name__ == "__main__":
    sys.exit(main())
