"""Installing a correction of moto's models once per process.

    @install_once
    def install() -> None:
        from moto.x import models
        ...  # replace a method of moto's, once

`server.py` installs every correction at start; a correction installed twice would wrap moto's
method twice (and, for a method that calls the one it replaced, run its correction twice). The
decorator makes the second call a no-op, thread-safely; an install that raised may be retried.
"""
from __future__ import annotations

import functools
import threading
from typing import Callable


def install_once(install: Callable[[], None]) -> Callable[[], None]:
    lock = threading.Lock()
    done = False

    @functools.wraps(install)
    def once() -> None:
        nonlocal done
        with lock:
            if done:
                return
            install()
            done = True

    return once
