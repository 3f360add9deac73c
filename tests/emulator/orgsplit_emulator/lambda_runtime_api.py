"""A local stand-in for the AWS Lambda Runtime API (2018-06-01), for testing a custom runtime
(`orgsplit trigger serve-lambda`) without Lambda.

A function process started with AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT polls
`GET /2018-06-01/runtime/invocation/next`; the test queues invocations through
`POST /_emulator/lambda/invocations` (a JSON list of payloads, or `{"payloads": [...],
"deadline_seconds": N}` for invocations with N seconds left instead of the function's 900,
answered with their request ids)
and reads what the function answered from `GET /_emulator/lambda/results`. `next` waits up to
`WAIT_SECONDS` for an invocation, then answers 204-free AWS style: it simply keeps the request
open, as Lambda does; here it gives up with a 504 after the wait so a stopped test does not pin
threads forever (the runtime treats that as an error and polls again).

Paths (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
  GET  /2018-06-01/runtime/invocation/next          -> payload, Lambda-Runtime-* headers
  POST /2018-06-01/runtime/invocation/{id}/response -> 202
  POST /2018-06-01/runtime/invocation/{id}/error    -> 202
  POST /2018-06-01/runtime/init/error               -> 202
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from typing import Any

PREFIX = "/2018-06-01/runtime/"
WAIT_SECONDS = 30.0
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:orgsplit-trigger"


class LambdaRuntimeApi:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.queue: deque[tuple[str, Any, float]] = deque()
        self.results: dict[str, dict] = {}
        self.init_errors: list[Any] = []

    def reset(self) -> None:
        with self.cond:
            self.queue.clear()
            self.results.clear()
            self.init_errors.clear()

    def enqueue(self, payloads: list[Any], deadline_seconds: float | None = None) -> list[str]:
        ids = []
        with self.cond:
            for p in payloads:
                rid = str(uuid.uuid4())
                self.queue.append((rid, p, 900.0 if deadline_seconds is None else float(deadline_seconds)))
                self.results[rid] = {"request_id": rid, "state": "queued"}
                ids.append(rid)
            self.cond.notify_all()
        return ids

    def snapshot(self) -> dict:
        with self.cond:
            return {"results": list(self.results.values()), "init_errors": list(self.init_errors)}

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        rest = path[len(PREFIX):].strip("/")
        if method == "GET" and rest == "invocation/next":
            deadline = time.monotonic() + WAIT_SECONDS
            with self.cond:
                while not self.queue:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return 504, {"Content-Type": "application/json"}, b'{"errorMessage": "no invocation"}'
                    self.cond.wait(left)
                rid, payload, seconds = self.queue.popleft()
                self.results[rid]["state"] = "running"
            headers = {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": rid,
                "Lambda-Runtime-Deadline-Ms": str(int((time.time() + seconds) * 1000)),
                "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
            }
            return 200, headers, json.dumps(payload).encode()
        parts = rest.split("/")
        if method == "POST" and len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            rid = parts[1]
            with self.cond:
                if rid not in self.results:
                    return 400, {"Content-Type": "application/json"}, b'{"errorMessage": "unknown request id"}'
                try:
                    doc = json.loads(body) if body.strip() else None
                except json.JSONDecodeError:
                    doc = body.decode(errors="replace")
                self.results[rid].update({"state": parts[2], "body": doc})
                self.cond.notify_all()
            return 202, {"Content-Type": "application/json"}, b'{"status": "OK"}'
        if method == "POST" and rest == "init/error":
            with self.cond:
                self.init_errors.append(body.decode(errors="replace"))
            return 202, {"Content-Type": "application/json"}, b'{"status": "OK"}'
        return 404, {"Content-Type": "application/json"}, json.dumps({"errorMessage": f"no route {method} {path}"}).encode()
