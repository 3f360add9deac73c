"""CodePipeline additions: webhooks and stage transitions (moto has neither), OAuthToken masking as AWS does."""
from __future__ import annotations

import copy
import hashlib
import io
import json
import threading
import uuid
from typing import Callable

from . import stage_transitions
from .protocol import json_error, parse_credential

MASK = "****"


def _ok(obj: dict):
    return 200, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", str(uuid.uuid4()))], json.dumps(obj).encode()


def _is_github_v1(action: dict) -> bool:
    t = action.get("actionTypeId") or {}
    return t.get("category") == "Source" and t.get("owner") == "ThirdParty" and t.get("provider") == "GitHub"


def mask_pipeline(pipeline: dict) -> None:
    for stage in pipeline.get("stages") or []:
        for action in stage.get("actions") or []:
            conf = action.get("configuration")
            if _is_github_v1(action) and conf and "OAuthToken" in conf:
                conf["OAuthToken"] = MASK


def _moto_pipeline(account: str, region: str, name: str) -> dict | None:
    from moto.codepipeline.models import codepipeline_backends

    p = codepipeline_backends[account][region].pipelines.get(name)
    return p.pipeline if p else None


def call_app(app: Callable, environ: dict, body: bytes):
    env = dict(environ)
    env["wsgi.input"] = io.BytesIO(body)
    env["CONTENT_LENGTH"] = str(len(body))
    captured: dict = {}
    chunks: list[bytes] = []

    def sr(status, headers, exc_info=None):
        captured["status"] = status
        captured["headers"] = headers
        return chunks.append

    it = app(env, sr)
    try:
        for c in it:
            chunks.append(c)
    finally:
        if hasattr(it, "close"):
            it.close()
    return int(captured["status"].split(" ", 1)[0]), list(captured["headers"]), b"".join(chunks)


