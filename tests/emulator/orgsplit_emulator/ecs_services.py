"""ECS service deployments and deletion, which moto 5.2.5 settles at once or never.

moto: `CreateService` sets `runningCount` from the environment variable MOTO_ECS_SERVICE_RUNNING
(0 here) and one deployment whose `rolloutState` never changes (IN_PROGRESS for ever when the
desired count is above 0); `UpdateService` sets `runningCount = desiredCount` at once and never
touches `deployments`; `DeleteService` marks the service INACTIVE at once; `ListServices` lists
INACTIVE services; `CreateService` silently replaces a service of the same name.

AWS, and what this module does for every client but the seeder:

- A deployment "begins in an IN_PROGRESS state. When the service reaches a steady state, the
  deployment transitions to a COMPLETED state. If the service fails to reach a steady state and
  circuit breaker is turned on, the deployment transitions to a FAILED state"; a deployment's
  status is PRIMARY ("the most recent deployment of a service") or ACTIVE ("still has running
  tasks, but are in the process of being replaced with a new PRIMARY deployment")
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html). Here a
  CreateService, or an UpdateService that changes the task definition, the network
  configuration or the platform version (or forces a new deployment), starts a PRIMARY
  deployment, IN_PROGRESS with `runningCount` 0, and the previous PRIMARY becomes ACTIVE with
  its tasks; the service's `runningCount` stays what it was. After `ecs_service_stable_seconds`
  the new deployment is COMPLETED with every task running and is the only deployment.
- Scaling is not a deployment: a deployment records the configuration being deployed, and a
  new one (a "service revision") is made only "when you create a service, or update a service
  property that starts a deployment"; the desired count is not among a revision's properties
  (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-revision.html,
  .../service-revision-property.html), and a deployment's `desiredCount` is "the most recent
  desired count of tasks that was specified for the service to deploy or maintain". So an
  UpdateService that changes only `desiredCount` updates the PRIMARY deployment's desired count;
  `runningCount` reaches it after `ecs_service_stable_seconds`.
- `ecs_deployment_fail` names services whose tasks never start: their new deployments end FAILED
  (`failedTasks` counted, no task running; the ACTIVE one keeps its tasks, as without the
  circuit breaker's rollback), and a scale-up of them never reaches the desired count (the
  deployment keeps its rollout state: the circuit breaker watches deployments).
- DeleteService: "the service status moves from ACTIVE to DRAINING, and the service is no
  longer visible in the console or in the ListServices API operation. After all tasks have
  transitioned to either STOPPING or STOPPED status, the service status moves from DRAINING to
  INACTIVE" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html).
  AWS goes through DRAINING "if there are still running tasks that require cleanup"; here every
  deletion is DRAINING for `ecs_service_stable_seconds`, which a client must handle anyway. A
  DeleteService of a service already DRAINING or INACTIVE succeeds and answers it as it is (seen
  on AWS: aws/aws-cli#1334 for DRAINING, aws/aws-sdk-js#4189 for INACTIVE); moto marked it
  INACTIVE, and this layer used to start a new drain.
  "If you attempt to create a new service with the same name as an existing service in either
  ACTIVE or DRAINING status, you receive an error" (same page): InvalidParameterException,
  "Creation of service was not idempotent." / "Unable to Start a service that is still
  Draining." (AWS's messages, as quoted in terraform-provider-aws#23462 and
  ewilde/faas-fargate#13). UpdateService of a service that is not ACTIVE:
  ServiceNotActiveException ("You can't update a service that's inactive", service model).
- The SDK waiter `services-stable` accepts `length(deployments) == 1 && runningCount ==
  desiredCount` (botocore ecs waiters-2.json): met here only once the change has settled.

Services moto creates for the seeder (and CloudFormation) are steady at once: running every
desired task, one COMPLETED deployment, as a long-running service is. Completion is lazy:
`settle()` runs before every request.
"""
from __future__ import annotations

import copy
import json
import threading
import time
from typing import Any, Callable

from .patching import install_once
from .strict import Refusal, error

OPERATIONS = ("CreateService", "UpdateService", "DeleteService")


def _backend(account: str, region: str):
    from moto.ecs.models import ecs_backends

    return ecs_backends[account][region]


def _now():
    from moto.core.utils import utcnow

    return utcnow()


def _new_id() -> str:
    from moto.moto_api._internal import mock_random

    return f"ecs-svc/{mock_random.randint(0, 32**12)}"


@install_once
def install() -> None:
    """Services moto creates are steady at once (the seeder's; a client's go through
    `EcsServices.observe`), and ListServices leaves out services that are not ACTIVE."""
    from moto.ecs import models

    original_init = models.Service.__init__

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original_init(self, *args, **kwargs)
        self.running_count, self.pending_count = self.desired_count, 0
        for d in self.deployments:
            d.update(runningCount=self.desired_count, pendingCount=0, rolloutState="COMPLETED",
                     rolloutStateReason=f"ECS deployment {d['id']} completed.")

    models.Service.__init__ = init
    original_list = models.EC2ContainerServiceBackend.list_services

    def list_services(self, cluster_str, *args, **kwargs):  # type: ignore[no-untyped-def]
        arns = original_list(self, cluster_str, *args, **kwargs)
        status = {s.arn: s.status for s in self.services.values()}
        return [a for a in arns if status.get(a, "ACTIVE") == "ACTIVE"]

    models.EC2ContainerServiceBackend.list_services = list_services


