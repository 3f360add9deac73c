"""Wire format -> input parameters, for validation.py (the reverse of botocore/serialize.py).

`parse_request()` turns one HTTP request into a Python value shaped like the operation's input
shape of the botocore `service-2` model: member names as in the model (not locationNames),
integers/booleans/floats converted by shape type, blobs base64-decoded to bytes, timestamps left
as sent (number or string). Protocols: json (awsJson1.0/1.1), query, ec2, rest-json, rest-xml.
Anything else (cbor, unknown services or operations, undecodable bodies, a path that does not
fit the operation's requestUri) gives None: such requests are left to moto, never rejected.

Members the shape does not know are kept so that validation.py can report them: JSON and XML
unknown keys/elements stay in their structure under their wire name; query/ec2 keys that no
member consumed are put at the top level under their full flattened key (Action, Version and
presigned-URL X-Amz-* keys excepted). Unknown query parameters and headers on REST protocols are
ignored (SDKs add x-id, checksum and user-agent headers...), as AWS does.
"""
from __future__ import annotations

import base64
import binascii
import json
import threading
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.etree import ElementTree

from . import protocol

MISSING = object()


class BadBlob(str):
    """A blob member whose wire value was not valid base64 (reported by validate())."""


_models: dict[str, Any] = {}
_lock = threading.Lock()
_loader = None


def service_model(service: str):
    """botocore ServiceModel for a SigV4 signing name (cached), or None."""
    global _loader
    with _lock:
        if service in _models:
            return _models[service]
        model = None
        try:
            import botocore.loaders
            import botocore.model

            if _loader is None:
                _loader = botocore.loaders.create_loader()
            name = protocol.MODEL_ALIASES.get(service, service)
            raw = _loader.load_service_model(name, "service-2")
            model = botocore.model.ServiceModel(raw, service_name=name)
        except Exception:  # unknown service: no model, no validation
            model = None
        _models[service] = model
        return model


def operation_model(service: str | None, operation: str | None):
    sm = service_model(service) if service else None
    if sm is None or not operation:
        return None
    try:
        return sm.operation_model(operation)
    except Exception:
        return None


def parse_request(service: str, operation: str, proto: str, environ: dict, body: bytes) -> dict | None:
    op = operation_model(service, operation)
    if op is None:
        return None
    if "gzip" in (environ.get("HTTP_CONTENT_ENCODING") or "").lower() and proto in ("json", "query", "ec2"):
        return None  # a compressed body (requestcompression trait): not decoded here
    try:
        if proto == "json":
            return _parse_json_rpc(op, body)
        if proto in ("query", "ec2"):
            return _parse_query(op, environ, body, proto == "ec2")
        if proto in ("rest-json", "rest-xml"):
            return _parse_rest(op, service, environ, body, proto == "rest-xml")
    except (ValueError, UnicodeDecodeError, ElementTree.ParseError, RecursionError):
        return None
    return None  # cbor or unknown protocol


# ------------------------------------------------------------------ scalars
def _b64(text: str) -> bytes | BadBlob:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return BadBlob(text)


def scalar(text: str, shape) -> Any:
    """Text from a query string, header, label or XML element, converted by shape type.
    Unconvertible text is kept as a string (validate() reports the wrong type)."""
    t = shape.type_name
    try:
        if t in ("integer", "long"):
            return int(text)
        if t in ("float", "double"):
            return float(text)
    except ValueError:
        return text
    if t == "boolean":
        low = text.lower()
        return True if low == "true" else False if low == "false" else text
    if t == "blob":
        return _b64(text)
    return text


# --------------------------------------------------------------------- json
def json_value(value: Any, shape) -> Any:
    """A decoded JSON value mapped onto `shape` (locationName -> member name, blobs decoded)."""
    if value is None:
        return None
    t = shape.type_name
    if t == "structure":
        if getattr(shape, "is_document_type", False) or not isinstance(value, dict):
            return value
        names = {m.serialization.get("name", n): n for n, m in shape.members.items()}
        out = {}
        for k, v in value.items():
            name = names.get(k)
            out[name if name else k] = json_value(v, shape.members[name]) if name else v
        return out
    if t == "list":
        return [json_value(v, shape.member) for v in value] if isinstance(value, list) else value
    if t == "map":
        return {k: json_value(v, shape.value) for k, v in value.items()} if isinstance(value, dict) else value
    if t == "blob" and isinstance(value, str):
        return _b64(value)
    return value


