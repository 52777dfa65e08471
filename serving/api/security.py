"""Who is calling: API keys, their roles, and the caller a key stands for.

Keys are only ever kept hashed (`digest`); `serving/keys.py` stores them and
resolves a key to its `Caller`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

ROLES = ("scrubber", "biller", "billing_lead", "revops", "admin")


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Caller:
    key_id: str
    role: str
