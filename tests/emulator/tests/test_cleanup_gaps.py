"""What `orgsplit cleanup` meets when it deletes from the source account: AWS's refusals and
answers, where moto 5.2.5 is more lenient (corrected by the emulator) or already the same
(locked in here). docs/emulator-gaps.md, "Deletes (cleanup)"; docs/design/cutover.md, section 6.

Already covered elsewhere and not repeated here (tests/test_cutover_gaps.py): IAM DeletePolicy
while attached / with versions and DeleteRole while in use (DeleteConflict), EventBridge DeleteRule
with targets and of a missing rule, Enable/DisableRule of a missing rule, Secrets Manager
DeleteSecret of a replicated primary and of a replica, the recovery-window range, GetSecretValue
pending deletion, S3 DeleteBucket while versions or delete markers remain, ECS DeleteService
scaled above 0 without force, DRAINING and INACTIVE services left out of ListServices.
"""
import json
import re
import time

import pytest
from botocore.exceptions import ClientError

from test_cutover_gaps import code, status_of, wait_for
from test_emulator import _pipeline


def message(exc_info):
    return exc_info.value.response["Error"]["Message"]


def clean(text):
    """AWS's messages: no SDK prefix inside, no runs of blanks (moto's line continuations)."""
    return "An error occurred" not in text and not re.search(r"\s{2,}", text)


# ------------------------------------------------------------------------ Secrets Manager
def test_a_secret_scheduled_for_deletion_is_hidden_and_cannot_be_scheduled_again(fresh):
    sm = fresh.client("secretsmanager")
    sm.create_secret(Name="prod/db", SecretString="pw")
    sm.create_secret(Name="prod/other", SecretString="x")
    deleted = sm.delete_secret(SecretId="prod/db", RecoveryWindowInDays=7)
    described = sm.describe_secret(SecretId="prod/db")
    assert described["DeletedDate"]
    assert deleted["DeletionDate"]
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId="prod/db")
    assert code(e) == "InvalidRequestException"
    # ListSecrets leaves it out unless IncludePlannedDeletion
    assert [s["Name"] for s in sm.list_secrets()["SecretList"]] == ["prod/other"]
    listed = sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]
    assert sorted(s["Name"] for s in listed) == ["prod/db", "prod/other"]
    assert [s for s in listed if s["Name"] == "prod/db"][0]["DeletedDate"]
    # a second schedule is refused, with or without a window, and changes nothing
    for kwargs in ({"RecoveryWindowInDays": 30}, {}):
        with pytest.raises(ClientError) as e:
            sm.delete_secret(SecretId="prod/db", **kwargs)
        assert code(e) == "InvalidRequestException" and status_of(e) == 400
        assert "marked deleted" in message(e) and clean(message(e)), message(e)
    assert sm.describe_secret(SecretId="prod/db")["DeletedDate"] == described["DeletedDate"]
    # the window and ForceDeleteWithoutRecovery exclude each other
    with pytest.raises(ClientError) as e:
        sm.delete_secret(SecretId="prod/other", RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    assert code(e) == "InvalidParameterException" and clean(message(e)), message(e)
    for days in (6, 31):
        with pytest.raises(ClientError) as e:
            sm.delete_secret(SecretId="prod/other", RecoveryWindowInDays=days)
        assert code(e) == "InvalidParameterException" and clean(message(e)), message(e)
    # forcing the deletion of a scheduled secret deletes it; forcing a missing one succeeds
    sm.delete_secret(SecretId="prod/db", ForceDeleteWithoutRecovery=True)
    with pytest.raises(ClientError) as e:
        sm.describe_secret(SecretId="prod/db")
    assert code(e) == "ResourceNotFoundException"
    assert sm.delete_secret(SecretId="prod/db", ForceDeleteWithoutRecovery=True)["Name"] == "prod/db"
    with pytest.raises(ClientError) as e:
        sm.delete_secret(SecretId="prod/db", RecoveryWindowInDays=7)
    assert code(e) == "ResourceNotFoundException"


def test_a_name_scheduled_for_deletion_can_be_neither_created_nor_written(fresh):
    sm = fresh.client("secretsmanager")
    sm.create_secret(Name="prod/db", SecretString="pw")
    sm.delete_secret(SecretId="prod/db", RecoveryWindowInDays=7)
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name="prod/db", SecretString="new")
    assert code(e) == "InvalidRequestException" and "scheduled for deletion" in message(e)
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId="prod/db", SecretString="new")
    assert code(e) == "InvalidRequestException" and "marked for deletion" in message(e)
    sm.restore_secret(SecretId="prod/db")
    sm.put_secret_value(SecretId="prod/db", SecretString="new")
    assert sm.get_secret_value(SecretId="prod/db")["SecretString"] == "new"
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name="prod/db", SecretString="again")
    assert code(e) == "ResourceExistsException"


