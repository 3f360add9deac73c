"""What orgsplit's cutover and cleanup meet on AWS and moto 5.2.5 leaves out or settles at once
(docs/design/cutover.md, section 6; docs/emulator-gaps.md, "Strict by default")."""
import json
import time

import pytest
from botocore.exceptions import ClientError

from test_emulator import _pipeline


def code(exc_info):
    return exc_info.value.response["Error"]["Code"]


def status_of(exc_info):
    return exc_info.value.response["ResponseMetadata"]["HTTPStatusCode"]


def wait_for(check, seconds=10.0):
    """Polls `check()` until it is truthy (as a client polls AWS), at most `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


# ---------------------------------------------------------------------------------------- ECS
STABLE = 2.0  # ecs_service_stable_seconds in these tests


@pytest.fixture
def ecs(fresh):
    fresh.admin("POST", "/_emulator/strict", {"ecs_service_linked_role": False, "ecs_service_stable_seconds": STABLE})
    client = fresh.client("ecs")
    client.create_cluster(clusterName="batch")
    for image in ("app:1", "app:2"):
        client.register_task_definition(family="app", containerDefinitions=[
            {"name": "app", "image": image, "memory": 128, "essential": True}])
    yield client
    fresh.admin("DELETE", "/_emulator/strict")


def describe(ecs, name):
    return ecs.describe_services(cluster="batch", services=[name])["services"][0]


def steady(svc):
    """The services-stable waiter's acceptor (botocore ecs waiters-2.json, ServicesStable)."""
    return len(svc["deployments"]) == 1 and svc["runningCount"] == svc["desiredCount"]


def test_a_new_service_runs_its_tasks_only_after_a_while(ecs):
    created = ecs.create_service(cluster="batch", serviceName="api", taskDefinition="app:1", desiredCount=2)["service"]
    assert created["runningCount"] == 0 and created["desiredCount"] == 2
    [deployment] = created["deployments"]
    assert deployment["status"] == "PRIMARY" and deployment["rolloutState"] == "IN_PROGRESS"
    assert deployment["runningCount"] == 0 and deployment["desiredCount"] == 2
    svc = describe(ecs, "api")
    assert svc["runningCount"] == 0 and not steady(svc)
    svc = wait_for(lambda: (lambda s: s if steady(s) else None)(describe(ecs, "api")), STABLE + 2)
    assert svc, describe(ecs, "api")
    [done] = svc["deployments"]
    assert done["id"] == deployment["id"] and done["rolloutState"] == "COMPLETED" and done["runningCount"] == 2
    assert svc["status"] == "ACTIVE" and svc["runningCount"] == 2


def test_scaling_moves_the_running_count_later_within_the_same_deployment(ecs):
    ecs.create_service(cluster="batch", serviceName="api", taskDefinition="app:1", desiredCount=0)
    first = wait_for(lambda: (lambda s: s if s["deployments"][0]["rolloutState"] == "COMPLETED" else None)(
        describe(ecs, "api")), STABLE + 2)
    assert first and steady(first)
    up = ecs.update_service(cluster="batch", service="api", desiredCount=3)["service"]
    # Scaling is not a deployment: the one deployment takes the new desired count; the tasks come later.
    assert up["desiredCount"] == 3 and up["runningCount"] == 0 and not steady(up)
    [d] = up["deployments"]
    assert d["id"] == first["deployments"][0]["id"] and d["desiredCount"] == 3
    assert wait_for(lambda: steady(describe(ecs, "api")), STABLE + 2)
    assert describe(ecs, "api")["runningCount"] == 3
    # and back down: the tasks stop later too
    down = ecs.update_service(cluster="batch", service="api", desiredCount=0)["service"]
    assert down["runningCount"] == 3 and not steady(down)
    assert wait_for(lambda: steady(describe(ecs, "api")), STABLE + 2)
    assert describe(ecs, "api")["runningCount"] == 0


