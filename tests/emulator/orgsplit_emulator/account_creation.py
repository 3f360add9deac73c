"""CreateAccount as AWS runs it: asynchronous, with the request listed in pages.

moto answers CreateAccount with SUCCEEDED and the new account id at once. AWS answers
IN_PROGRESS and no account id: "The user who calls the API to create an account must ... check
the status with DescribeCreateAccountStatus", "account creation can take a few minutes"
(https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccount.html). Until the
request has SUCCEEDED the account is not a member yet: ListAccounts, ListAccountsForParent and
ListChildren leave it out, DescribeAccount, MoveAccount and ListParents answer
AccountNotFoundException, and its access role cannot be assumed.

ListCreateAccountStatus takes MaxResults 1..20, and like every Organizations List operation "can
occasionally return an empty set of results even when there are more results available"
(https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListCreateAccountStatus.html):
it is served here in pages of at most `page_size` statuses, so a caller that reads one page
misses the rest. moto's own paging of it computes the next token wrongly past page two.
"""
from __future__ import annotations

import json
import threading
import time
import uuid

TOKEN_PREFIX = "cas-"


def _json_response(status: int, obj: dict, error: str | None = None):
    headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", str(uuid.uuid4()))]
    if error:
        headers.append(("x-amzn-ErrorType", error))
    return status, headers, json.dumps(obj).encode()


class AccountCreation:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: dict[str, float] = {}  # account id -> when its CreateAccount was answered

    def reset(self) -> None:
        with self.lock:
            self.started.clear()

    def record(self, account: str, now: float) -> None:
        with self.lock:
            self.started[account] = now

    def succeeded_at(self, account: str, create_seconds: float) -> float | None:
        """monotonic time the account's creation SUCCEEDED (or will); None for accounts the
        emulator did not see created (the seeder's)."""
        with self.lock:
            started = self.started.get(account)
        return None if started is None else started + create_seconds

    def pending(self, create_seconds: float) -> set[str]:
        now = time.monotonic()
        with self.lock:
            return {a for a, t in self.started.items() if now - t < create_seconds}

    # ------------------------------------------------------------------ responses
    @staticmethod
    def in_progress(status: dict) -> dict:
        shown = {k: v for k, v in status.items() if k not in ("AccountId", "CompletedTimestamp")}
        shown["State"] = "IN_PROGRESS"
        return shown

    def rewrite(self, operation: str, out: bytes, create_seconds: float) -> bytes:
        """Hides what is still being created from moto's answer to `operation`."""
        pending = self.pending(create_seconds)
        if not pending:
            return out
        try:
            doc = json.loads(out or b"{}")
        except ValueError:
            return out
        if operation in ("CreateAccount", "DescribeCreateAccountStatus"):
            status = doc.get("CreateAccountStatus") or {}
            if status.get("AccountId") in pending:
                doc["CreateAccountStatus"] = self.in_progress(status)
        elif operation in ("ListAccounts", "ListAccountsForParent"):
            doc["Accounts"] = [a for a in doc.get("Accounts") or [] if a.get("Id") not in pending]
        elif operation == "ListChildren":
            doc["Children"] = [c for c in doc.get("Children") or [] if c.get("Id") not in pending]
        else:
            return out
        return json.dumps(doc).encode()

    def list_statuses(self, ctx: dict, create_seconds: float, page_size: int):
        """ListCreateAccountStatus, in pages of at most `page_size` (and MaxResults)."""
        from moto.organizations.models import organizations_backends

        try:
            req = json.loads(ctx["body"] or b"{}")
        except ValueError:
            req = {}
        token = req.get("NextToken")
        start = 0
        if token is not None:
            if not (isinstance(token, str) and token.startswith(TOKEN_PREFIX) and token[len(TOKEN_PREFIX):].isdigit()):
                return _json_response(400, {"__type": "InvalidInputException", "Message": "The NextToken is not valid."},
                                      "InvalidInputException")
            start = int(token[len(TOKEN_PREFIX):])
        limit = int(req.get("MaxResults") or 20)
        if page_size > 0:
            limit = min(limit, page_size)
        states = set(req.get("States") or ["IN_PROGRESS", "SUCCEEDED", "FAILED"])
        try:
            backend = organizations_backends[ctx["account"]]["aws"]
            accounts = list(backend.accounts) if backend.org is not None else None
        except KeyError:
            accounts = None
        if accounts is None:
            return _json_response(400, {"__type": "AWSOrganizationsNotInUseException",
                                        "Message": "Your account is not a member of an organization."},
                                  "AWSOrganizationsNotInUseException")
        pending = self.pending(create_seconds)
        statuses = []
        for account in accounts:
            if account.id == backend.org.master_account_id:
                continue  # made by CreateOrganization, not by a CreateAccount request
            status = dict(account.create_account_status["CreateAccountStatus"])
            if account.id in pending:
                status = self.in_progress(status)
            if status["State"] in states:
                statuses.append(status)
        page = statuses[start:start + limit]
        doc: dict = {"CreateAccountStatuses": page}
        if start + limit < len(statuses):
            doc["NextToken"] = f"{TOKEN_PREFIX}{start + limit}"
        return _json_response(200, doc)