def test_a_replicated_primary_is_refused_even_when_forced(fresh):
    sm = fresh.client("secretsmanager")
    sm.create_secret(Name="prod/db", SecretString="pw", AddReplicaRegions=[{"Region": "eu-west-1"}])
    for kwargs in ({"RecoveryWindowInDays": 7}, {"ForceDeleteWithoutRecovery": True}):
        with pytest.raises(ClientError) as e:
            sm.delete_secret(SecretId="prod/db", **kwargs)
        assert code(e) == "InvalidParameterException" and "replica regions [eu-west-1]" in message(e)
    sm.remove_regions_from_replication(SecretId="prod/db", RemoveReplicaRegions=["eu-west-1"])
    assert sm.delete_secret(SecretId="prod/db", RecoveryWindowInDays=7)["DeletionDate"]


# ------------------------------------------------------------------------------------- S3
def test_what_keeps_a_bucket_from_being_deleted(fresh):
    s3 = fresh.client("s3")
    # objects of an unversioned bucket
    s3.create_bucket(Bucket="acme-plain")
    s3.put_object(Bucket="acme-plain", Key="k", Body=b"1")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket="acme-plain")
    assert code(e) == "BucketNotEmpty" and status_of(e) == 409
    s3.delete_object(Bucket="acme-plain", Key="k")
    s3.delete_bucket(Bucket="acme-plain")
    # a version kept after versioning was suspended
    s3.create_bucket(Bucket="acme-suspended")
    s3.put_bucket_versioning(Bucket="acme-suspended", VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket="acme-suspended", Key="k", Body=b"1")["VersionId"]
    s3.put_bucket_versioning(Bucket="acme-suspended", VersioningConfiguration={"Status": "Suspended"})
    s3.delete_object(Bucket="acme-suspended", Key="k")  # a null delete marker over the version
    assert s3.list_objects_v2(Bucket="acme-suspended")["KeyCount"] == 0
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket="acme-suspended")
    assert code(e) == "BucketNotEmpty"
    s3.delete_object(Bucket="acme-suspended", Key="k", VersionId=version)
    with pytest.raises(ClientError) as e:  # the marker alone still counts
        s3.delete_bucket(Bucket="acme-suspended")
    assert code(e) == "BucketNotEmpty"
    s3.delete_object(Bucket="acme-suspended", Key="k", VersionId="null")
    s3.delete_bucket(Bucket="acme-suspended")
    # a bucket that is gone
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket="acme-suspended")
    assert code(e) == "NoSuchBucket" and status_of(e) == 404


def test_a_multipart_upload_in_progress_does_not_keep_a_bucket(fresh):
    """General purpose buckets: only objects, versions and delete markers count (AWS recommends,
    does not require, aborting uploads first); the upload goes with the bucket."""
    s3 = fresh.client("s3")
    s3.create_bucket(Bucket="acme-uploads")
    s3.create_multipart_upload(Bucket="acme-uploads", Key="big")
    assert len(s3.list_multipart_uploads(Bucket="acme-uploads")["Uploads"]) == 1
    s3.delete_bucket(Bucket="acme-uploads")
    s3.create_bucket(Bucket="acme-uploads")
    assert s3.list_multipart_uploads(Bucket="acme-uploads").get("Uploads", []) == []


