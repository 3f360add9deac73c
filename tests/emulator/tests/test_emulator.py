"""The emulator's contract: ready line, admin endpoints, our services, faults, request log."""
import http.client
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from conftest import RUN, SHARED, Emulator


def make_org(emu):
    org = emu.client("organizations")
    org.create_organization(FeatureSet="ALL")
    return emu.create_account("aws+shared@example.com", "shared-workloads")


def test_ready_line_and_startup(emu):
    assert emu.ready_line.rstrip("\n") == emu.url.join(["ready ", ""])
    assert emu.startup < 10
    print(f"startup {emu.startup:.2f}s")
    assert emu.admin("GET", "/_emulator/health") == (200, {"ok": True})


def test_sigterm_stops_promptly():
    e = Emulator()
    t0 = time.monotonic()
    e.proc.send_signal(signal.SIGTERM)
    e.proc.wait(5)
    assert time.monotonic() - t0 < 3


def test_exit_on_stdin_eof():
    e = Emulator()
    e.proc.stdin.close()
    e.proc.wait(5)
    assert e.proc.returncode == 0


def test_fixed_port_and_moto_api(fresh):
    with urllib.request.urlopen(fresh.url + "/moto-api/data.json") as r:
        assert r.status == 200


def test_deterministic_account_ids_and_access_role(fresh):
    st = make_org(fresh)
    assert st["State"] == "SUCCEEDED" and st["AccountId"] == SHARED
    org = fresh.client("organizations")
    other = fresh.create_account("aws+dev@example.com", "dev")["AccountId"]
    assert len(other) == 12 and other[0] != "0"
    fresh.reset()
    make_org(fresh)
    again = fresh.create_account("aws+dev@example.com", "dev")["AccountId"]
    assert again == other
    # the access role exists and AssumeRole maps to the member account, with isolated state
    creds = fresh.assume(SHARED)
    assert fresh.client("sts", creds=creds).get_caller_identity()["Account"] == SHARED
    fresh.client("ssm", creds=creds).put_parameter(Name="/only/in/shared", Value="x", Type="String")
    assert fresh.client("ssm").describe_parameters()["Parameters"] == []
    assert [p["Name"] for p in fresh.client("ssm", creds=creds).describe_parameters()["Parameters"]] == ["/only/in/shared"]


def test_request_log(fresh):
    make_org(fresh)
    creds = fresh.assume(SHARED)
    fresh.admin("DELETE", "/_emulator/requests")
    ssm = fresh.client("ssm", creds=creds)
    ssm.put_parameter(Name="/a", Value="v", Type="SecureString")
    ssm.get_parameter(Name="/a", WithDecryption=True)
    s3 = fresh.client("s3", creds=creds)
    s3.create_bucket(Bucket="log-test-bucket")
    s3.put_bucket_tagging(Bucket="log-test-bucket", Tagging={"TagSet": [{"Key": "Environment", "Value": "dev"}]})
    s3.put_object(Bucket="log-test-bucket", Key="a/b.tfstate", Body=b"{}")
    s3.list_buckets()
    s3.get_bucket_tagging(Bucket="log-test-bucket")
    s3.get_bucket_location(Bucket="log-test-bucket")
    s3.get_bucket_versioning(Bucket="log-test-bucket")
    try:
        s3.get_bucket_encryption(Bucket="log-test-bucket")
    except ClientError:
        pass
    s3.list_objects_v2(Bucket="log-test-bucket")
    s3.get_object(Bucket="log-test-bucket", Key="a/b.tfstate")
    fresh.client("iam", creds=creds).list_roles()
    fresh.client("scheduler", creds=creds).list_schedules()
    with pytest.raises(ClientError):
        ssm.get_parameter(Name="/missing")
    status, log = fresh.admin("GET", "/_emulator/requests")
    got = [(e["account"], e["region"], e["service"], e["operation"], e["mutating"], e["status"]) for e in log]
    A = SHARED
    assert got == [
        (A, "us-east-1", "ssm", "PutParameter", True, 200),
        (A, "us-east-1", "ssm", "GetParameter", False, 200),
        (A, "us-east-1", "s3", "CreateBucket", True, 200),
        (A, "us-east-1", "s3", "PutBucketTagging", True, 204),
        (A, "us-east-1", "s3", "PutObject", True, 200),
        (A, "us-east-1", "s3", "ListBuckets", False, 200),
        (A, "us-east-1", "s3", "GetBucketTagging", False, 200),
        (A, "us-east-1", "s3", "GetBucketLocation", False, 200),
        (A, "us-east-1", "s3", "GetBucketVersioning", False, 200),
        (A, "us-east-1", "s3", "GetBucketEncryption", False, got[9][5]),
        (A, "us-east-1", "s3", "ListObjectsV2", False, 200),
        (A, "us-east-1", "s3", "GetObject", False, 200),
        (A, "us-east-1", "iam", "ListRoles", False, 200),
        (A, "us-east-1", "scheduler", "ListSchedules", False, 200),
        (A, "us-east-1", "ssm", "GetParameter", False, 400),
    ]
    # AssumeRole itself is attributed to the caller and is not mutating
    fresh.admin("DELETE", "/_emulator/requests")
    fresh.assume(SHARED)
    _, log = fresh.admin("GET", "/_emulator/requests")
    assert [(e["account"], e["service"], e["operation"], e["mutating"]) for e in log] == [
        ("123456789012", "sts", "AssumeRole", False)]
    assert fresh.admin("DELETE", "/_emulator/requests")[0] == 200
    assert fresh.admin("GET", "/_emulator/requests") == (200, [])


