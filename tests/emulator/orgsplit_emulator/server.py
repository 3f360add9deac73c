"""Entry point: `python -m orgsplit_emulator.server [--port N] [--scenario NAME] [--exit-on-stdin-eof]`."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.request


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests/emulator/run")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free port)")
    parser.add_argument("--scenario", help="seed this scenario (scenarios/NAME.json) before printing ready")
    parser.add_argument("--exit-on-stdin-eof", action="store_true", help="exit when stdin reaches EOF")
    parser.add_argument("--quiet", action="store_true", default=True)
    args = parser.parse_args(argv)

    t0 = time.monotonic()
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")
    from werkzeug.serving import make_server

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

    from . import (accounts, ecs_clusters, ecs_services, ecs_task_definitions, ecs_tasks, s3_suspended_deletes,
                   scheduler_groups, scheduler_state, secrets_deletion, ssm_parameter_pages)
    from .app import EmulatorApp

    accounts.install()
    ecs_tasks.install()
    ecs_services.install()
    ecs_task_definitions.install()
    ecs_clusters.install()
    scheduler_state.install()
    scheduler_groups.install()
    secrets_deletion.install()
    s3_suspended_deletes.install()
    ssm_parameter_pages.install()

    class Handler(MotoRequestHandler):
        def make_environ(self):  # type: ignore[no-untyped-def]
            environ = super().make_environ()
            environ["orgsplit.socket"] = self.connection
            environ["orgsplit.handler"] = self
            return environ

        def log_request(self, *a, **k):  # type: ignore[no-untyped-def]
            pass

        def log_message(self, *a, **k):  # type: ignore[no-untyped-def]
            pass

    moto_app = DomainDispatcherApplication(create_backend_app)
    holder: dict = {}
    app = EmulatorApp(moto_app, holder)
    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=Handler)
    server.daemon_threads = True
    port = server.server_port
    url = f"http://127.0.0.1:{port}"
    holder["url"] = url
    os.environ["MOTO_PORT"] = str(port)

    stop = threading.Event()

    def on_signal(signum, frame):  # type: ignore[no-untyped-def]
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    # answer a request to ourselves before announcing readiness
    with urllib.request.urlopen(f"{url}/_emulator/health", timeout=10) as r:
        r.read()
    if args.scenario:
        req = urllib.request.Request(f"{url}/_emulator/seed", data=json.dumps({"scenario": args.scenario}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                result = json.load(r)
        except urllib.error.HTTPError as e:
            sys.stderr.write(f"emulator: seeding {args.scenario} failed: {e.read().decode(errors='replace')}\n")
            return 1
        sys.stderr.write(f"emulator: seeded {args.scenario}: {json.dumps(result.get('counts', {}))}\n")
    sys.stderr.write(f"emulator: started in {time.monotonic() - t0:.2f}s\n")
    sys.stdout.write(f"ready {url}\n")
    sys.stdout.flush()

    if args.exit_on_stdin_eof:
        def watch_stdin() -> None:
            try:
                while sys.stdin.buffer.read(65536):
                    pass
            except Exception:
                pass
            stop.set()

        threading.Thread(target=watch_stdin, daemon=True).start()

    while not stop.wait(0.5):
        pass
    # stop promptly: do not wait for in-flight requests
    threading.Thread(target=server.shutdown, daemon=True).start()
    time.sleep(0.05)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
