"""Request classification (service, region, operation, protocol) and AWS-shaped errors."""
from __future__ import annotations

import json
import threading
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote

READ_PREFIXES = (
    "Get", "List", "Describe", "Head", "BatchGet", "Lookup", "Search", "Scan",
    "Query", "Select", "Validate", "Estimate", "Simulate", "Test", "Filter",
)
READ_EXACT = {
    "AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "AssumeRoot",
    "GetCallerIdentity", "GetSessionToken", "GetFederationToken",
    "DecodeAuthorizationMessage", "BatchCheckLayerAvailability",
}


def is_mutating(operation: str | None) -> bool:
    if not operation:
        return True
    if operation in READ_EXACT:
        return False
    return not operation.startswith(READ_PREFIXES)


# signing name -> botocore service model name, where they differ (only REST protocols need a model)
MODEL_ALIASES = {
    "execute-api": "apigateway",
    "monitoring": "cloudwatch",
    "email": "ses",
    "elasticloadbalancing": "elbv2",
    "states": "stepfunctions",
    "tagging": "resourcegroupstaggingapi",
}

_models: dict[str, Any] = {}
_models_lock = threading.Lock()


def _load_model(service: str) -> dict | None:
    with _models_lock:
        if service in _models:
            return _models[service]
        model = None
        try:
            import botocore.session

            sess = botocore.session.get_session()
            name = MODEL_ALIASES.get(service, service)
            raw = sess.get_component("data_loader").load_service_model(name, "service-2")
            ops = []
            for op_name, op in raw["operations"].items():
                http = op.get("http", {})
                uri = http.get("requestUri", "/")
                path, _, query = uri.partition("?")
                req_q: dict[str, str | None] = {}
                for part in filter(None, query.split("&")):
                    k, eq, v = part.partition("=")
                    req_q[k] = v if eq else None
                segs = [s for s in path.split("/") if s]
                req_h: list[str] = []
                shape = raw["shapes"].get(op.get("input", {}).get("shape", ""), {})
                for mname in shape.get("required", []):
                    mem = shape.get("members", {}).get(mname, {})
                    loc = mem.get("location")
                    if loc == "querystring":
                        req_q.setdefault(mem.get("locationName", mname), None)
                    elif loc == "header":
                        req_h.append(mem.get("locationName", mname).lower())
                ops.append((http.get("method", "POST"), segs, req_q, req_h, op_name, bool(op.get("deprecated"))))
            model = {"protocol": raw["metadata"].get("protocol"), "ops": ops}
        except Exception:  # unknown service: no model
            model = None
        _models[service] = model
        return model


def _match_rest(model: dict, method: str, path: str, query: dict[str, list[str]], headers: dict) -> str | None:
    if "x-id" in query:
        return query["x-id"][0]
    req_segs = [unquote(s) for s in path.split("/")]
    # keep empty segments inside keys but drop the leading one
    req_segs = req_segs[1:] if req_segs and req_segs[0] == "" else req_segs
    if req_segs and req_segs[-1] == "" and len(req_segs) == 1:
        req_segs = []
    best = None
    for m, segs, req_q, req_h, name, deprecated in model["ops"]:
        if m != method:
            continue
        ok = all(h in headers for h in req_h)
        for k, v in req_q.items():
            if k == "x-id":
                continue
            if k not in query or (v is not None and query[k][0] != v):
                ok = False
                break
        if not ok:
            continue
        # path match
        literal = 0
        i = 0
        for j, seg in enumerate(segs):
            if seg.startswith("{") and seg.endswith("+}"):
                if i >= len(req_segs):
                    ok = False
                i = len(req_segs)
                break
            if i >= len(req_segs):
                ok = False
                break
            if seg.startswith("{"):
                if req_segs[i] == "":
                    ok = False
                    break
            elif seg != req_segs[i]:
                ok = False
                break
            else:
                literal += 1
            i += 1
        if not ok:
            continue
        rest = [s for s in req_segs[i:]]
        if rest and not (len(rest) == 1 and rest[0] == ""):
            continue
        nq = len([k for k in req_q if k != "x-id"]) + len(req_h)
        # Of two operations on the same method and path (S3's PutBucketLifecycle and
        # PutBucketLifecycleConfiguration), the SDKs send the current one: it wins a tie.
        score = (nq, literal, len(segs), not deprecated)
        if best is None or score > best[0]:
            best = (score, name)
    if best is None:
        return None
    return best[1]


