"""Request validation against AWS's published service model, like the AWS front ends do.

The model is botocore's `service-2` JSON of the pinned botocore (1.44.5), looked up by SigV4
signing name (`protocol.MODEL_ALIASES` maps the names that differ, e.g. tagging ->
resourcegroupstaggingapi). Parsing the wire formats lives in validation_parse.py.

    params, violations = check(service, operation, protocol, environ, body)
    if violations:
        status, headers, body = validation_error(protocol, service, violations)

Validated (input shapes only, never outputs), with AWS's (Coral's) message style
`Value 'x' at 'tags.1.member.key' failed to satisfy constraint: Member must ...`; paths use the
member names with a lower-case first letter, list elements as `name.N.member`:
- required members present and not null ("Member must not be null");
- string: min/max length in Unicode code points, `pattern` (a Java regex, run with the `regex`
  module, full-match; Java's ASCII-only `\\w \\d \\s` and POSIX `\\p{Alnum}`... and surrogate-pair
  escapes are translated first; a pattern that still does not compile is skipped), `enum`;
- integer/long/float/double: min/max value; blob: valid base64 in JSON/XML/query, min/max
  length of the decoded bytes; boolean/timestamp/number: cheap type checks only;
- list: min/max element count and each element; map: min/max entry count, keys and values
  (scalar key/value failures are reported once per map, "Map keys must satisfy constraint: [...]");
- structure: each member; members the shape does not know ("Unknown parameter in input"), in
  JSON and XML bodies and in query/ec2 form keys (Action, Version, X-Amz-* ignored).
Not validated: output shapes; document types, union "exactly one member" rules; event streams;
streaming payload bodies (S3 PutObject Body...); unknown query parameters and headers on REST
protocols (SDKs add x-id, x-amz-sdk-*, checksum, Expect...); service-side business rules;
smithy-rpc-v2-cbor requests (parse_request returns None, so nothing is reported).
The SDKs auto-fill idempotency tokens, so they are checked like any member.

Error code (validation_error): query -> `ValidationError` (IAM, STS, CloudFormation answer so),
ec2 -> `InvalidParameterValue`, rest-xml (S3) -> `InvalidArgument`. json / rest-json: AWS's
front end answers `ValidationException` whether the model declares it or not (Lambda, EventBridge,
KMS, DynamoDB, Secrets Manager do, although their models list other exceptions or none), except
where public error reports show a service's own name: CloudWatch Logs answers
`InvalidParameterException` ("InvalidParameterException: 1 validation error detected: Value ''
at 'logGroupNamePrefix'...") although its model lists ValidationException, ECR
`InvalidParameterException`, Organizations `InvalidInputException`. For services in neither
list the rule is: `ValidationException` if the model declares it, else the first of
InvalidParameterException / InvalidInputException / InvalidParameterValueException the model
declares, else `ValidationException` (so ECS and Budgets get InvalidParameterException: not
verified against AWS). CodeStar Connections / CodeConnections use ValidationException like this
emulator's own codestar.py.
"""
from __future__ import annotations

import functools
import json
import uuid
from typing import Any
from xml.sax.saxutils import escape

import regex

from .validation_parse import BadBlob, operation_model, service_model
from .validation_parse import parse_request as _parse

ERROR_CODES = {
    "logs": "InvalidParameterException",
    "ecr": "InvalidParameterException",
    "organizations": "InvalidInputException",
    "lambda": "ValidationException",
    "secretsmanager": "ValidationException",
    "events": "ValidationException",
    "kms": "ValidationException",
    "dynamodb": "ValidationException",
    "sqs": "ValidationException",
    "codestar-connections": "ValidationException",
    "codeconnections": "ValidationException",
}
_FALLBACK_CODES = ("InvalidParameterException", "InvalidInputException", "InvalidParameterValueException")


def parse_request(service: str, operation: str, protocol: str, environ: dict, body: bytes) -> dict | None:
    """The request's input parameters as a Python value shaped like the operation's input shape
    (member names as in the model, not locationNames), or None when the service/operation has no
    model (or the protocol is cbor/unknown, or the body/path cannot be decoded)."""
    return _parse(service, operation, protocol, environ, body)