def test_a_new_task_definition_is_a_new_deployment_and_the_old_one_stays_active_until_done(ecs):
    ecs.create_service(cluster="batch", serviceName="api", taskDefinition="app:1", desiredCount=2)
    assert wait_for(lambda: steady(describe(ecs, "api")), STABLE + 2)
    old = describe(ecs, "api")["deployments"][0]
    # a family name resolves to its latest ACTIVE revision, answered as the revision's ARN
    upd = ecs.update_service(cluster="batch", service="api", taskDefinition="app")["service"]
    assert upd["taskDefinition"].endswith(":task-definition/app:2")
    assert upd["runningCount"] == 2 and not steady(upd)
    primary, active = upd["deployments"]
    assert primary["status"] == "PRIMARY" and primary["rolloutState"] == "IN_PROGRESS"
    assert primary["taskDefinition"].endswith("app:2") and primary["runningCount"] == 0 and primary["id"] != old["id"]
    assert active["status"] == "ACTIVE" and active["id"] == old["id"] and active["runningCount"] == 2
    assert len(describe(ecs, "api")["deployments"]) == 2
    assert wait_for(lambda: steady(describe(ecs, "api")), STABLE + 2)
    [done] = describe(ecs, "api")["deployments"]
    assert done["id"] == primary["id"] and done["rolloutState"] == "COMPLETED" and done["taskDefinition"].endswith("app:2")


def test_a_named_service_whose_tasks_fail_ends_its_deployment_failed(fresh, ecs):
    ecs.create_service(cluster="batch", serviceName="api", taskDefinition="app:1", desiredCount=2)
    assert wait_for(lambda: steady(describe(ecs, "api")), STABLE + 2)
    fresh.admin("POST", "/_emulator/strict", {"ecs_deployment_fail": ["api"]})
    ecs.update_service(cluster="batch", service="api", taskDefinition="app:2")
    time.sleep(STABLE + 0.3)
    svc = describe(ecs, "api")
    primary, active = svc["deployments"]
    assert primary["rolloutState"] == "FAILED" and primary["runningCount"] == 0 and primary["failedTasks"] > 0
    assert active["status"] == "ACTIVE" and active["runningCount"] == 2
    assert svc["runningCount"] == 2 and not steady(svc)
    # a new service of a listed name never runs a task
    fresh.admin("POST", "/_emulator/strict", {"ecs_deployment_fail": ["api", "api3"]})
    ecs.create_service(cluster="batch", serviceName="api2", taskDefinition="app:1", desiredCount=1)
    ecs.create_service(cluster="batch", serviceName="api3", taskDefinition="app:1", desiredCount=1)
    fresh.admin("POST", "/_emulator/strict", {"ecs_deployment_fail": ["api", "api2", "api3"]})
    time.sleep(STABLE + 0.3)
    assert describe(ecs, "api3")["deployments"][0]["rolloutState"] == "FAILED"
    assert describe(ecs, "api3")["runningCount"] == 0
    # the setting is read when the change starts: api2's deployment began before it named api2
    assert steady(describe(ecs, "api2"))
    # scaling up a failing service: the one deployment stays as it was, the tasks never come
    ecs.update_service(cluster="batch", service="api2", desiredCount=3)
    time.sleep(STABLE + 0.3)
    svc = describe(ecs, "api2")
    assert svc["runningCount"] == 1 and svc["deployments"][0]["rolloutState"] == "COMPLETED" and not steady(svc)
    status, body = fresh.admin("POST", "/_emulator/strict", {"ecs_deployment_fail": "api"})
    assert status == 400 and "list" in body["error"]


def test_deleting_a_service_drains_it_first(ecs):
    ecs.create_service(cluster="batch", serviceName="api", taskDefinition="app:1", desiredCount=1)
    with pytest.raises(ClientError) as e:
        ecs.create_service(cluster="batch", serviceName="api", taskDefinition="app:2", desiredCount=1)
    assert code(e) == "InvalidParameterException" and "not idempotent" in str(e.value)
    with pytest.raises(ClientError) as e:
        ecs.delete_service(cluster="batch", service="api")
    assert code(e) == "InvalidParameterException" and "scaled above 0" in str(e.value)
    ecs.update_service(cluster="batch", service="api", desiredCount=0)
    deleted = ecs.delete_service(cluster="batch", service="api")["service"]
    assert deleted["status"] == "DRAINING"
    assert describe(ecs, "api")["status"] == "DRAINING"
    assert ecs.list_services(cluster="batch")["serviceArns"] == []
    with pytest.raises(ClientError) as e:
        ecs.update_service(cluster="batch", service="api", desiredCount=1)
    assert code(e) == "ServiceNotActiveException"
    with pytest.raises(ClientError) as e:
        ecs.create_service(cluster="batch", serviceName="api", taskDefinition="app:1", desiredCount=0)
    assert code(e) == "InvalidParameterException" and "Draining" in str(e.value)
    assert wait_for(lambda: describe(ecs, "api")["status"] == "INACTIVE", STABLE + 2)
    assert describe(ecs, "api")["runningCount"] == 0
    again = ecs.create_service(cluster="batch", serviceName="api", taskDefinition="app:1", desiredCount=0)["service"]
    assert again["status"] == "ACTIVE"
    assert len(ecs.list_services(cluster="batch")["serviceArns"]) == 1


