"""CloudFormation's trusted access with Organizations, which moto 5.2.5 does not implement:
ActivateOrganizationsAccess, DeactivateOrganizationsAccess, DescribeOrganizationsAccess
(query protocol, XML), per management account.

https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ActivateOrganizationsAccess.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeOrganizationsAccess.html
"""
from __future__ import annotations

import threading
import uuid

OPERATIONS = ("ActivateOrganizationsAccess", "DeactivateOrganizationsAccess", "DescribeOrganizationsAccess")
_NS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"


class OrganizationsAccess:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.enabled: set[str] = set()

    def reset(self) -> None:
        with self.lock:
            self.enabled.clear()

    def handle(self, ctx: dict) -> tuple[int, list[tuple[str, str]], bytes]:
        op, account = ctx["operation"], ctx["account"]
        with self.lock:
            if op == "ActivateOrganizationsAccess":
                self.enabled.add(account)
                result = ""
            elif op == "DeactivateOrganizationsAccess":
                self.enabled.discard(account)
                result = ""
            else:
                status = "ENABLED" if account in self.enabled else "DISABLED"
                result = f"<Status>{status}</Status>"
        body = (
            f'<{op}Response xmlns="{_NS}"><{op}Result>{result}</{op}Result>'
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{op}Response>"
        )
        return 200, [("Content-Type", "text/xml")], body.encode()
