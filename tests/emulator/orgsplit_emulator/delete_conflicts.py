"""Deletes AWS refuses while the resource is still in use, and moto 5.2.5 carries out
(strict setting `delete_conflicts`, on by default; every client but the seeder).

IAM DeletePolicy: "Before you can delete a managed policy, you must first detach the policy from
all users, groups, and roles that it is attached to. In addition, you must delete all the
policy's versions ... You cannot use DeletePolicyVersion to delete the version that is marked as
the default version" (https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicy.html);
the error is DeleteConflict, HTTP 409 (service model). AWS's messages: "Cannot delete a policy
attached to entities." and "This policy has more than one version. Before you delete a policy,
you must delete the policy's versions. The default version is deleted with the policy." (as
quoted in terraform-provider-aws#13901 and rebuy-de/aws-nuke#1). A policy set as a role's
permissions boundary is refused too (the console refuses it; reported in
gruntwork-io/cloud-nuke#972); AWS's message for that case is not documented, the first one is
used. moto deletes the policy in every case.

Already moto's and matching AWS (kept, tested in tests/test_cutover_gaps.py, nothing here):
DeleteRole with inline or attached policies or instance profiles (DeleteConflict); Secrets
Manager DeleteSecret of a primary that still has replicas (InvalidParameterException "You can't
delete secret ... that still has replica regions [...]", the message AWS gives as quoted in
rebuy-de/aws-nuke#1127), of a replica (InvalidParameterException), a recovery window outside
7..30, GetSecretValue of a secret scheduled for deletion (InvalidRequestException); S3
DeleteBucket while any object version or delete marker remains (BucketNotEmpty, 409);
EventBridge DeleteRule of a rule with targets (ValidationException).
"""
from __future__ import annotations

from urllib.parse import parse_qs

from .strict import error

ATTACHED = "Cannot delete a policy attached to entities."
VERSIONS = ("This policy has more than one version. Before you delete a policy, you must delete the policy's "
            "versions. The default version is deleted with the policy.")


def _form(body: bytes) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def before(ctx: dict, proto: str, settings: dict) -> None:
    """Raises strict.Refusal for a delete AWS would refuse."""
    if not settings.get("delete_conflicts"):
        return
    if ctx["service"] == "iam" and ctx["operation"] == "DeletePolicy":
        _delete_policy(ctx, proto)


def _delete_policy(ctx: dict, proto: str) -> None:
    from moto.iam.models import iam_backends

    arn = _form(ctx["body"]).get("PolicyArn", "")
    backend = iam_backends[ctx["account"]]["aws"]
    policy = backend.managed_policies.get(arn)
    if policy is None:
        return  # moto answers NoSuchEntity
    boundary = any(getattr(r, "permissions_boundary_arn", None) == arn for r in list(backend.roles.values()))
    if policy.attachment_count > 0 or boundary:
        raise error(proto, "iam", "DeleteConflict", ATTACHED, status=409, kind="delete_conflicts")
    if len(policy.versions) > 1:
        raise error(proto, "iam", "DeleteConflict", VERSIONS, status=409, kind="delete_conflicts")