# ---------------------------------------------------------------------------- EventBridge
def test_removing_targets_that_are_not_there(fresh):
    events = fresh.client("events")
    events.put_rule(Name="nightly", ScheduleExpression="cron(0 3 * * ? *)")
    events.put_targets(Rule="nightly", Targets=[{"Id": "1", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}])
    # ids the rule does not have are not failures; the ones it has go
    answer = events.remove_targets(Rule="nightly", Ids=["gone", "1"])
    assert answer["FailedEntryCount"] == 0 and answer["FailedEntries"] == []
    assert events.list_targets_by_rule(Rule="nightly")["Targets"] == []
    assert events.remove_targets(Rule="nightly", Ids=["1"])["FailedEntryCount"] == 0
    events.delete_rule(Name="nightly")
    for call in (lambda: events.remove_targets(Rule="nightly", Ids=["1"]),
                 lambda: events.list_targets_by_rule(Rule="nightly"),
                 lambda: events.describe_rule(Name="nightly")):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "ResourceNotFoundException"
    events.delete_rule(Name="nightly")  # a missing rule: DeleteRule succeeds


# ------------------------------------------------------------------------------------ ECS
STABLE = 1.0


@pytest.fixture
def ecs(fresh):
    fresh.admin("POST", "/_emulator/strict", {"ecs_service_linked_role": False, "ecs_service_stable_seconds": STABLE})
    client = fresh.client("ecs")
    client.create_cluster(clusterName="batch")
    client.register_task_definition(family="app", containerDefinitions=[
        {"name": "app", "image": "app:1", "memory": 128, "essential": True}])
    yield client
    fresh.admin("DELETE", "/_emulator/strict")


def _network(fresh):
    ec2 = fresh.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    sg = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    return {"awsvpcConfiguration": {"subnets": subnets[:1], "securityGroups": [sg]}}


def _status(ecs, name):
    return ecs.describe_services(cluster="batch", services=[name])["services"][0]["status"]


def test_a_cluster_with_services_cannot_be_deleted(fresh, ecs):
    ecs.create_service(cluster="batch", serviceName="api", taskDefinition="app:1", desiredCount=0)
    with pytest.raises(ClientError) as e:
        ecs.delete_cluster(cluster="batch")
    assert code(e) == "ClusterContainsServicesException" and "Services are active" in message(e)
    assert ecs.describe_clusters(clusters=["batch"])["clusters"][0]["status"] == "ACTIVE"
    assert ecs.delete_service(cluster="batch", service="api")["service"]["status"] == "DRAINING"
    with pytest.raises(ClientError) as e:  # a DRAINING service is still there
        ecs.delete_cluster(cluster="batch")
    assert code(e) == "ClusterContainsServicesException"
    assert wait_for(lambda: _status(ecs, "api") == "INACTIVE", STABLE + 2)
    gone = ecs.delete_cluster(cluster="batch")["cluster"]
    assert gone["status"] == "INACTIVE"
    # an INACTIVE cluster is described, not listed, and deleting it again answers it again
    assert ecs.describe_clusters(clusters=["batch"])["clusters"][0]["status"] == "INACTIVE"
    assert ecs.list_clusters()["clusterArns"] == []
    assert ecs.delete_cluster(cluster="batch")["cluster"]["status"] == "INACTIVE"
    with pytest.raises(ClientError) as e:
        ecs.delete_cluster(cluster="never")
    assert code(e) == "ClusterNotFoundException"
    # the switch gives moto's own behaviour back
    fresh.admin("POST", "/_emulator/strict", {"delete_conflicts": False})
    ecs.create_cluster(clusterName="other")
    ecs.create_service(cluster="other", serviceName="api", taskDefinition="app:1", desiredCount=0)
    assert ecs.delete_cluster(cluster="other")["cluster"]["status"] == "INACTIVE"


