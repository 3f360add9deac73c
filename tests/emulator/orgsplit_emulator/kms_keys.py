"""KMS keys as the services that use them see them, which moto does not check.

- A SecureString parameter (SSM PutParameter `KeyId`) and a secret (Secrets Manager
  CreateSecret/UpdateSecret `KmsKeyId`) are encrypted by the service calling KMS with the
  caller's credentials: the key must exist, be enabled and be usable by the caller. moto stores
  any string. Here the key (id, key ARN, alias name or alias ARN) must be an enabled key of the
  caller's own account and Region; a key of another account is refused (AWS allows it when the
  key policy grants the caller; this emulator does not evaluate key policies, and orgsplit
  never writes a copy under another account's key).
  https://docs.aws.amazon.com/systems-manager/latest/userguide/secure-string-parameter-kms-encryption.html
  https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html
- "The principals in the key policy must exist and be visible to KMS" (CreateKey and
  PutKeyPolicy `Policy`): a role principal that does not exist is refused with
  MalformedPolicyDocumentException.
  https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html
"""
from __future__ import annotations

import json


def _backend(account: str, region: str):
    from moto.kms.models import kms_backends

    return kms_backends[account][region]


def key_problem(account: str, region: str, key: str) -> str | None:
    """Why `key`, as a caller of `account` in `region` names it, cannot encrypt; None if it can."""
    if key.startswith("arn:"):
        parts = key.split(":")
        if len(parts) < 6:
            return f"Invalid KeyId {key}"
        if parts[4] != account:
            return f"key {key} belongs to account {parts[4]}"
        if parts[3] != region:
            return f"key {key} is in Region {parts[3]}, not {region}"
    backend = _backend(account, region)
    name = key.split(":", 5)[5] if key.startswith("arn:") else key
    if name.startswith("alias/aws/"):
        return None  # AWS-managed keys exist in every account (made on first use)
    try:
        found = backend.describe_key(key if not name.startswith("alias/") else name)
    except Exception:
        return f"Invalid KeyId {key}"
    if getattr(found, "key_state", "Enabled") != "Enabled":
        return f"key {key} is {found.key_state}"
    return None


def role_principals(document: str | None) -> list[str]:
    """The role ARNs (`arn:aws:iam::ACCOUNT:role/...`) a policy document names as `AWS`
    principals; none for a document that is not JSON."""
    if not document:
        return []
    try:
        doc = json.loads(document)
    except ValueError:
        return []
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    roles = []
    for st in statements or []:
        principal = st.get("Principal") if isinstance(st, dict) else None
        aws = principal.get("AWS") if isinstance(principal, dict) else None
        for arn in [aws] if isinstance(aws, str) else (aws or []):
            parts = arn.split(":") if isinstance(arn, str) else []
            if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
                roles.append(arn)
    return roles


def invalid_principals(document: str | None, role_exists) -> list[str]:
    """The role principals of a key policy that do not exist."""
    return [arn for arn in role_principals(document)
            if not role_exists(arn.split(":")[4], arn.split(":")[5].rsplit("/", 1)[-1])]
