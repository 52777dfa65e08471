"""The roles a person can hold in a tenant: the one definition.

A person has exactly one role in one tenant. `admin` is the tenant's admin (it
manages that tenant's users and keys); it is not an operator of the whole
installation. The roles of API keys for machines (the scrubbing hook's
`scrubber`) live with the keys in `serving/api/security.py`.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A person's role; a `str`, so it compares equal to the stored text."""

    BILLER = "biller"
    BILLING_LEAD = "billing_lead"
    REVOPS = "revops"
    DATA_SCIENTIST = "data_scientist"
    ADMIN = "admin"


ROLES: tuple[str, ...] = tuple(role.value for role in Role)


class UnknownRoleError(ValueError):
    """A role name that is not one of `ROLES` (from the CLI, a form or a stored row)."""


def parse_role(value: str) -> Role:
    """The role named by `value`, exactly as stored (lower case); an unknown name is an
    error listing the roles, because a typo must not create a person without rights
    (or with the wrong ones)."""
    try:
        return Role(value)
    except ValueError:
        raise UnknownRoleError(
            f"unknown role {value!r}: a person's role is one of {', '.join(ROLES)}"
        ) from None
