"""The WSGI middleware around moto's server app.

It adds: the admin endpoints under /_emulator/, the request log, fault injection, the
CodeStar Connections / CodeConnections API, CodePipeline webhooks and OAuthToken masking.
"""
from __future__ import annotations

import io
import json
import random
import socket
import threading
import time
from typing import Any, Callable, Iterable

from . import protocol
from . import validation
from . import corrections
from .codestar import CodeStarConnections
from . import ram
from .ram import Ram
from .pipelines import PipelineLayer, call_app
from .quotas import DEFAULT_QUOTAS, QUOTA_SOURCES
from . import stacksets_access
from .stackset_auto_deploy import AutoDeploy
from . import budgets_extra, delete_conflicts, ecr_pull_through
from .ecs_services import EcsServices
from . import lambda_runtime_api
from . import regions
from . import strict as strictness

ADMIN_PREFIX = "/_emulator/"
# boto3 calls made by the scenario seeder carry this in their User-Agent: neither logged nor faulted
SEED_UA_MARK = "orgsplit-emulator-seed"


class DropConnection(ConnectionResetError):
    """Raised after the client socket was shut down: werkzeug treats it as a dropped connection."""


class TokenBucket:
    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float):
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Faults:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.set({})

    def set(self, cfg: dict) -> None:
        for key in ("throttle", "drop", "error5xx"):
            v = cfg.get(key, 0) or 0
            if not isinstance(v, (int, float)) or not 0 <= v <= 1:
                raise ValueError(f"{key} must be a probability between 0 and 1")
        rates = cfg.get("rates") or {}
        if not isinstance(rates, dict):
            raise ValueError("rates must be an object {\"service:Operation\": TPS}")
        quotas = cfg.get("quotas")
        if quotas not in (None, "aws", "none"):
            raise ValueError('quotas must be "aws" or omitted')
        services = cfg.get("services")
        if services is not None and not isinstance(services, list):
            raise ValueError("services must be a list of signing names")
        with self.lock:
            self.cfg = {k: v for k, v in cfg.items()}
            self.throttle = float(cfg.get("throttle") or 0)
            self.drop = float(cfg.get("drop") or 0)
            self.error5xx = float(cfg.get("error5xx") or 0)
            self.latency_ms = float(cfg.get("latency_ms") or 0)
            self.services = set(services) if services else None
            self.rng = random.Random(cfg.get("seed"))
            # operation -> (group name, rate, burst)
            table: dict[str, tuple[str, float, float]] = {}
            if quotas == "aws":
                for group in DEFAULT_QUOTAS:
                    for op in group["operations"]:
                        table[op] = (group["name"], float(group["rate"]), float(group.get("burst", group["rate"])))
            for op, spec in rates.items():
                if isinstance(spec, dict):
                    rate = float(spec["rate"])
                    burst = float(spec.get("burst", max(1.0, rate)))
                else:
                    rate = float(spec)
                    burst = max(1.0, rate)
                if rate <= 0:
                    raise ValueError(f"rate for {op} must be > 0")
                table[op] = (op, rate, burst)
            self.table = table
            self.buckets: dict[tuple, TokenBucket] = {}

    def get(self) -> dict:
        with self.lock:
            out = dict(self.cfg)
            out["effective_rates"] = {op: {"group": g, "rate": r, "burst": b} for op, (g, r, b) in sorted(self.table.items())}
            return out

    def decide(self, account: str, region: str | None, service: str | None, operation: str | None) -> str | None:
        """Returns None, 'drop', '5xx:500', '5xx:503', 'throttle' or 'rate'."""
        with self.lock:
            random_on = self.services is None or service in self.services
            if random_on and (self.drop or self.error5xx or self.throttle):
                r = self.rng.random()
                if r < self.drop:
                    return "drop"
                r -= self.drop
                if r < self.error5xx:
                    return "5xx:" + ("500" if self.rng.random() < 0.5 else "503")
                r -= self.error5xx
                if r < self.throttle:
                    return "throttle"
            if self.table and service and operation:
                entry = self.table.get(f"{service}:{operation}")
                if entry:
                    group, rate, burst = entry
                    key = (account, region, group)
                    bucket = self.buckets.get(key)
                    if bucket is None:
                        bucket = self.buckets[key] = TokenBucket(rate, burst)
                    if not bucket.take():
                        return "rate"
        return None