def parse_credential(environ: dict) -> tuple[str | None, str | None, str | None]:
    """(access_key, region, signing service) from SigV4 Authorization or presigned query."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    cred = None
    if "Credential=" in auth:
        cred = auth.split("Credential=", 1)[1].split(",", 1)[0].strip()
    else:
        qs = parse_qs(environ.get("QUERY_STRING", ""))
        if "X-Amz-Credential" in qs:
            cred = qs["X-Amz-Credential"][0]
    if not cred:
        return None, None, None
    parts = cred.split("/")
    if len(parts) >= 5:
        return parts[0], parts[2], parts[3].lower()
    return parts[0], None, None


def classify(environ: dict, body: bytes) -> dict:
    """Returns {service, region, access_key, operation, protocol}."""
    access_key, region, service = parse_credential(environ)
    target = environ.get("HTTP_X_AMZ_TARGET")
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    qs = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    ctype = environ.get("CONTENT_TYPE", "")
    operation = None
    protocol = None
    if target:
        operation = target.rsplit(".", 1)[-1]
        protocol = "json"
        if service is None:
            service = target.split(".", 1)[0].split("_")[0].lower()
    elif path.startswith("/service/") and "/operation/" in path:
        operation = path.rsplit("/operation/", 1)[1].strip("/")
        protocol = "cbor"
    elif "Action" in qs or (ctype.startswith("application/x-www-form-urlencoded") and b"Action=" in body):
        if "Action" in qs:
            operation = qs["Action"][0]
        else:
            operation = parse_qs(body.decode("utf-8", "replace")).get("Action", [None])[0]
        protocol = "ec2" if service == "ec2" else "query"
    else:
        # API Gateway v1 and v2 sign as `apigateway`; v2's paths start with /v2/.
        model_name = "apigatewayv2" if service == "apigateway" and path.startswith("/v2/") else service
        model = _load_model(model_name) if model_name else None
        if model:
            protocol = model["protocol"]
            headers = {k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
            p = path
            if service == "s3":
                host = environ.get("HTTP_HOST", "").split(":")[0]
                label = host.split(".")[0]
                if "." in host and not label.isdigit() and label not in ("s3", "localhost") and not host.startswith("s3."):
                    p = "/" + label + (path if path != "/" else "")
            operation = _match_rest(model, method, p, qs, headers)
        else:
            protocol = "rest-json"
    return {
        "service": service,
        "region": region,
        "access_key": access_key,
        "operation": operation,
        "protocol": protocol or "json",
    }


def _req_id() -> str:
    return str(uuid.uuid4())


def error_response(protocol: str, service: str | None, kind: str, status_hint: int | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
    """kind: 'throttle' or '5xx'. Returns (status, headers, body)."""
    if protocol == "cbor":
        return json_response_as_cbor(error_response("json", service, kind, status_hint))
    rid = _req_id()
    if kind == "throttle":
        if service == "s3":
            return 503, [("Content-Type", "application/xml"), ("x-amz-request-id", rid)], (
                f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
                f"<RequestId>{rid}</RequestId><HostId>{rid}</HostId></Error>").encode()
        if protocol == "ec2":
            return 503, [("Content-Type", "text/xml")], (
                f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
                f"<Message>Request limit exceeded.</Message></Error></Errors><RequestID>{rid}</RequestID></Response>").encode()
        if protocol in ("query", "rest-xml"):
            return 400, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
                f"<RequestId>{rid}</RequestId></ErrorResponse>").encode()
        return 400, [("Content-Type", "application/x-amz-json-1.1" if protocol == "json" else "application/json"),
                     ("x-amzn-RequestId", rid), ("x-amzn-ErrorType", "ThrottlingException")], json.dumps(
            {"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
    # 5xx
    status = status_hint or 500
    if service == "s3":
        code = "InternalError" if status == 500 else "ServiceUnavailable"
        msg = "We encountered an internal error. Please try again." if status == 500 else "Service is unable to handle request."
        return status, [("Content-Type", "application/xml"), ("x-amz-request-id", rid)], (
            f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{msg}</Message>"
            f"<RequestId>{rid}</RequestId><HostId>{rid}</HostId></Error>").encode()
    code = "InternalFailure" if status == 500 else "ServiceUnavailable"
    msg = "An internal error occurred." if status == 500 else "Service unavailable, please try again."
    if protocol == "ec2":
        code = "InternalError" if status == 500 else "Unavailable"
        return status, [("Content-Type", "text/xml")], (
            f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>"
            f"<Message>{msg}</Message></Error></Errors><RequestID>{rid}</RequestID></Response>").encode()
    if protocol in ("query", "rest-xml"):
        return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], (
            f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code><Message>{msg}</Message></Error>"
            f"<RequestId>{rid}</RequestId></ErrorResponse>").encode()
    return status, [("Content-Type", "application/x-amz-json-1.1" if protocol == "json" else "application/json"),
                    ("x-amzn-RequestId", rid), ("x-amzn-ErrorType", code)], json.dumps(
        {"__type": code, "message": msg}).encode()


def cbor_request_as_json(body: bytes) -> bytes:
    """A smithy-rpc-v2-cbor request body as the JSON our handlers read (an empty body is `{}`)."""
    import cbor2

    return json.dumps(cbor2.loads(body) if body else {}).encode()


def json_response_as_cbor(response: tuple[int, list[tuple[str, str]], bytes]) -> tuple[int, list[tuple[str, str]], bytes]:
    """A JSON answer of ours re-encoded for smithy-rpc-v2-cbor: the same map (errors keep
    `__type` and `message`), `Content-Type: application/cbor` and the `smithy-protocol: rpc-v2-cbor`
    header the protocol requires of every response
    (https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html). The shapes served this
    way (CodeConnections) hold no timestamps, which CBOR would tag."""
    import cbor2

    status, headers, body = response
    doc = json.loads(body) if body else {}
    headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
    headers += [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
    return status, headers, cbor2.dumps(doc)


def json_error(code: str, message: str, status: int = 400) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", _req_id()),
                    ("x-amzn-ErrorType", code)], json.dumps({"__type": code, "message": message}).encode()
