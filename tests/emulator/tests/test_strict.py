"""Strictness: the emulator refuses or delays what AWS refuses or delays (on by default)."""
import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import SHARED


def code(exc_info):
    return exc_info.value.response["Error"]["Code"]


def last_entry(emu, operation):
    _, log = emu.admin("GET", "/_emulator/requests")
    return [e for e in log if e["operation"] == operation][-1]


@pytest.fixture
def org(fresh):
    fresh.admin("POST", "/_emulator/strict", {"org_concurrent_modification": 0})
    o = fresh.client("organizations")
    o.create_organization(FeatureSet="ALL")
    fresh.create_account("aws+shared@example.com", "shared-workloads")
    yield fresh
    fresh.admin("DELETE", "/_emulator/strict")


def test_strict_settings_endpoint(fresh):
    status, settings = fresh.admin("GET", "/_emulator/strict")
    assert status == 200 and settings["validation"] is True and settings["account_ready_seconds"] > 0
    status, body = fresh.admin("POST", "/_emulator/strict", {"no_such_behaviour": True})
    assert status == 400 and "unknown strict setting" in body["error"]
    status, body = fresh.admin("POST", "/_emulator/strict", {"org_concurrent_modification": 2})
    assert status == 400
    status, body = fresh.admin("POST", "/_emulator/strict", {"reserved_tags": False})
    assert status == 200 and body["reserved_tags"] is False
    assert fresh.admin("DELETE", "/_emulator/strict")[1]["reserved_tags"] is True


def test_new_account_cannot_be_assumed_at_once(org):
    org.admin("POST", "/_emulator/strict", {"account_ready_seconds": 1.5})
    new = org.create_account("aws+young@example.com", "young")
    account = new["AccountId"]
    assert new["State"] == "SUCCEEDED"
    sts = org.client("sts")
    arn = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=arn, RoleSessionName="pytest")
    assert code(e) == "AccessDenied" and e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert last_entry(org, "AssumeRole")["refused"] == "account_ready"
    time.sleep(1.6)
    assert sts.assume_role(RoleArn=arn, RoleSessionName="pytest")["Credentials"]["AccessKeyId"]


def test_create_account_is_asynchronous(org):
    org.admin("POST", "/_emulator/strict", {"account_create_seconds": 1.0})
    o = org.client("organizations")
    answer = o.create_account(Email="aws+slow@example.com", AccountName="slow")["CreateAccountStatus"]
    assert answer["State"] == "IN_PROGRESS" and "AccountId" not in answer
    assert last_entry(org, "CreateAccount")["status"] == 200
    # not a member yet: not listed, not describable, not movable
    assert "slow" not in [a["Name"] for a in o.list_accounts()["Accounts"]]
    root = o.list_roots()["Roots"][0]["Id"]
    assert "slow" not in [c["Id"] for c in o.list_children(ParentId=root, ChildType="ACCOUNT")["Children"]]
    listed = o.list_create_account_status(States=["IN_PROGRESS"])["CreateAccountStatuses"]
    assert [s["AccountName"] for s in listed] == ["slow"] and "AccountId" not in listed[0]
    time.sleep(1.1)
    done = o.describe_create_account_status(CreateAccountRequestId=answer["Id"])["CreateAccountStatus"]
    assert done["State"] == "SUCCEEDED" and len(done["AccountId"]) == 12
    assert o.describe_account(AccountId=done["AccountId"])["Account"]["Name"] == "slow"
    assert "slow" in [a["Name"] for a in o.list_accounts()["Accounts"]]
    assert o.list_create_account_status(States=["IN_PROGRESS"])["CreateAccountStatuses"] == []


def test_pending_account_is_not_found(org):
    org.admin("POST", "/_emulator/strict", {"account_create_seconds": 5.0})
    o = org.client("organizations")
    o.create_account(Email="aws+pending@example.com", AccountName="pending")
    import hashlib  # the emulator's deterministic id for this e-mail (accounts.py)
    n = int.from_bytes(hashlib.sha256(b"aws+pending@example.com").digest()[:8], "big")
    account = str(100_000_000_000 + n % 900_000_000_000)
    with pytest.raises(ClientError) as e:
        o.describe_account(AccountId=account)
    assert code(e) == "AccountNotFoundException"
    assert last_entry(org, "DescribeAccount")["refused"] == "account_create"
    with pytest.raises(ClientError) as e:
        org.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                                      RoleSessionName="pytest")
    assert code(e) == "AccessDenied"