class PipelineLayer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.webhooks: dict[tuple[str, str], dict[str, dict]] = {}
        self.registered: set[tuple[str, str, str]] = set()
        self.transitions = stage_transitions.StageTransitions()
        # set by the app: whether the strict "naming" behaviour is on
        self.strict_on: Callable[[], bool] = lambda: True
        # set by the app: callable(connection_arn, account) -> the account owns the connection
        # or it is shared with it through RAM
        self.connection_visible: Callable[[str, str], bool] = lambda arn, account: True

    @property
    def strict_webhooks(self) -> bool:
        return self.strict_on()

    def reset(self) -> None:
        with self.lock:
            self.webhooks = {}
            self.registered = set()
        self.transitions.reset()

    # ------------------------------------------------------------ dispatch
    def handle(self, ctx: dict, environ: dict, moto_app: Callable):
        op = ctx["operation"]
        if op in ("PutWebhook", "ListWebhooks", "DeleteWebhook", "RegisterWebhookWithThirdParty",
                  "DeregisterWebhookWithThirdParty"):
            try:
                req = json.loads(ctx["body"] or b"{}")
            except json.JSONDecodeError:
                return json_error("SerializationException", "Request body is not valid JSON")
            with self.lock:
                return getattr(self, "_" + op)(ctx["account"], ctx["region"], req)
        if op in stage_transitions.OPERATIONS:
            try:
                req = json.loads(ctx["body"] or b"{}")
            except json.JSONDecodeError:
                return json_error("SerializationException", "Request body is not valid JSON")
            caller = stage_transitions.caller_arn(ctx["account"], parse_credential(environ)[0])
            return self.transitions.handle(op, ctx["account"], ctx["region"], req, caller)
        if op == "DeletePipeline":
            status, headers, out = call_app(moto_app, environ, ctx["body"])
            if status == 200:
                try:
                    self.transitions.forget(ctx["account"], ctx["region"], json.loads(ctx["body"] or b"{}").get("name"))
                except (json.JSONDecodeError, AttributeError):
                    pass
            return status, headers, out
        if op in ("GetPipeline", "CreatePipeline", "UpdatePipeline"):
            body = ctx["body"]
            if op in ("CreatePipeline", "UpdatePipeline"):
                refused = self._unusable_connection(ctx["account"], body)
                if refused is not None:
                    return refused
            if op == "UpdatePipeline":
                body = self._unmask_update(ctx, body)
            status, headers, out = call_app(moto_app, environ, body)
            if status == 200:
                try:
                    doc = json.loads(out)
                    if isinstance(doc.get("pipeline"), dict):
                        mask_pipeline(doc["pipeline"])
                        out = json.dumps(doc).encode()
                except (json.JSONDecodeError, AttributeError):
                    pass
            return status, headers, out
        return None

    def _unusable_connection(self, account: str, body: bytes):
        """A CodeStarSourceConnection action may name only a connection of the pipeline's own
        account or one shared with it through AWS RAM ("You can use your shared connection with
        resources in AWS that you manage for third-party source connections, such as in
        CodePipeline", Developer Tools console guide, "Share connections with AWS accounts").
        Any other one cannot be used: refused here, where AWS would fail the source action."""
        try:
            doc = json.loads(body)
            stages = doc["pipeline"].get("stages") or []
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            return None
        for stage in stages:
            for action in stage.get("actions") or []:
                t = action.get("actionTypeId") or {}
                arn = (action.get("configuration") or {}).get("ConnectionArn")
                if t.get("provider") == "CodeStarSourceConnection" and arn and not self.connection_visible(arn, account):
                    return json_error("InvalidActionDeclarationException",
                                      f"Action {action.get('name')!r} in stage {stage.get('name')!r}: connection {arn} "
                                      f"is not a connection of account {account} or shared with it")
        return None

    def _unmask_update(self, ctx: dict, body: bytes) -> bytes:
        """UpdatePipeline handed '****' back keeps the token already stored for that action."""
        try:
            doc = json.loads(body)
            new = doc["pipeline"]
        except (json.JSONDecodeError, KeyError, TypeError):
            return body
        old = _moto_pipeline(ctx["account"], ctx["region"], new.get("name", "")) or {}
        old_tokens = {}
        for stage in old.get("stages") or []:
            for action in stage.get("actions") or []:
                tok = (action.get("configuration") or {}).get("OAuthToken")
                if tok is not None:
                    old_tokens[(stage.get("name"), action.get("name"))] = tok
        changed = False
        for stage in new.get("stages") or []:
            for action in stage.get("actions") or []:
                conf = action.get("configuration") or {}
                if conf.get("OAuthToken") == MASK and (stage.get("name"), action.get("name")) in old_tokens:
                    conf["OAuthToken"] = old_tokens[(stage.get("name"), action.get("name"))]
                    changed = True
        return json.dumps(doc).encode() if changed else body

    # ------------------------------------------------------------ webhooks
    def _store(self, account: str, region: str) -> dict[str, dict]:
        return self.webhooks.setdefault((account, region), {})

    def _PutWebhook(self, account: str, region: str, req: dict):
        wh = req.get("webhook")
        if not isinstance(wh, dict):
            return json_error("ValidationException", "webhook is required")
        for field in ("name", "targetPipeline", "targetAction", "filters", "authentication", "authenticationConfiguration"):
            if field not in wh:
                return json_error("ValidationException", f"1 validation error detected: Value null at 'webhook.{field}' failed to satisfy constraint: Member must not be null")
        auth = wh["authentication"]
        if auth not in ("GITHUB_HMAC", "IP", "UNAUTHENTICATED"):
            return json_error("ValidationException", f"Invalid authentication type {auth}")
        conf = wh.get("authenticationConfiguration") or {}
        if auth == "GITHUB_HMAC" and not conf.get("SecretToken"):
            return json_error("InvalidWebhookAuthenticationParametersException", "SecretToken is required for GITHUB_HMAC")
        if auth == "IP" and not conf.get("AllowedIPRange"):
            return json_error("InvalidWebhookAuthenticationParametersException", "AllowedIPRange is required for IP")
        if not wh["filters"]:
            return json_error("InvalidWebhookFilterPatternException", "At least one filter is required")
        pipeline = _moto_pipeline(account, region, wh["targetPipeline"])
        if pipeline is None:
            return json_error("PipelineNotFoundException", f"Account '{account}' does not have a pipeline with name '{wh['targetPipeline']}'")
        actions = {a.get("name") for s in pipeline.get("stages") or [] for a in s.get("actions") or []}
        if wh["targetAction"] not in actions:
            return json_error("ValidationException", f"Pipeline '{wh['targetPipeline']}' has no action '{wh['targetAction']}'")
        store = self._store(account, region)
        name = wh["name"]
        existing = store.get(name)
        token = existing["_token"] if existing else hashlib.sha256(f"{account}{region}{name}{uuid.uuid4()}".encode()).hexdigest()[:40]
        item = {
            "definition": copy.deepcopy(wh),
            "url": f"https://{region}.webhooks.aws/trigger?t={token}&v=1",
            "arn": f"arn:aws:codepipeline:{region}:{account}:webhook:{name}",
            "_token": token,
        }
        tags = req.get("tags") if req.get("tags") is not None else (existing or {}).get("tags")
        if tags:
            item["tags"] = tags
        store[name] = item
        return _ok({"webhook": self._public(item)})

    @staticmethod
    def _public(item: dict) -> dict:
        return {k: copy.deepcopy(v) for k, v in item.items() if not k.startswith("_")}

    def _ListWebhooks(self, account: str, region: str, req: dict):
        items = list(self._store(account, region).values())
        max_results = req.get("MaxResults") or 100
        if not isinstance(max_results, int) or not 1 <= max_results <= 100:
            return json_error("ValidationException", "MaxResults must be between 1 and 100")
        start = 0
        if req.get("NextToken"):
            try:
                start = int(req["NextToken"])
            except ValueError:
                return json_error("InvalidNextTokenException", "The next token is not valid")
        page = items[start:start + max_results]
        out: dict = {"webhooks": [self._public(i) for i in page]}
        if start + max_results < len(items):
            out["NextToken"] = str(start + max_results)
        return _ok(out)

    def _DeleteWebhook(self, account: str, region: str, req: dict):
        name = req.get("name")
        if not name:
            return json_error("ValidationException", "name is required")
        self._store(account, region).pop(name, None)  # AWS: deleting a missing webhook succeeds
        self.registered.discard((account, region, name))
        return _ok({})

    def _RegisterWebhookWithThirdParty(self, account: str, region: str, req: dict):
        return self._third_party(account, region, req, self.registered.add)

    def _DeregisterWebhookWithThirdParty(self, account: str, region: str, req: dict):
        return self._third_party(account, region, req, self.registered.discard)

    def _third_party(self, account: str, region: str, req: dict, record):
        """(De)registration with GitHub: the webhook must exist and target GitHub."""
        name = req.get("webhookName")
        if not name or name not in self._store(account, region):
            return json_error("WebhookNotFoundException", f"Webhook {name} not found")
        refused = self._not_github_target(account, region, name)
        if refused:
            return refused
        record((account, region, name))
        return _ok({})

    def _not_github_target(self, account: str, region: str, name: str):
        """Register/DeregisterWebhookWithThirdParty are "currently supported only for webhooks
        that target an action type of GitHub"
        (https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_DeregisterWebhookWithThirdParty.html):
        once the target action is no longer a v1 GitHub source, the call is refused."""
        if not self.strict_webhooks:
            return None
        definition = self._store(account, region)[name]["definition"]
        pipeline = _moto_pipeline(account, region, definition.get("targetPipeline", "")) or {}
        for stage in pipeline.get("stages") or []:
            for action in stage.get("actions") or []:
                if action.get("name") == definition.get("targetAction") and _is_github_v1(action):
                    return None
        return json_error("ValidationException",
                          f"Webhook {name} does not target an action of type GitHub: only GitHub webhooks can be "
                          "registered or deregistered with the third party")
