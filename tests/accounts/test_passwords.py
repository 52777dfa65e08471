from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from accounts import passwords
from accounts.passwords import (
    MIN_LENGTH,
    PasswordHashError,
    PasswordPolicyError,
    check_password,
    common_passwords,
    hash_password,
    needs_rehash,
    policy_violations,
    verify_password,
)

PASSWORD = "violet staple gardens 41"


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_password(PASSWORD)


def test_a_hash_verifies_its_password_and_never_contains_it(stored: str) -> None:
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert verify_password(stored, PASSWORD)


@pytest.mark.parametrize("attempt", ["violet staple gardens 42", "Violet staple gardens 41", ""])
def test_a_wrong_password_is_false_not_an_error(stored: str, attempt: str) -> None:
    assert verify_password(stored, attempt) is False


def test_the_same_password_hashes_differently_each_time(stored: str) -> None:
    again = hash_password(PASSWORD)
    assert again != stored
    assert verify_password(again, PASSWORD)


class CountingHasher:
    def __init__(self, real: PasswordHasher) -> None:
        self.real = real
        self.verified: list[str] = []

    def hash(self, password: str) -> str:
        return self.real.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        self.verified.append(stored)
        return self.real.verify(stored, password)


def test_an_unknown_user_costs_one_argon2_verification_and_is_false(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counting = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", counting)
    assert verify_password(None, PASSWORD) is False
    assert len(counting.verified) == 1
    assert counting.verified[0].startswith("$argon2id$")  # real work, as for a known user


@pytest.mark.parametrize(
    ("broken", "scheme"),
    [
        ("", "none"),
        ("plain text", "none"),
        ("$2b$12$abcdefghijklmnopqrstuuJ1Ad4aF5.kR9hIuLWZ3pJLJ7eq3K/6", "$2b$"),
    ],
)
def test_a_hash_argon2_cannot_read_is_an_error_naming_it(broken: str, scheme: str) -> None:
    with pytest.raises(PasswordHashError, match="not a readable argon2 hash") as error:
        verify_password(broken, PASSWORD)
    assert repr(scheme) in str(error.value)
    with pytest.raises(PasswordHashError):
        needs_rehash(broken)


def test_a_truncated_argon2_hash_is_an_error_not_a_mismatch(stored: str) -> None:
    with pytest.raises(PasswordHashError, match="'\\$argon2id\\$'"):
        verify_password(stored[:-10], PASSWORD)


def test_a_hash_with_weaker_parameters_needs_rehashing(stored: str) -> None:
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024).hash(PASSWORD)
    assert needs_rehash(weaker)
    assert verify_password(weaker, PASSWORD)  # still signs in, then gets rehashed
    assert not needs_rehash(stored)


def test_the_vendored_list_is_the_10k_list_lower_cased() -> None:
    common = common_passwords()
    assert len(common) > 9_900  # 10,000 entries, a few equal once lower-cased
    assert {"password", "qwerty", "iloveyou", "trustno1", "1q2w3e4r5t"} <= common
    assert all(entry == entry.lower() and entry.strip() == entry for entry in common)


def rules(password: str, username: str = "jdoe") -> set[str]:
    return {violation.rule for violation in policy_violations(password, username=username)}


def test_a_long_uncommon_password_passes() -> None:
    assert rules(PASSWORD) == set()
    check_password(PASSWORD, username="jdoe")


def test_length_counts_characters_from_the_minimum() -> None:
    assert rules("x7#kq!vz0pl" + "m") == set()
    assert len("x7#kq!vz0plm") == MIN_LENGTH
    assert rules("x7#kq!vz0pl") == {"min_length"}


@pytest.mark.parametrize(
    "password",
    [
        "qwertyuiop12",  # list entry + digits
        "PASSWORD1234",  # case does not help
        "Password2024!",  # a year and a symbol after a common one
        "monkey123456789",
        "1234567890",  # the entry itself
        "basketball!!",
    ],
)
def test_a_common_password_is_refused(password: str) -> None:
    assert "common" in rules(password)


def test_digits_inside_or_in_front_are_not_stripped() -> None:
    assert "common" not in rules("pass9word2024")
    assert "common" not in rules("2024password")


@pytest.mark.parametrize(
    ("password", "username"),
    [
        ("My-Jdoe-is-long-enough", "jdoe"),
        ("jane.doe wrote this one", "jane.doe@clinic.example"),
        ("xx", "xx"),
    ],
)
def test_a_password_containing_the_username_is_refused(password: str, username: str) -> None:
    assert "contains_username" in rules(password, username)


def test_a_short_username_only_refuses_an_equal_password() -> None:
    assert "contains_username" not in rules("abstract violet staple", "ab")


def test_errors_name_every_rule_and_never_the_password() -> None:
    secret = "jdoe"
    with pytest.raises(PasswordPolicyError) as error:
        check_password(secret, username="jdoe")
    assert {v.rule for v in error.value.violations} == {"min_length", "contains_username"}
    assert "at least 12 characters" in str(error.value)
    assert "username" in str(error.value)
    leaked = "Password2024!"
    with pytest.raises(PasswordPolicyError) as error:
        check_password(leaked, username="jdoe")
    assert leaked.lower() not in str(error.value).lower()