def validate(service: str, operation: str, params: dict) -> list[str]:
    """Violations of the operation's input shape, each a short human-readable string like
    "Value 'x' at 'tags.1.member.key' failed to satisfy constraint: Member must have length less
    than or equal to 128". Empty list when valid (or when there is no model)."""
    op = operation_model(service, operation)
    if op is None or params is None:
        return []
    out: list[str] = []
    shape = op.input_shape
    if shape is None:
        out.extend(_unknown("", k, {}) for k in params)
    else:
        _check(params, shape, "", out)
    return out


def check(service: str, operation: str, protocol: str, environ: dict, body: bytes) -> tuple[dict | None, list[str]]:
    """parse_request + validate."""
    params = parse_request(service, operation, protocol, environ, body)
    if params is None:
        return None, []
    return params, validate(service, operation, params)


def format_message(messages: list[str]) -> str:
    """AWS's joined message: "N validation error(s) detected: A; B"."""
    n = len(messages)
    return f"{n} validation error{'s' if n != 1 else ''} detected: " + "; ".join(messages)


def error_code(protocol: str, service: str | None) -> str:
    """The error code a validation failure gets (see the module docstring)."""
    if protocol == "query":
        return "ValidationError"
    if protocol == "ec2":
        return "InvalidParameterValue"
    if protocol == "rest-xml":
        return "InvalidArgument"
    if service in ERROR_CODES:
        return ERROR_CODES[service]
    sm = service_model(service) if service else None
    if sm is not None:
        names = set(sm.shape_names)
        if "ValidationException" in names:
            return "ValidationException"
        for name in _FALLBACK_CODES:
            if name in names:
                return name
    return "ValidationException"


def validation_error(protocol: str, service: str, messages: list[str]) -> tuple[int, list[tuple[str, str]], bytes]:
    """The protocol's validation error response (status, headers, body) as AWS sends it:
    json / rest-json: HTTP 400, x-amzn-ErrorType CODE, body {"__type": CODE, "message": ...};
    query: HTTP 400 <ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>...;
    ec2: HTTP 400 <Response><Errors><Error><Code>InvalidParameterValue</Code>...;
    rest-xml (S3): HTTP 400 <Error><Code>InvalidArgument</Code><Message>...</Message>...</Error>.
    CODE is chosen by error_code(), see the module docstring."""
    rid = str(uuid.uuid4())
    msg = format_message(messages)
    code = error_code(protocol, service)
    if protocol == "query":
        sm = service_model(service) if service else None
        ns = (sm.metadata.get("xmlNamespace") if sm is not None else None) or ""
        attr = f' xmlns="{escape(ns)}"' if ns else ""
        body = (f"<ErrorResponse{attr}><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{escape(msg)}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")
        return 400, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], body.encode()
    if protocol == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{escape(msg)}</Message></Error></Errors><RequestID>{rid}</RequestID></Response>")
        return 400, [("Content-Type", "text/xml")], body.encode()
    if protocol == "rest-xml":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(msg)}</Message>'
                f"<RequestId>{rid}</RequestId><HostId>{rid}</HostId></Error>")
        return 400, [("Content-Type", "application/xml"), ("x-amz-request-id", rid)], body.encode()
    if protocol == "json":
        sm = service_model(service) if service else None
        version = (sm.metadata.get("jsonVersion") if sm is not None else None) or "1.0"
        ctype = f"application/x-amz-json-{version}"
    else:
        ctype = "application/json"
    return 400, [("Content-Type", ctype), ("x-amzn-RequestId", rid), ("x-amzn-ErrorType", code)], json.dumps(
        {"__type": code, "message": msg}).encode()


