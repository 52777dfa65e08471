"""Passwords: argon2id hashes and the policy a new password must meet.

Hashing uses argon2-cffi's `PasswordHasher` with the library's defaults (RFC 9106's
low-memory profile), so a stolen table of hashes costs an attacker memory and time
per guess, and better parameters arrive with library upgrades: `needs_rehash` tells
the sign-in code when to store a fresh hash of a password it has just verified.

The policy (issue 14): at least `MIN_LENGTH` characters, not one of the 10,000 most
common passwords (nor one of them with digits or punctuation added at the end, the
usual way a common password is "strengthened"), and not containing the username.
Its errors name the rule broken and never repeat the password, which may end up in
a log or on a screen.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
COMMON_PASSWORDS_FILE = "common_passwords_10k.txt"
# Usernames shorter than this are checked for equality only: nearly every password
# contains some one- or two-letter string.
MIN_USERNAME_CHECKED = 3

_hasher = PasswordHasher()
_SUFFIX = re.compile(r"[\d\W_]+$")


class PasswordHashError(ValueError):
    """A stored password hash that is not a readable argon2 hash (corrupt or foreign)."""


def hash_password(password: str) -> str:
    """The argon2id hash to store for `password` (salted; ~50-150 ms on purpose)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether `password` matches `stored_hash`, compared in constant time by argon2.

    A wrong password is `False`, not an exception, because it is the ordinary answer.
    Pass `None` for a username that does not exist: a hash of a random password is
    verified instead, so an unknown user costs the same time as a known one and the
    answer (`False`) cannot tell them apart. A stored hash argon2 cannot read is a
    `PasswordHashError`: it is a broken row, not a wrong password, and must be seen.
    """
    if stored_hash is None:
        _verify(_unknown_user_hash(), password)
        return False
    return _verify(stored_hash, password)


def needs_rehash(stored_hash: str) -> bool:
    """Whether `stored_hash` was made with other parameters than today's defaults, so
    that sign-in stores a new hash of the password it has just verified."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError as error:
        raise _hash_error(stored_hash) from error


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except VerifyMismatchError:
        return False
    except (InvalidHashError, VerificationError) as error:
        raise _hash_error(stored_hash) from error


def _hash_error(stored_hash: str) -> PasswordHashError:
    # The scheme prefix ("$argon2id$", "$2b$") says what the hash is without showing it.
    scheme = stored_hash[: stored_hash.find("$", 1) + 1] if stored_hash.startswith("$") else ""
    return PasswordHashError(
        "the stored password hash is not a readable argon2 hash "
        f"(scheme {scheme or 'none'!r}, {len(stored_hash)} characters): reset the password"
    )


@cache
def _unknown_user_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(32))


@dataclass(frozen=True)
class PolicyViolation:
    """One rule a new password breaks: `rule` for code, `message` for the person."""

    rule: str
    message: str


class PasswordPolicyError(ValueError):
    """A new password that breaks the policy; `violations` lists every rule broken."""

    def __init__(self, violations: list[PolicyViolation]) -> None:
        self.violations = violations
        super().__init__("the password " + "; ".join(v.message for v in violations))


@cache
def common_passwords() -> frozenset[str]:
    """The vendored list of common passwords, lower-cased (provenance:
    accounts/data/PROVENANCE.md), read once from the installed package."""
    text = resources.files(__package__).joinpath("data", COMMON_PASSWORDS_FILE).read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def _is_common(password: str) -> bool:
    """Whether the password, ignoring case, is a common one or a common one followed by
    digits/punctuation ("Password2024!", "monkey123456789")."""
    common = common_passwords()
    lowered = password.lower()
    stem = _SUFFIX.sub("", lowered)
    return lowered in common or (stem != "" and stem in common)


def _contains_username(password: str, username: str) -> bool:
    lowered = password.lower()
    name = username.strip().lower()
    names = {name, name.split("@", 1)[0]}  # an e-mail address's local part too
    return any(
        name and (name in lowered if len(name) >= MIN_USERNAME_CHECKED else name == lowered)
        for name in names
    )


def policy_violations(password: str, *, username: str) -> list[PolicyViolation]:
    """Every rule `password` breaks for the person `username` (empty: acceptable), so a
    form can say everything that is wrong at once."""
    violations = []
    if len(password) < MIN_LENGTH:
        violations.append(
            PolicyViolation("min_length", f"must be at least {MIN_LENGTH} characters long")
        )
    if _is_common(password):
        violations.append(
            PolicyViolation(
                "common",
                "is a commonly used password (or one with digits or symbols added at the end)",
            )
        )
    if _contains_username(password, username):
        violations.append(PolicyViolation("contains_username", "must not contain the username"))
    return violations


def check_password(password: str, *, username: str) -> None:
    """Raise `PasswordPolicyError` if `password` may not be set for `username`."""
    violations = policy_violations(password, username=username)
    if violations:
        raise PasswordPolicyError(violations)
