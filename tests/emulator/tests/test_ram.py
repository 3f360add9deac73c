"""AWS RAM shares of CodeConnections connections (orgsplit_emulator/ram.py): who may share what
with whom, and an association that reaches the account it names only after it propagates
(strict setting `ram_share_propagation_seconds`)."""
import json
import time

import pytest
from botocore.exceptions import ClientError


def wait_associated(ram, share, principal, limit=10.0):
    """Polls GetResourceShareAssociations until the principal's association is ASSOCIATED, as a
    real client must (it is ASSOCIATING for a while after the share was made)."""
    deadline = time.monotonic() + limit
    while True:
        got = ram.get_resource_share_associations(associationType="PRINCIPAL", resourceShareArns=[share],
                                                  principal=principal)["resourceShareAssociations"]
        if [a["status"] for a in got] == ["ASSOCIATED"]:
            return
        assert time.monotonic() < deadline, got
        time.sleep(0.1)


def pipeline_declaration(member, connection):
    return {"name": "p", "roleArn": f"arn:aws:iam::{member}:role/cp",
            "artifactStore": {"type": "S3", "location": "member-artifacts"},
            "stages": [{"name": "Source", "actions": [{"name": "S", "actionTypeId": {
                "category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                "configuration": {"ConnectionArn": connection, "FullRepositoryId": "o/r", "BranchName": "main"},
                "outputArtifacts": [{"name": "src"}]}]},
                {"name": "Deploy", "actions": [{"name": "D", "actionTypeId": {
                    "category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"BucketName": "member-artifacts", "Extract": "true"},
                    "inputArtifacts": [{"name": "src"}]}]}]}


def test_ram_shares_codeconnections_within_the_organization(fresh):
    org = fresh.client("organizations")
    org.create_organization(FeatureSet="ALL")
    member = fresh.create_account("member@example.com", "member")["AccountId"]
    other = fresh.create_account("other@example.com", "other")["AccountId"]
    cc = fresh.client("codeconnections")
    new = cc.create_connection(ProviderType="GitHub", ConnectionName="org-github")["ConnectionArn"]
    old = fresh.client("codestar-connections").create_connection(ProviderType="GitHub", ConnectionName="old")["ConnectionArn"]
    ram = fresh.client("ram")
    m_creds = fresh.assume(member)
    m_cc = fresh.client("codeconnections", creds=m_creds, region="eu-west-1")
    # not shared: the member cannot see it
    with pytest.raises(ClientError) as e:
        m_cc.get_connection(ConnectionArn=new)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # sharing with the organization is off: refused
    with pytest.raises(ClientError) as e:
        ram.create_resource_share(name="s", resourceArns=[new], principals=[member], allowExternalPrincipals=False)
    assert e.value.response["Error"]["Code"] == "OperationNotPermittedException"
    # only the management account enables it
    with pytest.raises(ClientError) as e:
        fresh.client("ram", creds=m_creds).enable_sharing_with_aws_organization()
    assert e.value.response["Error"]["Code"] == "OperationNotPermittedException"
    assert ram.enable_sharing_with_aws_organization()["returnValue"] is True
    assert "ram.amazonaws.com" in [s["ServicePrincipal"] for s in org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]]
    # codestar-connections ARNs cannot be shared; outsiders cannot be principals
    with pytest.raises(ClientError) as e:
        ram.create_resource_share(name="s", resourceArns=[old], principals=[member], allowExternalPrincipals=False)
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        ram.create_resource_share(name="s", resourceArns=[new], principals=["999999999999"], allowExternalPrincipals=False)
    assert e.value.response["Error"]["Code"] == "OperationNotPermittedException"
    share = ram.create_resource_share(name="s", resourceArns=[new], principals=[member],
                                      allowExternalPrincipals=False)["resourceShare"]["resourceShareArn"]
    wait_associated(ram, share, member)
    assert m_cc.get_connection(ConnectionArn=new)["Connection"]["ConnectionName"] == "org-github"
    assert m_cc.list_connections()["Connections"] == []
    m_ram = fresh.client("ram", creds=m_creds)
    assert [r["arn"] for r in m_ram.list_resources(resourceOwner="OTHER-ACCOUNTS")["resources"]] == [new]
    assert [s["name"] for s in m_ram.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"]] == ["s"]
    # the other account is not a principal until associated
    o_cc = fresh.client("codeconnections", creds=fresh.assume(other))
    with pytest.raises(ClientError):
        o_cc.get_connection(ConnectionArn=new)
    ram.associate_resource_share(resourceShareArn=share, principals=[other])
    wait_associated(ram, share, other)
    assert o_cc.get_connection(ConnectionArn=new)["Connection"]["ConnectionArn"] == new
    got = ram.get_resource_share_associations(associationType="PRINCIPAL", resourceShareArns=[share])
    assert sorted(a["associatedEntity"] for a in got["resourceShareAssociations"]) == sorted([member, other])
    # only the owner shares it; the member cannot re-share
    with pytest.raises(ClientError) as e:
        m_ram.create_resource_share(name="x", resourceArns=[new], principals=[other], allowExternalPrincipals=False)
    assert e.value.response["Error"]["Code"] == "OperationNotPermittedException"
    ram.disassociate_resource_share(resourceShareArn=share, principals=[other])
    with pytest.raises(ClientError):
        o_cc.get_connection(ConnectionArn=new)


def test_pipelines_use_only_own_or_shared_connections(fresh):
    """A pipeline may name a connection of its account or one shared with it, and a share is
    usable only once its association has propagated."""
    org = fresh.client("organizations")
    org.create_organization(FeatureSet="ALL")
    member = fresh.create_account("member@example.com", "member")["AccountId"]
    new = fresh.client("codeconnections").create_connection(ProviderType="GitHub", ConnectionName="g")["ConnectionArn"]
    creds = fresh.assume(member)
    iam = fresh.client("iam", creds=creds)
    iam.create_role(RoleName="cp", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    fresh.client("s3", creds=creds).create_bucket(Bucket="member-artifacts")
    decl = pipeline_declaration(member, new)
    cp = fresh.client("codepipeline", creds=creds)
    time.sleep(2.1)  # the strict emulator's IAM propagation delay for the new role
    with pytest.raises(ClientError) as e:
        cp.create_pipeline(pipeline=decl)
    assert e.value.response["Error"]["Code"] == "InvalidActionDeclarationException", e.value.response["Error"]
    ram = fresh.client("ram")
    ram.enable_sharing_with_aws_organization()
    share = ram.create_resource_share(name="s", resourceArns=[new], principals=[member],
                                      allowExternalPrincipals=False)["resourceShare"]["resourceShareArn"]
    # Shared, but not yet propagated: refused as if unshared.
    with pytest.raises(ClientError) as e:
        cp.create_pipeline(pipeline=decl)
    assert e.value.response["Error"]["Code"] == "InvalidActionDeclarationException", e.value.response["Error"]
    wait_associated(ram, share, member)
    assert cp.create_pipeline(pipeline=decl)["pipeline"]["name"] == "p"


@pytest.fixture
def shared(fresh):
    """A member account, and two codeconnections connections of the management account with
    sharing with the organization enabled."""
    fresh.client("organizations").create_organization(FeatureSet="ALL")
    fresh.member = fresh.create_account("member@example.com", "member")["AccountId"]
    cc = fresh.client("codeconnections")
    fresh.conns = [cc.create_connection(ProviderType="GitHub", ConnectionName=f"g{i}")["ConnectionArn"] for i in (1, 2)]
    fresh.client("ram").enable_sharing_with_aws_organization()
    fresh.m_creds = fresh.assume(fresh.member)
    yield fresh
    fresh.admin("DELETE", "/_emulator/strict")


def test_a_new_association_is_associating_and_unusable_until_it_propagates(shared):
    ram, member, (first, second) = shared.client("ram"), shared.member, shared.conns
    m_cc = shared.client("codeconnections", creds=shared.m_creds)
    m_ram = shared.client("ram", creds=shared.m_creds)
    t0 = time.monotonic()
    out = ram.create_resource_share(name="s", resourceArns=[first], principals=[member], allowExternalPrincipals=False)
    share = out["resourceShare"]["resourceShareArn"]
    got = ram.get_resource_share_associations(associationType="PRINCIPAL", resourceShareArns=[share])
    assert [(a["associatedEntity"], a["status"]) for a in got["resourceShareAssociations"]] == [(member, "ASSOCIATING")]
    got = ram.get_resource_share_associations(associationType="PRINCIPAL", associationStatus="ASSOCIATED")
    assert got["resourceShareAssociations"] == []
    # The member is refused as for an unshared connection, and does not see the share yet.
    with pytest.raises(ClientError) as e:
        m_cc.get_connection(ConnectionArn=first)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert m_ram.list_resources(resourceOwner="OTHER-ACCOUNTS")["resources"] == []
    assert m_ram.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"] == []
    wait_associated(ram, share, member)
    assert time.monotonic() - t0 >= 1.9  # ram_share_propagation_seconds, 2 by default
    assert m_cc.get_connection(ConnectionArn=first)["Connection"]["ConnectionArn"] == first
    assert [r["arn"] for r in m_ram.list_resources(resourceOwner="OTHER-ACCOUNTS")["resources"]] == [first]
    # A resource added to the share propagates too: the member reads it only once ASSOCIATED.
    added = ram.associate_resource_share(resourceShareArn=share, resourceArns=[second])["resourceShareAssociations"]
    assert [(a["associatedEntity"], a["status"]) for a in added] == [(second, "ASSOCIATING")]
    with pytest.raises(ClientError):
        m_cc.get_connection(ConnectionArn=second)
    assert m_cc.get_connection(ConnectionArn=first)["Connection"]["ConnectionArn"] == first
    deadline = time.monotonic() + 10
    while ram.get_resource_share_associations(associationType="RESOURCE", resourceArn=second)[
            "resourceShareAssociations"][0]["status"] != "ASSOCIATED":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert m_cc.get_connection(ConnectionArn=second)["Connection"]["ConnectionArn"] == second


def test_without_propagation_delay_a_share_is_usable_at_once(shared):
    shared.admin("POST", "/_emulator/strict", {"ram_share_propagation_seconds": 0})
    ram, member, (first, _) = shared.client("ram"), shared.member, shared.conns
    share = ram.create_resource_share(name="s", resourceArns=[first], principals=[member],
                                      allowExternalPrincipals=False)["resourceShare"]["resourceShareArn"]
    got = ram.get_resource_share_associations(associationType="PRINCIPAL", resourceShareArns=[share])
    assert [a["status"] for a in got["resourceShareAssociations"]] == ["ASSOCIATED"]
    m_cc = shared.client("codeconnections", creds=shared.m_creds)
    assert m_cc.get_connection(ConnectionArn=first)["Connection"]["ConnectionArn"] == first
