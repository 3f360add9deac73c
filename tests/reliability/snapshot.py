"""State snapshots for the reliability suites: the organization and every member account's
migrated resources, read through boto3 (never through orgsplit), with random ids replaced by
stable labels so that two emulators' snapshots compare; and the duplicates found in one
(docs/reliability.md, "State snapshot" and "Duplicates")."""
from __future__ import annotations

import concurrent.futures
import hashlib
import json
import re
import urllib.parse
from typing import Any

from harness_aws import (ACCESS_ROLE, MANAGEMENT, REGIONS, SOURCE, Aws, member_accounts, org_accounts,
                         pages, safe)


VOLATILE_KEYS = {
    "CreateDate", "CreationDate", "LastModifiedDate", "LastModificationDate", "LastUpdatedTime",
    "LastUpdatedDate", "registeredAt", "deregisteredAt", "createdAt", "updatedAt", "creationTime",
    "RoleId", "PolicyId", "ResponseMetadata", "LastAccessedDate", "RoleLastUsed",
    "CalculatedSpend", "TimePeriod", "LastChangedDate", "DeletedDate", "CreatedDate", "registeredBy",
}
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SECRET_SUFFIX_RE = re.compile(r"(:secret:[A-Za-z0-9/_+=.@-]+?)-[A-Za-z0-9]{6}\b")


def sha(text: str | bytes | None) -> str | None:
    if text is None:
        return None
    return "sha256:" + hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def strip_volatile(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: strip_volatile(x) for k, x in v.items() if k not in VOLATILE_KEYS}
    if isinstance(v, list):
        return [strip_volatile(x) for x in v]
    return v


def policy_doc(doc: Any) -> Any:
    if isinstance(doc, str):
        try:
            return json.loads(urllib.parse.unquote(doc))
        except json.JSONDecodeError:
            return json.loads(doc)
    return doc


def tags_dict(tags: list | None, k: str = "Key", v: str = "Value") -> dict:
    return {t[k]: t[v] for t in tags or []}


def snap_ssm(c: Any) -> dict:
    params = pages(c, "describe_parameters", "Parameters")
    names = [p["Name"] for p in params]
    values: dict[str, Any] = {}
    for i in range(0, len(names), 10):
        for p in c.get_parameters(Names=names[i:i + 10], WithDecryption=True)["Parameters"]:
            values[p["Name"]] = p
    out = {}
    for p in params:
        v = values.get(p["Name"], {})
        out[p["Name"]] = {
            "type": p.get("Type"), "tier": p.get("Tier"), "data_type": p.get("DataType"),
            "description": p.get("Description"), "version": p.get("Version"),
            "value": sha(v.get("Value")),
            "key_id": p.get("KeyId"),
            "tags": tags_dict(c.list_tags_for_resource(ResourceType="Parameter", ResourceId=p["Name"]).get("TagList")),
        }
    return out


def snap_secrets(c: Any) -> dict:
    out = {}
    for s in pages(c, "list_secrets", "SecretList"):
        value = safe(lambda: c.get_secret_value(SecretId=s["ARN"]), ("ResourceNotFoundException",), {})
        versions = pages(c, "list_secret_version_ids", "Versions", SecretId=s["ARN"])
        out[s["Name"]] = {
            "description": s.get("Description"), "kms_key": s.get("KmsKeyId"),
            "tags": tags_dict(s.get("Tags")), "value": sha(value.get("SecretString")),
            "versions": len(versions),
        }
    return out