def test_force_delete_of_a_running_service_drains_its_tasks(ecs):
    ecs.create_service(cluster="batch", serviceName="api", taskDefinition="app:1", desiredCount=1)
    assert wait_for(lambda: steady(describe(ecs, "api")), STABLE + 2)
    assert ecs.delete_service(cluster="batch", service="api", force=True)["service"]["status"] == "DRAINING"
    assert wait_for(lambda: describe(ecs, "api")["status"] == "INACTIVE", STABLE + 2)


def test_zero_seconds_makes_services_stable_at_once_and_seeded_services_are_stable(fresh, ecs):
    fresh.admin("POST", "/_emulator/strict", {"ecs_service_stable_seconds": 0})
    created = ecs.create_service(cluster="batch", serviceName="api", taskDefinition="app:1", desiredCount=2)["service"]
    assert steady(created) and created["deployments"][0]["rolloutState"] == "COMPLETED"
    assert steady(ecs.update_service(cluster="batch", service="api", desiredCount=4)["service"])
    assert ecs.update_service(cluster="batch", service="api", desiredCount=0)["service"]["runningCount"] == 0
    assert ecs.delete_service(cluster="batch", service="api")["service"]["status"] == "INACTIVE"


def test_reset_forgets_deployments_in_progress(fresh, ecs):
    ecs.create_service(cluster="batch", serviceName="api", taskDefinition="app:1", desiredCount=2)
    fresh.moto_api("reset", {})
    fresh.admin("POST", "/_emulator/strict", {"ecs_service_linked_role": False})
    client = fresh.client("ecs")
    client.create_cluster(clusterName="batch")
    assert client.list_services(cluster="batch")["serviceArns"] == []


# ----------------------------------------------------------------------- ECS task definitions
def test_task_definition_families_resolve_to_their_latest_active_revision(ecs):
    ecs.register_task_definition(family="app", containerDefinitions=[
        {"name": "app", "image": "app:3", "memory": 128, "essential": True}])
    ecs.register_task_definition(family="old", containerDefinitions=[
        {"name": "old", "image": "old:1", "memory": 128, "essential": True}])
    dereg = ecs.deregister_task_definition(taskDefinition="app:3")
    assert dereg["taskDefinition"]["status"] == "INACTIVE" and dereg["taskDefinition"]["revision"] == 3
    ecs.deregister_task_definition(taskDefinition="old:1")
    td = ecs.describe_task_definition(taskDefinition="app")["taskDefinition"]
    assert td["revision"] == 2 and td["status"] == "ACTIVE"
    # a named revision is described whatever its status
    assert ecs.describe_task_definition(taskDefinition="app:3")["taskDefinition"]["status"] == "INACTIVE"
    with pytest.raises(ClientError) as e:
        ecs.describe_task_definition(taskDefinition="old")
    assert code(e) == "ClientException" and "Unable to describe task definition" in str(e.value)
    assert ecs.list_task_definition_families(status="ACTIVE")["families"] == ["app"]
    assert ecs.list_task_definition_families(status="INACTIVE")["families"] == ["old"]
    assert sorted(ecs.list_task_definition_families(status="ALL")["families"]) == ["app", "old"]
    assert sorted(ecs.list_task_definition_families()["families"]) == ["app", "old"]
    assert ecs.list_task_definition_families(status="ACTIVE", familyPrefix="o")["families"] == []
    active = ecs.list_task_definitions(familyPrefix="app", status="ACTIVE")["taskDefinitionArns"]
    assert [a.rsplit(":", 1)[1] for a in active] == ["1", "2"]
    inactive = ecs.list_task_definitions(status="INACTIVE")["taskDefinitionArns"]
    assert sorted(a.rsplit("/", 1)[1] for a in inactive) == ["app:3", "old:1"]
    # a service created from a family name runs the latest ACTIVE revision
    svc = ecs.create_service(cluster="batch", serviceName="api", taskDefinition="app", desiredCount=0)["service"]
    assert svc["taskDefinition"].endswith("app:2")


