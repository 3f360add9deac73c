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

ECS DeleteCluster: "ClusterContainsServicesException: You can't delete a cluster that contains
services. First, update the service to reduce its desired task count to 0, and then delete the
service" and "ClusterContainsTasksException: You can't delete a cluster that has active tasks"
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html, errors); AWS's
messages "The Cluster cannot be deleted while Services are active." (quoted in
aws/amazon-ecs-cli#368, rebuy-de/aws-nuke#231) and "The Cluster cannot be deleted while Tasks are
active." (gruntwork-io/cloud-nuke#368, with a PENDING task). A DRAINING service counts: it is
still in the cluster until INACTIVE (DeleteService), and the Terraform AWS provider retries
DeleteCluster on ClusterContainsServicesException for 10 minutes after deleting the services; that
AWS refuses while a service drains is not stated in the API reference. A task counts until it is
STOPPED. moto marks the cluster INACTIVE in every case.

Already moto's and matching AWS (kept, tested in tests/test_cutover_gaps.py and
tests/test_cleanup_gaps.py, nothing here):
DeleteRole with inline or attached policies or instance profiles (DeleteConflict); Secrets
Manager DeleteSecret of a primary that still has replicas (InvalidParameterException "You can't
delete secret ... that still has replica regions [...]", the message AWS gives as quoted in
rebuy-de/aws-nuke#1127), of a replica (InvalidParameterException), a recovery window outside
7..30, GetSecretValue of a secret scheduled for deletion (InvalidRequestException); S3
DeleteBucket while any object version or delete marker remains (BucketNotEmpty, 409);
EventBridge DeleteRule of a rule with targets (ValidationException).
"""
from __future__ import annotations

import json
from urllib.parse import parse_qs

from .strict import error

ATTACHED = "Cannot delete a policy attached to entities."
SERVICES = "The Cluster cannot be deleted while Services are active."
TASKS = "The Cluster cannot be deleted while Tasks are active."
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
    elif ctx["service"] == "ecs" and ctx["operation"] == "DeleteCluster":
        _delete_cluster(ctx, proto)


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


def _delete_cluster(ctx: dict, proto: str) -> None:
    from moto.ecs.models import ecs_backends

    try:
        req = json.loads(ctx["body"] or b"{}")
    except ValueError:
        return
    name = str((req if isinstance(req, dict) else {}).get("cluster") or "default").split("/")[-1]
    backend = ecs_backends[ctx["account"]][ctx["region"]]
    cluster = backend.clusters.get(name)
    if cluster is None or cluster.status == "INACTIVE":
        return  # moto answers ClusterNotFoundException, or the INACTIVE cluster again
    if any(s.cluster_name == name and s.status in ("ACTIVE", "DRAINING") for s in list(backend.services.values())):
        raise error(proto, "ecs", "ClusterContainsServicesException", SERVICES, kind="delete_conflicts")
    if any(t.last_status != "STOPPED" for t in list((backend.tasks.get(name) or {}).values())):
        raise error(proto, "ecs", "ClusterContainsTasksException", TASKS, kind="delete_conflicts")