def snap_iam(c: Any) -> dict:
    roles = {}
    for r in pages(c, "list_roles", "Roles"):
        name = r["RoleName"]
        if name == ACCESS_ROLE or r.get("Path", "").startswith("/aws-service-role/") or name.startswith("AWSServiceRole"):
            continue
        inline = {}
        for pn in pages(c, "list_role_policies", "PolicyNames", RoleName=name):
            inline[pn] = policy_doc(c.get_role_policy(RoleName=name, PolicyName=pn)["PolicyDocument"])
        roles[name] = {
            "path": r.get("Path"), "description": r.get("Description"),
            "max_session": r.get("MaxSessionDuration"),
            "trust": policy_doc(r.get("AssumeRolePolicyDocument")),
            "attached": sorted(p["PolicyArn"] for p in pages(c, "list_attached_role_policies", "AttachedPolicies", RoleName=name)),
            "inline": inline,
            "tags": tags_dict(pages(c, "list_role_tags", "Tags", RoleName=name)),
        }
    policies = {}
    for p in pages(c, "list_policies", "Policies", Scope="Local"):
        versions = pages(c, "list_policy_versions", "Versions", PolicyArn=p["Arn"])
        doc = c.get_policy_version(PolicyArn=p["Arn"], VersionId=p["DefaultVersionId"])["PolicyVersion"]["Document"]
        policies[p["PolicyName"]] = {"path": p.get("Path"), "document": policy_doc(doc), "versions": len(versions)}
    return {"roles": roles, "policies": policies}


def snap_s3(c: Any) -> dict:
    out = {}
    for b in c.list_buckets().get("Buckets", []):
        name = b["Name"]
        enc = safe(lambda: c.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"],
                   ("ServerSideEncryptionConfigurationNotFoundError",))
        out[name] = {
            "versioning": c.get_bucket_versioning(Bucket=name).get("Status"),
            "encryption": enc,
            "tags": tags_dict(safe(lambda: c.get_bucket_tagging(Bucket=name)["TagSet"], ("NoSuchTagSet",), [])),
        }
    return out


def snap_logs(c: Any) -> dict:
    return {g["logGroupName"]: {"retention": g.get("retentionInDays"), "kms": g.get("kmsKeyId")}
            for g in pages(c, "describe_log_groups", "logGroups")}


TASKDEF_KEYS = ("family", "revision", "status", "taskRoleArn", "executionRoleArn", "networkMode",
                "containerDefinitions", "volumes", "requiresCompatibilities", "cpu", "memory",
                "runtimePlatform", "placementConstraints")


def snap_ecs(c: Any) -> dict:
    clusters = {}
    arns = pages(c, "list_clusters", "clusterArns")
    if arns:
        for cl in c.describe_clusters(clusters=arns, include=["TAGS", "SETTINGS"])["clusters"]:
            services = {}
            sarns = pages(c, "list_services", "serviceArns", cluster=cl["clusterArn"])
            for i in range(0, len(sarns), 10):
                for s in c.describe_services(cluster=cl["clusterArn"], services=sarns[i:i + 10], include=["TAGS"])["services"]:
                    services[s["serviceName"]] = {k: s.get(k) for k in (
                        "status", "taskDefinition", "desiredCount", "launchType", "networkConfiguration",
                        "schedulingStrategy", "platformVersion", "loadBalancers")} | {"tags": tags_dict(s.get("tags"), "key", "value")}
            clusters[cl["clusterName"]] = {"status": cl.get("status"), "tags": tags_dict(cl.get("tags"), "key", "value"),
                                           "settings": cl.get("settings"), "services": services}
    families: dict[str, list] = {}
    for status in ("ACTIVE", "INACTIVE"):
        for arn in pages(c, "list_task_definitions", "taskDefinitionArns", status=status):
            td = c.describe_task_definition(taskDefinition=arn, include=["TAGS"])
            d = td["taskDefinition"]
            entry = {k: d.get(k) for k in TASKDEF_KEYS} | {"tags": tags_dict(td.get("tags"), "key", "value")}
            families.setdefault(d["family"], []).append(entry)
    for revs in families.values():
        revs.sort(key=lambda r: r["revision"])
    return {"clusters": clusters, "task_definitions": families}


def snap_events(c: Any) -> dict:
    out = {}
    for r in pages(c, "list_rules", "Rules"):
        targets = pages(c, "list_targets_by_rule", "Targets", Rule=r["Name"])
        out[r["Name"]] = {k: r.get(k) for k in ("ScheduleExpression", "EventPattern", "State", "Description", "RoleArn", "EventBusName")} | {
            "targets": sorted(targets, key=lambda t: t["Id"])}
    return out


def snap_scheduler(c: Any) -> dict:
    out = {}
    for g in pages(c, "list_schedule_groups", "ScheduleGroups"):
        for s in pages(c, "list_schedules", "Schedules", GroupName=g["Name"]):
            full = c.get_schedule(GroupName=g["Name"], Name=s["Name"])
            out[f"{g['Name']}/{s['Name']}"] = strip_volatile(full)
    return out


