#!/usr/bin/env python3
"""Writes demo.json beside this file. demo.json is the source of truth that the seeder reads;
this script only saves typing it by hand: edit here, run `python3 gen_demo.py`, commit both.

Every `env` below is set by hand by the example config's rules (first match wins):
1) tag Environment in [prod, production] -> prod; 2) tag Environment in [dev, development] -> dev;
3) tag Environment = shared -> shared; 4) name ^/shared/ -> shared;
5) name (^|[-_/.])(prod|production)([-_/.]|$) -> prod; 6) same with dev|development -> dev;
else the environment(s) of its referrers (one -> that one, two or more -> shared).
tests/test_scenarios.py re-derives them independently and checks them.
"""
import json
import os

ACCOUNT = "111111111111"
REGION = "us-east-1"
TOKEN = "ghp_" + "k3Yq8ZtW2vN5mR7pL1xC4bH6dJ9sF0gT2eAu"  # 36 chars after ghp_
assert len(TOKEN) == 40
WEBHOOK_SECRET = "whsec-prod-api-7f3c91d2b8e04a6f"

secrets: list[str] = [TOKEN, WEBHOOK_SECRET]
expect: list[dict] = []


def exp(kind, name, env, region=REGION, manual=False, **extra):
    e = {"kind": kind, "name": name, "region": region, "account": ACCOUNT, "env": env, "manual": manual}
    e.update(extra)
    expect.append(e)


# ---------------------------------------------------------------- SSM parameters
ssm = []


def param(name, value, type_="String", tags=None, region=REGION, env=None, key=None):
    p = {"name": name, "value": value, "type": type_, "region": region}
    if tags:
        p["tags"] = tags
    if key:
        p["key"] = key
    ssm.append(p)
    if type_ == "SecureString":
        secrets.append(value)
    exp("ssm", name, env, region=region)


