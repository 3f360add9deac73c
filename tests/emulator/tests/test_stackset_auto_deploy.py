"""StackSet automatic deployment: an account joining (leaving) an OU a SERVICE_MANAGED StackSet
with AutoDeployment targets gets (loses) its instances through a StackSet operation that takes
time and holds the StackSet meanwhile (orgsplit_emulator/stackset_auto_deploy.py)."""
import json
import time

import pytest
from botocore.exceptions import ClientError

TEMPLATE = json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "baseline"}}}})
REGIONS = ["us-east-1", "eu-west-1"]


def code(exc_info):
    return exc_info.value.response["Error"]["Code"]


@pytest.fixture
def org(fresh):
    """An organization with OU `dev` holding one account, OU `prod` empty, and one account left
    at the root; StackSets deploy to `dev` with OU targets."""
    o = fresh.client("organizations")
    o.create_organization(FeatureSet="ALL")
    root = o.list_roots()["Roots"][0]["Id"]
    dev = o.create_organizational_unit(ParentId=root, Name="dev")["OrganizationalUnit"]["Id"]
    prod = o.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]["Id"]
    first = fresh.create_account("aws+dev0@example.com", "dev-0")["AccountId"]
    o.move_account(AccountId=first, SourceParentId=root, DestinationParentId=dev)
    newcomer = fresh.create_account("aws+dev1@example.com", "dev-1")["AccountId"]
    fresh.client("cloudformation").activate_organizations_access()
    fresh.ids = {"root": root, "dev": dev, "prod": prod, "first": first, "newcomer": newcomer}
    yield fresh
    fresh.admin("DELETE", "/_emulator/strict")


def stackset(emu, name, auto=None, targets=None):
    """A SERVICE_MANAGED StackSet deployed to the `dev` OU in REGIONS (or `targets`)."""
    cfn = emu.client("cloudformation")
    kw = {"AutoDeployment": auto} if auto is not None else {}
    cfn.create_stack_set(StackSetName=name, TemplateBody=TEMPLATE, PermissionModel="SERVICE_MANAGED", **kw)
    cfn.create_stack_instances(StackSetName=name, Regions=REGIONS,
                               DeploymentTargets=targets or {"OrganizationalUnitIds": [emu.ids["dev"]]})
    return cfn


def instances(cfn, name):
    return sorted((s["Account"], s["Region"]) for s in cfn.list_stack_instances(StackSetName=name)["Summaries"])


def operations(cfn, name):
    return cfn.list_stack_set_operations(StackSetName=name)["Summaries"]


def wait_operation(cfn, name, op_id, limit=10.0):
    deadline = time.monotonic() + limit
    while True:
        got = cfn.describe_stack_set_operation(StackSetName=name, OperationId=op_id)["StackSetOperation"]
        if got["Status"] not in ("RUNNING", "QUEUED") or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def move(emu, account, source, destination):
    emu.client("organizations").move_account(AccountId=account, SourceParentId=emu.ids[source],
                                             DestinationParentId=emu.ids[destination])


