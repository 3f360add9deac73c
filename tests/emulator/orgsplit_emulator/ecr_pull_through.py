"""ECR pull-through cache rules, which moto 5.2.5 does not implement (it answers HTTP 500,
which SDKs retry for half a minute): CreatePullThroughCacheRule,
DescribePullThroughCacheRules, DeletePullThroughCacheRule, per account and region.

https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribePullThroughCacheRules.html
https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreatePullThroughCacheRule.html
"""
from __future__ import annotations

import json
import threading
import time
import uuid

from .protocol import json_error

OPERATIONS = ("CreatePullThroughCacheRule", "DescribePullThroughCacheRules", "DeletePullThroughCacheRule")

_rules: dict[tuple[str, str], dict[str, dict]] = {}
_lock = threading.Lock()


def reset() -> None:
    with _lock:
        _rules.clear()


def _ok(obj: dict) -> tuple[int, list[tuple[str, str]], bytes]:
    return 200, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", str(uuid.uuid4()))], json.dumps(obj).encode()


def handle(ctx: dict):
    try:
        req = json.loads(ctx["body"] or b"{}")
    except json.JSONDecodeError:
        return json_error("SerializationException", "Request body is not valid JSON")
    op = ctx["operation"]
    with _lock:
        rules = _rules.setdefault((ctx["account"], ctx["region"]), {})
        prefix = req.get("ecrRepositoryPrefix")
        if op == "CreatePullThroughCacheRule":
            if prefix in rules:
                return json_error("PullThroughCacheRuleAlreadyExistsException",
                                  f"A pull through cache rule with prefix {prefix} already exists")
            rule = {"ecrRepositoryPrefix": prefix, "upstreamRegistryUrl": req.get("upstreamRegistryUrl"),
                    "createdAt": time.time(), "registryId": ctx["account"]}
            rules[prefix] = rule
            return _ok(rule)
        if op == "DeletePullThroughCacheRule":
            if prefix not in rules:
                return json_error("PullThroughCacheRuleNotFoundException", f"No pull through cache rule with prefix {prefix}")
            return _ok(rules.pop(prefix))
        wanted = req.get("ecrRepositoryPrefixes")
        found = [r for p, r in sorted(rules.items()) if not wanted or p in wanted]
        return _ok({"pullThroughCacheRules": found})
