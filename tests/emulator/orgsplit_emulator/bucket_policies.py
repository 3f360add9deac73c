"""Explicit denies of a bucket policy, which moto does not evaluate.

On AWS a bucket policy's `Deny` applies to every principal it names, the account's own roles
included: a policy that locks a bucket to a few roles refuses everyone else's reads with
AccessDenied (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
This layer evaluates `Deny` statements for the bucket-level reads an inventory makes. Supported:
`Principal` `*`, `{"AWS": "*"}` or the caller's role ARN; `Action` patterns; no `Condition`, or
`StringNotLike`/`StringNotEquals`/`ArnNotLike`/`ArnNotEquals` on `aws:PrincipalArn`. A statement
with any other condition is not applied (lenient, like moto).
"""
from __future__ import annotations

import fnmatch
import json
from typing import Any

# Bucket-level reads and the IAM action each needs
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html).
READS = {
    "GetBucketLocation": "s3:GetBucketLocation",
    "GetBucketVersioning": "s3:GetBucketVersioning",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "GetBucketPolicy": "s3:GetBucketPolicy",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "GetBucketOwnershipControls": "s3:GetBucketOwnershipControls",
    "GetBucketCors": "s3:GetBucketCORS",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "GetBucketReplication": "s3:GetReplicationConfiguration",
    "GetBucketNotificationConfiguration": "s3:GetBucketNotification",
    "GetBucketLogging": "s3:GetBucketLogging",
    "GetBucketTagging": "s3:GetBucketTagging",
    "ListObjectsV2": "s3:ListBucket",
}

_NOT_PRINCIPAL = ("StringNotLike", "StringNotEquals", "ArnNotLike", "ArnNotEquals")


def _list(v: Any) -> list:
    return v if isinstance(v, list) else [v]


def caller_role_arn(account: str, access_key: str | None) -> str | None:
    """The role ARN of the caller's assumed-role session, if it is one."""
    if not access_key:
        return None
    from moto.sts.models import sts_backends

    role = sts_backends[account]["aws"].get_assumed_role_from_access_key(access_key)
    return role.role_arn if role else None


def _principal_matches(principal: Any, caller: str | None) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any(p == "*" or (caller and p == caller) for p in _list(principal.get("AWS", [])))
    return False


def _condition_applies(condition: dict | None, caller: str | None) -> bool | None:
    """True/False when the condition is one this layer evaluates, None otherwise."""
    if not condition:
        return True
    if len(condition) != 1:
        return None
    (op, clause), = condition.items()
    if op not in _NOT_PRINCIPAL or set(clause) != {"aws:PrincipalArn"}:
        return None
    allowed = _list(clause["aws:PrincipalArn"])
    like = op.endswith("Like")
    return not any(caller and (fnmatch.fnmatchcase(caller, a) if like else caller == a) for a in allowed)


def denies(policy: str | bytes | None, operation: str, caller: str | None) -> bool:
    action = READS.get(operation)
    if not policy or not action:
        return False
    try:
        doc = json.loads(policy)
    except ValueError:
        return False
    for st in _list(doc.get("Statement", [])):
        if st.get("Effect") != "Deny" or not _principal_matches(st.get("Principal"), caller):
            continue
        if not any(fnmatch.fnmatch(action.lower(), a.lower()) for a in _list(st.get("Action", []))):
            continue
        if _condition_applies(st.get("Condition"), caller):
            return True
    return False


def bucket_policy(account: str, bucket: str) -> bytes | None:
    from moto.s3.models import s3_backends

    found = s3_backends[account]["aws"].buckets.get(bucket)
    return found.policy if found else None