def snap_pipelines(c: Any) -> dict:
    out = {}
    for p in pages(c, "list_pipelines", "pipelines"):
        got = c.get_pipeline(name=p["name"])
        decl = got["pipeline"]
        decl.pop("version", None)  # a pipeline's version counts its updates
        arn = got.get("metadata", {}).get("pipelineArn")
        tags = safe(lambda: c.list_tags_for_resource(resourceArn=arn)["tags"], ("ResourceNotFoundException",), []) if arn else []
        out[p["name"]] = {"declaration": decl, "tags": tags_dict(tags, "key", "value")}
    return out


def snap_pipeline_states(c: Any) -> dict:
    """Each pipeline's stages, each with whether its inbound transition takes runs and the
    reason given when it does not (GetPipelineState): what cutover's `source-hold` changes."""
    out = {}
    for p in pages(c, "list_pipelines", "pipelines"):
        stages = c.get_pipeline_state(name=p["name"]).get("stageStates", [])
        out[p["name"]] = [[s.get("stageName"), (s.get("inboundTransitionState") or {}).get("enabled", True),
                           (s.get("inboundTransitionState") or {}).get("disabledReason")] for s in stages]
    return out


def snap_switches(aws: Aws, account: str) -> dict:
    """What `orgsplit cutover` switches, as one account shows it, per region: each ECS service's
    desired count and status, each EventBridge rule's and Scheduler schedule's state, each
    pipeline's transitions. The snapshot reads this for the source account, whose other
    resources no command changes (the member accounts' full snapshot has it all)."""
    out = {}
    for region in REGIONS:
        ecs = aws.client("ecs", account, region)
        services = {}
        for cluster in pages(ecs, "list_clusters", "clusterArns"):
            arns = pages(ecs, "list_services", "serviceArns", cluster=cluster)
            for i in range(0, len(arns), 10):
                for s in ecs.describe_services(cluster=cluster, services=arns[i:i + 10])["services"]:
                    name = f"{cluster.rsplit('/', 1)[-1]}/{s['serviceName']}"
                    services[name] = {"desiredCount": s.get("desiredCount"), "status": s.get("status")}
        sched = aws.client("scheduler", account, region)
        schedules = {f"{g['Name']}/{s['Name']}": s.get("State")
                     for g in pages(sched, "list_schedule_groups", "ScheduleGroups")
                     for s in pages(sched, "list_schedules", "Schedules", GroupName=g["Name"])}
        out[region] = {
            "ecs_services": services,
            "rules": {r["Name"]: r.get("State") for r in pages(aws.client("events", account, region), "list_rules", "Rules")},
            "schedules": schedules,
            "pipeline_states": snap_pipeline_states(aws.client("codepipeline", account, region)),
        }
    return out


def snap_connections(c: Any) -> dict:
    out: dict[str, dict] = {}
    for conn in pages(c, "list_connections", "Connections"):
        e = out.setdefault(conn["ConnectionName"], {"count": 0, "statuses": [], "provider": conn.get("ProviderType")})
        e["count"] += 1
        e["statuses"].append(conn.get("ConnectionStatus"))
    return out


def snap_budgets(c: Any, account: str) -> dict:
    out = {}
    for b in pages(c, "describe_budgets", "Budgets", AccountId=account):
        notes = pages(c, "describe_notifications_for_budget", "Notifications", AccountId=account, BudgetName=b["BudgetName"])
        out[b["BudgetName"]] = {k: b.get(k) for k in ("BudgetLimit", "TimeUnit", "BudgetType", "CostFilters", "CostTypes")} | {
            "notifications": sorted(notes, key=json.dumps)}
    return out


def snap_region(aws: Aws, account: str, region: str) -> dict:
    c = lambda svc: aws.client(svc, account, region)  # noqa: E731
    return {
        "ssm": snap_ssm(c("ssm")),
        "secrets": snap_secrets(c("secretsmanager")),
        "logs": snap_logs(c("logs")),
        "ecs": snap_ecs(c("ecs")),
        "events": snap_events(c("events")),
        "scheduler": snap_scheduler(c("scheduler")),
        "pipelines": snap_pipelines(c("codepipeline")),
        "pipeline_states": snap_pipeline_states(c("codepipeline")),
        "connections": snap_connections(c("codeconnections")),
    }