def test_codestar_connections_crud(fresh):
    cs = fresh.client("codestar-connections")
    arns = [cs.create_connection(ProviderType="GitHub", ConnectionName=f"c{i}",
                                 Tags=[{"Key": "k", "Value": str(i)}])["ConnectionArn"] for i in range(5)]
    cs.create_connection(ProviderType="Bitbucket", ConnectionName="bb")
    assert arns[0].startswith("arn:aws:codestar-connections:us-east-1:123456789012:connection/")
    c = cs.get_connection(ConnectionArn=arns[0])["Connection"]
    assert c["ConnectionStatus"] == "PENDING" and c["ProviderType"] == "GitHub" and c["OwnerAccountId"] == "123456789012"
    # pagination and provider filter
    page = cs.list_connections(ProviderTypeFilter="GitHub", MaxResults=2)
    assert len(page["Connections"]) == 2 and page["NextToken"]
    all_gh, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = cs.list_connections(ProviderTypeFilter="GitHub", MaxResults=2, **kw)
        all_gh += [x["ConnectionArn"] for x in page["Connections"]]
        token = page.get("NextToken")
        if not token:
            break
    assert all_gh == arns
    # tags
    cs.tag_resource(ResourceArn=arns[0], Tags=[{"Key": "Environment", "Value": "prod"}])
    cs.untag_resource(ResourceArn=arns[0], TagKeys=["k"])
    assert cs.list_tags_for_resource(ResourceArn=arns[0])["Tags"] == [{"Key": "Environment", "Value": "prod"}]
    # handshake
    assert fresh.admin("POST", "/_emulator/connections/available", {"arn": arns[0]})[0] == 200
    assert cs.get_connection(ConnectionArn=arns[0])["Connection"]["ConnectionStatus"] == "AVAILABLE"
    assert fresh.admin("POST", "/_emulator/connections/available", {"arn": arns[0] + "x"})[0] == 404
    # global: readable and listed from every Region; updated only in its own
    eu = fresh.client("codestar-connections", region="eu-west-1")
    assert eu.get_connection(ConnectionArn=arns[0])["Connection"]["ConnectionStatus"] == "AVAILABLE"
    assert len(eu.list_connections(ProviderTypeFilter="GitHub")["Connections"]) == 5
    with pytest.raises(cs.exceptions.ResourceNotFoundException):
        eu.tag_resource(ResourceArn=arns[0], Tags=[{"Key": "a", "Value": "b"}])
    # newer CodeConnections API on the same store
    cc = fresh.client("codeconnections")
    assert cc.get_connection(ConnectionArn=arns[0])["Connection"]["ConnectionStatus"] == "AVAILABLE"
    new = cc.create_connection(ProviderType="GitHub", ConnectionName="via-cc")["ConnectionArn"]
    assert new.startswith("arn:aws:codeconnections:")
    assert len(cs.list_connections()["Connections"]) == 7
    cs.delete_connection(ConnectionArn=arns[1])
    with pytest.raises(cs.exceptions.ResourceNotFoundException) as e:
        cs.get_connection(ConnectionArn=arns[1])
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def _pipeline(cp, iam, name="p1", token="ghp_" + "a" * 36):
    iam.create_role(RoleName="cp-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    decl = {"name": name, "roleArn": "arn:aws:iam::123456789012:role/cp-role",
            "artifactStore": {"type": "S3", "location": "artifacts"},
            "stages": [{"name": "Source", "actions": [{"name": "Source", "actionTypeId": {
                "category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
                "configuration": {"Owner": "acme", "Repo": "api", "Branch": "main", "OAuthToken": token,
                                  "PollForSourceChanges": "false"},
                "outputArtifacts": [{"name": "src"}]}]},
                {"name": "Approve", "actions": [{"name": "Approve", "actionTypeId": {
                    "category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]}]}
    # A role seconds old cannot be passed to CodePipeline yet (strict IAM propagation): wait
    # as a real client must.
    deadline = time.monotonic() + 30
    while True:
        try:
            return decl, cp.create_pipeline(pipeline=decl)
        except ClientError as e:
            if e.response["Error"]["Code"] != "InvalidStructureException" or time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def test_pipeline_token_masking(fresh):
    cp, iam = fresh.client("codepipeline"), fresh.client("iam")
    token = "ghp_" + "b" * 36
    decl, created = _pipeline(cp, iam, token=token)
    assert created["pipeline"]["stages"][0]["actions"][0]["configuration"]["OAuthToken"] == "****"
    got = cp.get_pipeline(name="p1")["pipeline"]
    assert got["stages"][0]["actions"][0]["configuration"]["OAuthToken"] == "****"
    # handing **** back keeps the stored token; the terraform-like round trip keeps working
    got["stages"][0]["actions"][0]["configuration"]["Branch"] = "release"
    upd = cp.update_pipeline(pipeline=got)["pipeline"]
    assert upd["stages"][0]["actions"][0]["configuration"]["OAuthToken"] == "****"
    assert upd["version"] == 2
    # the real token is still stored: visible through moto's own state dump only
    with urllib.request.urlopen(fresh.url + "/moto-api/data.json") as r:
        assert token in r.read().decode()
    # a new token replaces it
    got["stages"][0]["actions"][0]["configuration"]["OAuthToken"] = "ghp_" + "c" * 36
    cp.update_pipeline(pipeline=got)
    with urllib.request.urlopen(fresh.url + "/moto-api/data.json") as r:
        body = r.read().decode()
        assert "ghp_" + "c" * 36 in body and token not in body


def test_webhooks(fresh):
    cp, iam = fresh.client("codepipeline"), fresh.client("iam")
    _pipeline(cp, iam)
    names = []
    for i in range(3):
        wh = cp.put_webhook(webhook={
            "name": f"wh{i}", "targetPipeline": "p1", "targetAction": "Source",
            "filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/{Branch}"}],
            "authentication": "GITHUB_HMAC", "authenticationConfiguration": {"SecretToken": "s3cr3t"}})["webhook"]
        assert wh["arn"] == f"arn:aws:codepipeline:us-east-1:123456789012:webhook:wh{i}"
        assert wh["url"].startswith("https://")
        names.append(wh["definition"]["name"])
    with pytest.raises(ClientError) as e:
        cp.put_webhook(webhook={"name": "x", "targetPipeline": "nope", "targetAction": "Source",
                                "filters": [{"jsonPath": "$.ref", "matchEquals": "x"}], "authentication": "UNAUTHENTICATED",
                                "authenticationConfiguration": {}})
    assert e.value.response["Error"]["Code"] == "PipelineNotFoundException"
    page = cp.list_webhooks(MaxResults=2)
    assert len(page["webhooks"]) == 2 and page["NextToken"]
    listed = [w["definition"]["name"] for p in cp.get_paginator("list_webhooks").paginate(PaginationConfig={"PageSize": 2})
              for w in p["webhooks"]]
    assert listed == names
    cp.register_webhook_with_third_party(webhookName="wh0")
    cp.deregister_webhook_with_third_party(webhookName="wh0")
    with pytest.raises(ClientError) as e:
        cp.register_webhook_with_third_party(webhookName="missing")
    assert e.value.response["Error"]["Code"] == "WebhookNotFoundException"
    cp.delete_webhook(name="wh1")
    assert [w["definition"]["name"] for w in cp.list_webhooks()["webhooks"]] == ["wh0", "wh2"]
    assert fresh.client("codepipeline", region="eu-west-1").list_webhooks()["webhooks"] == []


def test_throttle_responses_per_protocol(fresh):
    make_org(fresh)
    assert fresh.admin("POST", "/_emulator/faults", {"throttle": 1.0})[0] == 200
    cases = [
        (lambda: fresh.client("ssm").describe_parameters(), "ThrottlingException", 400),  # JSON 1.1
        (lambda: fresh.client("iam").list_roles(), "Throttling", 400),  # query
        (lambda: fresh.client("sts").get_caller_identity(), "Throttling", 400),
        (lambda: fresh.client("s3").list_buckets(), "SlowDown", 503),  # REST-XML
        (lambda: fresh.client("scheduler").list_schedules(), "ThrottlingException", 400),  # REST-JSON
        (lambda: fresh.client("codestar-connections").list_connections(), "ThrottlingException", 400),  # JSON 1.0
    ]
    for call, code, status in cases:
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == code
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    # faults never apply to the admin API nor /moto-api/
    assert fresh.admin("GET", "/_emulator/faults")[1]["throttle"] == 1.0
    with urllib.request.urlopen(fresh.url + "/moto-api/data.json") as r:
        assert r.status == 200
    # boto3 classifies these as throttling and retries them
    fresh.admin("POST", "/_emulator/faults", {"throttle": 0.5, "seed": 7})
    fresh.client("ssm", retries=20).describe_parameters()


def test_5xx_and_services_filter(fresh):
    fresh.admin("POST", "/_emulator/faults", {"error5xx": 1.0, "services": ["ssm", "s3", "iam"], "seed": 1})
    statuses = set()
    for _ in range(6):
        with pytest.raises(ClientError) as e:
            fresh.client("ssm").describe_parameters()
        statuses.add(e.value.response["ResponseMetadata"]["HTTPStatusCode"])
        assert e.value.response["Error"]["Code"] in ("InternalFailure", "ServiceUnavailable")
    assert statuses <= {500, 503}
    with pytest.raises(ClientError) as e:
        fresh.client("s3").list_buckets()
    assert e.value.response["Error"]["Code"] in ("InternalError", "ServiceUnavailable")
    with pytest.raises(ClientError) as e:
        fresh.client("iam").list_roles()
    assert e.value.response["Error"]["Code"] in ("InternalFailure", "ServiceUnavailable")
    fresh.client("sqs").list_queues()  # not in "services": untouched
    fresh.admin("POST", "/_emulator/faults", {})
    assert fresh.admin("GET", "/_emulator/faults")[1].get("error5xx") is None


def test_drop_closes_connection_without_response(fresh):
    fresh.admin("POST", "/_emulator/faults", {"drop": 1.0})
    host, port = fresh.url[len("http://"):].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("POST", "/", body=b"{}", headers={
        "X-Amz-Target": "AmazonSSM.DescribeParameters", "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=x"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        conn.getresponse()
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        fresh.client("ssm").describe_parameters()
    _, log = fresh.admin("GET", "/_emulator/requests")
    assert [e["status"] for e in log] == [0, 0]


def test_latency(fresh):
    fresh.admin("POST", "/_emulator/faults", {"latency_ms": 300})
    t0 = time.monotonic()
    fresh.client("ssm").describe_parameters()
    assert time.monotonic() - t0 >= 0.3


def test_rates_token_bucket(fresh):
    fresh.admin("POST", "/_emulator/faults", {"rates": {"ssm:PutParameter": 5}})
    ssm = fresh.client("ssm")
    ok = throttled = 0
    t0 = time.monotonic()
    for i in range(12):
        try:
            ssm.put_parameter(Name=f"/r/{i}", Value="v", Type="String")
            ok += 1
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ThrottlingException"
            throttled += 1
    elapsed = time.monotonic() - t0
    # A bucket of 5 refilled at 5/s: the burst passes, then no more than the refill allows
    # (checked against the measured time, so a slow machine does not make it flaky).
    assert 5 <= ok <= 5 + 5 * elapsed + 1, (ok, elapsed)
    if elapsed < 1.0:
        assert throttled > 0
    # another account has its own bucket
    make_org(fresh)
    fresh.client("ssm", creds=fresh.assume(SHARED)).put_parameter(Name="/other", Value="v", Type="String")
    # the AWS default table shares one bucket among GetParameter/GetParameters/GetParametersByPath (40 TPS)
    _, cfg = fresh.admin("POST", "/_emulator/faults", {"quotas": "aws"})
    rates = cfg["effective_rates"]
    assert rates["ssm:GetParameter"]["group"] == rates["ssm:GetParametersByPath"]["group"]
    assert rates["ssm:GetParameter"]["rate"] == 40
    results = []
    t0 = time.monotonic()
    for i in range(60):
        try:
            (ssm.get_parameters(Names=["/r/0"]) if i % 2 else ssm.get_parameter(Name="/r/0"))
            results.append(True)
        except ClientError:
            results.append(False)
    elapsed = time.monotonic() - t0
    # One shared bucket of 40 at 40/s for both operations.
    assert 40 <= sum(results) <= 40 + 40 * elapsed + 1, (sum(results), elapsed)
    if elapsed < 0.45:
        assert not all(results)
    _, cfg = fresh.admin("POST", "/_emulator/faults", {"quotas": "aws", "rates": {"ssm:GetParameter": 1000}})
    assert cfg["effective_rates"]["ssm:GetParameter"]["rate"] == 1000


def test_aws_quotas_meter_ecs_by_action_category(fresh):
    """ECS's documented categories: a bucket per category, shared by its actions, apart from the others."""
    ecs = fresh.client("ecs")
    ecs.register_task_definition(family="app", containerDefinitions=[{"name": "c", "image": "nginx", "memory": 64}])
    _, cfg = fresh.admin("POST", "/_emulator/faults", {"quotas": "aws"})
    rates = cfg["effective_rates"]
    assert rates["ecs:DescribeTaskDefinition"] == {"group": "ecs-task-definition-read", "rate": 20.0, "burst": 50.0}
    assert rates["ecs:ListTaskDefinitionFamilies"]["group"] == "ecs-task-definition-read"
    assert rates["ecs:DescribeServices"] == {"group": "ecs-service-read", "rate": 20.0, "burst": 100.0}
    assert rates["ecs:RegisterTaskDefinition"] == {"group": "ecs-task-definition-modify", "rate": 1.0, "burst": 20.0}
    results = []
    t0 = time.monotonic()
    for i in range(80):
        try:
            (ecs.list_task_definitions() if i % 2 else ecs.describe_task_definition(taskDefinition="app"))
            results.append(True)
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ThrottlingException"
            results.append(False)
    elapsed = time.monotonic() - t0
    # One bucket of 50 refilled at 20/s for both actions (this client does not retry).
    assert 50 <= sum(results) <= 50 + 20 * elapsed + 1, (sum(results), elapsed)
    if elapsed < 1.0:
        assert not all(results)
    # Another category has a bucket of its own: cluster reads still pass.
    ecs.list_clusters()


def test_bad_admin_input(fresh):
    assert fresh.admin("POST", "/_emulator/faults", {"throttle": 2})[0] == 400
    assert fresh.admin("POST", "/_emulator/seed", {"scenario": "nope"})[0] == 404
    assert fresh.admin("GET", "/_emulator/nothing")[0] == 404


def test_setup_flag_is_idempotent():
    r = subprocess.run([RUN, "--setup"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and r.stdout == ""


def test_cloudformation_organizations_access(fresh):
    cf = fresh.client("cloudformation")
    assert cf.describe_organizations_access()["Status"] == "DISABLED"
    cf.activate_organizations_access()
    assert cf.describe_organizations_access()["Status"] == "ENABLED"
    member = fresh.client("cloudformation", creds=fresh.assume())
    assert member.describe_organizations_access()["Status"] == "DISABLED"
    cf.deactivate_organizations_access()
    assert cf.describe_organizations_access()["Status"] == "DISABLED"
    log = fresh.admin("GET", "/_emulator/requests")[1]
    assert [(r["operation"], r["mutating"]) for r in log if r["service"] == "cloudformation"][:2] == [
        ("DescribeOrganizationsAccess", False), ("ActivateOrganizationsAccess", True)]


def test_budgets_operations_moto_lacks(fresh):
    b = fresh.client("budgets")
    acct = "123456789012"
    notification = {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 80.0,
                    "ThresholdType": "PERCENTAGE"}
    b.create_budget(AccountId=acct, Budget={"BudgetName": "m", "BudgetLimit": {"Amount": "100", "Unit": "USD"},
                                            "TimeUnit": "MONTHLY", "BudgetType": "COST"},
                    NotificationsWithSubscribers=[{"Notification": notification,
                                                   "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "a@example.com"}]}])
    subs = b.describe_subscribers_for_notification(AccountId=acct, BudgetName="m", Notification=notification)["Subscribers"]
    assert subs == [{"SubscriptionType": "EMAIL", "Address": "a@example.com"}]
    b.create_subscriber(AccountId=acct, BudgetName="m", Notification=notification,
                        Subscriber={"SubscriptionType": "EMAIL", "Address": "b@example.com"})
    with pytest.raises(b.exceptions.DuplicateRecordException):
        b.create_subscriber(AccountId=acct, BudgetName="m", Notification=notification,
                            Subscriber={"SubscriptionType": "EMAIL", "Address": "b@example.com"})
    assert len(b.describe_subscribers_for_notification(AccountId=acct, BudgetName="m", Notification=notification)["Subscribers"]) == 2
    b.update_budget(AccountId=acct, NewBudget={"BudgetName": "m", "BudgetLimit": {"Amount": "250", "Unit": "USD"},
                                               "TimeUnit": "MONTHLY", "BudgetType": "COST"})
    assert b.describe_budget(AccountId=acct, BudgetName="m")["Budget"]["BudgetLimit"]["Amount"] == "250"
    with pytest.raises(b.exceptions.NotFoundException):
        b.update_budget(AccountId=acct, NewBudget={"BudgetName": "nope", "BudgetLimit": {"Amount": "1", "Unit": "USD"},
                                                   "TimeUnit": "MONTHLY", "BudgetType": "COST"})


def test_lambda_runtime_stand_in(fresh):
    """The stand-in Lambda Runtime API hands queued invocations to a runtime and keeps its answers."""
    status, queued = fresh.admin("POST", "/_emulator/lambda/invocations", [{"n": 1}, {"n": 2}])
    assert status == 200 and len(queued["request_ids"]) == 2
    base = fresh.url + "/2018-06-01/runtime/invocation"
    for i, rid in enumerate(queued["request_ids"]):
        with urllib.request.urlopen(base + "/next", timeout=10) as r:
            assert r.headers["Lambda-Runtime-Aws-Request-Id"] == rid
            assert int(r.headers["Lambda-Runtime-Deadline-Ms"]) > time.time() * 1000
            assert json.load(r) == {"n": i + 1}
        kind = "response" if i == 0 else "error"
        req = urllib.request.Request(f"{base}/{rid}/{kind}", data=json.dumps({"ok": i}).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 202
    status, results = fresh.admin("GET", "/_emulator/lambda/results")
    states = {r["request_id"]: (r["state"], r["body"]) for r in results["results"]}
    assert states == {queued["request_ids"][0]: ("response", {"ok": 0}),
                      queued["request_ids"][1]: ("error", {"ok": 1})}
    # An unknown request id is refused.
    req = urllib.request.Request(f"{base}/nope/response", data=b"{}", method="POST")
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("accepted an unknown request id")
    except urllib.error.HTTPError as e:
        assert e.code == 400


def test_s3_response_roots_are_aws_s(fresh):
    """Roots moto gets wrong and the Rust SDK refuses: corrected to AWS's (corrections.py)."""
    s3 = fresh.client("s3")
    s3.create_bucket(Bucket="roots-bucket")
    bodies = {}

    def keep(http_response, model, **_):
        bodies[model.name] = http_response.content.decode()

    s3.meta.events.register("after-call.s3.*", keep)
    s3.get_bucket_versioning(Bucket="roots-bucket")
    s3.get_bucket_notification_configuration(Bucket="roots-bucket")
    assert "<VersioningConfiguration" in bodies["GetBucketVersioning"], bodies
    assert "<NotificationConfiguration" in bodies["GetBucketNotificationConfiguration"], bodies


def test_rest_calls_are_named_by_the_current_operation_not_the_deprecated_one(fresh):
    """PutBucketLifecycle and PutBucketLifecycleConfiguration share method and path; the SDKs
    send the second, and its input has `Filter`, which the first's validation refuses."""
    s3 = fresh.client("s3")
    s3.create_bucket(Bucket="lifecycle-bucket")
    fresh.admin("DELETE", "/_emulator/requests")
    s3.put_bucket_lifecycle_configuration(Bucket="lifecycle-bucket", LifecycleConfiguration={"Rules": [
        {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 30}}]})
    s3.get_bucket_notification_configuration(Bucket="lifecycle-bucket")
    _, log = fresh.admin("GET", "/_emulator/requests")
    assert [e["operation"] for e in log] == ["PutBucketLifecycleConfiguration", "GetBucketNotificationConfiguration"]


def test_api_gateway_v1_and_v2_calls_are_named(fresh):
    """Both sign as `apigateway`: v2's paths (/v2/apis) are named from v2's model."""
    fresh.admin("DELETE", "/_emulator/requests")
    fresh.client("apigateway").get_rest_apis()
    fresh.client("apigatewayv2").get_apis()
    _, log = fresh.admin("GET", "/_emulator/requests")
    assert [(e["operation"], e["mutating"]) for e in log] == [("GetRestApis", False), ("GetApis", False)]


def test_ecr_pull_through_cache_rules(fresh):
    """Not in moto (500, which SDKs retry for half a minute): served by ecr_pull_through.py."""
    ecr = fresh.client("ecr")
    assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub", upstreamRegistryUrl="registry-1.docker.io")
    rules = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert [r["ecrRepositoryPrefix"] for r in rules] == ["docker-hub"]
    with pytest.raises(ClientError) as e:
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub", upstreamRegistryUrl="registry-1.docker.io")
    assert e.value.response["Error"]["Code"] == "PullThroughCacheRuleAlreadyExistsException"
    ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
    assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []


def test_parameter_policies_are_described_as_aws_does(fresh):
    """moto answers PolicyText as a Python repr; AWS as the policy's JSON (corrections.py)."""
    ssm = fresh.client("ssm")
    policy = {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": "2030-12-02T21:34:33.000Z"}}
    ssm.put_parameter(Name="/p/expiring", Value="v", Type="String", Tier="Advanced", Policies=json.dumps([policy]))
    got = ssm.describe_parameters()["Parameters"][0]["Policies"]
    assert json.loads(got[0]["PolicyText"]) == policy
    assert got[0]["PolicyType"] == "Expiration"


def test_a_project_without_timeouts_has_aws_defaults(fresh):
    """moto answers 0 for both timeouts, which CreateProject refuses; AWS: 60 and 480."""
    iam, cb = fresh.client("iam"), fresh.client("codebuild")
    iam.create_role(RoleName="build", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    created = cb.create_project(
        name="pr", source={"type": "CODEPIPELINE", "location": "x"}, artifacts={"type": "CODEPIPELINE", "location": "x"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
        serviceRole="arn:aws:iam::123456789012:role/build")["project"]
    got = cb.batch_get_projects(names=["pr"])["projects"][0]
    for project in (created, got):
        assert (project["timeoutInMinutes"], project["queuedTimeoutInMinutes"]) == (60, 480)


def test_a_trail_without_selectors_logs_management_events_as_on_aws(fresh):
    """moto answers no selector; AWS the default one: all read and write management events."""
    fresh.client("s3").create_bucket(Bucket="trail-logs")
    ct = fresh.client("cloudtrail")
    ct.create_trail(Name="org-trail", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    got = ct.get_event_selectors(TrailName="org-trail")["EventSelectors"]
    assert got == [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                    "ExcludeManagementEventSources": []}]
    ct.put_event_selectors(TrailName="org-trail", EventSelectors=[{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}])
    assert ct.get_event_selectors(TrailName="org-trail")["EventSelectors"][0]["ReadWriteType"] == "ReadOnly"
