"""CodePipeline stage transitions and pipeline state, which moto 5.2.5 does not serve (HTTP 500).

AWS (CodePipeline API reference):

- DisableStageTransition "Prevents artifacts in a pipeline from transitioning to the next stage in
  the pipeline"; `pipelineName`, `stageName`, `transitionType` (Inbound: "prevented from
  transitioning into the stage and being processed by the actions in that stage", Outbound:
  "prevented from transitioning from the stage after they have been processed") and `reason` are
  required; `reason` (DisabledReason) is 1-300 characters of `[a-zA-Z0-9!@ \\(\\)\\.\\*\\?\\-]+`,
  which the request-model check (validation.py) enforces from the service model. Errors:
  PipelineNotFoundException, StageNotFoundException, ValidationException
  (https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_DisableStageTransition.html).
- EnableStageTransition: the same without `reason`; "an HTTP 200 response with an empty HTTP body"
  (https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_EnableStageTransition.html).
- GetPipelineState answers `pipelineName`, `pipelineVersion`, `created`, `updated` and
  `stageStates`, each with `stageName`, `actionStates` and `inboundTransitionState`
  (TransitionState: `enabled`, `lastChangedBy` "the ID of the user who last changed the
  transition state", `lastChangedAt`, `disabledReason`); PipelineNotFoundException
  (https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_GetPipelineState.html,
  .../API_TransitionState.html).

Here: one state per (account, Region, pipeline, stage, transition type). GetPipelineState shows
each stage's Inbound state (`{"enabled": true}` until changed); the first stage, which no
transition enters, has none (as in the CLI's get-pipeline-state example output). An Outbound
change is kept and checked but not shown: the service model has only `inboundTransitionState`
and AWS does not document how an Outbound change is reported. `lastChangedBy` is the caller's
assumed-role ARN, else the account root's. DeletePipeline forgets the pipeline's transitions
(a pipeline created again under the name starts enabled); /moto-api/reset forgets all.
`actionStates` carry only `actionName`: no pipeline ever runs here.
"""
from __future__ import annotations

import datetime
import threading

from .protocol import json_error

OPERATIONS = ("DisableStageTransition", "EnableStageTransition", "GetPipelineState")


def _moto_pipeline(account: str, region: str, name: str):
    from moto.codepipeline.models import codepipeline_backends

    return codepipeline_backends[account][region].pipelines.get(name or "")


def _epoch(when: datetime.datetime) -> float:
    """moto keeps naive UTC datetimes."""
    return (when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)).timestamp()


def caller_arn(account: str, access_key: str | None) -> str:
    if access_key:
        from moto.sts.models import sts_backends

        role = sts_backends[account]["aws"].get_assumed_role_from_access_key(access_key)
        if role is not None:
            return role.arn
    return f"arn:aws:iam::{account}:root"


class StageTransitions:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        # (account, region, pipeline) -> {(stage, type): {"enabled", "lastChangedBy", "lastChangedAt", "disabledReason"?}}
        self.state: dict[tuple, dict[tuple[str, str], dict]] = {}

    def reset(self) -> None:
        with self.lock:
            self.state = {}

    def forget(self, account: str, region: str, pipeline: str) -> None:
        with self.lock:
            self.state.pop((account, region, pipeline), None)

    def handle(self, op: str, account: str, region: str, req: dict, caller: str):
        name = req.get("name") if op == "GetPipelineState" else req.get("pipelineName")
        found = _moto_pipeline(account, region, name)
        if found is None:
            return json_error("PipelineNotFoundException", f"Account '{account}' does not have a pipeline with name '{name}'")
        stages = [s.get("name") for s in found.pipeline.get("stages") or []]
        key = (account, region, name)
        if op == "GetPipelineState":
            return self._state(found, key)
        stage, kind = req.get("stageName"), req.get("transitionType")
        if kind not in ("Inbound", "Outbound"):
            return json_error("ValidationException", f"Invalid transitionType {kind!r}: Inbound or Outbound")
        if stage not in stages:
            return json_error("StageNotFoundException", f"Stage '{stage}' not found in pipeline '{name}'")
        change = {"enabled": op == "EnableStageTransition", "lastChangedBy": caller,
                  "lastChangedAt": datetime.datetime.now(datetime.timezone.utc).timestamp()}
        if op == "DisableStageTransition":
            reason = req.get("reason")
            if not isinstance(reason, str) or not reason:
                return json_error("ValidationException", "reason is required")
            change["disabledReason"] = reason
        with self.lock:
            self.state.setdefault(key, {})[(stage, kind)] = change
        return 200, [("Content-Type", "application/x-amz-json-1.1")], b"{}"

    def _state(self, found, key: tuple):
        import json

        with self.lock:
            changes = dict(self.state.get(key) or {})
        out = []
        for i, stage in enumerate(found.pipeline.get("stages") or []):
            entry = {"stageName": stage.get("name"),
                     "actionStates": [{"actionName": a.get("name")} for a in stage.get("actions") or []]}
            if i > 0:
                entry["inboundTransitionState"] = dict(changes.get((stage.get("name"), "Inbound")) or {"enabled": True})
            out.append(entry)
        doc = {"pipelineName": found.pipeline.get("name"), "pipelineVersion": found.pipeline.get("version", 1),
               "stageStates": out, "created": _epoch(found._created), "updated": _epoch(found._updated)}
        return 200, [("Content-Type", "application/x-amz-json-1.1")], json.dumps(doc).encode()