def snap_account(aws: Aws, account: str) -> dict:
    out: dict[str, Any] = {
        "iam": snap_iam(aws.client("iam", account)),
        "s3": snap_s3(aws.client("s3", account)),
        "budgets": snap_budgets(aws.client("budgets", account), account),
    }
    for region in REGIONS:
        out[region] = snap_region(aws, account, region)
    return out


def snap_organization(aws: Aws, labels: dict[str, str]) -> dict:
    org = aws.client("organizations")
    root = org.list_roots()["Roots"][0]
    labels[root["Id"]] = "<root>"
    labels[org.describe_organization()["Organization"]["Id"]] = "<organization>"
    ous: dict[str, Any] = {}

    def walk(parent: str, path: str) -> None:
        for ou in pages(org, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent):
            p = f"{path}/{ou['Name']}"
            labels[ou["Id"]] = f"<ou:{p}>"
            entry = ous.setdefault(p, {"count": 0, "accounts": []})
            entry["count"] += 1
            entry["accounts"] += sorted(a["Email"] for a in pages(org, "list_accounts_for_parent", "Accounts", ParentId=ou["Id"]))
            walk(ou["Id"], p)

    walk(root["Id"], "")
    at_root = sorted(a["Email"] for a in pages(org, "list_accounts_for_parent", "Accounts", ParentId=root["Id"]))
    scps: dict[str, Any] = {}
    for p in pages(org, "list_policies", "Policies", Filter="SERVICE_CONTROL_POLICY"):
        labels[p["Id"]] = f"<policy:{p['Name']}>"
        if p.get("AwsManaged"):
            continue
        content = org.describe_policy(PolicyId=p["Id"])["Policy"]["Content"]
        targets = pages(org, "list_targets_for_policy", "Targets", PolicyId=p["Id"])
        e = scps.setdefault(p["Name"], {"count": 0, "content": policy_doc(content), "targets": []})
        e["count"] += 1
        e["targets"] += sorted(t["TargetId"] for t in targets)
    access = sorted(s["ServicePrincipal"] for s in pages(org, "list_aws_service_access_for_organization", "EnabledServicePrincipals"))
    cfn_access = aws.client("cloudformation").describe_organizations_access().get("Status")
    return {"ous": ous, "accounts_at_root": at_root, "scps": scps, "trusted_access": access,
            "cloudformation_organizations_access": cfn_access}


def snap_stacksets(aws: Aws) -> dict:
    cfn = aws.client("cloudformation")
    out = {}
    for s in pages(cfn, "list_stack_sets", "Summaries", Status="ACTIVE"):
        d = cfn.describe_stack_set(StackSetName=s["StackSetName"])["StackSet"]
        instances = pages(cfn, "list_stack_instances", "Summaries", StackSetName=s["StackSetName"])
        e = out.setdefault(s["StackSetName"], {"count": 0})
        e["count"] += 1
        e.update({
            "parameters": {p["ParameterKey"]: p.get("ParameterValue") for p in d.get("Parameters", [])},
            "permission_model": d.get("PermissionModel"), "capabilities": sorted(d.get("Capabilities", [])),
            "template": sha(d.get("TemplateBody")), "description": d.get("Description"),
            "instances": sorted(([i["Account"], i["Region"], i.get("Status"), i.get("OrganizationalUnitId")] for i in instances)),
        })
    return out


def snap_source_ecr(aws: Aws) -> dict:
    out = {}
    for region in REGIONS:
        c = aws.client("ecr", SOURCE, region)
        for r in pages(c, "describe_repositories", "repositories"):
            pol = safe(lambda: c.get_repository_policy(repositoryName=r["repositoryName"])["policyText"],
                       ("RepositoryPolicyNotFoundException",))
            out[f"{region}/{r['repositoryName']}"] = policy_doc(pol) if pol else None
    return out


