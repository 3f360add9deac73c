"""Strictness: what AWS refuses or delays and moto accepts at once, on by default.

Every behaviour applies to every client but the scenario seeder, can be switched off (or its
delay changed) through `POST /_emulator/strict`, and cites the AWS documentation it follows
(also in docs/emulator-gaps.md, "Strict by default"). A refusal is marked in the request log
(`refused`: the behaviour's name; `violation`: the messages of a request-model violation).
"""
from __future__ import annotations

import json
import random
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

import regex

from . import bucket_policies, kms_keys, protocol, stackset_preferences
from .account_creation import AccountCreation
from .regions import OPT_IN_REGIONS, Regions

# name -> default. Delays are seconds; rates are probabilities per request.
DEFAULTS: dict[str, Any] = {
    # Every request against botocore's service model (validation.py).
    "validation": True,
    # "The aws: prefix is reserved for AWS use" (Tagging AWS resources, Tag naming limits and
    # requirements): https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html
    "reserved_tags": True,
    # "you might need to wait a few minutes" before a new account is usable
    # (Organizations CreateAccount): https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccount.html
    "account_ready_seconds": 3.0,
    # CreateAccount is asynchronous: IN_PROGRESS, no account id, the account not yet a member
    # (account_creation.py): https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccount.html
    "account_create_seconds": 1.0,
    # List operations may return fewer results than MaxResults while more remain; served for
    # ListCreateAccountStatus in pages of at most this many (0: MaxResults, default 20):
    # https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListCreateAccountStatus.html
    "list_page_size": 2,
    # IAM is eventually consistent ("changes ... take time to become visible"):
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency
    "iam_propagation_seconds": 2.0,
    # "Invalid principal in policy" for a principal that does not exist:
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-roles
    "trust_principals": True,
    # EnablePolicyType is asynchronous (PENDING_ENABLE):
    # https://docs.aws.amazon.com/organizations/latest/APIReference/API_PolicyTypeSummary.html
    "scp_enable_seconds": 2.0,
    # ECS needs AWSServiceRoleForECS; the first CreateCluster races its creation:
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html
    "ecs_service_linked_role": True,
    # ConcurrentModificationException on overlapping Organizations writes:
    # https://docs.aws.amazon.com/organizations/latest/APIReference/CommonErrors.html
    "org_concurrent_modification": 0.1,
    # Opt-in regions are DISABLED in a new account until EnableRegion has finished:
    # https://docs.aws.amazon.com/accounts/latest/reference/API_EnableRegion.html
    "opt_in_regions": True,
    "region_enable_seconds": 2.0,
    # Naming and targeting rules moto does not check (StackSet names, bucket names, capacity
    # providers, SERVICE_MANAGED DeleteStackInstances, webhook deregistration).
    "naming": True,
    # A bucket policy's explicit Deny refuses the bucket-level reads it names (bucket_policies.py).
    "bucket_policies": True,
    # Keys that encrypt must exist in the caller's account and Region; key policies name
    # principals that exist (kms_keys.py):
    # https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html
    "kms_keys": True,
    # An automatic deployment (an account joining or leaving an OU a StackSet with AutoDeployment
    # targets) is a StackSet operation: RUNNING this long, and meanwhile other operations on that
    # StackSet answer OperationInProgressException (stackset_auto_deploy.py):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-manage-auto-deployment.html
    "stackset_auto_deployment_seconds": 2.0,
    # A RAM principal association is ASSOCIATING, and the shared resource not yet usable by that
    # account, this long (ram.py):
    # https://docs.aws.amazon.com/ram/latest/APIReference/API_ResourceShareAssociation.html
    "ram_share_propagation_seconds": 2.0,
    # An ECS Create/UpdateService runs its tasks (and a new deployment completes) this long
    # after the change; a DeleteService is DRAINING this long before INACTIVE (ecs_services.py):
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html
    "ecs_service_stable_seconds": 2.0,
    # Services (by name) whose tasks never start: a new deployment ends FAILED, as with the
    # deployment circuit breaker (ecs_services.py):
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentCircuitBreaker.html
    "ecs_deployment_fail": [],
    # Deletes AWS refuses while something still uses the resource (delete_conflicts.py):
    # https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicy.html,
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html
    "delete_conflicts": True,
    "seed": None,
}