def test_a_cluster_with_running_tasks_cannot_be_deleted(fresh, ecs):
    ecs.register_task_definition(family="job", containerDefinitions=[
        {"name": "job", "image": "job:1", "memory": 512, "cpu": 256, "essential": True}],
        networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512")
    task = ecs.run_task(cluster="batch", taskDefinition="job:1", launchType="FARGATE",
                        networkConfiguration=_network(fresh))["tasks"][0]["taskArn"]
    with pytest.raises(ClientError) as e:
        ecs.delete_cluster(cluster="batch")
    assert code(e) == "ClusterContainsTasksException" and "Tasks are active" in message(e)
    ecs.stop_task(cluster="batch", task=task, reason="cleanup")
    assert ecs.delete_cluster(cluster="batch")["cluster"]["status"] == "INACTIVE"


def test_deleting_a_service_that_is_not_active_answers_it_as_it_is(ecs):
    ecs.create_service(cluster="batch", serviceName="api", taskDefinition="app:1", desiredCount=0)
    ecs.delete_service(cluster="batch", service="api")
    started = time.monotonic()
    # again while DRAINING: answered DRAINING, and the drain does not start over
    assert ecs.delete_service(cluster="batch", service="api")["service"]["status"] == "DRAINING"
    assert wait_for(lambda: _status(ecs, "api") == "INACTIVE", STABLE + 2)
    assert time.monotonic() - started < STABLE + 0.6
    # again once INACTIVE: answered INACTIVE, and it stays so
    assert ecs.delete_service(cluster="batch", service="api")["service"]["status"] == "INACTIVE"
    assert _status(ecs, "api") == "INACTIVE"
    with pytest.raises(ClientError) as e:
        ecs.delete_service(cluster="batch", service="never")
    assert code(e) == "ServiceNotFoundException"


def test_deregistering_a_task_definition_revision(ecs):
    first = ecs.deregister_task_definition(taskDefinition="app:1")["taskDefinition"]
    assert first["status"] == "INACTIVE" and first["revision"] == 1
    # an INACTIVE revision deregistered again is answered as it is
    assert ecs.deregister_task_definition(taskDefinition="app:1")["taskDefinition"]["status"] == "INACTIVE"
    for ref in ("app", "app:9"):  # a revision is required; one that never existed is not found
        with pytest.raises(ClientError) as e:
            ecs.deregister_task_definition(taskDefinition=ref)
        assert code(e) == "ClientException"


# ------------------------------------------------------------------------------------ IAM
def test_deleting_a_missing_role_or_policy_is_no_such_entity(fresh):
    iam = fresh.client("iam")
    arn = "arn:aws:iam::123456789012:policy/gone"
    for call in (lambda: iam.delete_role(RoleName="gone"),
                 lambda: iam.delete_policy(PolicyArn=arn),
                 lambda: iam.delete_role_policy(RoleName="gone", PolicyName="inline"),
                 lambda: iam.detach_role_policy(RoleName="gone", PolicyArn=arn),
                 lambda: iam.delete_policy_version(PolicyArn=arn, VersionId="v2")):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "NoSuchEntity" and status_of(e) == 404


# ------------------------------------------------------------- SSM, Logs, Scheduler, CI/CD
def test_deleting_what_is_not_there(fresh):
    for call, expected, status in (
            (lambda: fresh.client("ssm").delete_parameter(Name="/gone"), "ParameterNotFound", 400),
            (lambda: fresh.client("logs").delete_log_group(logGroupName="/gone"), "ResourceNotFoundException", 400),
            (lambda: fresh.client("scheduler").delete_schedule(Name="gone"), "ResourceNotFoundException", 404),
            (lambda: fresh.client("scheduler").delete_schedule(Name="gone", GroupName="nogroup"),
             "ResourceNotFoundException", 404),
            (lambda: fresh.client("scheduler").delete_schedule_group(Name="nogroup"), "ResourceNotFoundException", 404)):
        with pytest.raises(ClientError) as e:
            call()
        assert (code(e), status_of(e)) == (expected, status)
    # DeletePipeline and DeleteProject name no not-found error: a missing one is deleted
    fresh.client("codepipeline").delete_pipeline(name="gone")
    fresh.client("codebuild").delete_project(name="gone")


def test_a_pipeline_deleted_twice(fresh):
    cp = fresh.client("codepipeline")
    _pipeline(cp, fresh.client("iam"))
    cp.delete_pipeline(name="p1")
    with pytest.raises(ClientError) as e:
        cp.get_pipeline(name="p1")
    assert code(e) == "PipelineNotFoundException"
    cp.delete_pipeline(name="p1")


def test_deleting_a_pipeline_leaves_its_webhooks(fresh):
    """A v1 pipeline's webhooks are resources of their own (Terraform's
    aws_codepipeline_webhook): DeletePipeline leaves them listed and registered at GitHub. The
    AWS CLI's delete-webhook example deregisters, then deletes; deregistering needs the target
    action (a GitHub v1 source, whose token calls GitHub), so once the pipeline is gone it is
    refused and the hook stays at GitHub: cleanup deregisters before DeletePipeline."""
    cp = fresh.client("codepipeline")
    _pipeline(cp, fresh.client("iam"))
    for name in ("p1-hook", "p1-late"):
        cp.put_webhook(webhook={
            "name": name, "targetPipeline": "p1", "targetAction": "Source",
            "filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/{Branch}"}],
            "authentication": "GITHUB_HMAC", "authenticationConfiguration": {"SecretToken": "s3cr3t"}})
        cp.register_webhook_with_third_party(webhookName=name)
    cp.deregister_webhook_with_third_party(webhookName="p1-hook")
    cp.delete_pipeline(name="p1")
    left = [(w["definition"]["name"], w["definition"]["targetPipeline"]) for w in cp.list_webhooks()["webhooks"]]
    assert left == [("p1-hook", "p1"), ("p1-late", "p1")]
    with pytest.raises(ClientError) as e:
        cp.deregister_webhook_with_third_party(webhookName="p1-late")
    assert code(e) == "ValidationException"
    cp.delete_webhook(name="p1-hook")
    cp.delete_webhook(name="p1-late")
    assert cp.list_webhooks()["webhooks"] == []
    with pytest.raises(ClientError) as e:
        cp.deregister_webhook_with_third_party(webhookName="p1-hook")
    assert code(e) == "WebhookNotFoundException"


