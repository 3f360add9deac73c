"""Responses moto gets wrong in a way the real SDKs reject, corrected to AWS's shape.

Each entry names the AWS documentation it follows (also listed in docs/emulator-gaps.md).
"""
from __future__ import annotations

import json
import re
from typing import Callable

# S3 GetBucketVersioning: AWS's response root is <VersioningConfiguration>
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html);
# moto 5.2.5 answers <GetBucketVersioningResponse>, which the AWS SDK for Rust refuses to parse.
# S3 GetBucketNotificationConfiguration: AWS's root is <NotificationConfiguration>
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketNotificationConfiguration.html);
# moto 5.2.5 answers <GetBucketNotificationResponse/>, refused the same way.
_ROOTS = {
    ("s3", "GetBucketVersioning"): ("GetBucketVersioningResponse", "VersioningConfiguration"),
    ("s3", "GetBucketNotificationConfiguration"): ("GetBucketNotificationResponse", "NotificationConfiguration"),
    # the deprecated operation of the same method and path, which the request matcher may name
    ("s3", "GetBucketNotification"): ("GetBucketNotificationResponse", "NotificationConfiguration"),
}


def _parameter_policies(body: bytes) -> bytes:
    """SSM DescribeParameters: AWS's `Policies[].PolicyText` is the policy's JSON and
    `PolicyType` its `Type` (Expiration, ExpirationNotification, NoChangeNotification)
    (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ParameterInlinePolicy.html);
    moto 5.2.5 answers a Python repr in both."""
    import ast

    doc = json.loads(body or b"{}")
    for p in doc.get("Parameters", []):
        for policy in p.get("Policies") or []:
            try:
                parsed = ast.literal_eval(policy.get("PolicyText", ""))
            except (ValueError, SyntaxError):
                continue
            if isinstance(parsed, dict):
                policy["PolicyText"] = json.dumps(parsed)
                policy["PolicyType"] = parsed.get("Type", "")
    return json.dumps(doc).encode()


def _project_timeouts(body: bytes) -> bytes:
    """CodeBuild BatchGetProjects (and CreateProject's answer): a project created without
    timeouts has AWS's defaults, `timeoutInMinutes` 60 and `queuedTimeoutInMinutes` 480 (the
    valid ranges are 5-2160 and 5-480)
    (https://docs.aws.amazon.com/codebuild/latest/APIReference/API_CreateProject.html);
    moto 5.2.5 answers 0 for both, which CreateProject itself then refuses."""
    doc = json.loads(body or b"{}")
    projects = doc.get("projects") or ([doc["project"]] if isinstance(doc.get("project"), dict) else [])
    for project in projects:
        if not project.get("timeoutInMinutes"):
            project["timeoutInMinutes"] = 60
        if not project.get("queuedTimeoutInMinutes"):
            project["queuedTimeoutInMinutes"] = 480
    return json.dumps(doc).encode()


def _default_event_selectors(body: bytes) -> bytes:
    """CloudTrail GetEventSelectors: "By default, trails created without specific event
    selectors will be configured to log all read and write management events, and no data
    events", and GetEventSelectors answers that selector
    (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_EventSelector.html);
    moto 5.2.5 answers no selector at all for such a trail."""
    doc = json.loads(body or b"{}")
    if not doc.get("EventSelectors") and not doc.get("AdvancedEventSelectors"):
        doc["EventSelectors"] = [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                                  "ExcludeManagementEventSources": []}]
    return json.dumps(doc).encode()


_JSON = {
    ("cloudtrail", "GetEventSelectors"): _default_event_selectors,
    ("ssm", "DescribeParameters"): _parameter_policies,
    ("codebuild", "BatchGetProjects"): _project_timeouts,
    ("codebuild", "CreateProject"): _project_timeouts,
}


def needs_correction(service: str, operation: str) -> bool:
    return (service, operation) in _ROOTS or (service, operation) in _JSON


def correct(service: str, operation: str, body: bytes) -> bytes:
    if (service, operation) in _JSON:
        return _JSON[(service, operation)](body)
    wrong, right = _ROOTS[(service, operation)]
    text = body.decode("utf-8", "replace")
    text = re.sub(rf"<{wrong}(\s|>)", rf"<{right}\1", text, count=1)
    text = text.replace(f"</{wrong}>", f"</{right}>")
    return text.encode("utf-8")


def call_corrected(app: Callable, environ: dict, start_response: Callable, service: str, operation: str) -> list[bytes]:
    captured: dict = {}

    def capture(status: str, headers: list, exc_info=None):
        captured["status"], captured["headers"] = status, headers
        return lambda _data: None

    body = b"".join(app(environ, capture))
    status = captured.get("status", "500 Internal Server Error")
    if status.startswith("200"):
        body = correct(service, operation, body)
    headers = [(k, v) for k, v in captured.get("headers", []) if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(body))))
    start_response(status, headers)
    return [body]