for env, host in (("dev", "smtp.dev.acme.internal"), ("prod", "email-smtp.us-east-1.amazonaws.com")):
    tag = {"Environment": env}
    param(f"/{env}/mailer/SMTP_HOST", host, env=env)
    param(f"/{env}/mailer/SMTP_USER", f"AKIAMAILER{env.upper()}USER01", env=env)
    param(f"/{env}/mailer/SMTP_PASSWORD", f"{env}-smtp-pw-Q7v9xK2m{env[0]}Zr8", "SecureString", tags=tag, env=env)
    param(f"/{env}/mailer/FROM_ADDRESS", f"no-reply@{'dev.' if env == 'dev' else ''}acme.example", env=env)
    param(f"/{env}/mailer/BOUNCE_QUEUE_URL", f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{env}-mail-bounces", env=env)
    param(f"/{env}/api/DB_URL", f"postgres://api:{env}-db-pw-Hq2Lw9@{env}-db.acme.internal:5432/api", "SecureString", tags=tag, env=env)
    param(f"/{env}/api/DB_POOL_SIZE", "10" if env == "dev" else "50", env=env)
    param(f"/{env}/api/JWT_SECRET", f"{env}-jwt-Xp4Rt8Vb1Nc6Mz3Kd7", "SecureString", env=env)
    param(f"/{env}/api/REDIS_URL", f"redis://{env}-cache.acme.internal:6379/0", env=env)
    param(f"/{env}/api/STRIPE_KEY", f"sk_{'test' if env == 'dev' else 'live'}_51Acme{env}Tq9Wm2Lp8Zx4", "SecureString", tags=tag, env=env)
    param(f"/{env}/api/LOG_LEVEL", "debug" if env == "dev" else "info", env=env)
    param(f"/{env}/api/FEATURE_FLAGS", "new-checkout,bulk-export" if env == "dev" else "bulk-export", "StringList", env=env)
    param(f"/{env}/batch/CHUNK_SIZE", "100" if env == "dev" else "1000", env=env)
    param(f"/{env}/batch/CONCURRENCY", "2" if env == "dev" else "16", env=env)
    # Made by a CloudFormation stack, as much of a real account is: AWS put the reserved
    # aws:cloudformation:* tags on it, which no one else may write (the copy must drop them).
    param(f"/{env}/batch/SCHEDULE_TZ", "Europe/Paris", env=env, tags={
        "aws:cloudformation:stack-name": f"{env}-batch",
        "aws:cloudformation:logical-id": "ScheduleTz",
        "aws:cloudformation:stack-id": f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{env}-batch/5b3c2a10-8f4e-11ef-9d2a-0a1b2c3d4e5f",
    })
    param(f"/{env}/batch/RETRY_LIMIT", "3", env=env)
    param(f"/{env}/mail-sender/API_KEY", f"{env}-mailsender-key-Bv7Yt2Qw9", "SecureString", env=env)
param("/shared/vpc/ID", "vpc-0a1b2c3d4e5f60718", tags={"Environment": "shared"}, env="shared")
param("/shared/registry/URL", f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com", env="shared")
param("/shared/org/NAME", "acme", env="shared")
# an advanced parameter with an expiration policy: the copy keeps the policy
param("/prod/api/LAUNCH_BANNER", "winter-sale", env="prod")
ssm[-1].update({"tier": "Advanced", "policies": [
    {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": "2030-01-31T00:00:00.000Z"}}]})
param("/shared/observability/DATADOG_API_KEY", "dd-api-3f9a7c1e5b2d4f6a8c0e", "SecureString", env="shared")
param("/shared/slack/WEBHOOK_URL", "https://hooks.slack.example/services/T0ACME/B0OPS/xYz123SecretPath", "SecureString", env="shared")
param("/shared/sentry/DSN", "https://a1b2c3d4e5f6@o12345.ingest.sentry.example/67890", "SecureString", env="shared")
param("/shared/prod/READ_REPLICA_HOST", "replica.acme.internal", env="shared")  # rule 4 wins over rule 5
param("/shared/batch/MAX_TASK_HOURS", "24", env="shared")
# tag wins over name: a dev-looking name tagged prod (rule 1 before rule 6)
param("/dev/batch/PROD_MIRROR_ENABLED", "false", tags={"Environment": "prod"}, env="prod")
for name, value, t in (("/dev/eu/api/DB_URL", "postgres://api:dev-eu-db-pw-Jk5Wq1@dev-eu-db.acme.internal/api", "SecureString"),
                       ("/dev/eu/api/LOG_LEVEL", "debug", "String"),
                       ("/dev/eu/batch/CHUNK_SIZE", "100", "String")):
    param(name, value, t, region="eu-west-1", env="dev")

# ---------------------------------------------------------------- Secrets Manager
sm = []
for env in ("dev", "prod"):
    v = f"{env}-mailer-apikey-Wz8Kq3Rt6Yp1"
    sm.append({"name": f"{env}/mailer/api-key", "value": v, "region": REGION})
    secrets.append(v)
    exp("secret", f"{env}/mailer/api-key", env)
# prod's key is replicated to eu-west-1 (disaster recovery): the replica is listed there too,
# and the copy must be replicated the same way
sm[-1]["replica_regions"] = ["eu-west-1"]
exp("secret", "prod/mailer/api-key", "prod", region="eu-west-1")

# ---------------------------------------------------------------- ECR, logs
ecr = [{"name": "mail-sender"}, {"name": "api"}]
exp("ecr", "mail-sender", "shared")  # referenced by dev- and prod-mail-sender
# under a customer-managed key (kms_keys below): the copy must be under the target's own key
param("/prod/api/SIGNING_KEY", "prod-signing-Vq8Lm3Xz5Rt1Wk7Hn2", "SecureString", tags={"Environment": "prod"}, env="prod",
      key="alias/prod/app")
# read by the build project as a PARAMETER_STORE variable
param("/shared/build/NPM_REGISTRY", "https://npm.acme.internal/", env="shared")
exp("ecr", "api", "shared")  # referenced by dev-api and prod-api
logs = [{"name": "/codebuild/api-build", "retention_days": 14}]
exp("logs", "/codebuild/api-build", "shared")  # the shared build project's logs
for env in ("dev", "prod"):
    for app in ("mail-sender", "api"):
        logs.append({"name": f"/ecs/{env}-{app}", "retention_days": 14 if env == "dev" else 90})
        if (env, app) == ("prod", "api"):
            logs[-1]["kms"] = "{kms-arn:alias/prod/app}"  # CreateLogGroup takes the key's ARN
        exp("logs", f"/ecs/{env}-{app}", env)


def pa(env, name, region=REGION):
    return f"arn:aws:ssm:{region}:{ACCOUNT}:parameter/{env}/{name}"


# ---------------------------------------------------------------- IAM
policies = [{
    "name": "prod-mailer-ses-send",
    "document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ses:SendEmail", "ses:SendRawEmail"], "Resource": "*"}]},
}]
exp("iam-policy", "prod-mailer-ses-send", "prod", region=None)


def trust(service):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}


mailer_params = ["mailer/SMTP_HOST", "mailer/SMTP_USER", "mailer/SMTP_PASSWORD", "mail-sender/API_KEY"]
roles = [
    {"name": "ecs-task-execution", "trust": trust("ecs-tasks.amazonaws.com"),
     # inline, not the AWS managed AmazonECSTaskExecutionRolePolicy: see docs/emulator-gaps.md
     "inline_policies": {"pull-and-log": {"Version": "2012-10-17", "Statement": [
         {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
                                        "ecr:BatchGetImage", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]},
                         "read-task-secrets": {"Version": "2012-10-17", "Statement": [
         {"Effect": "Allow", "Action": ["ssm:GetParameters", "secretsmanager:GetSecretValue"],
          "Resource": [f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/dev/*", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/prod/*",
                       f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:*/mailer/api-key-*"]}]}}},
    {"name": "ecs-events-invoke", "trust": trust("events.amazonaws.com"),
     "inline_policies": {"run-task": {"Version": "2012-10-17", "Statement": [
         {"Effect": "Allow", "Action": ["ecs:RunTask"], "Resource": "*"},
         {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "*"}]}}},
    {"name": "scheduler-run-task", "trust": trust("scheduler.amazonaws.com"),
     "inline_policies": {"run-task": {"Version": "2012-10-17", "Statement": [
         {"Effect": "Allow", "Action": ["ecs:RunTask"], "Resource": "*"},
         {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "*"}]}}},
    {"name": "codepipeline-service", "trust": trust("codepipeline.amazonaws.com"),
     "inline_policies": {"pipeline": {"Version": "2012-10-17", "Statement": [
         {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:GetBucketVersioning"],
          "Resource": ["arn:aws:s3:::acme-pipeline-artifacts", "arn:aws:s3:::acme-pipeline-artifacts/*"]}]}}},
]
roles.append({"name": "codebuild-service", "trust": trust("codebuild.amazonaws.com"),
              "inline_policies": {"build": {"Version": "2012-10-17", "Statement": [
                  {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                   "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/codebuild/api-build:*"},
                  {"Effect": "Allow", "Action": ["ssm:GetParameters"], "Resource": pa("shared", "build/NPM_REGISTRY")}]}}})
exp("iam-role", "codebuild-service", "shared", region=None)  # the shared build project's role
exp("iam-role", "ecs-task-execution", "shared", region=None)  # used by all four task definitions
exp("iam-role", "ecs-events-invoke", "prod", region=None)  # only the prod-nightly-mail rule
exp("iam-role", "scheduler-run-task", "dev", region=None)  # only the dev-mail-hourly schedule
exp("iam-role", "codepipeline-service", "shared", region=None)  # dev and prod pipelines
for env in ("dev", "prod"):
    r = {"name": f"{env}-mail-sender-task", "trust": trust("ecs-tasks.amazonaws.com"),
         "inline_policies": {"read-params": {"Version": "2012-10-17", "Statement": [
             {"Effect": "Allow", "Action": ["ssm:GetParameters"], "Resource": [pa(env, p) for p in mailer_params]},
             # the secret by full ARN (random suffix): the copy must name the target's own
             {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
              "Resource": f"{{secret-arn:{env}/mailer/api-key}}"}]}}}
    if env == "prod":
        r["managed_policies"] = ["prod-mailer-ses-send"]
        # the key by its ARN (an alias does not grant use of a key in an IAM policy); the key's
        # policy names this role back: the copy has to break that cycle
        r["inline_policies"]["decrypt"] = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "{kms-arn:alias/prod/app}"}]}
    roles.append(r)
    exp("iam-role", f"{env}-mail-sender-task", env, region=None)

# ---------------------------------------------------------------- KMS
kms_keys = [{
    "aliases": ["alias/prod/app"], "description": "prod application secrets", "rotation": True,
    "tags": {"Environment": "prod"},
    # set once the roles exist: the account's IAM policies, and the prod mail sender may decrypt
    "policy": {"Version": "2012-10-17", "Statement": [
        {"Sid": "EnableIAMUserPermissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "MailSenderDecrypt", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/prod-mail-sender-task"},
         "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"},
        # /ecs/prod-api is encrypted under it: CloudWatch Logs must be allowed to use it
        {"Sid": "CloudWatchLogs", "Effect": "Allow", "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
         "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"], "Resource": "*"}]},
}]
exp("kms", "prod/app", "prod")

# ---------------------------------------------------------------- ECS
IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/mail-sender"
API_IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/api"
clusters = [{"name": "batch"}]
exp("ecs-cluster", "batch", "shared")  # dev and prod services, rule and schedule
taskdefs = []
for env in ("dev", "prod"):
    for rev, tag in enumerate(("1.4.0", "1.4.1", "1.4.2")):
        taskdefs.append({
            "family": f"{env}-mail-sender", "cpu": "256", "memory": "512",
            "execution_role": "ecs-task-execution", "task_role": f"{env}-mail-sender-task",
            "containers": [{
                "name": "mail-sender", "image": f"{IMAGE}:{tag}", "essential": True,
                "environment": [{"name": "APP_ENV", "value": env}, {"name": "RELEASE", "value": tag}],
                "secrets": [{"name": p.split("/")[-1], "valueFrom": pa(env, p)} for p in mailer_params]
                + [{"name": "MAILER_API_KEY", "valueFrom": f"{{secret-arn:{env}/mailer/api-key}}"}],
                "log_group": f"/ecs/{env}-mail-sender",
            }],
        })
    exp("ecs-taskdef", f"{env}-mail-sender", env)
    for tag in ("2.0.0", "2.1.0"):
        taskdefs.append({
            "family": f"{env}-api", "cpu": "512", "memory": "1024",
            "execution_role": "ecs-task-execution",
            "containers": [{
                "name": "api", "image": f"{API_IMAGE}:{tag}", "essential": True,
                "port": 8080,
                "environment": [{"name": "APP_ENV", "value": env}],
                "secrets": [{"name": "DB_URL", "valueFrom": pa(env, "api/DB_URL")},
                            {"name": "JWT_SECRET", "valueFrom": pa(env, "api/JWT_SECRET")},
                            {"name": "STRIPE_KEY", "valueFrom": pa(env, "api/STRIPE_KEY")}],
                "log_group": f"/ecs/{env}-api",
            }],
        })
    exp("ecs-taskdef", f"{env}-api", env)
services = [{"cluster": "batch", "name": f"{env}-api", "task_definition": f"{env}-api", "desired_count": 1 if env == "dev" else 2}
            for env in ("dev", "prod")]
for env in ("dev", "prod"):
    exp("ecs-service", f"batch/{env}-api", env)
tasks = [{"cluster": "batch", "task_definition": "prod-mail-sender", "started_by": "manual-release",
          "started_hours_ago": 80}]  # left running for days after a manual release (incident 2)
exp("ecs-task", None, "prod", manual=True, taskdef="prod-mail-sender")

events_rules = [{"name": "prod-nightly-mail", "schedule": "cron(0 2 * * ? *)", "cluster": "batch",
                 "task_definition": "prod-mail-sender", "role": "ecs-events-invoke"}]
exp("events-rule", "prod-nightly-mail", "prod")
schedules = [{"group": "default", "name": "dev-mail-hourly", "expression": "rate(1 hour)", "cluster": "batch",
              "task_definition": "dev-mail-sender", "role": "scheduler-run-task"}]
exp("schedule", "default/dev-mail-hourly", "dev")

# ---------------------------------------------------------------- pipelines, S3
pipelines = [
    {"name": "prod-api-release", "repo": "api", "branch": "main", "poll": False,
     "webhook": {"name": "prod-api-release--Source--acme--api", "secret": WEBHOOK_SECRET}},
    {"name": "dev-api-build", "repo": "api", "branch": "develop", "poll": True},
    {"name": "mail-sender-release", "repo": "mail-sender", "branch": "main", "poll": True, "tags": {"Environment": "prod"}},
]
for p in pipelines:
    p.update({"owner": "acme", "token": TOKEN, "role": "codepipeline-service", "artifact_bucket": "acme-pipeline-artifacts"})
    if p["repo"] == "api":
        p["build_project"] = "api-build"  # a Build stage: the project must exist in each target
codebuild_projects = [{
    "name": "api-build", "role": "codebuild-service", "image": "aws/codebuild/standard:7.0", "log_group": "/codebuild/api-build",
    "variables": [{"name": "NPM_REGISTRY", "value": "/shared/build/NPM_REGISTRY", "type": "PARAMETER_STORE"},
                  {"name": "NODE_ENV", "value": "production", "type": "PLAINTEXT"}],
}]
exp("codebuild", "api-build", "shared")  # built by the dev and prod api pipelines
exp("pipeline", "prod-api-release", "prod")
exp("pipeline", "dev-api-build", "dev")
exp("pipeline", "mail-sender-release", "prod")  # by its tag only

buckets = [
    # what a real artifact bucket carries: TLS only, the pipeline role by name, no public access
    {"name": "acme-pipeline-artifacts", "versioning": True,
     "policy": {"Version": "2012-10-17", "Statement": [
         {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
          "Resource": ["arn:aws:s3:::acme-pipeline-artifacts", "arn:aws:s3:::acme-pipeline-artifacts/*"],
          "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
         {"Sid": "Pipelines", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/codepipeline-service"},
          "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::acme-pipeline-artifacts/*"}]},
     "public_access_block": {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True},
     "ownership": "BucketOwnerEnforced",
     "lifecycle": [{"ID": "expire-artifacts", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 30},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}],
     "cors": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["https://console.aws.amazon.com"], "MaxAgeSeconds": 3000}]},
    {"name": "acme-terraform-state", "tags": {"Environment": "shared"}, "versioning": True, "encryption": True,
     "public_access_block": {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True},
     "lifecycle": [{"ID": "old-state-versions", "Status": "Enabled", "Filter": {"Prefix": ""},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 90}}],
     "objects": {
         "prod/pipelines.tfstate": {"tfstate": "pipelines", "pipelines": ["prod-api-release", "mail-sender-release"], "token_form": "raw"},
         "legacy/pipelines.tfstate": {"tfstate": "pipelines", "pipelines": ["dev-api-build"], "token_form": "hash"},
         "dev/network.tfstate": {"tfstate": "network"},
     }},
]
exp("s3", "acme-pipeline-artifacts", "shared")  # artifact store of dev and prod pipelines
exp("s3", "acme-terraform-state", "shared")