ECS_SLR_PATH = "/aws-service-role/ecs.amazonaws.com/"
STACKSET_NAME = regex.compile(r"[a-zA-Z][-a-zA-Z0-9]*")
_TAG_MEMBER = regex.compile(r"(?i)tag")


class Refusal(Exception):
    """A request AWS would refuse: (kind, status, headers, body)."""

    def __init__(self, kind: str, status: int, headers: list, body: bytes, violation: list[str] | None = None):
        super().__init__(kind)
        self.kind, self.status, self.headers, self.body, self.violation = kind, status, headers, body, violation


def error(proto: str, service: str | None, code: str, message: str, status: int = 400, kind: str = "") -> Refusal:
    rid = str(uuid.uuid4())
    if proto in ("query", "ec2"):
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{_xml(message)}</Message>"
                f"</Error><RequestId>{rid}</RequestId></ErrorResponse>").encode()
        return Refusal(kind, status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], body)
    if proto == "rest-xml":
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{_xml(message)}</Message>"
                f"<RequestId>{rid}</RequestId><HostId>{rid}</HostId></Error>").encode()
        return Refusal(kind, status, [("Content-Type", "application/xml"), ("x-amz-request-id", rid)], body)
    ctype = "application/x-amz-json-1.1" if proto == "json" else "application/json"
    return Refusal(kind, status, [("Content-Type", ctype), ("x-amzn-RequestId", rid), ("x-amzn-ErrorType", code)],
                   json.dumps({"__type": code, "message": message, "Message": message}).encode())


def _xml(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _form(body: bytes, environ: dict) -> dict[str, str]:
    out = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
    out.update({k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()})
    return out


def _json(body: bytes) -> dict:
    try:
        v = json.loads(body or b"{}")
        return v if isinstance(v, dict) else {}
    except ValueError:
        return {}


def reserved_tag_keys(params: Any, name: str = "") -> list[str]:
    """Tag keys starting with `aws:` (any case) anywhere in a request's tag members: lists of
    {Key, Value} / {key, value} / {TagKey, ...} and maps."""
    found: list[str] = []
    if isinstance(params, dict):
        for k, v in params.items():
            if _TAG_MEMBER.search(k) and isinstance(v, list):
                for item in v:
                    if isinstance(item, dict):
                        key = item.get("Key", item.get("key", item.get("TagKey")))
                        if isinstance(key, str) and key.lower().startswith("aws:"):
                            found.append(key)
            elif _TAG_MEMBER.search(k) and isinstance(v, dict) and not any(isinstance(x, (dict, list)) for x in v.values()):
                found += [key for key in v if isinstance(key, str) and key.lower().startswith("aws:")]
            if isinstance(v, (dict, list)):
                found += reserved_tag_keys(v, k)
    elif isinstance(params, list):
        for item in params:
            found += reserved_tag_keys(item, name)
    return found


def bucket_name_problem(name: str) -> str | None:
    """S3 general purpose bucket naming rules:
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"""
    if not 3 <= len(name) <= 63:
        return "must be between 3 and 63 characters long"
    if not regex.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name):
        return "may use only lower-case letters, digits, dots and hyphens, and must begin and end with a letter or digit"
    if ".." in name or ".-" in name or "-." in name:
        return "must not contain two adjacent periods or a period next to a hyphen"
    if regex.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return "must not be formatted as an IP address"
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            return f"must not start with {prefix}"
    for suffix in ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"):
        if name.endswith(suffix):
            return f"must not end with {suffix}"
    return None