def _json_object(body: bytes) -> dict:
    text = body.decode("utf-8").strip()
    if not text:
        return {}
    obj = json.loads(text)
    if not isinstance(obj, dict):
        raise ValueError("JSON body is not an object")
    return obj


def _parse_json_rpc(op, body: bytes) -> dict:
    obj = _json_object(body)
    shape = op.input_shape
    return obj if shape is None else json_value(obj, shape)


# -------------------------------------------------------------------- query
class _Flat:
    """Flattened query keys plus, for each dotted prefix, the set of its child segments."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self.values: dict[str, str] = {}
        self.children: dict[str, set[str]] = {}
        self.used: set[str] = set()
        for k, v in pairs:
            if k in self.values:
                continue
            self.values[k] = v
            parts = k.split(".")
            for i in range(1, len(parts)):
                self.children.setdefault(".".join(parts[:i]), set()).add(parts[i])


def _qname(shape, default: str, ec2: bool) -> str:
    ser = shape.serialization
    if ec2:
        if "queryName" in ser:
            return ser["queryName"]
        if "name" in ser:
            return ser["name"][0].upper() + ser["name"][1:]
        return default
    return ser.get("name", default)


def _q_struct(shape, prefix: str, flat: _Flat, ec2: bool) -> dict:
    out = {}
    for name, m in shape.members.items():
        key = _qname(m, name, ec2)
        v = _q_value(m, f"{prefix}.{key}" if prefix else key, flat, ec2)
        if v is not MISSING:
            out[name] = v
    return out


def _indices(flat: _Flat, prefix: str) -> list[int]:
    return sorted(int(s) for s in flat.children.get(prefix, ()) if s.isdigit())


def _q_value(shape, key: str, flat: _Flat, ec2: bool) -> Any:
    t = shape.type_name
    if t == "structure":
        return _q_struct(shape, key, flat, ec2) if key in flat.children else MISSING
    if t == "list":
        if flat.values.get(key) == "" and key not in flat.children:
            flat.used.add(key)  # the query protocol's empty list: "Name="
            return []
        if ec2:
            prefixes = [key]
        elif shape.serialization.get("flattened"):
            prefixes = [key]
            if shape.member.serialization.get("name"):  # botocore renames the last segment
                prefixes.append(".".join(key.split(".")[:-1] + [shape.member.serialization["name"]]))
        else:
            prefixes = [f"{key}.{shape.member.serialization.get('name', 'member')}"]
        items = []
        for lp in dict.fromkeys(prefixes):
            for i in _indices(flat, lp):
                v = _q_value(shape.member, f"{lp}.{i}", flat, ec2)
                if v is not MISSING:
                    items.append(v)
        return items if items else MISSING
    if t == "map":
        full = key if shape.serialization.get("flattened") else f"{key}.entry"
        ks = shape.key.serialization.get("name", "key")
        vs = shape.value.serialization.get("name", "value")
        out = {}
        for i in _indices(flat, full):
            k = _q_value(shape.key, f"{full}.{i}.{ks}", flat, ec2)
            v = _q_value(shape.value, f"{full}.{i}.{vs}", flat, ec2)
            if k is not MISSING:
                out[k] = None if v is MISSING else v
        return out if out else MISSING
    if key in flat.values:
        flat.used.add(key)
        return scalar(flat.values[key], shape)
    return MISSING


def _ignored_query_key(k: str) -> bool:
    return k in ("Action", "Version") or k.lower().startswith("x-amz-")


def _parse_query(op, environ: dict, body: bytes, ec2: bool) -> dict:
    pairs = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    ctype = environ.get("CONTENT_TYPE", "") or ""
    if body and (not ctype or ctype.startswith("application/x-www-form-urlencoded")):
        pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    flat = _Flat(pairs)
    shape = op.input_shape
    out = _q_struct(shape, "", flat, ec2) if shape is not None else {}
    for k, v in flat.values.items():
        if k not in flat.used and not _ignored_query_key(k):
            out[k] = v  # unknown parameter: validate() reports it
    return out


# --------------------------------------------------------------------- rest
def _request_path(environ: dict) -> tuple[str, bool]:
    """(path, still_percent_encoded)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        if raw.startswith(("http://", "https://")):
            raw = urlsplit(raw).path or "/"
        return raw.split("?", 1)[0] or "/", True
    path = environ.get("PATH_INFO", "/") or "/"
    try:  # PEP 3333: PATH_INFO carries the raw bytes as latin-1
        path = path.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return path, False


