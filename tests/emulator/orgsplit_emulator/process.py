"""One emulator process, for the Python harnesses (pytest, reliability suites, benchmarks).

`tests/emulator/run --port 0 [ARGS] --exit-on-stdin-eof`: the emulator prints `ready URL` on its
first stdout line, and exits when its stdin closes, so it never outlives the harness that
started it. Only the standard library: the harnesses import this without moto.

    from orgsplit_emulator.process import EmulatorProcess
    with EmulatorProcess(["--scenario", "demo"]) as emu:
        emu.admin("GET", "requests")
"""
from __future__ import annotations

import json
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO

RUN = Path(__file__).resolve().parents[1] / "run"


class EmulatorError(RuntimeError):
    pass


class EmulatorProcess:
    def __init__(self, args: list[str] | tuple[str, ...] = (), log: Path | None = None,
                 admin_timeout: float = 600.0):
        """Starts the emulator; `log` takes its stderr (else a temporary file does: a pipe nobody
        reads would stall the emulator once full)."""
        self.admin_timeout = admin_timeout
        self._log: BinaryIO = open(log, "w+b") if log else tempfile.TemporaryFile()
        started = time.monotonic()
        self.proc = subprocess.Popen([str(RUN), "--port", "0", "--exit-on-stdin-eof", *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)
        line = self.proc.stdout.readline().decode() if self.proc.stdout else ""
        self.start_seconds = time.monotonic() - started
        if not line.startswith("ready "):
            self.stop(keep_log=True)
            self._log.seek(0)
            tail = self._log.read().decode(errors="replace")[-2000:]
            self._log.close()
            raise EmulatorError(f"the emulator did not start (first line {line!r}); its log ends:\n{tail}")
        self.ready_line = line
        self.url = line.split(" ", 1)[1].strip()

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """`METHOD URL/path` with a JSON body; (status, JSON answer or None). HTTP errors are
        answers too: the caller asserts on the status."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.admin_timeout) as r:
                status, text = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        return status, (json.loads(text) if text else None)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """The emulator's admin API (`/_emulator/PATH`); an error status raises."""
        status, answer = self.request(method, f"/_emulator/{path}", body)
        if status >= 400:
            raise EmulatorError(f"{method} /_emulator/{path}: {status} {answer}")
        return answer

    def moto_api(self, path: str, body: Any) -> None:
        """moto's own API (`/moto-api/PATH`)."""
        status, answer = self.request("POST", f"/moto-api/{path}", body)
        if status >= 400:
            raise EmulatorError(f"POST /moto-api/{path}: {status} {answer}")

    def stop(self, keep_log: bool = False) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            if f:
                f.close()
        if not keep_log:
            self._log.close()

    def __enter__(self) -> "EmulatorProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
