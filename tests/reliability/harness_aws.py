"""The reliability harness's AWS side: boto3 clients for the emulator, per account and region,
and the few reads every suite needs (the organization's accounts, pending connections).

Its calls carry the emulator's seeder mark in their User-Agent (see common.py)."""
from __future__ import annotations

from typing import Any, Callable

import boto3
import botocore.config
import botocore.exceptions


MANAGEMENT = "123456789012"
SOURCE = "111111111111"
ACCESS_ROLE = "OrganizationAccountAccessRole"
SEED_UA_MARK = "orgsplit-emulator-seed"  # see tests/emulator/orgsplit_emulator/app.py
REGIONS = ["us-east-1", "eu-west-1"]


class Aws:
    """boto3 clients for the emulator, per account (assumed access role) and region."""

    def __init__(self, url: str):
        self.url = url
        self.config = botocore.config.Config(
            user_agent_extra=f"{SEED_UA_MARK} reliability-harness",
            retries={"mode": "standard", "max_attempts": 8},
            connect_timeout=10, read_timeout=120,
        )
        self.creds: dict[str, dict] = {}
        self.clients: dict[tuple, Any] = {}

    def _base(self, service: str, region: str, creds: dict) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=self.url, config=self.config, **creds)

    def client(self, service: str, account: str = MANAGEMENT, region: str = "us-east-1") -> Any:
        key = (service, account, region)
        if key not in self.clients:
            self.clients[key] = self._base(service, region, self._creds(account))
        return self.clients[key]

    def _creds(self, account: str) -> dict:
        if account == MANAGEMENT:
            return {"aws_access_key_id": "harness", "aws_secret_access_key": "harness"}
        if account not in self.creds:
            sts = self.client("sts")
            c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ACCESS_ROLE}",
                                RoleSessionName="reliability-harness")["Credentials"]
            self.creds[account] = {"aws_access_key_id": c["AccessKeyId"],
                                   "aws_secret_access_key": c["SecretAccessKey"],
                                   "aws_session_token": c["SessionToken"]}
        return self.creds[account]


def pages(client: Any, op: str, key: str, **kwargs: Any) -> list:
    """Every item of a paginated list call (follows NextToken/Marker by hand where boto3 has
    no paginator)."""
    if client.can_paginate(op):
        out: list = []
        for page in client.get_paginator(op).paginate(**kwargs):
            out.extend(page.get(key, []))
        return out
    out = []
    while True:
        page = getattr(client, op)(**kwargs)
        out.extend(page.get(key, []))
        token = page.get("NextToken")
        if not token:
            return out
        kwargs["NextToken"] = token


def error_code(e: Exception) -> str:
    if isinstance(e, botocore.exceptions.ClientError):
        return e.response.get("Error", {}).get("Code", "")
    return ""


def org_accounts(aws: Aws) -> list[dict]:
    return pages(aws.client("organizations"), "list_accounts", "Accounts")


def member_accounts(aws: Aws) -> list[dict]:
    """The accounts a snapshot covers: the organization's, minus management and source."""
    return [a for a in org_accounts(aws) if a["Id"] not in (MANAGEMENT, SOURCE)]


def pending_connections(aws: Aws) -> list[str]:
    """ARNs of every PENDING connection in the organization's accounts (connections are global:
    each is listed from every Region, so once per account is enough)."""
    arns = []
    for a in org_accounts(aws):
        c = aws.client("codeconnections", a["Id"], REGIONS[0])
        for conn in pages(c, "list_connections", "Connections"):
            if conn.get("ConnectionStatus") == "PENDING" and conn["ConnectionArn"] not in arns:
                arns.append(conn["ConnectionArn"])
    return arns


def safe(fn: Callable[[], Any], missing: tuple[str, ...] = (), default: Any = None) -> Any:
    """fn(), or `default` when it fails with one of the `missing` error codes."""
    try:
        return fn()
    except botocore.exceptions.ClientError as e:
        if error_code(e) in missing:
            return default
        raise
