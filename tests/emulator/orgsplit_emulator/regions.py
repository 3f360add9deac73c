"""Opt-in regions, which moto does not model: a new account has them DISABLED until
`account:EnableRegion` has finished (ENABLING, then ENABLED), and a request to a disabled
opt-in region is refused as AWS refuses it.

AWS: "When you enable a Region, AWS performs actions to prepare your account in that Region ...
This process takes a few minutes for most accounts, but it can take several hours. You cannot
use the Region until this process is complete."
(https://docs.aws.amazon.com/accounts/latest/reference/API_EnableRegion.html)
The management account acts on a member with `AccountId`, which needs trusted access for the
Account Management service (`account.amazonaws.com`) in Organizations
(https://docs.aws.amazon.com/accounts/latest/reference/using-orgs-trusted-access.html).
"""
from __future__ import annotations

import json
import threading
import time
import uuid

# https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html (opt-in
# status "Required"); the same list orgsplit keeps in orgsplit_model::regions.
OPT_IN_REGIONS = frozenset({
    "af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-south-1",
    "eu-south-2", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
})
DEFAULT_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ap-south-1", "ap-northeast-1", "ap-northeast-2",
    "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-west-1",
    "eu-west-2", "eu-west-3", "eu-north-1", "sa-east-1",
)
OPERATIONS = ("GetRegionOptStatus", "EnableRegion", "DisableRegion", "ListRegions")
ACCOUNT_PRINCIPAL = "account.amazonaws.com"


def _json(status: int, obj: dict | None, error: str | None = None):
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", str(uuid.uuid4()))]
    if error:
        headers.append(("x-amzn-ErrorType", error))
        obj = {"message": (obj or {}).get("message", ""), "__type": error}
    return status, headers, json.dumps(obj or {}).encode()


class Regions:
    def __init__(self, is_new_account) -> None:
        """`is_new_account(account)`: whether a (non-seeder) CreateAccount made it."""
        self.lock = threading.Lock()
        self.is_new_account = is_new_account
        self.state: dict[tuple[str, str], tuple[str, float]] = {}  # (account, region) -> (status, since)

    def reset(self) -> None:
        with self.lock:
            self.state.clear()

    def status(self, account: str, region: str, enable_seconds: float) -> str:
        if region not in OPT_IN_REGIONS:
            return "ENABLED_BY_DEFAULT"
        with self.lock:
            entry = self.state.get((account, region))
            if entry is None:
                return "DISABLED" if self.is_new_account(account) else "ENABLED"
            status, since = entry
            if status == "ENABLING" and time.monotonic() - since >= enable_seconds:
                self.state[(account, region)] = ("ENABLED", since)
                return "ENABLED"
            return status

    def usable(self, account: str, region: str | None, enable_seconds: float) -> bool:
        return not region or self.status(account, region, enable_seconds) in ("ENABLED", "ENABLED_BY_DEFAULT")

    def handle(self, ctx: dict, enable_seconds: float):
        op, caller = ctx["operation"], ctx["account"]
        try:
            req = json.loads(ctx["body"] or b"{}")
        except ValueError:
            req = {}
        target = req.get("AccountId") or caller
        if req.get("AccountId"):
            if req["AccountId"] == caller:
                return _json(400, {"message": "The management account can't specify its own AccountId."},
                             "ValidationException")
            if not _trusted_access(caller):
                return _json(403, {"message": "The request failed because the organization does not have trusted access "
                                              "enabled for the AWS Account Management service."},
                             "AccessDeniedException")
        if op == "ListRegions":
            regions = sorted(set(DEFAULT_REGIONS) | OPT_IN_REGIONS)
            wanted = set(req.get("RegionOptStatusContains") or [])
            out = [{"RegionName": r, "RegionOptStatus": self.status(target, r, enable_seconds)} for r in regions]
            return _json(200, {"Regions": [r for r in out if not wanted or r["RegionOptStatus"] in wanted]})
        region = req.get("RegionName", "")
        if region not in OPT_IN_REGIONS and region not in DEFAULT_REGIONS:
            return _json(400, {"message": f"Invalid region {region}"}, "ValidationException")
        current = self.status(target, region, enable_seconds)
        if op == "GetRegionOptStatus":
            return _json(200, {"RegionName": region, "RegionOptStatus": current})
        if current == "ENABLED_BY_DEFAULT":
            return _json(400, {"message": f"{region} is enabled by default and cannot be changed"}, "ValidationException")
        if op == "EnableRegion":
            if current in ("DISABLING",):
                return _json(409, {"message": f"{region} is being disabled"}, "ConflictException")
            if current == "DISABLED":
                with self.lock:
                    self.state[(target, region)] = ("ENABLING", time.monotonic())
            return _json(200, {})
        # DisableRegion
        if current == "ENABLING":
            return _json(409, {"message": f"{region} is being enabled"}, "ConflictException")
        with self.lock:
            self.state[(target, region)] = ("DISABLED", time.monotonic())
        return _json(200, {})


def _trusted_access(management_account: str) -> bool:
    from moto.organizations.models import organizations_backends

    try:
        backend = organizations_backends[management_account]["aws"]
        return any(s["ServicePrincipal"] == ACCOUNT_PRINCIPAL for s in backend.services)
    except Exception:
        return False
