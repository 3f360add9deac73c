"""CodeStar Connections (CodeStar_connections_20191201) and CodeConnections (CodeConnections_20231201).

One store for both APIs, per account. Shapes follow botocore's service-2.json.

Connections are global: "Although the connection ARN format reflects the Region name where it
was created, the resource is not constrained to any Region ... You only have to create a
connection once, and then you can use it in any AWS Region ... When you list connection resources
in the console or CLI, the list shows all connection resources associated with your account
across all Regions" (Developer Tools console guide, "Global resources in AWS CodeConnections").
Updates (delete, tags) are made in the Region where it was created.

A connection shared through AWS RAM (only `codeconnections` ones can be) is readable from the
accounts it is shared with; any other account gets ResourceNotFoundException, as for a connection
that does not exist. `ListConnections` lists the caller's own connections only.
"""
from __future__ import annotations

import json
import threading
import uuid

from .protocol import json_error


def _ok(obj: dict) -> tuple[int, list[tuple[str, str]], bytes]:
    return 200, [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", str(uuid.uuid4()))], json.dumps(obj).encode()


PROVIDERS = ["Bitbucket", "GitHub", "GitHubEnterpriseServer", "GitLab", "GitLabSelfManaged"]


class CodeStarConnections:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        # arn -> {"conn": {...}, "tags": [...], "account":..., "region":...}; insertion ordered
        self.items: dict[str, dict] = {}
        # set by the app: callable(arn, account) -> whether RAM shares the connection with it
        self.is_shared = lambda arn, account: False

    def owner(self, arn: str) -> str | None:
        """The owning account of a connection (lock-free: RAM asks while holding its own lock)."""
        item = self._find(arn)
        return item["account"] if item else None

    def reset(self) -> None:
        with self.lock:
            self.items = {}

    def mark_available(self, arn: str) -> dict | None:
        with self.lock:
            item = self._find(arn)
            if item is None:
                return None
            item["conn"]["ConnectionStatus"] = "AVAILABLE"
            return dict(item["conn"])

    def _find(self, arn: str) -> dict | None:
        item = self.items.get(arn)
        if item is None and ":codeconnections:" in arn:
            item = self.items.get(arn.replace(":codeconnections:", ":codestar-connections:"))
        if item is None and ":codestar-connections:" in arn:
            item = self.items.get(arn.replace(":codestar-connections:", ":codeconnections:"))
        return item

    def handle(self, ctx: dict):
        op = ctx["operation"]
        try:
            req = json.loads(ctx["body"] or b"{}")
        except json.JSONDecodeError:
            return json_error("SerializationException", "Request body is not valid JSON")
        account, region = ctx["account"], ctx["region"]
        prefix = "codeconnections" if ctx["service"] == "codeconnections" else "codestar-connections"

        def lookup(arn_field: str, write: bool = False):
            arn = req.get(arn_field)
            if not arn:
                return None, json_error("ValidationException", f"1 validation error detected: Value null at '{arn_field}' failed to satisfy constraint: Member must not be null")
            item = self._find(arn)
            if item is None:
                return None, json_error("ResourceNotFoundException", f"Resource not found: {arn}")
            mine = item["account"] == account
            if write and not (mine and item["region"] == region):
                return None, json_error("ResourceNotFoundException", f"Resource not found: {arn}")
            if not mine and not self.is_shared(item["conn"]["ConnectionArn"], account):
                return None, json_error("ResourceNotFoundException", f"Resource not found: {arn}")
            return item, None

        with self.lock:
            if op == "CreateConnection":
                name = req.get("ConnectionName")
                if not name or len(name) > 32:
                    return json_error("ValidationException", "ConnectionName must be 1 to 32 characters")
                ptype = req.get("ProviderType")
                host = req.get("HostArn")
                if not ptype and not host:
                    return json_error("ValidationException", "Either ProviderType or HostArn must be specified")
                if ptype and ptype not in PROVIDERS:
                    return json_error("ValidationException", f"Invalid ProviderType {ptype}")
                for item in self.items.values():
                    if item["account"] == account and item["region"] == region and item["conn"]["ConnectionName"] == name:
                        # AWS allows duplicate names; we do too (each gets its own ARN)
                        pass
                arn = f"arn:aws:{prefix}:{region}:{account}:connection/{uuid.uuid4()}"
                conn = {"ConnectionName": name, "ConnectionArn": arn, "ProviderType": ptype or "GitHubEnterpriseServer",
                        "OwnerAccountId": account, "ConnectionStatus": "PENDING"}
                if host:
                    conn["HostArn"] = host
                tags = list(req.get("Tags") or [])
                self.items[arn] = {"conn": conn, "tags": tags, "account": account, "region": region}
                out = {"ConnectionArn": arn}
                if tags:
                    out["Tags"] = tags
                return _ok(out)
            if op == "GetConnection":
                item, err = lookup("ConnectionArn")
                if err:
                    return err
                return _ok({"Connection": dict(item["conn"])})
            if op == "ListConnections":
                ptype = req.get("ProviderTypeFilter")
                host = req.get("HostArnFilter")
                conns = [dict(i["conn"]) for i in self.items.values()
                         if i["account"] == account
                         and (not ptype or i["conn"]["ProviderType"] == ptype)
                         and (not host or i["conn"].get("HostArn") == host)]
                max_results = req.get("MaxResults") or 50
                if not isinstance(max_results, int) or not 0 <= max_results <= 5000:
                    return json_error("ValidationException", "MaxResults must be between 0 and 5000")
                max_results = max_results or 50
                start = 0
                token = req.get("NextToken")
                if token:
                    try:
                        start = int(token)
                    except ValueError:
                        return json_error("ValidationException", "Invalid NextToken")
                page = conns[start:start + max_results]
                out: dict = {"Connections": page}
                if start + max_results < len(conns):
                    out["NextToken"] = str(start + max_results)
                return _ok(out)
            if op == "DeleteConnection":
                item, err = lookup("ConnectionArn", write=True)
                if err:
                    return err
                del self.items[item["conn"]["ConnectionArn"]]
                return _ok({})
            if op == "TagResource":
                item, err = lookup("ResourceArn", write=True)
                if err:
                    return err
                tags = {t["Key"]: t.get("Value", "") for t in item["tags"]}
                for t in req.get("Tags") or []:
                    tags[t["Key"]] = t.get("Value", "")
                if len(tags) > 200:
                    return json_error("LimitExceededException", "Too many tags")
                item["tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
                return _ok({})
            if op == "UntagResource":
                item, err = lookup("ResourceArn", write=True)
                if err:
                    return err
                drop = set(req.get("TagKeys") or [])
                item["tags"] = [t for t in item["tags"] if t["Key"] not in drop]
                return _ok({})
            if op == "ListTagsForResource":
                item, err = lookup("ResourceArn")
                if err:
                    return err
                return _ok({"Tags": list(item["tags"])})
        return json_error("UnknownOperationException", f"Operation {op} is not supported by this emulator")