class Strict:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.settings = dict(DEFAULTS)
        self.rng = random.Random(self.settings["seed"])
        self.reset_state()

    def reset_state(self) -> None:
        self.regions = Regions(lambda account: account in self.accounts_created)
        self.creation = AccountCreation()
        self.stackset_preferences = stackset_preferences.Preferences()
        with self.lock:
            self.accounts_created: dict[str, float] = {}  # account id -> when CreateAccount answered
            self.roles_created: dict[tuple[str, str], float] = {}  # (account, role name) -> when
            self.scp_enabled: dict[tuple[str, str], float] = {}  # (management account, root) -> when
            self.slr_created: dict[str, float] = {}  # account -> when the ECS SLR was made by CreateCluster

    # ------------------------------------------------------------------ settings
    def get(self) -> dict:
        with self.lock:
            return dict(self.settings)

    def set(self, changes: dict) -> dict:
        for k, v in changes.items():
            if k not in DEFAULTS:
                raise ValueError(f"unknown strict setting {k!r}; known: {', '.join(sorted(DEFAULTS))}")
            if k == "seed":
                continue
            default = DEFAULTS[k]
            if isinstance(default, bool):
                if not isinstance(v, bool):
                    raise ValueError(f"{k} must be true or false")
            elif isinstance(default, list):
                if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                    raise ValueError(f"{k} must be a list of names")
            elif isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise ValueError(f"{k} must be a number >= 0")
            elif k == "list_page_size" and v != int(v):
                raise ValueError(f"{k} must be a whole number")
            elif k == "org_concurrent_modification" and v > 1:
                raise ValueError(f"{k} must be a probability between 0 and 1")
        with self.lock:
            self.settings.update(changes)
            if "seed" in changes:
                self.rng = random.Random(changes["seed"])
            return dict(self.settings)

    def restore_defaults(self) -> dict:
        with self.lock:
            self.settings = dict(DEFAULTS)
            self.rng = random.Random(None)
            return dict(self.settings)

    def _on(self, key: str) -> Any:
        return self.settings.get(key)

    # ------------------------------------------------------------------ before moto
    def before(self, ctx: dict, proto: str, environ: dict, body: bytes, params: dict | None) -> None:
        """Raises Refusal for a request AWS would refuse now."""
        service, op = ctx["service"], ctx["operation"]
        region = ctx["region"]
        if (self._on("opt_in_regions") and region in OPT_IN_REGIONS and service != "account"
                and not self.regions.usable(ctx["account"], region, float(self._on("region_enable_seconds") or 0))):
            # A disabled Region does not accept the account's credentials.
            if proto in ("query", "ec2"):
                raise error(proto, service, "InvalidClientTokenId", "The security token included in the request is invalid.",
                            status=403, kind="opt_in_regions")
            raise error(proto, service, "UnrecognizedClientException",
                        "The security token included in the request is invalid.", status=403, kind="opt_in_regions")
        if params is None and proto == "json":
            params = _json(body)
        if self._on("reserved_tags") and protocol.is_mutating(op):
            keys = reserved_tag_keys(params) if params is not None else []
            if service == "s3" and environ.get("HTTP_X_AMZ_TAGGING"):
                keys += [k for k in parse_qs(environ["HTTP_X_AMZ_TAGGING"]) if k.lower().startswith("aws:")]
            if keys:
                raise self._reserved_tag(proto, service, keys[0])
        if service == "s3" and self._on("bucket_policies") and op in bucket_policies.READS:
            bucket = environ.get("PATH_INFO", "/").strip("/").split("/")[0]
            caller = bucket_policies.caller_role_arn(ctx["account"], protocol.parse_credential(environ)[0])
            if bucket_policies.denies(bucket_policies.bucket_policy(ctx["account"], bucket), op, caller):
                raise error("rest-xml", "s3", "AccessDenied", "Access Denied", status=403, kind="bucket_policies")
        handler = getattr(self, f"_{(service or '').replace('-', '_')}_{op}", None)
        if handler is not None:
            handler(ctx, proto, environ, body, params or {})

    @staticmethod
    def _reserved_tag(proto: str, service: str | None, key: str) -> Refusal:
        shown = key if len(key) <= 40 else key[:40] + "..."
        if service == "s3":
            return error(proto, service, "InvalidTag", "System tags cannot be added/updated by requester", kind="reserved_tags")
        code = {"iam": "InvalidInput", "ecs": "InvalidParameterException", "ssm": "InvalidParameterValue",
                "secretsmanager": "ValidationException", "organizations": "InvalidInputException",
                "cloudformation": "ValidationError", "logs": "InvalidParameterException",
                "ecr": "InvalidTagParameterException", "events": "ValidationException"}.get(service or "", "ValidationException")
        return error(proto, service, code, f"Tag keys starting with 'aws:' are reserved for AWS use: {shown}", kind="reserved_tags")

    def _sts_AssumeRole(self, ctx, proto, environ, body, params) -> None:
        role_arn = params.get("RoleArn") or _form(body, environ).get("RoleArn", "")
        parts = role_arn.split(":")
        if len(parts) < 6:
            return
        target = parts[4]
        # Not assumable while the account is being created, nor for a while after SUCCEEDED.
        succeeded = self.creation.succeeded_at(target, self.create_seconds())
        delay = float(self._on("account_ready_seconds") or 0)
        if succeeded is not None and time.monotonic() - succeeded < delay:
            raise error(proto, "sts", "AccessDenied",
                        f"User: arn:aws:sts::{ctx['account']}:assumed-role/caller is not authorized to perform: "
                        f"sts:AssumeRole on resource: {role_arn}", status=403, kind="account_ready")

    def create_seconds(self) -> float:
        return float(self._on("account_create_seconds") or 0)

    def _account_pending(self, proto: str, account: str | None) -> None:
        if account and account in self.creation.pending(self.create_seconds()):
            raise error(proto, "organizations", "AccountNotFoundException",
                        "You specified an account that doesn't exist.", kind="account_create")

    def _organizations_DescribeAccount(self, ctx, proto, environ, body, params) -> None:
        self._account_pending(proto, params.get("AccountId"))

    def _organizations_MoveAccount(self, ctx, proto, environ, body, params) -> None:
        self._account_pending(proto, params.get("AccountId"))

    def _organizations_ListParents(self, ctx, proto, environ, body, params) -> None:
        self._account_pending(proto, params.get("ChildId"))

    def _iam_CreateRole(self, ctx, proto, environ, body, params) -> None:
        self._check_trust(ctx, proto, params.get("AssumeRolePolicyDocument") or _form(body, environ).get("AssumeRolePolicyDocument"))

    def _iam_UpdateAssumeRolePolicy(self, ctx, proto, environ, body, params) -> None:
        self._check_trust(ctx, proto, params.get("PolicyDocument") or _form(body, environ).get("PolicyDocument"))

    def _check_trust(self, ctx: dict, proto: str, document: str | None) -> None:
        if not self._on("trust_principals"):
            return
        for arn in kms_keys.role_principals(document):
            parts = arn.split(":")
            if not _role_exists(parts[4], parts[5].rsplit("/", 1)[-1]):
                raise error(proto, "iam", "MalformedPolicyDocument",
                            f'Invalid principal in policy: "AWS":"{arn}"', kind="trust_principals")

    def _ssm_PutParameter(self, ctx, proto, environ, body, params) -> None:
        key = params.get("KeyId")
        if self._on("kms_keys") and key and params.get("Type") == "SecureString":
            problem = kms_keys.key_problem(ctx["account"], ctx["region"], key)
            if problem:
                raise error(proto, "ssm", "InvalidKeyId", problem, kind="kms_keys")

    def _secretsmanager_CreateSecret(self, ctx, proto, environ, body, params) -> None:
        self._secret_key(ctx, proto, params.get("KmsKeyId"))

    def _secretsmanager_UpdateSecret(self, ctx, proto, environ, body, params) -> None:
        self._secret_key(ctx, proto, params.get("KmsKeyId"))

    def _secret_key(self, ctx: dict, proto: str, key: str | None) -> None:
        if self._on("kms_keys") and key:
            problem = kms_keys.key_problem(ctx["account"], ctx["region"], key)
            if problem:
                # Secrets Manager's answer when it cannot use the key for the caller.
                raise error(proto, "secretsmanager", "AccessDeniedException",
                            f"Access to KMS is not allowed: {problem}", kind="kms_keys")

    def _kms_CreateKey(self, ctx, proto, environ, body, params) -> None:
        self._key_policy(proto, params.get("Policy"))

    def _kms_PutKeyPolicy(self, ctx, proto, environ, body, params) -> None:
        self._key_policy(proto, params.get("Policy"))

    def _key_policy(self, proto: str, document: str | None) -> None:
        if self._on("kms_keys") and kms_keys.invalid_principals(document, _role_exists):
            raise error(proto, "kms", "MalformedPolicyDocumentException",
                        "Policy contains a statement with one or more invalid principals.", kind="kms_keys")

    def _codebuild_CreateProject(self, ctx, proto, environ, body, params) -> None:
        # CodeBuild assumes the service role at CreateProject and refuses one it cannot.
        role = params.get("serviceRole") or ""
        parts = role.split(":")
        if (self._on("trust_principals") and len(parts) == 6 and parts[5].startswith("role/")
                and not _role_exists(parts[4], parts[5].rsplit("/", 1)[-1])):
            raise error(proto, "codebuild", "InvalidInputException",
                        f"CodeBuild is not authorized to perform: sts:AssumeRole on {role}", kind="trust_principals")

    def _codepipeline_CreatePipeline(self, ctx, proto, environ, body, params) -> None:
        self._young_pipeline_role(ctx, proto, params or _json(body))

    def _codepipeline_UpdatePipeline(self, ctx, proto, environ, body, params) -> None:
        self._young_pipeline_role(ctx, proto, params or _json(body))

    def _young_pipeline_role(self, ctx: dict, proto: str, params: dict) -> None:
        role_arn = (params.get("pipeline") or {}).get("roleArn") or ""
        parts = role_arn.split(":")
        if len(parts) != 6:
            return
        key = (parts[4], parts[5].rsplit("/", 1)[-1])
        with self.lock:
            born = self.roles_created.get(key)
        if born is not None and time.monotonic() - born < float(self._on("iam_propagation_seconds") or 0):
            # The message CodePipeline gives while a new role has not propagated.
            raise error(proto, "codepipeline", "InvalidStructureException",
                        f"CodePipeline is not authorized to perform AssumeRole on role {role_arn}",
                        kind="iam_propagation")

    def _organizations_AttachPolicy(self, ctx, proto, environ, body, params) -> None:
        policy_id = params.get("PolicyId") or _json(body).get("PolicyId") or ""
        with self.lock:
            pending = [k for k, t in self.scp_enabled.items()
                       if k[0] == ctx["account"] and time.monotonic() - t < float(self._on("scp_enable_seconds") or 0)]
        if pending and _policy_type(ctx["account"], policy_id) == "SERVICE_CONTROL_POLICY":
            raise error(proto, "organizations", "PolicyTypeNotEnabledException",
                        "This operation can be performed only for enabled policy types.", kind="scp_enable")

    def _ecs_CreateCluster(self, ctx, proto, environ, body, params) -> None:
        account, region = ctx["account"], ctx["region"]
        if self._on("naming"):
            for name in (params or _json(body)).get("capacityProviders") or []:
                if name not in ("FARGATE", "FARGATE_SPOT") and not _capacity_provider_exists(account, region, name):
                    raise error(proto, "ecs", "InvalidParameterException",
                                f"The specified capacity provider '{name}' does not exist. Specify a valid name or ARN and try again.",
                                kind="naming")
        if not self._on("ecs_service_linked_role"):
            return
        if not _service_linked_role_exists(account):
            # AWS creates the role on the first CreateCluster, and the call itself fails while
            # the new role propagates (the Terraform AWS provider retries this message).
            _create_ecs_service_linked_role(account)
            with self.lock:
                self.slr_created[account] = time.monotonic()
        with self.lock:
            born = self.slr_created.get(account)
        if born is not None and time.monotonic() - born < float(self._on("iam_propagation_seconds") or 0):
            raise error(proto, "ecs", "InvalidParameterException",
                        "Unable to assume the service linked role. Please verify that the ECS service linked role exists.",
                        kind="ecs_service_linked_role")

    def _ecs_PutClusterCapacityProviders(self, ctx, proto, environ, body, params) -> None:
        if self._on("naming"):
            for name in (params or _json(body)).get("capacityProviders") or []:
                if name not in ("FARGATE", "FARGATE_SPOT") and not _capacity_provider_exists(ctx["account"], ctx["region"], name):
                    raise error(proto, "ecs", "InvalidParameterException",
                                f"The specified capacity provider '{name}' does not exist.", kind="naming")

    def _cloudformation_CreateStackSet(self, ctx, proto, environ, body, params) -> None:
        name = params.get("StackSetName") or _form(body, environ).get("StackSetName") or ""
        if self._on("naming") and (not STACKSET_NAME.fullmatch(name) or len(name) > 128):
            shown = name if len(name) <= 40 else name[:40] + "..."
            raise error(proto, "cloudformation", "ValidationError",
                        f"1 validation error detected: Value '{shown}' at 'stackSetName' failed to satisfy constraint: "
                        "Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*", kind="naming")

    def _cloudformation_DeleteStackInstances(self, ctx, proto, environ, body, params) -> None:
        form = _form(body, environ)
        accounts = [k for k in form if k.startswith("Accounts.member.")]
        if self._on("naming") and accounts and _stackset_permission_model(
                ctx["account"], ctx["region"], form.get("StackSetName", "")) == "SERVICE_MANAGED":
            raise error(proto, "cloudformation", "ValidationError",
                        "StackSets with SERVICE_MANAGED permission model can only have OrganizationalUnit as target",
                        kind="naming")

    def _s3_CreateBucket(self, ctx, proto, environ, body, params) -> None:
        name = params.get("Bucket") or (environ.get("PATH_INFO", "/").strip("/").split("/")[0])
        problem = bucket_name_problem(name) if self._on("naming") else None
        if problem:
            raise error("rest-xml", "s3", "InvalidBucketName", f"The specified bucket is not valid: the name {problem}.",
                        kind="naming")

    def concurrent_modification(self, ctx: dict, proto: str) -> None:
        if ctx["service"] != "organizations" or not protocol.is_mutating(ctx["operation"]):
            return
        rate = float(self._on("org_concurrent_modification") or 0)
        with self.lock:
            hit = rate > 0 and self.rng.random() < rate
        if hit:
            raise error(proto, "organizations", "ConcurrentModificationException",
                        "AWS Organizations can't complete your request because it conflicts with another attempt to "
                        "modify the same entity. Try again later.", kind="org_concurrent_modification")

    # ------------------------------------------------------------------ after moto
    def observe(self, ctx: dict, status: int, out: bytes) -> bytes:
        """Records what a successful write started, and shows what is still in progress."""
        service, op = ctx["service"], ctx["operation"]
        now = time.monotonic()
        if status != 200:
            return out
        if service == "organizations" and op == "CreateAccount":
            account = ((_json(out).get("CreateAccountStatus") or {}).get("AccountId"))
            if account:
                with self.lock:
                    self.accounts_created[account] = now
                self.creation.record(account, now)
            return self.creation.rewrite(op, out, self.create_seconds())
        elif service == "organizations" and op in ("DescribeCreateAccountStatus", "ListAccounts",
                                                   "ListAccountsForParent", "ListChildren"):
            return self.creation.rewrite(op, out, self.create_seconds())
        elif service == "organizations" and op == "EnablePolicyType":
            req = _json(ctx["body"])
            if req.get("PolicyType") == "SERVICE_CONTROL_POLICY" and float(self._on("scp_enable_seconds") or 0) > 0:
                with self.lock:
                    self.scp_enabled[(ctx["account"], req.get("RootId", ""))] = now
                return self._pending_roots(ctx["account"], out, "Root")
        elif service == "organizations" and op in ("ListRoots",):
            return self._pending_roots(ctx["account"], out, "Roots")
        elif service == "iam" and op == "CreateRole":
            name = _form(ctx["body"], {}).get("RoleName")
            if name:
                with self.lock:
                    self.roles_created[(ctx["account"], name)] = now
        elif service == "cloudformation" and op in stackset_preferences.WRITES:
            self.stackset_preferences.record(ctx["account"], ctx["body"], out)
        elif service == "cloudformation" and op == "DescribeStackSetOperation":
            return self.stackset_preferences.rewrite(ctx["account"], out)
        elif service == "iam" and op == "CreateServiceLinkedRole":
            if _form(ctx["body"], {}).get("AWSServiceName") == "ecs.amazonaws.com":
                with self.lock:
                    self.slr_created[ctx["account"]] = now
        return out

    def _pending_roots(self, account: str, out: bytes, key: str) -> bytes:
        delay = float(self._on("scp_enable_seconds") or 0)
        with self.lock:
            pending = {root for (acct, root), t in self.scp_enabled.items()
                       if acct == account and time.monotonic() - t < delay}
        if not pending:
            return out
        doc = _json(out)
        roots = doc.get(key)
        for root in roots if isinstance(roots, list) else [roots] if isinstance(roots, dict) else []:
            if root.get("Id") in pending:
                for pt in root.get("PolicyTypes") or []:
                    if pt.get("Type") == "SERVICE_CONTROL_POLICY":
                        pt["Status"] = "PENDING_ENABLE"
        return json.dumps(doc).encode()

    @staticmethod
    def wants_observe(service: str | None, operation: str | None) -> bool:
        return (service, operation) in {("organizations", "CreateAccount"), ("organizations", "EnablePolicyType"),
                                        ("organizations", "DescribeCreateAccountStatus"),
                                        ("organizations", "ListAccounts"), ("organizations", "ListAccountsForParent"),
                                        ("organizations", "ListChildren"),
                                        ("organizations", "ListRoots"), ("iam", "CreateRole"),
                                        ("iam", "CreateServiceLinkedRole"),
                                        ("cloudformation", "DescribeStackSetOperation")} or (
            service == "cloudformation" and operation in stackset_preferences.WRITES)