# --------------------------------------------------------------------------- CodePipeline
def test_stage_transitions_are_disabled_enabled_and_shown_in_the_pipeline_state(fresh):
    cp = fresh.client("codepipeline")
    _pipeline(cp, fresh.client("iam"))
    state = cp.get_pipeline_state(name="p1")
    assert state["pipelineName"] == "p1" and state["pipelineVersion"] == 1
    assert state["created"] and state["updated"]
    source, approve = state["stageStates"]
    assert source["stageName"] == "Source" and "inboundTransitionState" not in source
    assert approve["stageName"] == "Approve" and approve["inboundTransitionState"] == {"enabled": True}
    reason = "Moved by orgsplit to account 222222222222 (OU dev)"
    cp.disable_stage_transition(pipelineName="p1", stageName="Approve", transitionType="Inbound", reason=reason)
    held = cp.get_pipeline_state(name="p1")["stageStates"][1]["inboundTransitionState"]
    assert held["enabled"] is False and held["disabledReason"] == reason
    assert held["lastChangedBy"].startswith("arn:aws:") and held["lastChangedAt"]
    # disabling again keeps it disabled with the new reason; an Outbound hold is kept apart
    cp.disable_stage_transition(pipelineName="p1", stageName="Approve", transitionType="Inbound", reason="Again")
    cp.disable_stage_transition(pipelineName="p1", stageName="Source", transitionType="Outbound", reason="Out")
    assert cp.get_pipeline_state(name="p1")["stageStates"][1]["inboundTransitionState"]["disabledReason"] == "Again"
    cp.enable_stage_transition(pipelineName="p1", stageName="Approve", transitionType="Inbound")
    released = cp.get_pipeline_state(name="p1")["stageStates"][1]["inboundTransitionState"]
    assert released["enabled"] is True and "disabledReason" not in released and released["lastChangedAt"]


def test_stage_transition_errors(fresh):
    cp = fresh.client("codepipeline")
    _pipeline(cp, fresh.client("iam"))
    for call in (lambda: cp.get_pipeline_state(name="nope"),
                 lambda: cp.enable_stage_transition(pipelineName="nope", stageName="Approve", transitionType="Inbound"),
                 lambda: cp.disable_stage_transition(pipelineName="nope", stageName="Approve", transitionType="Inbound",
                                                     reason="r")):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "PipelineNotFoundException"
    with pytest.raises(ClientError) as e:
        cp.disable_stage_transition(pipelineName="p1", stageName="Deploy", transitionType="Inbound", reason="r")
    assert code(e) == "StageNotFoundException"
    with pytest.raises(ClientError) as e:
        cp.enable_stage_transition(pipelineName="p1", stageName="Deploy", transitionType="Inbound")
    assert code(e) == "StageNotFoundException"
    # the reason's pattern has no ':' '/' '_' ',' (DisabledReason in the service model)
    with pytest.raises(ClientError) as e:
        cp.disable_stage_transition(pipelineName="p1", stageName="Approve", transitionType="Inbound",
                                    reason="moved to account: 222222222222")
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        cp.disable_stage_transition(pipelineName="p1", stageName="Approve", transitionType="Inbound", reason="x" * 301)
    assert code(e) == "ValidationException"


def test_a_deleted_pipeline_takes_its_transitions_with_it(fresh):
    cp, iam = fresh.client("codepipeline"), fresh.client("iam")
    decl, _ = _pipeline(cp, iam)
    cp.disable_stage_transition(pipelineName="p1", stageName="Approve", transitionType="Inbound", reason="held")
    cp.delete_pipeline(name="p1")
    cp.create_pipeline(pipeline=decl)
    assert cp.get_pipeline_state(name="p1")["stageStates"][1]["inboundTransitionState"]["enabled"] is True
    cp.disable_stage_transition(pipelineName="p1", stageName="Approve", transitionType="Inbound", reason="held")
    fresh.moto_api("reset", {})
    decl, _ = _pipeline(fresh.client("codepipeline"), fresh.client("iam"))
    assert fresh.client("codepipeline").get_pipeline_state(name="p1")["stageStates"][1]["inboundTransitionState"][
        "enabled"] is True