class RequestLog:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: list[dict] = []

    def add(self, entry: dict) -> None:
        with self.lock:
            self.entries.append(entry)

    def snapshot(self) -> list[dict]:
        with self.lock:
            return [dict(e) for e in self.entries]

    def clear(self) -> None:
        with self.lock:
            self.entries = []


# Operations that delete (or detach) something: their log entries name what they delete.
DELETING = ("Delete", "Deregister", "Remove", "Detach")


def deleted_resource(service: str | None, operation: str | None, proto: str, environ: dict, body: bytes) -> dict | None:
    """What a deleting request names, for the request log: its string members (and lists of
    strings) in the body, path or query string, as the service model names them (`RoleName`,
    `Bucket`, `SecretId`, `cluster` + `service`, `Rule` + `Ids`…). Left out: flags and numbers
    (`ForceDeleteWithoutRecovery`, `RecoveryWindowInDays`, `force`), idempotency tokens (the SDKs
    fill them at random), headers (`ExpectedBucketOwner`, checksums), members the model marks
    sensitive. None for other operations, or when the request cannot be read."""
    if not service or not operation or not operation.startswith(DELETING):
        return None
    from .validation_parse import operation_model

    if proto == "cbor":
        proto, body = "json", protocol.cbor_request_as_json(body)
    params = validation.parse_request(service, operation, proto, environ, body)
    op = operation_model(service, operation)
    if not isinstance(params, dict) or op is None or op.input_shape is None:
        return None
    out: dict = {}
    for name, shape in op.input_shape.members.items():
        value = params.get(name)
        if value is None or shape.serialization.get("location") == "header" \
                or shape.metadata.get("idempotencyToken") or shape.metadata.get("sensitive"):
            continue
        if shape.type_name == "string" and isinstance(value, str):
            out[name] = value
        elif shape.type_name == "list" and shape.member.type_name == "string" and not shape.member.metadata.get("sensitive") \
                and isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[name] = list(value)
    return out


def account_for(environ: dict, access_key: str | None) -> str:
    hdr = environ.get("HTTP_X_MOTO_ACCOUNT_ID")
    if hdr:
        return hdr
    from moto.core import DEFAULT_ACCOUNT_ID
    if not access_key:
        return DEFAULT_ACCOUNT_ID
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key)


def _read_body(environ: dict) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 0:
        body = environ["wsgi.input"].read(length)
    elif environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        body = environ["wsgi.input"].read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    return body


def respond(start_response: Callable, status: int, headers: list[tuple[str, str]], body: bytes) -> list[bytes]:
    reason = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error",
              503: "Service Unavailable", 504: "Gateway Timeout"}.get(status, "Status")
    headers = [h for h in headers if h[0].lower() != "content-length"] + [("Content-Length", str(len(body)))]
    start_response(f"{status} {reason}", headers)
    return [body]


def json_response(start_response: Callable, obj: Any, status: int = 200) -> list[bytes]:
    return respond(start_response, status, [("Content-Type", "application/json")], json.dumps(obj).encode())