# ---------------------------------------------------------------------- moto state lookups
def _iam(account: str):
    from moto.iam.models import iam_backends

    return iam_backends[account]["aws"]


def _role_exists(account: str, name: str) -> bool:
    try:
        _iam(account).get_role(name)
        return True
    except Exception:
        return False


def _service_linked_role_exists(account: str) -> bool:
    return any(r.path == ECS_SLR_PATH for r in list(_iam(account).roles.values()))


def _create_ecs_service_linked_role(account: str) -> None:
    _iam(account).create_service_linked_role("ecs.amazonaws.com", "", "")


def _capacity_provider_exists(account: str, region: str, name: str) -> bool:
    from moto.ecs.models import ecs_backends

    providers = ecs_backends[account][region].capacity_providers
    return name in providers or any(p.capacity_provider_arn == name for p in providers.values())


def _stackset_permission_model(account: str, region: str, name: str) -> str | None:
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[account][region]
    for ss in backend.stacksets.values():
        if name in (ss.name, ss.id, getattr(ss, "arn", None)):
            return getattr(ss, "permission_model", None)
    return None


def _policy_type(account: str, policy_id: str) -> str | None:
    from moto.organizations.models import organizations_backends

    try:
        return organizations_backends[account]["aws"].get_policy_by_id(policy_id).type
    except Exception:
        return None