# ------------------------------------------------------------------------------------ IAM
def _policy(iam, name="p"):
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket",
                                                               "Resource": "*"}]})
    return iam.create_policy(PolicyName=name, PolicyDocument=doc)["Policy"]["Arn"], doc


def test_a_managed_policy_in_use_or_with_versions_cannot_be_deleted(fresh):
    iam = fresh.client("iam")
    arn, doc = _policy(iam)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust)
    iam.create_user(UserName="u")
    iam.create_group(GroupName="g")
    for attach, detach in ((lambda: iam.attach_role_policy(RoleName="r", PolicyArn=arn),
                            lambda: iam.detach_role_policy(RoleName="r", PolicyArn=arn)),
                           (lambda: iam.attach_user_policy(UserName="u", PolicyArn=arn),
                            lambda: iam.detach_user_policy(UserName="u", PolicyArn=arn)),
                           (lambda: iam.attach_group_policy(GroupName="g", PolicyArn=arn),
                            lambda: iam.detach_group_policy(GroupName="g", PolicyArn=arn))):
        attach()
        with pytest.raises(ClientError) as e:
            iam.delete_policy(PolicyArn=arn)
        assert code(e) == "DeleteConflict" and status_of(e) == 409
        assert "Cannot delete a policy attached to entities" in str(e.value)
        detach()
    # a permissions boundary is a use too
    iam.put_role_permissions_boundary(RoleName="r", PermissionsBoundary=arn)
    with pytest.raises(ClientError) as e:
        iam.delete_policy(PolicyArn=arn)
    assert code(e) == "DeleteConflict"
    iam.delete_role_permissions_boundary(RoleName="r")
    # versions other than the default one must go first
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc, SetAsDefault=True)
    with pytest.raises(ClientError) as e:
        iam.delete_policy(PolicyArn=arn)
    assert code(e) == "DeleteConflict" and "more than one version" in str(e.value)
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    iam.delete_policy(PolicyArn=arn)
    assert [p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]] == []
    # the switch gives moto's own behaviour back
    fresh.admin("POST", "/_emulator/strict", {"delete_conflicts": False})
    arn, _ = _policy(iam, "q")
    iam.attach_role_policy(RoleName="r", PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)
    fresh.admin("DELETE", "/_emulator/strict")


def test_a_role_in_use_cannot_be_deleted(fresh):
    """Already moto's behaviour, kept: DeleteRole needs its policies and instance profiles gone."""
    iam = fresh.client("iam")
    arn, _ = _policy(iam)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName="r", PolicyName="inline", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    iam.attach_role_policy(RoleName="r", PolicyArn=arn)
    iam.create_instance_profile(InstanceProfileName="ip")
    iam.add_role_to_instance_profile(InstanceProfileName="ip", RoleName="r")
    for undo in (lambda: iam.delete_role_policy(RoleName="r", PolicyName="inline"),
                 lambda: iam.detach_role_policy(RoleName="r", PolicyArn=arn),
                 lambda: iam.remove_role_from_instance_profile(InstanceProfileName="ip", RoleName="r")):
        with pytest.raises(ClientError) as e:
            iam.delete_role(RoleName="r")
        assert code(e) == "DeleteConflict" and status_of(e) == 409
        undo()
    iam.delete_role(RoleName="r")


# ---------------------------------------------------------------------------- EventBridge
def test_enabling_or_disabling_a_missing_rule_is_not_found(fresh):
    events = fresh.client("events")
    for call in (events.enable_rule, events.disable_rule):
        with pytest.raises(ClientError) as e:
            call(Name="missing")
        assert code(e) == "ResourceNotFoundException"
    # deleting a rule that is not there succeeds (DeleteRule has no ResourceNotFoundException)
    events.delete_rule(Name="missing")
    events.put_rule(Name="nightly", ScheduleExpression="cron(0 3 * * ? *)")
    events.put_targets(Rule="nightly", Targets=[{"Id": "1", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}])
    with pytest.raises(ClientError) as e:
        events.delete_rule(Name="nightly")
    assert code(e) == "ValidationException" and "targets" in str(e.value)
    events.disable_rule(Name="nightly")
    assert events.describe_rule(Name="nightly")["State"] == "DISABLED"
    events.remove_targets(Rule="nightly", Ids=["1"])
    events.delete_rule(Name="nightly")


