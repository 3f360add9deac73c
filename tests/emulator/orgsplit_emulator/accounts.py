"""Deterministic account ids for organizations:CreateAccount (moto draws them at random).

- an e-mail pinned with pin_email() gets its pinned id (the demo pins aws+shared@example.com to
  111111111111, which is also pinned by default);
- any other e-mail gets 12 digits derived from sha256(lower-cased e-mail), first digit 1-9;
  on a collision with an id already in use the next free number is taken.
"""
from __future__ import annotations

import hashlib
import threading

from .patching import install_once

PINS: dict[str, str] = {"aws+shared@example.com": "111111111111"}
_local = threading.local()
_lock = threading.Lock()


def pin_email(email: str, account_id: str) -> None:
    if not (len(account_id) == 12 and account_id.isdigit()):
        raise ValueError(f"account id must be 12 digits: {account_id}")
    with _lock:
        PINS[email.lower()] = account_id


def derived_id(email: str) -> str:
    n = int.from_bytes(hashlib.sha256(email.lower().encode()).digest()[:8], "big")
    return str(100_000_000_000 + n % 900_000_000_000)


def _used_ids() -> set[str]:
    from moto.organizations.models import organizations_backends

    used = set()
    for _acct, parts in list(organizations_backends.items()):
        for _p, backend in list(parts.items()):
            if backend.org is not None:
                used.add(backend.org.master_account_id)
            used.update(a.id for a in backend.accounts)
    return used


@install_once
def install() -> None:
    from moto.organizations import models, utils

    original_init = models.FakeAccount.__init__
    original_random = utils.make_random_account_id

    def account_id_for_current() -> str:
        email = getattr(_local, "email", None)
        if email is None:
            return original_random()
        with _lock:
            pinned = PINS.get(email.lower())
        if pinned:
            return pinned
        used = _used_ids()
        n = int(derived_id(email))
        while str(n) in used:
            n = 100_000_000_000 + (n + 1 - 100_000_000_000) % 900_000_000_000
        return str(n)

    def init(self, organization, **kwargs):  # type: ignore[no-untyped-def]
        _local.email = kwargs.get("Email")
        try:
            original_init(self, organization, **kwargs)
        finally:
            _local.email = None

    models.FakeAccount.__init__ = init
    utils.make_random_account_id = account_id_for_current