def _req(body: bytes) -> dict:
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _find(account: str, region: str, cluster: str, name: str):
    """moto's service object (None if the cluster or the service is unknown)."""
    backend = _backend(account, region)
    cluster_name = (cluster or "default").split("/")[-1]
    return backend.services.get(f"{cluster_name}:{(name or '').split('/')[-1]}")


def _json_value(v: Any) -> Any:
    if hasattr(v, "timestamp"):
        return v.timestamp()
    return v


def _deployment_json(d: dict) -> dict:
    return {k: _json_value(v) for k, v in d.items() if v is not None}


class EcsServices:
    def __init__(self, settings: Callable[[], dict]) -> None:
        self.settings = settings
        self.lock = threading.Lock()
        # (account, region, cluster, service) -> {"svc", "at", "deployment", "old", "fail"} or {"svc", "at", "drain"}
        self.pending: dict[tuple, dict] = {}

    def reset(self) -> None:
        with self.lock:
            self.pending = {}

    @staticmethod
    def wants_observe(service: str | None, operation: str | None) -> bool:
        return service == "ecs" and operation in OPERATIONS

    def _seconds(self) -> float:
        return float(self.settings().get("ecs_service_stable_seconds") or 0)

    # ------------------------------------------------------------------ before moto
    def before(self, ctx: dict, proto: str) -> None:
        """Refuses what AWS refuses; remembers the service as it was before an UpdateService or
        a DeleteService."""
        if ctx["service"] != "ecs" or ctx["operation"] not in OPERATIONS:
            return
        req = _req(ctx["body"])
        try:
            if ctx["operation"] == "CreateService":
                svc = _find(ctx["account"], ctx["region"], req.get("cluster"), req.get("serviceName"))
            else:
                svc = _find(ctx["account"], ctx["region"], req.get("cluster"), req.get("service"))
        except Exception:
            return  # moto answers an unknown cluster itself
        if svc is None:
            return
        if ctx["operation"] == "DeleteService":
            ctx["ecs_delete_status"] = (svc, svc.status)
            return
        if ctx["operation"] == "CreateService":
            if svc.status == "ACTIVE":
                raise self._refuse(proto, "InvalidParameterException", "Creation of service was not idempotent.")
            if svc.status == "DRAINING":
                raise self._refuse(proto, "InvalidParameterException", "Unable to Start a service that is still Draining.")
            return
        if svc.status != "ACTIVE":
            raise self._refuse(proto, "ServiceNotActiveException", "Service was not ACTIVE.")
        ctx["ecs_before"] = {"svc": svc, "desired": svc.desired_count, "td": svc.task_definition,
                             "net": copy.deepcopy(getattr(svc, "network_configuration", None)),
                             "platform": svc.platform_version, "running": svc.running_count,
                             "pending": svc.pending_count, "deployments": copy.deepcopy(svc.deployments)}

    @staticmethod
    def _refuse(proto: str, code: str, message: str) -> Refusal:
        return error(proto, "ecs", code, message, kind="ecs_services")

    # ------------------------------------------------------------------ after moto
    def observe(self, ctx: dict, status: int, out: bytes) -> bytes:
        op = ctx["operation"]
        if status != 200 or ctx["service"] != "ecs" or op not in OPERATIONS:
            return out
        req = _req(ctx["body"])
        name = req.get("serviceName") if op == "CreateService" else req.get("service")
        svc = _find(ctx["account"], ctx["region"], req.get("cluster"), name)
        if svc is None:
            return out
        key = (ctx["account"], ctx["region"], svc.cluster_name, svc.name)
        with self.lock:
            if op == "CreateService":
                self._created(key, svc)
            elif op == "UpdateService" and ctx.get("ecs_before", {}).get("svc") is svc:
                self._updated(key, svc, ctx["ecs_before"], req, ctx["account"], ctx["region"])
            elif op == "DeleteService":
                prior = ctx.get("ecs_delete_status")
                if prior is not None and prior[0] is svc and prior[1] != "ACTIVE":
                    svc.status = prior[1]  # DRAINING or INACTIVE already: answered as it is
                else:
                    self._deleted(key, svc)
        return self._rewrite(out, svc)

    def _fails(self, svc) -> bool:
        return svc.name in (self.settings().get("ecs_deployment_fail") or [])

    def _created(self, key: tuple, svc) -> None:
        desired = svc.desired_count
        svc.running_count, svc.pending_count = 0, desired
        for d in svc.deployments:
            d.update(runningCount=0, pendingCount=desired, rolloutState="IN_PROGRESS", failedTasks=0,
                     rolloutStateReason=f"ECS deployment {d['id']} in progress.")
        self._start(key, {"svc": svc, "deployment": True, "old": 0, "fail": self._fails(svc)})

    def _updated(self, key: tuple, svc, before: dict, req: dict, account: str, region: str) -> None:
        if svc.task_definition and not svc.task_definition.startswith("arn:"):
            # moto keeps what was sent; AWS answers the revision it resolved
            svc.task_definition = _backend(account, region).describe_task_definition(svc.task_definition).arn
        deploy = (svc.task_definition != before["td"] or svc.platform_version != before["platform"]
                  or getattr(svc, "network_configuration", None) != before["net"] or bool(req.get("forceNewDeployment")))
        scaled = svc.desired_count != before["desired"]
        # undo moto's "every task runs at once"
        svc.running_count, svc.pending_count = before["running"], before["pending"]
        svc.deployments = before["deployments"]
        if not (deploy or scaled):
            return
        now = _now()
        if deploy:
            for d in svc.deployments:
                if d.get("status") == "PRIMARY":
                    d.update(status="ACTIVE", updatedAt=now)
            nid = _new_id()
            net = getattr(svc, "network_configuration", None) or None
            svc.deployments.insert(0, {
                "createdAt": now, "desiredCount": svc.desired_count, "failedTasks": 0, "id": nid,
                "launchType": svc.launch_type, "pendingCount": svc.desired_count, "rolloutState": "IN_PROGRESS",
                "rolloutStateReason": f"ECS deployment {nid} in progress.", "runningCount": 0,
                "platformVersion": svc.platform_version, "networkConfiguration": net,
                "platformFamily": "EC2" if svc.launch_type == "EC2" else "FARGATE", "status": "PRIMARY",
                "taskDefinition": svc.task_definition, "updatedAt": now})
        else:
            for d in svc.deployments:
                if d.get("status") == "PRIMARY":
                    d.update(desiredCount=svc.desired_count, updatedAt=now)
        svc.pending_count = max(svc.desired_count - svc.running_count, 0)
        earlier = self.pending.get(key) or {}
        self._start(key, {"svc": svc, "deployment": deploy or bool(earlier.get("deployment")),
                          "old": svc.running_count, "fail": self._fails(svc)})

    def _deleted(self, key: tuple, svc) -> None:
        self.pending.pop(key, None)
        if self._seconds() <= 0:
            svc.running_count = svc.pending_count = 0
            return
        svc.status = "DRAINING"
        self.pending[key] = {"svc": svc, "at": time.monotonic() + self._seconds(), "drain": True}

    def _start(self, key: tuple, item: dict) -> None:
        item["at"] = time.monotonic() + self._seconds()
        self.pending[key] = item
        if self._seconds() <= 0:
            self._complete(key, self.pending.pop(key))

    # ------------------------------------------------------------------ completion
    def settle(self) -> None:
        now = time.monotonic()
        with self.lock:
            due = [k for k, item in self.pending.items() if item["at"] <= now]
            for key in due:
                self._complete(key, self.pending.pop(key))

    def _complete(self, key: tuple, item: dict) -> None:
        svc = item["svc"]
        try:
            current = _find(key[0], key[1], key[2], key[3])
        except Exception:
            return
        if current is not svc:
            return  # deleted and created again meanwhile: this change is gone with it
        now = _now()
        if item.get("drain"):
            svc.status, svc.running_count, svc.pending_count = "INACTIVE", 0, 0
            return
        desired = svc.desired_count
        primary = next((d for d in svc.deployments if d.get("status") == "PRIMARY"), None)
        if item["fail"] and (desired > item["old"] or (item["deployment"] and desired > 0)):
            # the new tasks never start; tasks of the ACTIVE deployments keep running
            svc.running_count, svc.pending_count = min(item["old"], desired), 0
            if primary is not None:
                primary.update(failedTasks=desired, pendingCount=0, updatedAt=now)
                if item["deployment"]:
                    primary.update(rolloutState="FAILED", runningCount=0,
                                   rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.")
            return
        svc.running_count, svc.pending_count = desired, 0
        if primary is None:
            return
        primary.update(runningCount=desired, pendingCount=0, desiredCount=desired, updatedAt=now)
        if primary.get("rolloutState") == "IN_PROGRESS":
            primary.update(rolloutState="COMPLETED", rolloutStateReason=f"ECS deployment {primary['id']} completed.")
        svc.deployments = [primary]

    # ------------------------------------------------------------------ answers
    @staticmethod
    def _rewrite(out: bytes, svc) -> bytes:
        """The answer's `service` as the model now stands (moto serialised it before our changes)."""
        try:
            doc = json.loads(out)
        except ValueError:
            return out
        shown = doc.get("service")
        if not isinstance(shown, dict):
            return out
        shown.update(status=svc.status, runningCount=svc.running_count, pendingCount=svc.pending_count,
                     deployments=[_deployment_json(d) for d in svc.deployments])
        if svc.task_definition:
            shown["taskDefinition"] = svc.task_definition
        return json.dumps(doc).encode()