def snapshot(aws: Aws) -> dict:
    """The organization and every member account's migrated resources, read through boto3,
    with account ids, OU/root/policy ids, UUIDs and secret ARN suffixes replaced by stable
    labels so that two emulators' snapshots compare."""
    accounts = org_accounts(aws)
    labels = {a["Id"]: f"<{a['Email']}>" for a in accounts}
    snap: dict[str, Any] = {"organization": snap_organization(aws, labels)}
    emails = [a["Email"].lower() for a in accounts]
    snap["organization"]["emails_used_twice"] = sorted({e for e in emails if emails.count(e) > 1})
    snap["stacksets"] = snap_stacksets(aws)
    snap["source_ecr_policies"] = snap_source_ecr(aws)
    snap["source"] = snap_switches(aws, SOURCE)
    members = member_accounts(aws)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        per = dict(zip([a["Email"] for a in members], pool.map(lambda a: snap_account(aws, a["Id"]), members)))
        for found in pool.map(lambda a: network_labels(aws, a), [a for a in accounts if a["Id"] != MANAGEMENT]):
            labels.update(found)
    snap["accounts"] = per
    return canon(normalise(strip_volatile(snap), labels))


def network_labels(aws: Aws, account: dict) -> dict[str, str]:
    """moto draws VPC, subnet and security-group ids at random, so two emulators give the same
    network different ids: label each by what it is (account, region, CIDR, group name)."""
    out = {}
    for region in REGIONS:
        ec2 = aws.client("ec2", account["Id"], region)
        vpcs = {v["VpcId"]: v.get("CidrBlock") for v in pages(ec2, "describe_vpcs", "Vpcs")}
        where = f"{account['Email']}:{region}"
        for vid, cidr in vpcs.items():
            out[vid] = f"<vpc:{where}:{cidr}>"
        for sn in pages(ec2, "describe_subnets", "Subnets"):
            out[sn["SubnetId"]] = f"<subnet:{where}:{sn.get('CidrBlock')}>"
        for g in pages(ec2, "describe_security_groups", "SecurityGroups"):
            out[g["GroupId"]] = f"<sg:{where}:{vpcs.get(g.get('VpcId'))}:{g.get('GroupName')}>"
    return out


def canon(snap: dict) -> dict:
    """Sorts the lists whose order means nothing, after ids became labels."""
    for e in snap["organization"]["scps"].values():
        e["targets"].sort()
    for e in snap["stacksets"].values():
        e["instances"].sort(key=json.dumps)
    for acc in snap["accounts"].values():
        for r in acc["iam"]["roles"].values():
            r["attached"].sort()
    return snap


def normalise(v: Any, labels: dict[str, str]) -> Any:
    keys = sorted(labels, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(k) for k in keys)) if keys else None

    def fix(s: str) -> str:
        if pattern:
            s = pattern.sub(lambda m: labels[m.group(0)], s)
        s = UUID_RE.sub("<uuid>", s)
        return SECRET_SUFFIX_RE.sub(r"\1-<suffix>", s)

    def walk(x: Any) -> Any:
        if isinstance(x, dict):
            return {fix(k): walk(y) for k, y in x.items()}
        if isinstance(x, list):
            return [walk(y) for y in x]
        if isinstance(x, str):
            return fix(x)
        return x

    return walk(v)