def s3_host_bucket(environ: dict) -> str | None:
    """The bucket of a virtual-hosted-style S3 request (same rule as protocol.classify)."""
    host = environ.get("HTTP_HOST", "").split(":")[0]
    label = host.split(".")[0]
    if "." in host and not label.isdigit() and label not in ("s3", "localhost") and not host.startswith("s3."):
        return label
    return None


def match_uri(template: str, path: str, encoded: bool) -> dict[str, str] | None:
    """Labels of `path` against a requestUri path template ({Name}, greedy {Name+}), or None."""
    tsegs = [s for s in template.split("/") if s]
    psegs = path.split("/")[1:] if path.startswith("/") else path.split("/")
    if psegs and psegs[-1] == "" and not (tsegs and tsegs[-1].endswith("+}")):
        psegs = psegs[:-1]  # tolerate one trailing slash
    dec = unquote if encoded else (lambda s: s)
    labels: dict[str, str] = {}
    for i, t in enumerate(tsegs):
        if t.startswith("{") and t.endswith("+}"):
            rest = "/".join(psegs[i:])
            if not rest or i != len(tsegs) - 1:
                return None
            labels[t[1:-2]] = dec(rest)
            return labels
        if i >= len(psegs):
            return None
        if t.startswith("{") and t.endswith("}"):
            if psegs[i] == "":
                return None
            labels[t[1:-1]] = dec(psegs[i])
        elif dec(psegs[i]) != t:
            return None
    return labels if len(psegs) == len(tsegs) else None