def test_auto_deployment_is_stored_and_described(org):
    """moto drops AutoDeployment; AWS answers it in DescribeStackSet and ListStackSets."""
    cfn = org.client("cloudformation")
    cfn.create_stack_set(StackSetName="orgsplit-auto", TemplateBody=TEMPLATE, PermissionModel="SERVICE_MANAGED",
                         AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False})
    want = {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert cfn.describe_stack_set(StackSetName="orgsplit-auto")["StackSet"]["AutoDeployment"] == want
    assert [s["AutoDeployment"] for s in cfn.list_stack_sets()["Summaries"]] == [want]
    cfn.update_stack_set(StackSetName="orgsplit-auto", TemplateBody=TEMPLATE,
                         AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": True})
    assert cfn.describe_stack_set(StackSetName="orgsplit-auto")["StackSet"]["AutoDeployment"] == {
        "Enabled": True, "RetainStacksOnAccountRemoval": True}
    # An update that does not name AutoDeployment leaves it as it was.
    cfn.update_stack_set(StackSetName="orgsplit-auto", TemplateBody=TEMPLATE, Description="again")
    assert cfn.describe_stack_set(StackSetName="orgsplit-auto")["StackSet"]["AutoDeployment"]["Enabled"] is True
    cfn.create_stack_set(StackSetName="orgsplit-plain", TemplateBody=TEMPLATE, PermissionModel="SERVICE_MANAGED")
    assert "AutoDeployment" not in cfn.describe_stack_set(StackSetName="orgsplit-plain")["StackSet"]


def test_an_account_moved_into_a_target_ou_is_deployed_by_an_operation_that_holds_the_stackset(org):
    cfn = stackset(org, "orgsplit-baseline-dev", {"Enabled": True, "RetainStacksOnAccountRemoval": False},
                   # orgsplit's form: the OU with one account, INTERSECTION. Auto-deployment
                   # ignores account filters: the whole OU is a target from now on.
                   {"OrganizationalUnitIds": [org.ids["dev"]], "Accounts": [org.ids["first"]],
                    "AccountFilterType": "INTERSECTION"})
    first, newcomer = org.ids["first"], org.ids["newcomer"]
    assert instances(cfn, "orgsplit-baseline-dev") == sorted((first, r) for r in REGIONS)
    before = {o["OperationId"] for o in operations(cfn, "orgsplit-baseline-dev")}
    move(org, newcomer, "root", "dev")
    auto = [o for o in operations(cfn, "orgsplit-baseline-dev") if o["OperationId"] not in before]
    assert [(o["Action"], o["Status"]) for o in auto] == [("CREATE", "RUNNING")]
    op_id = auto[0]["OperationId"]
    running = cfn.describe_stack_set_operation(StackSetName="orgsplit-baseline-dev", OperationId=op_id)
    assert running["StackSetOperation"]["Status"] == "RUNNING"
    assert "EndTimestamp" not in running["StackSetOperation"]
    results = cfn.list_stack_set_operation_results(StackSetName="orgsplit-baseline-dev", OperationId=op_id)
    assert sorted((r["Account"], r["Region"], r["Status"]) for r in results["Summaries"]) == sorted(
        (newcomer, r, "RUNNING") for r in REGIONS)
    # Not there yet; and every other operation on the StackSet is refused meanwhile.
    assert newcomer not in {a for a, _ in instances(cfn, "orgsplit-baseline-dev")}
    for call in (lambda: cfn.create_stack_instances(StackSetName="orgsplit-baseline-dev", Regions=["us-east-1"],
                                                    DeploymentTargets={"OrganizationalUnitIds": [org.ids["dev"]]}),
                 lambda: cfn.update_stack_set(StackSetName="orgsplit-baseline-dev", TemplateBody=TEMPLATE),
                 lambda: cfn.delete_stack_instances(StackSetName="orgsplit-baseline-dev", Regions=["us-east-1"],
                                                    RetainStacks=False,
                                                    DeploymentTargets={"OrganizationalUnitIds": [org.ids["dev"]]}),
                 lambda: cfn.delete_stack_set(StackSetName="orgsplit-baseline-dev")):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "OperationInProgressException"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
        assert "Another Operation on StackSet arn:aws:cloudformation:us-east-1:" in e.value.response["Error"]["Message"]
    _, log = org.admin("GET", "/_emulator/requests")
    assert log[-1]["refused"] == "stackset_auto_deployment"
    # After the delay: SUCCEEDED, and the newcomer has an instance in each Region.
    done = wait_operation(cfn, "orgsplit-baseline-dev", op_id)
    assert done["Status"] == "SUCCEEDED" and done["EndTimestamp"] >= done["CreationTimestamp"]
    assert instances(cfn, "orgsplit-baseline-dev") == sorted((a, r) for a in (first, newcomer) for r in REGIONS)
    member_sns = org.client("sns", creds=org.assume(newcomer))
    assert any(t["TopicArn"].endswith(":baseline") for t in member_sns.list_topics()["Topics"])
    # The StackSet is free again.
    cfn.update_stack_set(StackSetName="orgsplit-baseline-dev", TemplateBody=TEMPLATE)


def test_a_stackset_without_auto_deployment_does_nothing_on_join(org):
    cfn = stackset(org, "orgsplit-manual")
    cfn2 = stackset(org, "orgsplit-disabled", {"Enabled": False})
    counts = {n: len(operations(c, n)) for n, c in (("orgsplit-manual", cfn), ("orgsplit-disabled", cfn2))}
    move(org, org.ids["newcomer"], "root", "dev")
    for name in counts:
        assert len(operations(cfn, name)) == counts[name]
        assert {a for a, _ in instances(cfn, name)} == {org.ids["first"]}
        cfn.update_stack_set(StackSetName=name, TemplateBody=TEMPLATE)  # not held


def test_a_child_ou_of_a_target_counts_and_moves_between_targets_queue(org):
    o = org.client("organizations")
    team = o.create_organizational_unit(ParentId=org.ids["dev"], Name="team")["OrganizationalUnit"]["Id"]
    org.ids["team"] = team
    cfn = stackset(org, "orgsplit-nested", {"Enabled": True, "RetainStacksOnAccountRemoval": False})
    move(org, org.ids["newcomer"], "root", "team")
    ops = [o for o in operations(cfn, "orgsplit-nested") if o["Status"] != "SUCCEEDED"]
    assert [(o["Action"], o["Status"]) for o in ops] == [("CREATE", "RUNNING")]
    # Moving within the target (team -> dev) is no join nor leave.
    time.sleep(0.1)
    move(org, org.ids["newcomer"], "team", "dev")
    assert len([o for o in operations(cfn, "orgsplit-nested") if o["Status"] != "SUCCEEDED"]) == 1
    # Leaving while the create still runs: the delete is QUEUED behind it, then runs.
    move(org, org.ids["newcomer"], "dev", "prod")
    ops = [o for o in operations(cfn, "orgsplit-nested") if o["Status"] != "SUCCEEDED"]
    assert [(o["Action"], o["Status"]) for o in ops] == [("CREATE", "RUNNING"), ("DELETE", "QUEUED")]
    last = wait_operation(cfn, "orgsplit-nested", ops[1]["OperationId"], limit=15)
    assert last["Status"] == "SUCCEEDED"
    assert {a for a, _ in instances(cfn, "orgsplit-nested")} == {org.ids["first"]}


def test_a_move_between_target_ous_deletes_first_and_queues_the_create(org):
    """StackSet1 targets OU1, StackSet2 OU2: moving an account from OU1 to OU2 "runs a delete
    operation ... and queues a create operation" (User Guide, automatic deployments)."""
    auto = {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    cfn = stackset(org, "orgsplit-baseline-dev", auto)
    stackset(org, "orgsplit-baseline-prod", auto, {"OrganizationalUnitIds": [org.ids["prod"]]})
    move(org, org.ids["first"], "dev", "prod")
    dev = operations(cfn, "orgsplit-baseline-dev")[-1]
    prod = operations(cfn, "orgsplit-baseline-prod")[-1]
    assert (dev["Action"], dev["Status"], prod["Action"], prod["Status"]) == ("DELETE", "RUNNING", "CREATE", "QUEUED")
    with pytest.raises(ClientError) as e:  # a queued operation holds its StackSet too
        cfn.update_stack_set(StackSetName="orgsplit-baseline-prod", TemplateBody=TEMPLATE)
    assert code(e) == "OperationInProgressException"
    assert wait_operation(cfn, "orgsplit-baseline-dev", dev["OperationId"])["Status"] == "SUCCEEDED"
    assert cfn.describe_stack_set_operation(StackSetName="orgsplit-baseline-prod", OperationId=prod["OperationId"])[
        "StackSetOperation"]["Status"] in ("RUNNING", "SUCCEEDED")
    created = wait_operation(cfn, "orgsplit-baseline-prod", prod["OperationId"])
    assert created["Status"] == "SUCCEEDED"
    ended = cfn.describe_stack_set_operation(StackSetName="orgsplit-baseline-dev", OperationId=dev["OperationId"])
    assert created["EndTimestamp"] > ended["StackSetOperation"]["EndTimestamp"]
    assert instances(cfn, "orgsplit-baseline-dev") == []
    assert instances(cfn, "orgsplit-baseline-prod") == sorted((org.ids["first"], r) for r in REGIONS)


@pytest.mark.parametrize("retain", [False, True])
def test_leaving_the_target_ou_deletes_unless_retained(org, retain):
    org.admin("POST", "/_emulator/strict", {"stackset_auto_deployment_seconds": 0})
    name = "orgsplit-retain" if retain else "orgsplit-delete"
    cfn = stackset(org, name, {"Enabled": True, "RetainStacksOnAccountRemoval": retain})
    first = org.ids["first"]
    member_sns = org.client("sns", creds=org.assume(first))
    assert any(t["TopicArn"].endswith(":baseline") for t in member_sns.list_topics()["Topics"])
    move(org, first, "dev", "prod")
    ops = operations(cfn, name)
    assert (ops[-1]["Action"], ops[-1]["Status"]) == ("DELETE", "SUCCEEDED")  # instant at 0 s
    # The instances leave the StackSet either way; with retain the stack's resources stay.
    assert instances(cfn, name) == []
    kept = any(t["TopicArn"].endswith(":baseline") for t in member_sns.list_topics()["Topics"])
    assert kept is retain


def test_a_deleted_ou_target_is_forgotten(org):
    org.admin("POST", "/_emulator/strict", {"stackset_auto_deployment_seconds": 0})
    cfn = stackset(org, "orgsplit-forget", {"Enabled": True, "RetainStacksOnAccountRemoval": False})
    cfn.delete_stack_instances(StackSetName="orgsplit-forget", Regions=REGIONS, RetainStacks=False,
                               DeploymentTargets={"OrganizationalUnitIds": [org.ids["dev"]]})
    count = len(operations(cfn, "orgsplit-forget"))
    move(org, org.ids["newcomer"], "root", "dev")
    assert len(operations(cfn, "orgsplit-forget")) == count
    assert instances(cfn, "orgsplit-forget") == []


def test_reset_clears_auto_deployments(org):
    cfn = stackset(org, "orgsplit-reset", {"Enabled": True, "RetainStacksOnAccountRemoval": False})
    move(org, org.ids["newcomer"], "root", "dev")
    assert operations(cfn, "orgsplit-reset")[-1]["Status"] == "RUNNING"
    org.moto_api("reset", {})
    _, state = org.admin("GET", "/_emulator/strict")
    assert state["stackset_auto_deployment_seconds"] == 2.0
    # A fresh organization and StackSet of the same name: nothing held, nothing pending.
    org.admin("POST", "/_emulator/strict", {"org_concurrent_modification": 0})
    o = org.client("organizations")
    o.create_organization(FeatureSet="ALL")
    cfn.create_stack_set(StackSetName="orgsplit-reset", TemplateBody=TEMPLATE, PermissionModel="SERVICE_MANAGED")
    assert operations(cfn, "orgsplit-reset") == []
    cfn.update_stack_set(StackSetName="orgsplit-reset", TemplateBody=TEMPLATE)