class EmulatorApp:
    def __init__(self, moto_app: Callable, base_url_holder: dict) -> None:
        self.moto_app = moto_app
        self.base = base_url_holder  # {"url": "http://127.0.0.1:PORT"} filled once bound
        self.faults = Faults()
        self.log = RequestLog()
        # every request-model violation since start (DELETE /_emulator/requests keeps them)
        self.violations = RequestLog()
        self.codestar = CodeStarConnections()
        self.ram = Ram(self.codestar.owner)
        self.codestar.is_shared = self.ram.is_shared
        self.pipelines = PipelineLayer()
        self.pipelines.connection_visible = lambda arn, account: (
            self.codestar.owner(arn) == account or self.ram.is_shared(arn, account))
        self.org_access = stacksets_access.OrganizationsAccess()
        self.lambda_api = lambda_runtime_api.LambdaRuntimeApi()
        self.strict = strictness.Strict()
        self.pipelines.strict_on = lambda: bool(self.strict.get().get("naming"))
        self.ram.propagation_seconds = lambda: float(self.strict.get().get("ram_share_propagation_seconds") or 0)
        self.auto_deploy = AutoDeploy(lambda: float(self.strict.get().get("stackset_auto_deployment_seconds") or 0))
        self.ecs_services = EcsServices(self.strict.get)

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(ADMIN_PREFIX) or path.rstrip("/") == ADMIN_PREFIX.rstrip("/"):
            try:
                return self.admin(environ, start_response)
            except ValueError as e:
                return json_response(start_response, {"error": str(e)}, 400)
        if path.startswith(lambda_runtime_api.PREFIX):
            status, headers, out = self.lambda_api.handle(environ.get("REQUEST_METHOD", "GET"), path, _read_body(environ))
            return respond(start_response, status, list(headers.items()), out)
        if path.startswith("/moto-api"):
            if path.rstrip("/") == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
                self.codestar.reset()
                self.ram.reset()
                self.pipelines.reset()
                self.org_access.reset()
                self.lambda_api.reset()
                ecr_pull_through.reset()
                self.strict.reset_state()
                self.auto_deploy.reset()
                self.ecs_services.reset()
            return self.moto_app(environ, start_response)

        # Automatic StackSet operations whose time has come end before anything reads them.
        self.auto_deploy.settle()
        self.ecs_services.settle()

        body = _read_body(environ)
        info = protocol.classify(environ, body)
        internal = SEED_UA_MARK in environ.get("HTTP_USER_AGENT", "")
        account = account_for(environ, info["access_key"])
        service, operation = info["service"], info["operation"]
        entry = {
            "account": account,
            "region": info["region"],
            "service": service,
            "operation": operation,
            "mutating": protocol.is_mutating(operation),
            "status": None,
        }
        started = time.monotonic()
        if not internal:
            resource = deleted_resource(service, operation, info["protocol"], environ, body)
            if resource is not None:
                entry["resource"] = resource
            self.log.add(entry)
        if self.faults.latency_ms and not internal:
            time.sleep(self.faults.latency_ms / 1000.0)
        decision = None if internal else self.faults.decide(account, info["region"], service, operation)
        if decision == "drop":
            entry["status"] = 0
            self._drop(environ)
        if decision in ("throttle", "rate"):
            status, headers, out = protocol.error_response(info["protocol"], service, "throttle")
            entry["status"] = status
            entry["throttled"] = True
            return respond(start_response, status, headers, out)
        if decision and decision.startswith("5xx:"):
            status, headers, out = protocol.error_response(info["protocol"], service, "5xx", int(decision[4:]))
            entry["status"] = status
            return respond(start_response, status, headers, out)

        def sr(status: str, headers: list, exc_info: Any = None) -> Any:
            try:
                entry["status"] = int(status.split(" ", 1)[0])
            except ValueError:
                pass
            # How long the emulator took to answer (benchmarks tell its time from the client's).
            entry["ms"] = round((time.monotonic() - started) * 1000, 2)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        ctx = {"account": account, "region": info["region"] or "us-east-1", "operation": operation,
               "service": service, "body": body}
        if not internal:
            try:
                self._strict_before(ctx, info["protocol"], environ, body, entry)
            except strictness.Refusal as r:
                entry["status"] = r.status
                entry["refused"] = r.kind
                if r.violation:
                    entry["violation"] = r.violation
                    self.violations.add(dict(entry))
                return respond(start_response, r.status, r.headers, r.body)
            if (self.strict.wants_observe(service, operation) or self.auto_deploy.wants_observe(service, operation)
                    or self.ecs_services.wants_observe(service, operation)):
                status, headers, out = call_app(lambda env, s: self._dispatch(env, s, ctx, info), environ, body)
                out = self.strict.observe(ctx, status, out)
                out = self.auto_deploy.observe(ctx, status, out)
                out = self.ecs_services.observe(ctx, status, out)
                entry["status"] = status
                return respond(start_response, status, headers, out)
        return self._dispatch(environ, sr, ctx, info)

    def _strict_before(self, ctx: dict, proto: str, environ: dict, body: bytes, entry: dict) -> None:
        params = None
        settings = self.strict.get()
        if settings.get("validation") or settings.get("reserved_tags"):
            params, violations = validation.check(ctx["service"], ctx["operation"], proto, environ, body)
            if violations and settings.get("validation"):
                status, headers, out = validation.validation_error(proto, ctx["service"], violations)
                raise strictness.Refusal("validation", status, headers, out, violations)
        self.strict.before(ctx, proto, environ, body, params)
        self.auto_deploy.refuse_if_busy(ctx)
        self.ecs_services.before(ctx, proto)
        delete_conflicts.before(ctx, proto, settings)
        self.strict.concurrent_modification(ctx, proto)

    def _dispatch(self, environ: dict, sr: Callable, ctx: dict, info: dict) -> Iterable[bytes]:
        service, operation = ctx["service"], ctx["operation"]
        # our own services
        if service in ("codestar-connections", "codeconnections") or (
                (environ.get("HTTP_X_AMZ_TARGET") or "").startswith(("CodeStar_connections_20191201.", "CodeConnections_20231201."))):
            if info["protocol"] == "cbor":
                # The AWS SDK for Rust speaks smithy-rpc-v2-cbor to CodeConnections (boto3 JSON).
                cbor_ctx = dict(ctx, body=protocol.cbor_request_as_json(ctx["body"]))
                status, headers, out = protocol.json_response_as_cbor(self.codestar.handle(cbor_ctx))
            else:
                status, headers, out = self.codestar.handle(ctx)
            return respond(sr, status, headers, out)
        if service == "ram" and operation in ram.OPERATIONS:
            status, headers, out = self.ram.handle(ctx)
            return respond(sr, status, headers, out)
        if service == "codepipeline" and info["protocol"] == "json":
            handled = self.pipelines.handle(ctx, environ, self.moto_app)
            if handled is not None:
                status, headers, out = handled
                return respond(sr, status, headers, out)
        if service == "account" and operation in regions.OPERATIONS:
            settings = self.strict.get()
            seconds = float(settings.get("region_enable_seconds") or 0) if settings.get("opt_in_regions") else 0.0
            status, headers, out = self.strict.regions.handle(ctx, seconds)
            return respond(sr, status, headers, out)
        if service == "organizations" and operation == "ListCreateAccountStatus":
            settings = self.strict.get()
            return respond(sr, *self.strict.creation.list_statuses(
                ctx, float(settings.get("account_create_seconds") or 0), int(settings.get("list_page_size") or 0)))
        if service == "ecr" and operation in ecr_pull_through.OPERATIONS:
            return respond(sr, *ecr_pull_through.handle(ctx))
        if service == "budgets" and operation in budgets_extra.OPERATIONS:
            status, headers, out = budgets_extra.handle(ctx)
            return respond(sr, status, headers, out)
        if service == "cloudformation" and operation in ("DeleteStackInstances", "CreateStackInstances"):
            from urllib.parse import parse_qs

            form = {k: v[0] for k, v in parse_qs(ctx["body"].decode("utf-8", "replace")).items()}
            serve = (stacksets_access.delete_instances_by_targets if operation == "DeleteStackInstances"
                     else stacksets_access.create_instances_by_targets)
            handled = serve(ctx, form)
            if handled is not None:
                return respond(sr, *handled)
        if service == "cloudformation" and operation in stacksets_access.OPERATIONS:
            status, headers, out = self.org_access.handle(ctx)
            return respond(sr, status, headers, out)
        if corrections.needs_correction(service, operation):
            return corrections.call_corrected(self.moto_app, environ, sr, service, operation)
        return self.moto_app(environ, sr)

    def _drop(self, environ: dict) -> None:
        sock = environ.get("orgsplit.socket")
        handler = environ.get("orgsplit.handler")
        if handler is not None:
            handler.close_connection = True
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        raise DropConnection("dropped by fault injection")

    # ----------------------------------------------------------------- admin
    def admin(self, environ: dict, start_response: Callable) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")[len(ADMIN_PREFIX):].strip("/")
        raw = _read_body(environ)
        try:
            payload = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as e:
            raise ValueError(f"invalid JSON body: {e}")
        if path == "faults":
            if method == "GET":
                return json_response(start_response, self.faults.get())
            if method in ("POST", "PUT"):
                if not isinstance(payload, dict):
                    raise ValueError("body must be a JSON object")
                self.faults.set(payload)
                return json_response(start_response, self.faults.get())
            if method == "DELETE":
                self.faults.set({})
                return json_response(start_response, self.faults.get())
        elif path == "strict":
            if method == "GET":
                return json_response(start_response, self.strict.get())
            if method in ("POST", "PUT"):
                if not isinstance(payload, dict):
                    raise ValueError("body must be a JSON object of settings")
                return json_response(start_response, self.strict.set(payload))
            if method == "DELETE":
                return json_response(start_response, self.strict.restore_defaults())
        elif path == "violations" and method == "GET":
            return json_response(start_response, self.violations.snapshot())
        elif path == "requests":
            if method == "GET":
                return json_response(start_response, self.log.snapshot())
            if method == "DELETE":
                self.log.clear()
                return json_response(start_response, {"cleared": True})
        elif path == "connections/available" and method == "POST":
            arn = payload.get("arn") if isinstance(payload, dict) else None
            if not arn:
                raise ValueError('body must be {"arn": "arn:aws:codestar-connections:..."}')
            conn = self.codestar.mark_available(arn)
            if conn is None:
                return json_response(start_response, {"error": f"no connection {arn}"}, 404)
            return json_response(start_response, conn)
        elif path == "seed" and method == "POST":
            from .seed import seed_scenario

            name = payload.get("scenario") if isinstance(payload, dict) else None
            if not name:
                raise ValueError('body must be {"scenario": "NAME", "params": {...}}')
            try:
                result = seed_scenario(self.base["url"], name, payload.get("params") or {})
            except FileNotFoundError as e:
                return json_response(start_response, {"error": str(e)}, 404)
            except Exception as e:  # seeding failure: report it, keep serving
                import traceback

                return json_response(start_response, {"error": f"{type(e).__name__}: {e}",
                                                      "traceback": traceback.format_exc()}, 500)
            return json_response(start_response, result)
        elif path == "lambda/invocations" and method == "POST":
            # A list of payloads (each with the function's 900 s), or
            # {"payloads": [...], "deadline_seconds": N} for invocations with N seconds left.
            deadline = None
            if isinstance(payload, dict):
                deadline = payload.get("deadline_seconds")
                payload = payload.get("payloads")
            if not isinstance(payload, list) or not (deadline is None or isinstance(deadline, (int, float))):
                raise ValueError('body must be a JSON list of invocation payloads, or {"payloads": [...], "deadline_seconds": N}')
            return json_response(start_response, {"request_ids": self.lambda_api.enqueue(payload, deadline)})
        elif path == "lambda/results" and method == "GET":
            return json_response(start_response, self.lambda_api.snapshot())
        elif path == "quotas" and method == "GET":
            return json_response(start_response, {"default": DEFAULT_QUOTAS, "sources": QUOTA_SOURCES})
        elif path in ("", "health"):
            return json_response(start_response, {"ok": True})
        return json_response(start_response, {"error": f"no admin endpoint {method} /_emulator/{path}"}, 404)