# --------------------------------------------------------------- Java regex
_SHORT = {"w": "a-zA-Z0-9_", "d": "0-9", "s": " \\t\\n\\x0B\\f\\r"}
_NEGATED = {"W": "[^a-zA-Z0-9_]", "D": "[^0-9]", "S": "[^ \\t\\n\\x0B\\f\\r]"}  # outside [...] only
_POSIX = {
    "Lower": "a-z", "Upper": "A-Z", "ASCII": "\\x00-\\x7F", "Alpha": "a-zA-Z", "Digit": "0-9",
    "Alnum": "a-zA-Z0-9", "Punct": "!-/:-@\\[-`{-~", "Graph": "!-~", "Print": " -~", "Blank": " \\t",
    "Cntrl": "\\x00-\\x1F\\x7F", "XDigit": "0-9a-fA-F", "Space": " \\t\\n\\x0B\\f\\r",
}
_SURROGATES = regex.compile(r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})")
_POSIX_RE = regex.compile(r"\\p\{(?:Is)?(\w+)\}")


def java_regex(pattern: str) -> str:
    """Java regex syntax -> `regex` module syntax for what differs in AWS models: Java's \\w \\d \\s
    (and \\W \\D \\S outside [...]) and POSIX \\p{Alnum}... are ASCII-only, and Java writes
    supplementary characters as UTF-16 surrogate pairs (\\uD800\\uDC00)."""
    out: list[str] = []
    i, depth, n = 0, 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            m = _SURROGATES.match(pattern, i)
            if m:
                cp = 0x10000 + ((int(m.group(1), 16) - 0xD800) << 10) + (int(m.group(2), 16) - 0xDC00)
                out.append(f"\\U{cp:08x}")
                i = m.end()
                continue
            m = _POSIX_RE.match(pattern, i)
            body = _SHORT.get(pattern[i + 1]) or (_POSIX.get(m.group(1)) if m else None)
            if body:
                out.append(body if depth else f"[{body}]")
                i = m.end() if m and pattern[i + 1] == "p" else i + 2
                continue
            out.append(_NEGATED[pattern[i + 1]] if not depth and pattern[i + 1] in _NEGATED else pattern[i:i + 2])
            i += 2
            continue
        if c == "[":
            depth += 1
        elif c == "]" and depth:
            depth -= 1
        out.append(c)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def compiled_pattern(pattern: str):
    """The compiled pattern, or None when it does not compile (then it is not checked)."""
    try:
        return regex.compile(java_regex(pattern))
    except Exception:
        return None


# --------------------------------------------------------------- the walk
def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _render(value: Any, shape) -> str | None:
    if shape is not None and shape.metadata.get("sensitive"):
        return None
    if isinstance(value, (bytes, bytearray)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        parts = [_render(v, getattr(shape, "member", None)) for v in value]
        return "[" + ", ".join("***" if p is None else p for p in parts) + "]"
    if isinstance(value, dict):
        vs = getattr(shape, "value", None) if shape is not None and shape.type_name == "map" else None
        parts = [f"{k}={'***' if (r := _render(v, vs)) is None else r}" for k, v in value.items()]
        return "{" + ", ".join(parts) + "}"
    return str(value)


def _msg(value: Any, shape, path: str, constraint: str) -> str:
    r = _render(value, shape)
    shown = f"Value '{r}' at" if r is not None else "Value at"
    return f"{shown} '{path}' failed to satisfy constraint: {constraint}"


def _unknown(path: str, key: str, members) -> str:
    allowed = ", ".join(members) if members else "(none)"
    return f"Unknown parameter in input: '{_join(path, str(key))}', must be one of: {allowed}"


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def _scalar_failures(value: Any, shape) -> list[str]:
    """Constraint texts a scalar value fails ("Member must ...")."""
    t = shape.type_name
    meta = shape.metadata
    mn, mx = meta.get("min"), meta.get("max")
    if t == "string":
        if isinstance(value, (dict, list)) or isinstance(value, bool):
            return ["Member must be a string"]
        text = value if isinstance(value, str) else str(value)
        out = []
        if mx is not None and len(text) > mx:
            out.append(f"Member must have length less than or equal to {mx}")
        if mn is not None and len(text) < mn:
            out.append(f"Member must have length greater than or equal to {mn}")
        pattern = meta.get("pattern")
        if pattern:
            rx = compiled_pattern(pattern)
            if rx is not None and rx.fullmatch(text) is None:
                out.append(f"Member must satisfy regular expression pattern: {pattern}")
        enum = meta.get("enum")
        if enum and text not in enum:
            out.append(f"Member must satisfy enum value set: [{', '.join(enum)}]")
        return out
    if t in ("integer", "long", "float", "double"):
        num = _number(value)
        if num is None or (t in ("integer", "long") and isinstance(num, float) and not num.is_integer()):
            return [f"Member must be of type {t}"]
        out = []
        if mx is not None and num > mx:
            out.append(f"Member must have value less than or equal to {mx}")
        if mn is not None and num < mn:
            out.append(f"Member must have value greater than or equal to {mn}")
        return out
    if t == "boolean":
        ok = isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("true", "false"))
        return [] if ok else ["Member must be of type boolean"]
    if t == "timestamp":
        ok = isinstance(value, (int, float, str)) and not isinstance(value, bool)
        return [] if ok else ["Member must be a timestamp"]
    if t == "blob":
        if isinstance(value, BadBlob):
            return ["Member must be a valid base64-encoded blob"]
        if isinstance(value, str):
            value = value.encode("utf-8")
        if not isinstance(value, (bytes, bytearray)):
            return []  # file-like / streaming: not checked
        out = []
        if mx is not None and len(value) > mx:
            out.append(f"Member must have length less than or equal to {mx}")
        if mn is not None and len(value) < mn:
            out.append(f"Member must have length greater than or equal to {mn}")
        return out
    return []