# ------------------------------------------------------------------------------ Scheduler
def test_a_schedule_without_state_is_enabled(fresh):
    sch = fresh.client("scheduler")
    target = {"Arn": "arn:aws:sqs:us-east-1:123456789012:q", "RoleArn": "arn:aws:iam::123456789012:role/r"}
    sch.create_schedule(Name="hourly", ScheduleExpression="rate(1 hour)", Target=target,
                        FlexibleTimeWindow={"Mode": "OFF"})
    assert sch.get_schedule(Name="hourly")["State"] == "ENABLED"
    sch.update_schedule(Name="hourly", ScheduleExpression="rate(1 hour)", Target=target,
                        FlexibleTimeWindow={"Mode": "OFF"}, State="DISABLED")
    assert sch.get_schedule(Name="hourly")["State"] == "DISABLED"
    # UpdateSchedule replaces every member: State left out is the system default, ENABLED
    sch.update_schedule(Name="hourly", ScheduleExpression="rate(1 hour)", Target=target,
                        FlexibleTimeWindow={"Mode": "OFF"})
    assert sch.get_schedule(Name="hourly")["State"] == "ENABLED"
    assert [s["Name"] for s in sch.list_schedules(State="ENABLED")["Schedules"]] == ["hourly"]


# ------------------------------------------------------------------------ Secrets Manager
def test_secret_deletion_rules(fresh):
    sm = fresh.client("secretsmanager")
    sm.create_secret(Name="prod/db", SecretString="pw", AddReplicaRegions=[{"Region": "eu-west-1"}])["ARN"]
    with pytest.raises(ClientError) as e:
        sm.delete_secret(SecretId="prod/db", RecoveryWindowInDays=7)
    assert code(e) == "InvalidParameterException" and "replica regions" in str(e.value)
    with pytest.raises(ClientError) as e:
        fresh.client("secretsmanager", region="eu-west-1").delete_secret(SecretId="prod/db", RecoveryWindowInDays=7)
    assert code(e) == "InvalidParameterException" and "replica" in str(e.value)
    sm.remove_regions_from_replication(SecretId="prod/db", RemoveReplicaRegions=["eu-west-1"])
    for days in (6, 31):
        with pytest.raises(ClientError) as e:
            sm.delete_secret(SecretId="prod/db", RecoveryWindowInDays=days)
        assert code(e) == "InvalidParameterException" and "between 7 and 30" in str(e.value)
    deleted = sm.delete_secret(SecretId="prod/db", RecoveryWindowInDays=7)
    assert deleted["DeletionDate"]
    assert sm.describe_secret(SecretId="prod/db")["DeletedDate"]
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId="prod/db")
    assert code(e) == "InvalidRequestException"
    sm.restore_secret(SecretId="prod/db")
    assert sm.get_secret_value(SecretId="prod/db")["SecretString"] == "pw"


# ------------------------------------------------------------------------------------ S3
def test_a_versioned_bucket_with_versions_or_delete_markers_is_not_empty(fresh):
    s3 = fresh.client("s3")
    s3.create_bucket(Bucket="acme-prod-artifacts")
    s3.put_bucket_versioning(Bucket="acme-prod-artifacts", VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket="acme-prod-artifacts", Key="k", Body=b"1")["VersionId"]
    v2 = s3.put_object(Bucket="acme-prod-artifacts", Key="k", Body=b"2")["VersionId"]
    marker = s3.delete_object(Bucket="acme-prod-artifacts", Key="k")["VersionId"]
    assert s3.list_objects_v2(Bucket="acme-prod-artifacts")["KeyCount"] == 0
    for version in (v1, v2, marker):
        with pytest.raises(ClientError) as e:
            s3.delete_bucket(Bucket="acme-prod-artifacts")
        assert code(e) == "BucketNotEmpty" and status_of(e) == 409
        s3.delete_object(Bucket="acme-prod-artifacts", Key="k", VersionId=version)
    s3.delete_bucket(Bucket="acme-prod-artifacts")
    assert "acme-prod-artifacts" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