def test_list_create_account_status_comes_in_short_pages(org):
    org.admin("POST", "/_emulator/strict", {"account_create_seconds": 0, "list_page_size": 2})
    o = org.client("organizations")
    for i in range(4):
        org.create_account(f"aws+page{i}@example.com", f"page{i}")
    first = o.list_create_account_status()
    assert len(first["CreateAccountStatuses"]) == 2 and first["NextToken"]
    names, token = [], None
    while True:
        page = o.list_create_account_status(**({"NextToken": token} if token else {}))
        names += [s["AccountName"] for s in page["CreateAccountStatuses"]]
        token = page.get("NextToken")
        if not token:
            break
    assert names == ["shared-workloads"] + [f"page{i}" for i in range(4)]
    assert len(o.list_create_account_status(MaxResults=1)["CreateAccountStatuses"]) == 1
    paginated = [s["AccountName"] for p in o.get_paginator("list_create_account_status").paginate()
                 for s in p["CreateAccountStatuses"]]
    assert paginated == names
    with pytest.raises(ClientError) as e:
        o.list_create_account_status(NextToken="not-a-token")
    assert code(e) == "InvalidInputException"


def test_trust_policy_naming_a_missing_role_is_malformed(org):
    iam = org.client("iam")
    doc = lambda principal: json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]})
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName="a", AssumeRolePolicyDocument=doc("arn:aws:iam::123456789012:role/not-yet"))
    assert code(e) == "MalformedPolicyDocument" and "Invalid principal" in str(e.value)
    iam.create_role(RoleName="not-yet", AssumeRolePolicyDocument=doc("arn:aws:iam::123456789012:root"))
    iam.create_role(RoleName="a", AssumeRolePolicyDocument=doc(["arn:aws:iam::123456789012:role/not-yet"]))
    with pytest.raises(ClientError) as e:
        iam.update_assume_role_policy(RoleName="a", PolicyDocument=doc("arn:aws:iam::123456789012:role/gone"))
    assert code(e) == "MalformedPolicyDocument"