def test_schedule_groups(fresh):
    sch = fresh.client("scheduler")
    target = {"Arn": "arn:aws:sqs:us-east-1:123456789012:q", "RoleArn": "arn:aws:iam::123456789012:role/r"}
    sch.create_schedule_group(Name="orgsplit")
    sch.create_schedule(Name="hourly", GroupName="orgsplit", ScheduleExpression="rate(1 hour)", Target=target,
                        FlexibleTimeWindow={"Mode": "OFF"})
    with pytest.raises(ClientError) as e:
        sch.delete_schedule_group(Name="default")
    assert code(e) == "ValidationException"
    assert sch.get_schedule_group(Name="default")["State"] == "ACTIVE"
    # deleting a group deletes its schedules
    sch.delete_schedule_group(Name="orgsplit")
    with pytest.raises(ClientError) as e:
        sch.get_schedule(Name="hourly", GroupName="orgsplit")
    assert code(e) == "ResourceNotFoundException"
    assert sch.list_schedules()["Schedules"] == []
    with pytest.raises(ClientError) as e:
        sch.delete_schedule_group(Name="orgsplit")
    assert code(e) == "ResourceNotFoundException"


# ---------------------------------------------------------------------------- request log
def test_deletes_are_logged_with_the_resource_they_name(fresh):
    ssm, iam, s3 = fresh.client("ssm"), fresh.client("iam"), fresh.client("s3")
    sm, sch = fresh.client("secretsmanager"), fresh.client("scheduler")
    events, ecs = fresh.client("events"), fresh.client("ecs")
    ssm.put_parameter(Name="/prod/a", Value="top-secret-value", Type="SecureString")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    s3.create_bucket(Bucket="acme-logged")
    sm.create_secret(Name="prod/db", SecretString="pw")
    sch.create_schedule(Name="hourly", ScheduleExpression="rate(1 hour)", FlexibleTimeWindow={"Mode": "OFF"},
                        Target={"Arn": "arn:aws:sqs:us-east-1:123456789012:q",
                                "RoleArn": "arn:aws:iam::123456789012:role/r"})
    events.put_rule(Name="nightly", ScheduleExpression="rate(1 day)")
    events.put_targets(Rule="nightly", Targets=[{"Id": "1", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}])
    ecs.register_task_definition(family="app", containerDefinitions=[{"name": "app", "image": "app:1", "memory": 128}])
    fresh.admin("DELETE", "/_emulator/requests")

    events.remove_targets(Rule="nightly", Ids=["1"])
    events.delete_rule(Name="nightly")
    ecs.deregister_task_definition(taskDefinition="app:1")
    ssm.delete_parameter(Name="/prod/a")
    with pytest.raises(ClientError):
        ssm.delete_parameter(Name="/prod/a")
    iam.delete_role(RoleName="r")
    s3.delete_bucket(Bucket="acme-logged")
    sm.delete_secret(SecretId="prod/db", RecoveryWindowInDays=7)
    with pytest.raises(ClientError):
        sm.delete_secret(SecretId="prod/db", RecoveryWindowInDays=7)
    sch.delete_schedule(Name="hourly")
    ssm.get_parameters_by_path(Path="/prod")

    _, log = fresh.admin("GET", "/_emulator/requests")
    deletes = [e for e in log if e["operation"].startswith(("Delete", "Deregister", "Remove"))]
    assert [(e["service"], e["operation"], e["status"], e["resource"]) for e in deletes] == [
        ("events", "RemoveTargets", 200, {"Rule": "nightly", "Ids": ["1"]}),
        ("events", "DeleteRule", 200, {"Name": "nightly"}),
        ("ecs", "DeregisterTaskDefinition", 200, {"taskDefinition": "app:1"}),
        ("ssm", "DeleteParameter", 200, {"Name": "/prod/a"}),
        ("ssm", "DeleteParameter", 400, {"Name": "/prod/a"}),
        ("iam", "DeleteRole", 200, {"RoleName": "r"}),
        ("s3", "DeleteBucket", 204, {"Bucket": "acme-logged"}),
        # flags (RecoveryWindowInDays) and idempotency tokens (ClientToken) are not the resource
        ("secretsmanager", "DeleteSecret", 200, {"SecretId": "prod/db"}),
        ("secretsmanager", "DeleteSecret", 400, {"SecretId": "prod/db"}),
        ("scheduler", "DeleteSchedule", 200, {"Name": "hourly"}),
    ]
    assert all(e["account"] == "123456789012" and e["region"] == "us-east-1" and e["mutating"] for e in deletes)
    # only deletes (Delete*, Deregister*, Remove*, Detach*) carry it: no value of a write is logged
    assert not [e for e in log if "resource" in e and e not in deletes]
    assert "top-secret-value" not in json.dumps(log)
    # "at most one successful delete per resource", as a crash suite counts it
    done = {}
    for e in log:
        if "resource" in e and e["status"] is not None and 200 <= e["status"] < 300:
            key = (e["account"], e["region"], e["service"], e["operation"], json.dumps(e["resource"], sort_keys=True))
            done[key] = done.get(key, 0) + 1
    assert set(done.values()) == {1}


def test_install_once():
    from orgsplit_emulator.patching import install_once

    calls = []

    @install_once
    def install():
        calls.append(1)

    install()
    install()
    assert calls == [1]
