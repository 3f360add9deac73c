"""StackSet automatic deployment (SERVICE_MANAGED StackSets), which moto 5.2.5 does not model.

moto drops `AutoDeployment` (DescribeStackSet never returns it) and nothing happens when an
account joins or leaves an OU a StackSet targets. AWS:

- "If set to true, StackSets automatically deploys additional stack instances to AWS
  Organizations accounts that are added to a target organization or organizational unit (OU) in
  the specified Regions. If an account is removed from a target organization or OU, StackSets
  deletes stack instances from the account in the specified Regions." RetainStacksOnAccountRemoval:
  "If set to true, stack resources are retained when an account is removed"
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_AutoDeployment.html).
  With retain, "stack instances are removed from your stack set, but the stacks and their
  associated resources are retained" (User Guide, "Enable or disable automatic deployments",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-manage-auto-deployment.html).
- The same page: automatic deployments "are triggered when accounts are added to a target
  organization or OU, removed from a target organization or OU, or moved between target OUs";
  moving an account between two target OUs "runs a delete operation ... and queues a create
  operation"; accounts added later to "the target OUs and their child OUs ... will use the stack
  set default values and not the overridden values"; and "Automatic deployments do not consider
  account level targeting filters": an OU deployed to with INTERSECTION still receives every
  account that joins it.
- Those deployments are StackSet operations. StackSetOperation Status "QUEUED: [Service-managed
  permissions] For automatic deployments that require a sequence of operations, the operation is
  queued" (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperation.html),
  and while one runs, CreateStackInstances, UpdateStackInstances, DeleteStackInstances,
  UpdateStackSet, DeleteStackSet, DetectStackSetDrift and ImportStacksToStackSet answer
  OperationInProgressException (HTTP 409 in the service model): "Another operation is currently
  in progress for this StackSet. Only one operation can be performed for a stack set at a given
  time." AWS's message names the StackSet: "Another Operation on StackSet ARN is in progress"
  (quoted in https://github.com/hashicorp/terraform-provider-aws/pull/11726).
  ManagedExecution Active (which queues instead) is not modelled: orgsplit does not use it.

Here: `AutoDeployment` from CreateStackSet / UpdateStackSet is set on moto's StackSet object
(moto's serializer then answers it in DescribeStackSet and ListStackSets); the OUs and Regions of
each StackSet come from CreateStackInstances with OU targets (whatever AccountFilterType) and are
forgotten by a DeleteStackInstances of the whole OU (no account filter); a MoveAccount that takes
an account into (out of) a target OU or one of its children starts a CREATE (DELETE) operation
in moto's operation list: RUNNING for `stackset_auto_deployment_seconds`, then SUCCEEDED, with
the instances created (deleted) only then. A later one on the same StackSet is QUEUED behind it,
and the creates a move causes are QUEUED until the deletes it causes (in other StackSets) ended.
Completion is lazy: `settle()` runs before every request. ListStackInstances shows a new
instance once its operation has SUCCEEDED (AWS may list it earlier as OUTDATED while it runs; a
reader that waits for the operation sees the same end state on both).

Not modelled: a root target receiving accounts from CreateAccount (accounts join the root when
created; orgsplit targets OUs), accounts leaving through RemoveAccountFromOrganization, and
AutoDeployment.DependsOn.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta
from typing import Callable
from urllib.parse import parse_qs

from .stacksets_access import members
from .strict import error

# Every operation the service model lists OperationInProgressException for.
REFUSED = ("CreateStackInstances", "DeleteStackInstances", "DeleteStackSet", "DetectStackSetDrift",
           "ImportStacksToStackSet", "UpdateStackInstances", "UpdateStackSet")
_OBSERVED = {("cloudformation", op) for op in ("CreateStackSet", "UpdateStackSet", "CreateStackInstances",
                                               "DeleteStackInstances", "DeleteStackSet")} | {("organizations", "MoveAccount")}

Key = tuple  # (administrator account, Region, StackSet id)


def _form(body: bytes) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def _backend(account: str, region: str):
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends[account][region]


def _active_stackset(account: str, region: str, name: str):
    try:
        return _backend(account, region).describe_stack_set(name)
    except Exception:  # unknown or deleted: moto's own handler answers
        return None


def _ancestry(org, parent_id: str) -> set[str]:
    """The parent and every OU (and root) above it."""
    parents = {o.id: getattr(o, "parent_id", None) for o in org.ou}
    out: set[str] = set()
    node = parent_id
    while node and node not in out:
        out.add(node)
        node = parents.get(node)
    return out


class AutoDeploy:
    def __init__(self, seconds: Callable[[], float]) -> None:
        self.lock = threading.RLock()
        self.seconds = seconds  # stackset_auto_deployment_seconds, read at each look
        self.reset()

    def reset(self) -> None:
        with self.lock:
            # (account, region, StackSet id) -> {OU id: Regions deployed to through it}
            self.targets: dict[Key, dict[str, set[str]]] = {}
            # (account, region, StackSet id) -> unfinished automatic operations, oldest first
            self.queues: dict[Key, list[dict]] = {}

    # ------------------------------------------------------------------ time
    def settle(self) -> None:
        """Starts and ends the automatic operations whose time has come, as if they had run on
        their own (lazily: on the next request, with the times they would have had)."""
        with self.lock:
            if not self.queues:
                return
            now, seconds = time.monotonic(), float(self.seconds() or 0)
            progress = True
            while progress:
                progress = False
                for key, queue in list(self.queues.items()):
                    head = queue[0]
                    if head["start"] is None:
                        # QUEUED: it starts when its StackSet is free and the deletes the same
                        # move caused (in other StackSets) have ended.
                        if any(d["end"] is None for d in head["after"]):
                            continue
                        head["start"] = max([head["free"]] + [d["end"] for d in head["after"]])
                        head["op"]["Status"] = "RUNNING"
                    if now < head["start"] + seconds:
                        continue
                    head["end"] = head["start"] + seconds
                    self._complete(key, head, head["end"])
                    queue.pop(0)
                    if queue:
                        queue[0]["free"] = max(queue[0]["free"], head["end"])
                    else:
                        del self.queues[key]
                    progress = True

    def _complete(self, key: Key, item: dict, end: float) -> None:
        op = item["op"]
        op["EndTimestamp"] = op["CreationTimestamp"] + timedelta(seconds=max(0.0, end - item["created"]))
        stackset = _backend(key[0], key[1]).stacksets.get(key[2])
        if stackset is None:
            op["Status"] = "FAILED"
            return
        try:
            if item["action"] == "CREATE":
                # The StackSet's template and default parameters, as moto's CreateStackInstances
                # deploys them (accounts that join later get the defaults, not overrides).
                stackset.instances.create_instances([item["account"]], item["regions"], stackset.parameters,
                                                    {}, permission_model=stackset.permission_model)
            elif item["retain"]:
                # Out of the StackSet, but the stack and its resources stay in the account.
                instances = stackset.instances.stack_instances
                instances[:] = [i for i in instances
                                if not (i.account_id == item["account"] and i.region_name in item["regions"])]
            else:
                stackset.instances.delete([item["account"]], item["regions"])
            op["Status"] = "SUCCEEDED"
        except Exception:  # e.g. a resource of the template already exists in the account
            op["Status"] = "FAILED"

    def _start(self, key: Key, stackset, action: str, account: str, regions: list[str], retain: bool,
               after: list[dict]) -> dict:
        """Adds an automatic operation to the StackSet's queue: RUNNING at once when nothing is
        before it (on the StackSet, or in `after`), else QUEUED."""
        queue = self.queues.setdefault(key, [])
        waits = bool(queue) or any(d["end"] is None for d in after)
        op = stackset._create_operation(operation_id=str(uuid.uuid4()), action=action,
                                        status="QUEUED" if waits else "RUNNING", accounts=[account], regions=regions)
        op.pop("EndTimestamp", None)  # moto sets one at once; AWS only when it has ended
        now = time.monotonic()
        item = {"op": op, "action": action, "account": account, "regions": regions, "retain": retain,
                "after": after, "created": now, "free": now, "start": None if waits else now, "end": None}
        queue.append(item)
        return item

    # ------------------------------------------------------------------ before moto
    def refuse_if_busy(self, ctx: dict) -> None:
        """OperationInProgressException for an operation on a StackSet an automatic deployment holds."""
        if ctx["service"] != "cloudformation" or ctx["operation"] not in REFUSED:
            return
        stackset = _active_stackset(ctx["account"], ctx["region"], _form(ctx["body"]).get("StackSetName", ""))
        if stackset is None:
            return
        with self.lock:
            busy = (ctx["account"], ctx["region"], stackset.id) in self.queues
        if busy:
            raise error("query", "cloudformation", "OperationInProgressException",
                        f"Another Operation on StackSet {stackset.arn} is in progress", status=409,
                        kind="stackset_auto_deployment")

    # ------------------------------------------------------------------ after moto
    @staticmethod
    def wants_observe(service: str | None, operation: str | None) -> bool:
        return (service, operation) in _OBSERVED

    def observe(self, ctx: dict, status: int, out: bytes) -> bytes:
        if status != 200 or not self.wants_observe(ctx["service"], ctx["operation"]):
            return out
        op, account, region = ctx["operation"], ctx["account"], ctx["region"]
        if op == "MoveAccount":
            try:
                req = json.loads(ctx["body"] or b"{}")
            except ValueError:
                return out
            self.account_moved(account, req.get("AccountId", ""), req.get("SourceParentId", ""),
                               req.get("DestinationParentId", ""))
            return out
        form = _form(ctx["body"])
        with self.lock:
            if op == "DeleteStackSet":
                backend = _backend(account, region)
                for key in [k for k in self.targets if k[:2] == (account, region)]:
                    ss = backend.stacksets.get(key[2])
                    if ss is None or ss.status == "DELETED":
                        del self.targets[key]
                return out
            stackset = _active_stackset(account, region, form.get("StackSetName", ""))
            if stackset is None:
                return out
            key = (account, region, stackset.id)
            if op in ("CreateStackSet", "UpdateStackSet") and "AutoDeployment.Enabled" in form:
                auto = {"Enabled": form["AutoDeployment.Enabled"].lower() == "true"}
                if "AutoDeployment.RetainStacksOnAccountRemoval" in form:
                    auto["RetainStacksOnAccountRemoval"] = form["AutoDeployment.RetainStacksOnAccountRemoval"].lower() == "true"
                # moto's serializer answers this attribute in DescribeStackSet and ListStackSets.
                stackset.auto_deployment = auto
            ous = members(form, "DeploymentTargets.OrganizationalUnitIds")
            regions = set(members(form, "Regions"))
            if op == "CreateStackInstances" and ous:
                for ou in ous:
                    self.targets.setdefault(key, {}).setdefault(ou, set()).update(regions)
            elif op == "DeleteStackInstances" and ous and form.get("DeploymentTargets.AccountFilterType", "NONE") == "NONE":
                # The whole OU left the StackSet in those Regions; a filtered delete (some accounts
                # of it) leaves the OU a target.
                known = self.targets.get(key, {})
                for ou in ous:
                    left = known.get(ou, set()) - regions
                    if left:
                        known[ou] = left
                    else:
                        known.pop(ou, None)
        return out

    def account_moved(self, admin: str, account: str, source: str, destination: str) -> None:
        """Starts the automatic operations a move from `source` to `destination` causes, for every
        StackSet `admin` administers with auto-deployment enabled."""
        from moto.organizations.models import organizations_backends

        try:
            org = organizations_backends[admin]["aws"]
        except KeyError:
            return
        before, after = _ancestry(org, source), _ancestry(org, destination)
        deletes: list[dict] = []
        creates: list[tuple] = []
        with self.lock:
            for key, targets in list(self.targets.items()):
                if key[0] != admin:
                    continue
                stackset = _backend(key[0], key[1]).stacksets.get(key[2])
                auto = getattr(stackset, "auto_deployment", None) or {}
                if stackset is None or stackset.status != "ACTIVE" or not auto.get("Enabled"):
                    continue
                still = set().union(*[r for ou, r in targets.items() if ou in after])
                left = set().union(*[r for ou, r in targets.items() if ou in before and ou not in after]) - still
                joined = set().union(*[r for ou, r in targets.items() if ou in after and ou not in before])
                if left:
                    deletes.append(self._start(key, stackset, "DELETE", account, sorted(left),
                                               bool(auto.get("RetainStacksOnAccountRemoval")), []))
                if joined:
                    creates.append((key, stackset, sorted(joined)))
            # "runs a delete operation to remove the StackSet1 instance from AccountA and queues a
            # create operation that adds the StackSet2 instance" (User Guide): the creates of a
            # move wait for its deletes, so the old baseline's resources are gone first.
            for key, stackset, regions in creates:
                self._start(key, stackset, "CREATE", account, regions, False, list(deletes))
