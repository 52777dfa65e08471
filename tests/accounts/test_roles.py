from __future__ import annotations

import pytest

from accounts.roles import ROLES, Role, UnknownRoleError, parse_role


def test_the_five_person_roles_of_the_issue() -> None:
    assert ROLES == ("biller", "billing_lead", "revops", "data_scientist", "admin")


@pytest.mark.parametrize("name", ROLES)
def test_a_stored_role_name_reads_back_as_the_role(name: str) -> None:
    role = parse_role(name)
    assert isinstance(role, Role)
    assert role == name


@pytest.mark.parametrize("name", ["Admin", "scrubber", "", "billing lead"])
def test_an_unknown_role_is_refused_with_the_list(name: str) -> None:
    with pytest.raises(UnknownRoleError, match="one of biller, billing_lead"):
        parse_role(name)