# ---------------------------------------------------------------- types orgsplit does not migrate
others = {
    "sqs_queues": [{"name": "prod-mail-outbox", "tags": {"Environment": "prod", "team": "mail"}}],
    # never tagged: the Tagging API does not list these; the inventory's direct listings do
    "dynamodb_tables": [{"name": "dev-sessions", "tags": {"Environment": "dev"}}, {"name": "prod-orders-archive"}],
    "lambda_functions": [{"name": "prod-thumbnailer", "role": "ecs-task-execution"}],
}
exp("other", f"arn:aws:sqs:{REGION}:{ACCOUNT}:prod-mail-outbox", "prod", manual=True)
exp("other", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/dev-sessions", "dev", manual=True)
exp("other", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/prod-orders-archive", "prod", manual=True)
exp("other", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:prod-thumbnailer", "prod", manual=True)

import hashlib  # noqa: E402

secrets.append("hash-" + hashlib.sha256(TOKEN.encode()).hexdigest())

doc = {
    "description": "Demo: one shared account 111111111111 with mixed dev/prod workloads mirroring the three incidents.",
    "organization": {
        "feature_set": "ALL",
        "accounts": [{"name": "shared-workloads", "email": "aws+shared@example.com", "id": ACCOUNT}],
    },
    "workloads": {
        "account": ACCOUNT,
        "region": REGION,
        "ssm_parameters": ssm,
        "secrets": sm,
        "ecr_repositories": ecr,
        "log_groups": logs,
        "iam_policies": policies,
        "iam_roles": roles,
        "kms_keys": kms_keys,
        "codebuild_projects": codebuild_projects,
        "ecs_clusters": clusters,
        "task_definitions": taskdefs,
        "services": services,
        "tasks": tasks,
        "events_rules": events_rules,
        "schedules": schedules,
        "s3_buckets": buckets,
        "pipelines": pipelines,
        **others,
    },
    "secrets": secrets,
    "expect": expect,
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo.json"), "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print(f"demo.json: {len(expect)} expected resources, {len(secrets)} secrets")