def _headers(environ: dict) -> dict[str, str]:
    out = {k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        out["content-type"] = environ["CONTENT_TYPE"]
    out.pop("content-length", None)  # transport framing, not a parameter
    return out


def _split_header_list(text: str) -> list[str]:
    items, cur, quoted, esc = [], [], False, False
    for ch in text:
        if esc:
            cur.append(ch)
            esc = False
        elif ch == "\\" and quoted:
            esc = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            items.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    items.append("".join(cur).strip())
    return [i for i in items if i != ""] if text.strip() else []


def _header_value(text: str, shape) -> Any:
    t = shape.type_name
    if t == "list":
        return [scalar(v, shape.member) for v in _split_header_list(text)]
    if shape.serialization.get("jsonvalue"):
        try:
            return json.loads(base64.b64decode(text))
        except (ValueError, binascii.Error):
            return text
    if t in ("timestamp", "blob"):
        return text
    return scalar(text, shape)


def _parse_rest(op, service: str, environ: dict, body: bytes, xml: bool) -> dict | None:
    path, encoded = _request_path(environ)
    if service == "s3":
        bucket = s3_host_bucket(environ)
        if bucket:
            path = "/" + bucket + (path if path != "/" else "")
    template = op.http.get("requestUri", "/")
    tpath, _, tquery = template.partition("?")
    labels = match_uri(tpath, path, encoded)
    if labels is None:
        return None  # not this operation's URI: leave the request alone
    shape = op.input_shape
    if shape is None:
        return {}
    headers = _headers(environ)
    query: dict[str, list[str]] = {}
    for k, v in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        query.setdefault(k, []).append(v)
    literal_q = {p.partition("=")[0] for p in tquery.split("&") if p}
    out: dict[str, Any] = {}
    bound_q: set[str] = set()
    qmap = None
    for name, m in shape.members.items():
        loc = m.serialization.get("location")
        lname = m.serialization.get("name", name)
        if loc == "uri":
            if lname in labels:
                out[name] = scalar(labels[lname], m)
        elif loc == "querystring":
            if m.type_name == "map":
                qmap = (name, m)
            elif lname in query:
                bound_q.add(lname)
                vals = query[lname]
                out[name] = [scalar(v, m.member) for v in vals] if m.type_name == "list" else scalar(vals[0], m)
        elif loc == "header":
            h = headers.get(lname.lower())
            if h is not None:
                out[name] = _header_value(h, m)
        elif loc == "headers":
            pre = lname.lower()
            d = {k[len(pre):]: v for k, v in headers.items() if k.startswith(pre) and len(k) > len(pre)}
            if d:
                out[name] = d
    if qmap is not None:
        name, m = qmap
        rest = {k: v for k, v in query.items()
                if k not in bound_q and k not in literal_q and k != "x-id" and not k.lower().startswith("x-amz-")}
        if rest:
            out[name] = {k: (v if m.value.type_name == "list" else v[0]) for k, v in rest.items()}
    payload = shape.serialization.get("payload")
    gzipped = "gzip" in headers.get("content-encoding", "").lower()
    if payload:
        pm = shape.members[payload]
        if pm.type_name in ("blob", "string"):
            if body:
                out[payload] = body if pm.type_name == "blob" else body.decode("utf-8", "replace")
        elif gzipped:
            return None
        elif body.strip():
            out[payload] = xml_value(ElementTree.fromstring(body), pm) if xml else json_value(_json_object(body), pm)
        return out
    if gzipped and body:
        return None
    if body.strip():
        body_members = {n: m for n, m in shape.members.items() if "location" not in m.serialization}
        if xml:
            out.update(xml_struct(ElementTree.fromstring(body), shape, body_members))
        else:
            obj = _json_object(body)
            names = {m.serialization.get("name", n): n for n, m in body_members.items()}
            for k, v in obj.items():
                n = names.get(k)
                out[n if n else k] = json_value(v, body_members[n]) if n else v
    return out


# ---------------------------------------------------------------------- xml
def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def xml_value(elem, shape) -> Any:
    t = shape.type_name
    if t == "structure":
        return xml_struct(elem, shape)
    if t == "list":
        name = shape.member.serialization.get("name", "member")
        return [xml_value(c, shape.member) for c in elem if _local(c.tag) == name]
    if t == "map":
        return dict(_xml_entry(e, shape) for e in elem if _local(e.tag) == "entry")
    return scalar(elem.text or "", shape)


def _xml_entry(elem, shape) -> tuple[Any, Any]:
    kn = shape.key.serialization.get("name", "key")
    vn = shape.value.serialization.get("name", "value")
    k = v = None
    for c in elem:
        if _local(c.tag) == kn:
            k = xml_value(c, shape.key)
        elif _local(c.tag) == vn:
            v = xml_value(c, shape.value)
    return k, v


def xml_struct(elem, shape, members: dict | None = None) -> dict:
    members = shape.members if members is None else members
    children: dict[str, list] = {}
    for c in elem:
        children.setdefault(_local(c.tag), []).append(c)
    out: dict[str, Any] = {}
    known: set[str] = set()
    for name, m in members.items():
        xname = m.serialization.get("name", name)
        if m.serialization.get("xmlAttribute"):
            local = xname.split(":")[-1]
            for ak, av in elem.attrib.items():
                if _local(ak) == local:
                    out[name] = av
            continue
        known.add(xname)
        kids = children.get(xname)
        if not kids:
            continue
        if m.serialization.get("flattened") and m.type_name == "list":
            out[name] = [xml_value(k, m.member) for k in kids]
        elif m.serialization.get("flattened") and m.type_name == "map":
            out[name] = dict(_xml_entry(k, m) for k in kids)
        else:
            out[name] = xml_value(kids[0], m)
    for xname, kids in children.items():
        if xname not in known:
            out[xname] = kids[0].text or ""  # unknown element: validate() reports it
    return out