def test_pipeline_with_a_seconds_old_role_is_refused(org):
    org.admin("POST", "/_emulator/strict", {"iam_propagation_seconds": 1.0})
    iam = org.client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    role = iam.create_role(RoleName="pipe", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    org.client("s3").create_bucket(Bucket="artifacts-strict-test")
    pipeline = {"name": "p", "roleArn": role, "artifactStore": {"type": "S3", "location": "artifacts-strict-test"},
                "stages": [
                    {"name": "Source", "actions": [{"name": "S", "actionTypeId": {
                        "category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                        "configuration": {"S3Bucket": "artifacts-strict-test", "S3ObjectKey": "k"},
                        "outputArtifacts": [{"name": "o"}]}]},
                    {"name": "Build", "actions": [{"name": "B", "actionTypeId": {
                        "category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                        "configuration": {"ProjectName": "x"}, "inputArtifacts": [{"name": "o"}]}]}]}
    cp = org.client("codepipeline")
    with pytest.raises(ClientError) as e:
        cp.create_pipeline(pipeline=pipeline)
    assert code(e) == "InvalidStructureException" and "not authorized to perform AssumeRole" in str(e.value)
    time.sleep(1.1)
    assert cp.create_pipeline(pipeline=pipeline)["pipeline"]["name"] == "p"


def test_scp_policy_type_is_pending_for_a_while(org):
    org.admin("POST", "/_emulator/strict", {"scp_enable_seconds": 1.0})
    o = org.client("organizations")
    root = o.list_roots()["Roots"][0]["Id"]
    enabled = o.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    assert enabled["Root"]["PolicyTypes"] == [{"Type": "SERVICE_CONTROL_POLICY", "Status": "PENDING_ENABLE"}]
    assert o.list_roots()["Roots"][0]["PolicyTypes"][0]["Status"] == "PENDING_ENABLE"
    policy = o.create_policy(Name="deny", Description="d", Type="SERVICE_CONTROL_POLICY", Content=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}))
    pid = policy["Policy"]["PolicySummary"]["Id"]
    with pytest.raises(ClientError) as e:
        o.attach_policy(PolicyId=pid, TargetId=root)
    assert code(e) == "PolicyTypeNotEnabledException"
    time.sleep(1.1)
    assert o.list_roots()["Roots"][0]["PolicyTypes"][0]["Status"] == "ENABLED"
    o.attach_policy(PolicyId=pid, TargetId=root)


def test_first_ecs_cluster_races_the_service_linked_role(org):
    org.admin("POST", "/_emulator/strict", {"iam_propagation_seconds": 1.0})
    ecs = org.client("ecs")
    with pytest.raises(ClientError) as e:
        ecs.create_cluster(clusterName="first")
    assert code(e) == "InvalidParameterException" and "service linked role" in str(e.value)
    roles = org.client("iam").list_roles(PathPrefix="/aws-service-role/ecs.amazonaws.com/")["Roles"]
    assert len(roles) == 1
    time.sleep(1.1)
    assert ecs.create_cluster(clusterName="first")["cluster"]["clusterName"] == "first"
    with pytest.raises(ClientError) as e:
        ecs.create_cluster(clusterName="asg", capacityProviders=["my-asg-provider"])
    assert code(e) == "InvalidParameterException" and "capacity provider" in str(e.value)
    ecs.create_cluster(clusterName="spot", capacityProviders=["FARGATE", "FARGATE_SPOT"])


def test_organizations_writes_meet_concurrent_modification(org):
    org.admin("POST", "/_emulator/strict", {"org_concurrent_modification": 1.0, "seed": 1})
    o = org.client("organizations")
    root = o.list_roots()["Roots"][0]["Id"]  # reads are never refused
    with pytest.raises(ClientError) as e:
        o.create_organizational_unit(ParentId=root, Name="dev")
    assert code(e) == "ConcurrentModificationException"
    assert o.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"] == []
    org.admin("POST", "/_emulator/strict", {"org_concurrent_modification": 0})
    o.create_organizational_unit(ParentId=root, Name="dev")


def test_naming_rules(org):
    cf = org.client("cloudformation")
    with pytest.raises(ClientError) as e:
        cf.create_stack_set(StackSetName="orgsplit-dev_ou", TemplateBody="{}")
    assert code(e) == "ValidationError"
    with pytest.raises(ClientError) as e:
        org.client("s3").create_bucket(Bucket="Bad_Bucket")
    assert code(e) == "InvalidBucketName"
    with pytest.raises(ClientError) as e:
        org.client("s3").create_bucket(Bucket="a" * 64)
    assert code(e) == "InvalidBucketName"
    template = json.dumps({"Resources": {"R": {"Type": "AWS::SSM::Parameter", "Properties": {
        "Type": "String", "Value": "v"}}}})
    cf.create_stack_set(StackSetName="orgsplit-dev", TemplateBody=template, PermissionModel="SERVICE_MANAGED",
                        AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False})
    with pytest.raises(ClientError) as e:
        cf.delete_stack_instances(StackSetName="orgsplit-dev", Accounts=[SHARED], Regions=["us-east-1"],
                                  RetainStacks=False)
    assert code(e) == "ValidationError" and "OrganizationalUnit" in str(e.value)


@pytest.mark.parametrize("service,call", [
    ("ssm", lambda c: c.put_parameter(Name="/t", Value="v", Type="String",
                                      Tags=[{"Key": "aws:cloudformation:stack-name", "Value": "s"}])),
    ("logs", lambda c: c.create_log_group(logGroupName="g", tags={"AWS:Foo": "x"})),
    ("ecs", lambda c: c.tag_resource(resourceArn="arn:aws:ecs:us-east-1:123456789012:cluster/x",
                                     tags=[{"key": "aws:x", "value": "y"}])),
    ("iam", lambda c: c.create_role(RoleName="r", AssumeRolePolicyDocument="{}",
                                    Tags=[{"Key": "aws:cloudformation:logical-id", "Value": "R"}])),
    ("s3", lambda c: c.put_bucket_tagging(Bucket="any-bucket", Tagging={
        "TagSet": [{"Key": "aws:cloudformation:stack-id", "Value": "v"}]})),
])
def test_reserved_aws_tag_keys_are_refused(org, service, call):
    with pytest.raises(ClientError) as e:
        call(org.client(service))
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    _, log = org.admin("GET", "/_emulator/requests")
    assert log[-1]["refused"] == "reserved_tags", log[-1]


def test_webhook_deregistration_needs_the_v1_github_action(fresh):
    from test_emulator import _pipeline

    cp = fresh.client("codepipeline")
    decl, _ = _pipeline(cp, fresh.client("iam"))
    cp.put_webhook(webhook={
        "name": "wh", "targetPipeline": "p1", "targetAction": "Source",
        "filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/{Branch}"}],
        "authentication": "GITHUB_HMAC", "authenticationConfiguration": {"SecretToken": "s3cr3t"}})
    cp.register_webhook_with_third_party(webhookName="wh")
    # the source converted to CodeStar Connections: the webhook no longer targets GitHub v1
    source = decl["stages"][0]["actions"][0]
    source["actionTypeId"] = {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection",
                              "version": "1"}
    connection = fresh.client("codeconnections").create_connection(ProviderType="GitHub", ConnectionName="c")["ConnectionArn"]
    source["configuration"] = {"ConnectionArn": connection, "FullRepositoryId": "acme/api", "BranchName": "main"}
    cp.update_pipeline(pipeline=decl)
    with pytest.raises(ClientError) as e:
        cp.deregister_webhook_with_third_party(webhookName="wh")
    assert code(e) == "ValidationException" and "GitHub" in str(e.value)
    cp.delete_webhook(name="wh")
    assert cp.list_webhooks()["webhooks"] == []


def test_request_model_violations_are_refused_and_logged(fresh):
    ssm = fresh.client("ssm")
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="/x", Value="v", Type="String", Tier="Gold")
    assert code(e) == "ValidationException" and "tier" in str(e.value).lower()
    entry = last_entry(fresh, "PutParameter")
    assert entry["refused"] == "validation" and entry["violation"] and entry["status"] == 400
    with pytest.raises(ClientError) as e:
        fresh.client("iam").create_role(RoleName="r" * 65, AssumeRolePolicyDocument="{}")
    assert code(e) == "ValidationError"
    fresh.admin("POST", "/_emulator/strict", {"validation": False})
    fresh.client("iam").create_role(RoleName="r" * 65, AssumeRolePolicyDocument="{}")
    fresh.admin("DELETE", "/_emulator/strict")


def test_the_seeder_is_exempt(fresh):
    status, seeded = fresh.admin("POST", "/_emulator/seed", {"scenario": "org-only"})
    assert status == 200, seeded
    # accounts the seeder made are not young: their access role is assumable at once
    for account in seeded["accounts"].values():
        fresh.assume(account, wait=0)


def test_tagging_api_lists_only_tagged_resources(org):
    creds = org.assume(SHARED)
    ssm = org.client("ssm", creds=creds)
    ssm.put_parameter(Name="/untagged", Value="v", Type="String")
    ssm.put_parameter(Name="/tagged", Value="v", Type="String", Tags=[{"Key": "Environment", "Value": "dev"}])
    sqs = org.client("sqs", creds=creds)
    sqs.create_queue(QueueName="untagged-queue")
    sqs.create_queue(QueueName="tagged-queue", tags={"Environment": "dev"})
    arns = [r["ResourceARN"] for r in org.client("resourcegroupstaggingapi", creds=creds).get_resources()["ResourceTagMappingList"]]
    assert any(a.endswith(":parameter/tagged") for a in arns), arns
    assert any(a.endswith(":tagged-queue") for a in arns), arns
    assert not any(a.endswith(":parameter/untagged") or a.endswith(":untagged-queue") for a in arns), arns


def test_opt_in_regions_are_disabled_in_a_new_account_until_enabled(org):
    org.admin("POST", "/_emulator/strict", {"account_ready_seconds": 0, "region_enable_seconds": 1.0})
    o = org.client("organizations")
    account = org.create_account("aws+optin@example.com", "optin")["AccountId"]
    creds = org.assume(account)
    with pytest.raises(ClientError) as e:
        org.client("ssm", region="af-south-1", creds=creds).describe_parameters()
    assert code(e) == "UnrecognizedClientException"
    assert org.client("ssm", region="eu-west-1", creds=creds).describe_parameters()["Parameters"] == []
    acct = org.client("account")
    # the management account acts on a member only with trusted access for Account Management
    with pytest.raises(ClientError) as e:
        acct.get_region_opt_status(AccountId=account, RegionName="af-south-1")
    assert code(e) == "AccessDeniedException"
    o.enable_aws_service_access(ServicePrincipal="account.amazonaws.com")
    assert acct.get_region_opt_status(AccountId=account, RegionName="af-south-1")["RegionOptStatus"] == "DISABLED"
    assert acct.get_region_opt_status(AccountId=account, RegionName="eu-west-1")["RegionOptStatus"] == "ENABLED_BY_DEFAULT"
    acct.enable_region(AccountId=account, RegionName="af-south-1")
    assert acct.get_region_opt_status(AccountId=account, RegionName="af-south-1")["RegionOptStatus"] == "ENABLING"
    with pytest.raises(ClientError):
        org.client("ssm", region="af-south-1", creds=creds).describe_parameters()
    time.sleep(1.1)
    assert acct.get_region_opt_status(AccountId=account, RegionName="af-south-1")["RegionOptStatus"] == "ENABLED"
    assert org.client("ssm", region="af-south-1", creds=creds).describe_parameters()["Parameters"] == []
    # accounts that existed before (seeded, the management account) have them enabled
    assert org.client("ssm", region="af-south-1").describe_parameters()["Parameters"] == []


def test_a_bucket_policy_deny_refuses_the_reads_it_names(fresh):
    """A policy that locks a bucket to one role refuses everyone else's reads, as AWS does."""
    s3 = fresh.client("s3")
    s3.create_bucket(Bucket="locked-bucket")
    s3.create_bucket(Bucket="open-bucket")
    s3.put_bucket_policy(Bucket="locked-bucket", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::locked-bucket", "arn:aws:s3:::locked-bucket/*"],
        "Condition": {"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/data-admin"}}}]}))
    for call in (lambda: s3.get_bucket_policy(Bucket="locked-bucket"),
                 lambda: s3.get_bucket_versioning(Bucket="locked-bucket"),
                 lambda: s3.list_objects_v2(Bucket="locked-bucket")):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "AccessDenied"
    s3.get_bucket_versioning(Bucket="open-bucket")
    _, log = fresh.admin("GET", "/_emulator/requests")
    assert [e.get("refused") for e in log if e["operation"] == "GetBucketVersioning"] == ["bucket_policies", None]


def test_bucket_policy_denies_follow_principal_action_and_condition():
    from orgsplit_emulator.bucket_policies import denies

    admin = "arn:aws:iam::111111111111:role/data-admin"
    other = "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"
    lock = json.dumps({"Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["s3:Get*"],
                                      "Condition": {"ArnNotLike": {"aws:PrincipalArn": admin}}}]})
    assert denies(lock, "GetBucketPolicy", other)
    assert not denies(lock, "GetBucketPolicy", admin)
    assert not denies(lock, "ListObjectsV2", other)  # s3:ListBucket is not s3:Get*
    named = json.dumps({"Statement": {"Effect": "Deny", "Principal": {"AWS": [other]}, "Action": "s3:GetBucketPolicy"}})
    assert denies(named, "GetBucketPolicy", other) and not denies(named, "GetBucketCors", other)
    tls = json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
    assert not denies(tls, "GetBucketPolicy", other)  # a condition this layer does not evaluate


def test_a_key_that_encrypts_must_exist_in_the_callers_account_and_region(org):
    """SSM and Secrets Manager encrypt with the caller's credentials: moto stores any KeyId."""
    kms, ssm, sm = org.client("kms"), org.client("ssm"), org.client("secretsmanager")
    key = kms.create_key(Description="app")["KeyMetadata"]
    kms.create_alias(AliasName="alias/prod/app", TargetKeyId=key["KeyId"])
    other_account = key["Arn"].replace(":123456789012:", ":210987654321:")
    for bad in ("alias/prod/missing", "1234abcd-0000-0000-0000-000000000000", other_account):
        with pytest.raises(ClientError) as e:
            ssm.put_parameter(Name="/p/x", Value="v", Type="SecureString", KeyId=bad)
        assert code(e) == "InvalidKeyId", bad
        with pytest.raises(ClientError) as e:
            sm.create_secret(Name="s-x", SecretString="v", KmsKeyId=bad)
        assert code(e) == "AccessDeniedException", bad
    for good in (key["Arn"], key["KeyId"], "alias/prod/app", "alias/aws/ssm"):
        ssm.put_parameter(Name="/p/x", Value="v", Type="SecureString", KeyId=good, Overwrite=True)
    sm.create_secret(Name="s-x", SecretString="v", KmsKeyId=key["Arn"])
    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="/p/y", Value="v", Type="SecureString", KeyId=key["Arn"])
    assert code(e) == "InvalidKeyId"
    assert last_entry(org, "PutParameter").get("refused") == "kms_keys"


def test_a_key_policy_names_principals_that_exist(org):
    kms, iam = org.client("kms"), org.client("iam")
    policy = lambda role: json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::123456789012:role/{role}"}, "Action": "kms:Decrypt", "Resource": "*"}]})
    with pytest.raises(ClientError) as e:
        kms.create_key(Policy=policy("not-yet"))
    assert code(e) == "MalformedPolicyDocumentException"
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as e:
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy=policy("not-yet"))
    assert code(e) == "MalformedPolicyDocumentException"
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    iam.create_role(RoleName="not-yet", AssumeRolePolicyDocument=trust)
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=policy("not-yet"))


def test_a_codebuild_project_needs_its_service_role(org):
    cb, iam = org.client("codebuild"), org.client("iam")
    project = dict(name="api-build", source={"type": "CODEPIPELINE", "location": "x"},
                   artifacts={"type": "CODEPIPELINE", "location": "x"},
                   environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                                "computeType": "BUILD_GENERAL1_SMALL"},
                   serviceRole="arn:aws:iam::123456789012:role/build")
    with pytest.raises(ClientError) as e:
        cb.create_project(**project)
    assert code(e) == "InvalidInputException" and "sts:AssumeRole" in str(e.value)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    iam.create_role(RoleName="build", AssumeRolePolicyDocument=trust)
    cb.create_project(**project)
    assert cb.batch_get_projects(names=["api-build"])["projects"][0]["serviceRole"].endswith(":role/build")


def test_a_stack_set_operation_answers_the_preferences_it_ran_with(org):
    """moto drops OperationPreferences; AWS answers them in DescribeStackSetOperation."""
    cfn = org.client("cloudformation")
    template = json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}})
    cfn.create_stack_set(StackSetName="orgsplit-baseline-dev", TemplateBody=template)
    prefs = {"RegionConcurrencyType": "PARALLEL", "FailureTolerancePercentage": 10,
             "MaxConcurrentPercentage": 100, "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE"}
    op = cfn.update_stack_set(StackSetName="orgsplit-baseline-dev", TemplateBody=template,
                              OperationPreferences=prefs)["OperationId"]
    got = cfn.describe_stack_set_operation(StackSetName="orgsplit-baseline-dev", OperationId=op)
    assert got["StackSetOperation"]["OperationPreferences"] == prefs
    plain = cfn.update_stack_set(StackSetName="orgsplit-baseline-dev", TemplateBody=template)["OperationId"]
    got = cfn.describe_stack_set_operation(StackSetName="orgsplit-baseline-dev", OperationId=plain)
    assert "OperationPreferences" not in got["StackSetOperation"]


def test_stack_instances_go_to_the_accounts_the_filter_picks(org):
    """moto deploys to every account of the OUs whatever AccountFilterType says; AWS to the
    accounts the filter picks (DeploymentTargets)."""
    o, cfn = org.client("organizations"), org.client("cloudformation")
    root = o.list_roots()["Roots"][0]["Id"]
    ou = o.create_organizational_unit(ParentId=root, Name="dev")["OrganizationalUnit"]["Id"]
    accounts = []
    for i in range(3):
        a = org.create_account(f"aws+dev{i}@example.com", f"dev-{i}")["AccountId"]
        o.move_account(AccountId=a, SourceParentId=root, DestinationParentId=ou)
        accounts.append(a)
    template = json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}})
    cfn.activate_organizations_access()
    for name, targets, wanted in [
        ("orgsplit-only-one", {"OrganizationalUnitIds": [ou], "Accounts": [accounts[0], "999999999999"],
                               "AccountFilterType": "INTERSECTION"}, {accounts[0]}),
        ("orgsplit-all-but-one", {"OrganizationalUnitIds": [ou], "Accounts": [accounts[0]],
                                  "AccountFilterType": "DIFFERENCE"}, set(accounts[1:])),
        ("orgsplit-whole-ou", {"OrganizationalUnitIds": [ou]}, set(accounts)),
    ]:
        cfn.create_stack_set(StackSetName=name, TemplateBody=template, PermissionModel="SERVICE_MANAGED",
                             AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False})
        cfn.create_stack_instances(StackSetName=name, DeploymentTargets=targets, Regions=["us-east-1"])
        got = {s["Account"] for s in cfn.list_stack_instances(StackSetName=name)["Summaries"]}
        assert got == wanted, name
