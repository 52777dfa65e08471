"""Who is calling: an API key (a machine's, or a script's) or a person's browser session,
the tenant it acts in and its role.

Keys are only ever kept hashed (`digest`); `serving/keys.py` stores them and resolves a
key to its `Caller`; `serving/api/guard.py` resolves a session cookie to one.

Roles: a key may hold a machine role (`scrubber`, the scrubbing hook) or any person role
of `accounts.roles` (scripts act as a biller or RevOps would); a person holds a person
role only. `admin` is a tenant's admin: it passes every role check within its tenant.
Running the installation (reloading the model every tenant is served) is not a tenant's
business: it takes an `operator`, an admin API key of the `default` tenant (the
installation's own, where `denialops keys add --role admin` without `--tenant`, and a
`DENIALOPS_API_KEYS` entry without a tenant, put it): whoever holds the database or the
environment runs the service. A person's session is never an operator, nor a key of
another tenant.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from accounts.roles import ROLES as PERSON_ROLES
from storage.tenancy import DEFAULT_TENANT

MACHINE_ROLES = ("scrubber",)
"""Roles only a key holds: no person scores claims by hand."""
ROLES = (*MACHINE_ROLES, *PERSON_ROLES)
"""Every role a key may hold."""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Via(StrEnum):
    """How the caller proved who it is."""

    KEY = "key"
    SESSION = "session"


@dataclass(frozen=True)
class Caller:
    """`name` is the key id or the person's username (what the audit trail names as the
    actor); `tenant` is the only tenant whose data the request reaches."""

    name: str
    role: str
    tenant: str = DEFAULT_TENANT
    via: Via = Via.KEY
    session_id: str | None = None
    """The session's id (for the CSRF check and sign-out); None for a key."""
    session_expires_at: datetime | None = None
    """When the session ends however active (its absolute limit), as the guard found it,
    so a route need not read the session again; None for a key."""

    @property
    def operator(self) -> bool:
        """May act on the whole installation (see the module's docstring)."""
        return self.via is Via.KEY and self.role == "admin" and self.tenant == DEFAULT_TENANT