def diff(a: Any, b: Any, path: str = "", out: list[str] | None = None, limit: int = 200) -> list[str]:
    """Human-readable differences between two snapshots (a = reference)."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            p = f"{path}.{k}" if path else k
            if k not in b:
                out.append(f"- {p}: only in the reference")
            elif k not in a:
                out.append(f"+ {p}: only here: {short(b[k])}")
            else:
                diff(a[k], b[k], p, out, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}]", out, limit)
    elif a != b:
        out.append(f"~ {path}: reference {short(a)} != {short(b)}")
    return out


def short(v: Any, n: int = 160) -> str:
    s = json.dumps(v, sort_keys=True, default=str)
    return s if len(s) <= n else s[:n] + "..."


def duplicates(snap: dict, ref: dict | None = None) -> list[str]:
    """Things that exist more often than they may: a name twice where it must be unique, and,
    against a reference, more task-definition revisions, policy versions, parameter or secret
    versions than the reference has (without one: more than one)."""
    out = []
    org = snap["organization"]
    out += [f"two accounts with e-mail {e}" for e in org.get("emails_used_twice", [])]
    out += [f"OU {p} exists {e['count']} times" for p, e in org["ous"].items() if e["count"] > 1]
    out += [f"SCP {n} exists {e['count']} times" for n, e in org["scps"].items() if e["count"] > 1]
    for n, e in org["scps"].items():
        t = e["targets"]
        out += [f"SCP {n} attached twice to {x}" for x in sorted(set(t)) if t.count(x) > 1]
    for n, s in snap["stacksets"].items():
        if s["count"] > 1:
            out.append(f"StackSet {n} exists {s['count']} times")
        keys = [(i[0], i[1]) for i in s["instances"]]
        out += [f"StackSet {n}: two instances for {k}" for k in sorted(set(keys)) if keys.count(k) > 1]

    def more(what: str, n: int, r: int | None) -> None:
        limit = 1 if r is None else r
        if n > limit:
            out.append(f"{what}: {n} (" + (f"reference {r})" if r is not None else "more than one)"))

    refacc = (ref or {}).get("accounts", {})
    for email, acc in snap["accounts"].items():
        ra = refacc.get(email) if ref else None
        for name, p in acc["iam"]["policies"].items():
            rp = ra["iam"]["policies"].get(name) if ra else None
            more(f"{email}: policy {name} versions", p["versions"], rp["versions"] if rp else None)
        for region in REGIONS:
            reg = acc[region]
            rr = ra.get(region) if ra else None
            for name, c in reg["connections"].items():
                if c["count"] > 1:
                    out.append(f"{email} {region}: {c['count']} connections named {name}")
            for fam, revs in reg["ecs"]["task_definitions"].items():
                rrevs = rr["ecs"]["task_definitions"].get(fam) if rr else None
                more(f"{email} {region}: task definition {fam} revisions", len(revs), len(rrevs) if rrevs else None)
            for name, p in reg["ssm"].items():
                rp = rr["ssm"].get(name) if rr else None
                more(f"{email} {region}: parameter {name} versions", p["version"] or 0, (rp["version"] or 0) if rp else None)
            for name, s in reg["secrets"].items():
                rs = rr["secrets"].get(name) if rr else None
                more(f"{email} {region}: secret {name} versions", s["versions"], rs["versions"] if rs else None)
    return out


def snap_source(aws: Aws) -> dict:
    """The source account's resources of every kind `orgsplit cleanup` deletes (the crash suite's
    cleanup phase, crash_cleanup.py): its full account snapshot (parameters, secrets, logs, ECS
    clusters, services with status and task-definition revisions ACTIVE and INACTIVE, rules,
    schedules, pipelines in both Regions; roles, customer policies, buckets), plus each Region's
    secrets as ListSecrets shows them with IncludePlannedDeletion (whether each is pending
    deletion: a `DeletedDate`), its CodeBuild projects, and each bucket's object versions and
    delete markers (counts). Account ids as e-mails, ARN suffixes and UUIDs as labels."""
    out = snap_account(aws, SOURCE)
    for region in REGIONS:
        sm = aws.client("secretsmanager", SOURCE, region)
        out[region]["secrets_planned_deletion"] = {
            s["Name"]: {"pending_deletion": s.get("DeletedDate") is not None}
            for s in pages(sm, "list_secrets", "SecretList", IncludePlannedDeletion=True)}
        out[region]["codebuild_projects"] = sorted(pages(aws.client("codebuild", SOURCE, region), "list_projects", "projects"))
    s3 = aws.client("s3", SOURCE)
    for name, b in out["s3"].items():
        got = s3.list_object_versions(Bucket=name)
        b["object_versions"], b["delete_markers"] = len(got.get("Versions", [])), len(got.get("DeleteMarkers", []))
    for r in out["iam"]["roles"].values():
        r["attached"].sort()
    accounts = org_accounts(aws)
    labels = {a["Id"]: f"<{a['Email']}>" for a in accounts}
    for a in accounts:
        if a["Id"] != MANAGEMENT:
            labels.update(network_labels(aws, a))  # the services' and rules' subnets and groups
    return normalise(strip_volatile(out), labels)