def _check(value: Any, shape, path: str, out: list[str]) -> None:
    t = shape.type_name
    if t == "structure":
        if getattr(shape, "is_document_type", False):
            return
        if not isinstance(value, dict):
            out.append(_msg(value, shape, path, "Member must be a structure"))
            return
        members = shape.members
        required = set(shape.required_members)
        for name, m in members.items():
            v = value.get(name)
            p = _join(path, _camel(name))
            if v is None:
                if name in required:
                    out.append(f"Value null at '{p}' failed to satisfy constraint: Member must not be null")
                continue
            _check(v, m, p, out)
        for k in value:
            if k not in members:
                out.append(_unknown(path, k, members))
        return
    if t == "list":
        if not isinstance(value, list):
            out.append(_msg(value, shape, path, "Member must be a list"))
            return
        _count(value, shape, path, out)
        for i, v in enumerate(value, 1):
            if v is not None:
                _check(v, shape.member, f"{path}.{i}.member", out)
        return
    if t == "map":
        if not isinstance(value, dict):
            out.append(_msg(value, shape, path, "Member must be a map"))
            return
        _count(value, shape, path, out)
        key_fail: list[str] = []
        val_fail: list[str] = []
        for k, v in value.items():
            key_fail += [f for f in _scalar_failures(k, shape.key) if f not in key_fail]
            if v is None:
                continue
            if shape.value.type_name in ("structure", "list", "map"):
                _check(v, shape.value, f"{path}.{k}", out)
            else:
                val_fail += [f for f in _scalar_failures(v, shape.value) if f not in val_fail]
        if key_fail:
            out.append(_msg(value, shape, path, f"Map keys must satisfy constraint: [{', '.join(key_fail)}]"))
        if val_fail:
            out.append(_msg(value, shape, path, f"Map value must satisfy constraint: [{', '.join(val_fail)}]"))
        return
    out.extend(_msg(value, shape, path, f) for f in _scalar_failures(value, shape))


def _count(value, shape, path: str, out: list[str]) -> None:
    mn, mx = shape.metadata.get("min"), shape.metadata.get("max")
    if mx is not None and len(value) > mx:
        out.append(_msg(value, shape, path, f"Member must have length less than or equal to {mx}"))
    if mn is not None and len(value) < mn:
        out.append(_msg(value, shape, path, f"Member must have length greater than or equal to {mn}"))
