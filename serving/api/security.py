"""API keys with roles, kept hashed: from the service's key store and, to bootstrap, from
`DENIALOPS_API_KEYS` (comma-separated key:role pairs)."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

ROLES = ("scrubber", "biller", "billing_lead", "revops", "admin")


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Caller:
    key_id: str
    role: str


class KeyRing:
    """Key hash -> caller. Plain keys are never kept after start-up, nor logged."""

    def __init__(self, env_keys: str, store: Path):
        self._callers: dict[str, Caller] = {}
        for pair in filter(None, (p.strip() for p in env_keys.split(","))):
            key, _, role = pair.rpartition(":")
            if not key or role not in ROLES:
                raise ValueError(
                    f"DENIALOPS_API_KEYS entry ending {pair[-4:]!r}: need key:role with a role "
                    f"in {', '.join(ROLES)}"
                )
            self._callers[digest(key)] = Caller(digest(key)[:12], role)
        if store.exists():
            for entry in json.loads(store.read_text()):
                self._callers[entry["sha256"]] = Caller(entry["key_id"], entry["role"])

    def caller(self, key: str) -> Caller | None:
        return self._callers.get(digest(key))

    def __len__(self) -> int:
        return len(self._callers)


def add_key(store: Path, role: str) -> tuple[str, str]:
    """A new random key with `role`, stored hashed; returns (key, key_id). Shown once."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    key = secrets.token_urlsafe(32)
    entries = json.loads(store.read_text()) if store.exists() else []
    key_id = digest(key)[:12]
    entries.append({"key_id": key_id, "sha256": digest(key), "role": role})
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(entries, indent=1) + "\n")
    store.chmod(0o600)
    return key, key_id
