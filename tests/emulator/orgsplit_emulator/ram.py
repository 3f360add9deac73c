"""AWS RAM (ram-2018-01-04, REST-JSON): resource shares of CodeConnections connections.

moto's RAM cannot share connections ("You cannot share the selected resource type"), has no
AssociateResourceShare, no ListResources and no OTHER-ACCOUNTS view, so the emulator serves the
part of RAM orgsplit uses, as AWS documents it:

- Only `codeconnections` connections are shareable, not `codestar-connections` ones ("Connection
  sharing is not supported for codestar-connections resources. This is only supported for
  codeconnections resources.", Developer Tools console guide, "Share connections with AWS
  accounts"). Only the owner of a resource can share it.
- A connection can be shared only within the organization; "If you're part of an organization in
  AWS Organizations and sharing in your organization is enabled, then principals in the
  organization automatically get access to the shared resources without invitations" (RAM user
  guide, "Using shared AWS resources"). EnableSharingWithAwsOrganization "must be called from
  an IAM role or user in the organization's management account" (RAM API reference); it turns on
  trusted access for ram.amazonaws.com. The emulator refuses to share with an account of the
  organization while sharing is not enabled (OperationNotPermittedException) rather than model
  invitations: orgsplit always enables it first.
- A resource share lives in one Region; shares and associations are read in that Region.
- Associations are asynchronous: ResourceShareAssociation status is one of "ASSOCIATING |
  ASSOCIATED | FAILED | DISASSOCIATING | DISASSOCIATED" (RAM API reference,
  https://docs.aws.amazon.com/ram/latest/APIReference/API_ResourceShareAssociation.html), and
  the shared resource reaches the account only some time after a successful association
  (Terraform users meet "Resource not available after aws_ram_principal_association",
  https://github.com/hashicorp/terraform-provider-aws/issues/11902, and the provider waits up to
  3 minutes for ASSOCIATED, https://github.com/hashicorp/terraform-provider-aws/issues/23359).
  Here an association (principal or resource) is ASSOCIATING for `propagation_seconds` (strict
  setting `ram_share_propagation_seconds`; 0: at once), then ASSOCIATED; until both the
  resource's and the account's associations are ASSOCIATED the account is refused the resource as
  if it were not shared (GetConnection, CodePipeline) and does not see the share (GetResourceShares
  and ListResources with OTHER-ACCOUNTS).

`is_shared(arn, account)` is what the connection store and CodePipeline ask.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timezone

from .protocol import json_error

RAM_PRINCIPAL = "ram.amazonaws.com"
OPERATIONS = {
    "EnableSharingWithAwsOrganization", "CreateResourceShare", "GetResourceShares", "AssociateResourceShare",
    "DisassociateResourceShare", "GetResourceShareAssociations", "ListResources", "DeleteResourceShare",
}


def _ok(obj: dict):
    return 200, [("Content-Type", "application/json"), ("x-amzn-RequestId", str(uuid.uuid4()))], json.dumps(obj).encode()


def _now() -> float:
    return datetime.now(timezone.utc).timestamp()


def organization_of(account: str):
    """(backend, org) of the organization the account belongs to, or (None, None)."""
    from moto.organizations.models import organizations_backends

    for _acct, parts in list(organizations_backends.items()):
        for _p, backend in list(parts.items()):
            org = backend.org
            if org is None:
                continue
            if org.master_account_id == account or any(a.id == account for a in backend.accounts):
                return backend, org
    return None, None


def _sharing_enabled(backend) -> bool:
    return any(s.get("ServicePrincipal") == RAM_PRINCIPAL for s in backend.services)


class Ram:
    def __init__(self, connection_exists) -> None:
        self.lock = threading.Lock()
        # callable(arn) -> owner account or None: the connection store's view
        self.connection_owner = connection_exists
        self.shares: dict[str, dict] = {}
        # set by the app: seconds an association stays ASSOCIATING
        self.propagation_seconds = lambda: 0.0

    def reset(self) -> None:
        with self.lock:
            self.shares = {}

    # ------------------------------------------------------------------ what others ask
    def is_shared(self, arn: str, account: str) -> bool:
        with self.lock:
            return any(s["status"] == "ACTIVE" and arn in s["resources"] and self._reached(s, account, arn)
                       for s in self.shares.values())

    def _status(self, s: dict, entity: str) -> str:
        """ASSOCIATING while the association made at `since[entity]` propagates, then ASSOCIATED."""
        since = s["since"].get(entity)
        if since is not None and time.monotonic() - since < float(self.propagation_seconds() or 0):
            return "ASSOCIATING"
        return "ASSOCIATED"

    def _reached(self, s: dict, account: str, arn: str | None = None) -> bool:
        """Whether the share has reached `account` (and, with `arn`, that resource in it)."""
        return (account in s["principals"] and self._status(s, account) == "ASSOCIATED"
                and (arn is None or self._status(s, arn) == "ASSOCIATED"))

    # ------------------------------------------------------------------ API
    def handle(self, ctx: dict):
        try:
            req = json.loads(ctx["body"] or b"{}")
        except json.JSONDecodeError:
            return json_error("MalformedArnException", "Request body is not valid JSON")
        op = ctx["operation"]
        with self.lock:
            return getattr(self, "_" + op)(ctx["account"], ctx["region"], req)

    def _EnableSharingWithAwsOrganization(self, account, region, req):
        backend, org = organization_of(account)
        if org is None or org.master_account_id != account:
            return json_error("OperationNotPermittedException",
                              "EnableSharingWithAwsOrganization must be called from the organization's management account")
        if not _sharing_enabled(backend):
            backend.enable_aws_service_access(ServicePrincipal=RAM_PRINCIPAL)
        return _ok({"returnValue": True})

    def _check_resources(self, account, region, arns):
        for arn in arns:
            parts = arn.split(":")
            if len(parts) < 6 or parts[0] != "arn":
                return json_error("MalformedArnException", f"The specified resource ARN {arn} is not valid.")
            if parts[2] == "codestar-connections":
                return json_error("InvalidParameterException",
                                  "You cannot share the selected resource type: codestar-connections connections cannot be shared, only codeconnections ones")
            if parts[2] != "codeconnections" or not parts[5].startswith("connection/"):
                return json_error("InvalidParameterException", f"You cannot share the selected resource type ({parts[2]})")
            owner = self.connection_owner(arn)
            if owner is None:
                return json_error("UnknownResourceException", f"The resource {arn} could not be found.")
            if owner != account:
                return json_error("OperationNotPermittedException", f"You can share only resources you own: {arn}")
            if parts[3] != region:
                return json_error("InvalidParameterException",
                                  f"The resource {arn} is in {parts[3]}: share it from a resource share in that Region")
        return None

    def _check_principals(self, account, principals, allow_external):
        backend, org = organization_of(account)
        for p in principals:
            if not (isinstance(p, str) and len(p) == 12 and p.isdigit()):
                return json_error("InvalidParameterException", f"Principal ID {p} is malformed (orgsplit's emulator takes account ids).")
            in_org = org is not None and (org.master_account_id == p or any(a.id == p for a in backend.accounts))
            if not in_org:
                if not allow_external:
                    return json_error("OperationNotPermittedException",
                                      f"The resource share does not allow external principals: {p} is not in your organization")
                return json_error("OperationNotPermittedException",
                                  f"Connections can be shared only with accounts of your organization, not {p}")
            if not _sharing_enabled(backend):
                return json_error("OperationNotPermittedException",
                                  "Sharing with your organization is not enabled: call EnableSharingWithAwsOrganization from the management account")
        return None

    def _share(self, account, region, arn):
        s = self.shares.get(arn)
        if s is None or s["owner"] != account or s["region"] != region or s["status"] == "DELETED":
            return None
        return s

    def _describe(self, s):
        return {"resourceShareArn": s["arn"], "name": s["name"], "owningAccountId": s["owner"],
                "allowExternalPrincipals": s["allowExternal"], "status": s["status"], "featureSet": "STANDARD",
                "tags": s["tags"], "creationTime": s["created"], "lastUpdatedTime": s["updated"]}

    def _CreateResourceShare(self, account, region, req):
        name = req.get("name")
        if not name:
            return json_error("MissingRequiredParameterException", "name is required")
        allow_external = req.get("allowExternalPrincipals", True)
        resources = list(req.get("resourceArns") or [])
        principals = list(req.get("principals") or [])
        err = self._check_resources(account, region, resources) or self._check_principals(account, principals, allow_external)
        if err:
            return err
        arn = f"arn:aws:ram:{region}:{account}:resource-share/{uuid.uuid4()}"
        s = {"arn": arn, "name": name, "owner": account, "region": region, "allowExternal": allow_external,
             "status": "ACTIVE", "tags": list(req.get("tags") or []), "created": _now(), "updated": _now(),
             "resources": resources, "principals": principals,
             "since": {e: time.monotonic() for e in resources + principals}}  # entity -> when associated
        self.shares[arn] = s
        return _ok({"resourceShare": self._describe(s), "clientToken": req.get("clientToken") or str(uuid.uuid4())})

    def _GetResourceShares(self, account, region, req):
        owner = req.get("resourceOwner")
        if owner not in ("SELF", "OTHER-ACCOUNTS"):
            return json_error("InvalidParameterException", f"{owner} is not a valid resource owner")
        shares = [s for s in self.shares.values() if s["region"] == region and s["status"] != "DELETED"
                  and ((owner == "SELF" and s["owner"] == account)
                       or (owner == "OTHER-ACCOUNTS" and self._reached(s, account)))]
        if req.get("name"):
            shares = [s for s in shares if s["name"] == req["name"]]
        if req.get("resourceShareArns"):
            shares = [s for s in shares if s["arn"] in req["resourceShareArns"]]
        if req.get("resourceShareStatus"):
            shares = [s for s in shares if s["status"] == req["resourceShareStatus"]]
        return _ok({"resourceShares": [self._describe(s) for s in shares]})

    def _AssociateResourceShare(self, account, region, req):
        s = self._share(account, region, req.get("resourceShareArn"))
        if s is None:
            return json_error("UnknownResourceException", f"ResourceShare {req.get('resourceShareArn')} could not be found.")
        resources = list(req.get("resourceArns") or [])
        principals = list(req.get("principals") or [])
        err = self._check_resources(account, region, resources) or self._check_principals(account, principals, s["allowExternal"])
        if err:
            return err
        out = []
        for r in resources:
            if r not in s["resources"]:
                s["resources"].append(r)
                s["since"][r] = time.monotonic()
            out.append(self._association(s, r, "RESOURCE"))
        for p in principals:
            if p not in s["principals"]:
                s["principals"].append(p)
                s["since"][p] = time.monotonic()
            out.append(self._association(s, p, "PRINCIPAL"))
        s["updated"] = _now()
        return _ok({"resourceShareAssociations": out, "clientToken": req.get("clientToken") or str(uuid.uuid4())})

    def _DisassociateResourceShare(self, account, region, req):
        s = self._share(account, region, req.get("resourceShareArn"))
        if s is None:
            return json_error("UnknownResourceException", f"ResourceShare {req.get('resourceShareArn')} could not be found.")
        out = []
        for r in req.get("resourceArns") or []:
            if r in s["resources"]:
                s["resources"].remove(r)
                s["since"].pop(r, None)
            out.append(dict(self._association(s, r, "RESOURCE"), status="DISASSOCIATED"))
        for p in req.get("principals") or []:
            if p in s["principals"]:
                s["principals"].remove(p)
                s["since"].pop(p, None)
            out.append(dict(self._association(s, p, "PRINCIPAL"), status="DISASSOCIATED"))
        return _ok({"resourceShareAssociations": out})

    def _DeleteResourceShare(self, account, region, req):
        arn = req.get("resourceShareArn")
        s = self._share(account, region, arn)
        if s is None:
            return json_error("UnknownResourceException", f"ResourceShare {arn} could not be found.")
        s["status"] = "DELETED"
        return _ok({"returnValue": True})

    def _association(self, s, entity, kind):
        backend, org = organization_of(s["owner"])
        external = kind == "PRINCIPAL" and not (org is not None and (
            org.master_account_id == entity or any(a.id == entity for a in backend.accounts)))
        return {"resourceShareArn": s["arn"], "resourceShareName": s["name"], "associatedEntity": entity,
                "associationType": kind, "status": self._status(s, entity), "external": external,
                "creationTime": s["created"], "lastUpdatedTime": s["updated"]}

    def _GetResourceShareAssociations(self, account, region, req):
        kind = req.get("associationType")
        if kind not in ("PRINCIPAL", "RESOURCE"):
            return json_error("InvalidParameterException", f"{kind} is not a valid association type")
        out = []
        for s in self.shares.values():
            if s["region"] != region or s["status"] == "DELETED":
                continue
            if req.get("resourceShareArns") and s["arn"] not in req["resourceShareArns"]:
                continue
            visible = s["owner"] == account or account in s["principals"]
            if not visible:
                continue
            entities = s["principals"] if kind == "PRINCIPAL" else s["resources"]
            for e in entities:
                if req.get("principal") and kind == "PRINCIPAL" and e != req["principal"]:
                    continue
                if req.get("resourceArn") and kind == "RESOURCE" and e != req["resourceArn"]:
                    continue
                association = self._association(s, e, kind)
                if req.get("associationStatus") and association["status"] != req["associationStatus"]:
                    continue
                out.append(association)
        return _ok({"resourceShareAssociations": out})

    def _ListResources(self, account, region, req):
        owner = req.get("resourceOwner")
        if owner not in ("SELF", "OTHER-ACCOUNTS"):
            return json_error("InvalidParameterException", f"{owner} is not a valid resource owner")
        out = []
        for s in self.shares.values():
            if s["region"] != region or s["status"] != "ACTIVE":
                continue
            if owner == "SELF" and s["owner"] != account:
                continue
            if owner == "OTHER-ACCOUNTS" and not self._reached(s, account):
                continue
            for r in s["resources"]:
                if req.get("resourceArns") and r not in req["resourceArns"]:
                    continue
                if owner == "OTHER-ACCOUNTS" and not self._reached(s, account, r):
                    continue
                out.append({"arn": r, "type": "codeconnections:Connections", "resourceShareArn": s["arn"],
                            "status": "AVAILABLE", "resourceRegionScope": "REGIONAL",
                            "creationTime": s["created"], "lastUpdatedTime": s["updated"]})
        return _ok({"resources": out})
