"""CloudFormation's trusted access with Organizations, which moto 5.2.5 does not implement:
ActivateOrganizationsAccess, DeactivateOrganizationsAccess, DescribeOrganizationsAccess
(query protocol, XML), per management account.

https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ActivateOrganizationsAccess.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeOrganizationsAccess.html
"""
from __future__ import annotations

import threading
import uuid

OPERATIONS = ("ActivateOrganizationsAccess", "DeactivateOrganizationsAccess", "DescribeOrganizationsAccess")
_NS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"


class OrganizationsAccess:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.enabled: set[str] = set()

    def reset(self) -> None:
        with self.lock:
            self.enabled.clear()

    def handle(self, ctx: dict) -> tuple[int, list[tuple[str, str]], bytes]:
        op, account = ctx["operation"], ctx["account"]
        with self.lock:
            if op == "ActivateOrganizationsAccess":
                self.enabled.add(account)
                _enable_trusted_access(account)
                result = ""
            elif op == "DeactivateOrganizationsAccess":
                self.enabled.discard(account)
                result = ""
            else:
                status = "ENABLED" if account in self.enabled else "DISABLED"
                result = f"<Status>{status}</Status>"
        body = (
            f'<{op}Response xmlns="{_NS}"><{op}Result>{result}</{op}Result>'
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{op}Response>"
        )
        return 200, [("Content-Type", "text/xml")], body.encode()


STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"


def _enable_trusted_access(account: str) -> None:
    """ActivateOrganizationsAccess enables StackSets' trusted access in Organizations too, as the
    console's "Activate trusted access" does (ListAWSServiceAccessForOrganization lists it)."""
    from moto.organizations.models import organizations_backends

    try:
        organizations_backends[account]["aws"].enable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)
    except Exception:  # no organization: CloudFormation's flag alone
        pass


# ---------------------------------------------------------------------------------------------
# DeleteStackInstances with DeploymentTargets: moto ignores them (it deletes nothing and reports
# SUCCEEDED). AWS requires them for SERVICE_MANAGED StackSets and honours AccountFilterType
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html):
# NONE (or absent): every account of the OUs (and their child OUs); INTERSECTION: the listed
# accounts only (see below); DIFFERENCE: the OUs' accounts but the listed ones; UNION: both.

def members(form: dict[str, str], prefix: str) -> list[str]:
    """The values of a query-protocol list (`PREFIX.member.N`), in N order."""
    found = []
    for k, v in form.items():
        if k.startswith(prefix + ".member."):
            tail = k[len(prefix) + len(".member."):]
            if tail.isdigit():
                found.append((int(tail), v))
    return [v for _, v in sorted(found)]


def _ou_accounts(backend, ou_id: str) -> set[str]:
    out = {a.id for a in backend.accounts if a.parent_id == ou_id}
    for child in [o for o in backend.ou if getattr(o, "parent_id", None) == ou_id]:
        out |= _ou_accounts(backend, child.id)
    return out


def _targeted_accounts(org, form: dict[str, str]) -> tuple[list[str], set[str]]:
    """The OUs a request targets, and the accounts AccountFilterType picks."""
    ous = members(form, "DeploymentTargets.OrganizationalUnitIds")
    listed = set(members(form, "DeploymentTargets.Accounts"))
    in_ous: set[str] = set()
    for ou in ous:
        in_ous |= _ou_accounts(org, ou)
    mode = form.get("DeploymentTargets.AccountFilterType", "NONE")
    accounts = {"INTERSECTION": in_ous & listed, "DIFFERENCE": in_ous - listed,
                "UNION": in_ous | listed}.get(mode, in_ous if ous else listed)
    return ous, accounts


def create_instances_by_targets(ctx: dict, form: dict[str, str]):
    """Serves a CreateStackInstances that names OU DeploymentTargets: moto deploys to every
    account of the OUs whatever AccountFilterType says; AWS deploys to the accounts the filter
    picks (INTERSECTION: the listed accounts of the OUs; DIFFERENCE: the OUs' accounts but the
    listed ones; UNION: both; NONE: the OUs' accounts). None when no OU is named."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.organizations.models import organizations_backends

    if not members(form, "DeploymentTargets.OrganizationalUnitIds"):
        return None
    org = organizations_backends[ctx["account"]]["aws"]
    _, accounts = _targeted_accounts(org, form)
    regions = members(form, "Regions")
    backend = cloudformation_backends[ctx["account"]][ctx["region"]]
    stackset = backend.describe_stack_set(form.get("StackSetName", ""))
    # No OU left for moto to expand: exactly the accounts picked.
    operation_id = stackset.create_stack_instances(
        accounts=sorted(accounts), regions=regions, deployment_targets={"OrganizationalUnitIds": []}, parameters=[])
    body = (
        f'<CreateStackInstancesResponse xmlns="{_NS}"><CreateStackInstancesResult>'
        f"<OperationId>{operation_id}</OperationId></CreateStackInstancesResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></CreateStackInstancesResponse>"
    )
    return 200, [("Content-Type", "text/xml")], body.encode()


def delete_instances_by_targets(ctx: dict, form: dict[str, str]):
    """Serves a DeleteStackInstances that names DeploymentTargets; None when it names none
    (moto's own handler then takes the account-id form)."""
    ous = members(form, "DeploymentTargets.OrganizationalUnitIds")
    listed = members(form, "DeploymentTargets.Accounts")
    if not ous and not listed:
        return None
    from moto.cloudformation.models import cloudformation_backends
    from moto.organizations.models import organizations_backends

    org = organizations_backends[ctx["account"]]["aws"]
    in_ous: set[str] = set()
    for ou in ous:
        in_ous |= _ou_accounts(org, ou)
    mode = form.get("DeploymentTargets.AccountFilterType", "NONE")
    # INTERSECTION: AWS matches an instance against the OU it was deployed through, even after
    # its account moved to another OU; moto does not record that OU, so the listed accounts
    # count whatever their parent is now.
    accounts = {"INTERSECTION": set(listed), "DIFFERENCE": in_ous - set(listed),
                "UNION": in_ous | set(listed)}.get(mode, in_ous if ous else set(listed))
    regions = members(form, "Regions")
    backend = cloudformation_backends[ctx["account"]][ctx["region"]]
    stackset = backend.describe_stack_set(form.get("StackSetName", ""))
    stackset.delete_stack_instances(sorted(accounts), regions)
    operation_id = stackset.operations[-1]["OperationId"]
    body = (
        f'<DeleteStackInstancesResponse xmlns="{_NS}"><DeleteStackInstancesResult>'
        f"<OperationId>{operation_id}</OperationId></DeleteStackInstancesResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></DeleteStackInstancesResponse>"
    )
    return 200, [("Content-Type", "text/xml")], body.encode()
