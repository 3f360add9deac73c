"""StackSet operation preferences, which moto ignores and never returns.

AWS records the `OperationPreferences` a `CreateStackInstances`, `UpdateStackSet` or
`DeleteStackInstances` was called with, and `DescribeStackSetOperation` answers them with the
operation (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperation.html).
moto 5.2.5 drops them. Here they are recorded per (account, operation id) from the request, and
put back into `DescribeStackSetOperation`'s answer, so a test can read what an operation ran
with. (How fast moto deploys does not depend on them: an emulator operation is done at once.)
"""
from __future__ import annotations

import re
import threading
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

WRITES = ("CreateStackInstances", "UpdateStackSet", "DeleteStackInstances")
_PREFIX = "OperationPreferences."
_FIELDS = ("RegionConcurrencyType", "FailureToleranceCount", "FailureTolerancePercentage",
           "MaxConcurrentCount", "MaxConcurrentPercentage", "ConcurrencyMode")


class Preferences:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_operation: dict[tuple[str, str], dict[str, str]] = {}

    def reset(self) -> None:
        with self.lock:
            self.by_operation.clear()

    def record(self, account: str, body: bytes, out: bytes) -> None:
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        prefs = {k[len(_PREFIX):]: v for k, v in form.items() if k.startswith(_PREFIX) and k[len(_PREFIX):] in _FIELDS}
        found = re.search(rb"<OperationId>([^<]+)</OperationId>", out)
        if prefs and found:
            with self.lock:
                self.by_operation[(account, found.group(1).decode())] = prefs

    def rewrite(self, account: str, out: bytes) -> bytes:
        found = re.search(rb"<OperationId>([^<]+)</OperationId>", out)
        if not found or b"<OperationPreferences>" in out:
            return out
        with self.lock:
            prefs = self.by_operation.get((account, found.group(1).decode()))
        if not prefs:
            return out
        xml = "<OperationPreferences>" + "".join(
            f"<{k}>{escape(v)}</{k}>" for k, v in sorted(prefs.items())) + "</OperationPreferences>"
        return out.replace(b"</StackSetOperation>", xml.encode() + b"</StackSetOperation>", 1)
