"""Authorization alerts for the work queue page: sessions that will be denied for want of an
authorization, caught while there is still time to obtain one, and authorizations about to
run out of units or days, while there is still time to extend them.

Pure functions over one tenant's contract tables (`ContractData`) and a date, so the page,
a command or a test get the same answer from the same data.

How the contract's tables answer the questions:

- **Who needs an authorization.** The contract has no payer rule table, so the data says it:
  a payer and program (level of care) need one when at least `NEEDS_AUTH_SHARE` of the
  practice's claims for them carry an authorization number (`prior_auth_id`). Payers that
  never ask (Medicare) fall below it; a payer asking only for some programs is judged per
  program.
- **In force on the service date.** An authorization of the claim's patient and payer whose
  program is the claim's or none (the whole program), with start_date ≤ service_date ≤
  end_date. Procedure codes are not matched: a listed code the claim lacks is a different
  problem (the claim's fix suggestions name it), not a missing authorization.
- **Units used.** As payers count them: every unit of every line of the claims that name the
  authorization (`prior_auth_id`) with a service date inside its window. A void (frequency
  8) and any claim a later replacement or void names (`original_claim_id`) count nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from data_contracts.reader import ContractData

NEEDS_AUTH_SHARE = 0.5
"""Share of a payer-and-program's claims carrying an authorization number from which the
pair is taken to require one."""
RECENT_DAYS = 30
"""Sessions this many days back, and every later (scheduled) one, are checked."""
UNITS_FLOOR = 2
"""An authorization with this many units left or fewer is running out."""
DAYS_FLOOR = 7
"""An authorization ending within this many days (inclusive) is running out."""


@dataclass(frozen=True)
class MissingAuth:
    """A recent or scheduled session with no authorization in force on its date."""

    claim_id: str
    patient_id: str
    payer_id: str
    program: str
    service_date: date


@dataclass(frozen=True)
class AuthRunningOut:
    """An authorization in force today with few units or days left."""

    auth_id: str
    patient_id: str
    payer_id: str
    program: str | None
    end_date: date
    units_approved: int
    units_used: int
    days_left: int

    @property
    def units_left(self) -> int:
        return self.units_approved - self.units_used


@dataclass(frozen=True)
class AuthAlerts:
    """What the page warns of, soonest first; empty lists: nothing to warn of."""

    missing: list[MissingAuth] = field(default_factory=list)
    running_out: list[AuthRunningOut] = field(default_factory=list)


def auth_alerts(data: ContractData, as_of: date) -> AuthAlerts:
    """The tenant's authorization alerts as of `as_of` (see the module docstring)."""
    claims = _standing(data.claims)
    return AuthAlerts(missing_auth(data, claims, as_of), running_out(data, claims, as_of))


def needs_authorization(claims: pd.DataFrame) -> set[tuple[str, str]]:
    """(payer_id, program) pairs whose claims mostly carry an authorization number."""
    if claims.empty:
        return set()
    share = claims["prior_auth_id"].notna().groupby([claims["payer_id"], claims["program"]]).mean()
    return {
        (str(payer), str(program)) for (payer, program), s in share.items() if s >= NEEDS_AUTH_SHARE
    }


def missing_auth(data: ContractData, claims: pd.DataFrame, as_of: date) -> list[MissingAuth]:
    """Standing claims of the last `RECENT_DAYS` days or later, of payers and programs that
    need an authorization, with none in force on the service date; soonest date first."""
    pairs = needs_authorization(claims)
    since = pd.Timestamp(as_of - timedelta(days=RECENT_DAYS))
    recent = claims[claims["service_date"] >= since]
    keys = list(zip(recent["payer_id"], recent["program"], strict=True))
    recent = recent[[key in pairs for key in keys]]
    if recent.empty:
        return []
    auths = data.authorizations
    candidates = recent[["claim_id", "patient_id", "payer_id", "program", "service_date"]].merge(
        auths[["patient_id", "payer_id", "program", "start_date", "end_date"]],
        on=["patient_id", "payer_id"],
        how="inner",
        suffixes=("", "_auth"),
    )
    in_force = (
        (candidates["program_auth"].isna() | (candidates["program_auth"] == candidates["program"]))
        & (candidates["start_date"] <= candidates["service_date"])
        & (candidates["service_date"] <= candidates["end_date"])
    )
    covered = set(candidates.loc[in_force.fillna(False).astype(bool), "claim_id"])
    uncovered = recent[~recent["claim_id"].isin(covered)].sort_values(["service_date", "claim_id"])
    return [
        MissingAuth(
            str(row.claim_id),
            str(row.patient_id),
            str(row.payer_id),
            str(row.program),
            row.service_date.date(),
        )
        for row in uncovered.itertuples(index=False)
    ]


def units_used(data: ContractData, claims: pd.DataFrame) -> pd.Series:
    """Units billed under each authorization (indexed by auth_id; 0 where none): the line
    units of standing claims naming it, dated inside its window."""
    auths = data.authorizations[["auth_id", "start_date", "end_date"]]
    named = claims.loc[
        claims["prior_auth_id"].notna(), ["claim_id", "prior_auth_id", "service_date"]
    ]
    named = named.merge(auths, left_on="prior_auth_id", right_on="auth_id", how="inner")
    inside = named[
        (named["start_date"] <= named["service_date"])
        & (named["service_date"] <= named["end_date"])
    ]
    units = data.claim_lines.groupby("claim_id")["units"].sum()
    per_claim = inside.assign(units=inside["claim_id"].map(units).fillna(0).astype("int64"))
    used = per_claim.groupby("auth_id")["units"].sum()
    return used.reindex(auths["auth_id"].unique(), fill_value=0).astype("int64")


def running_out(data: ContractData, claims: pd.DataFrame, as_of: date) -> list[AuthRunningOut]:
    """Authorizations in force on `as_of` with at most `UNITS_FLOOR` units or `DAYS_FLOOR`
    days left; fewest days left first."""
    auths = data.authorizations
    today = pd.Timestamp(as_of)
    current = auths[(auths["start_date"] <= today) & (today <= auths["end_date"])]
    if current.empty:
        return []
    used = units_used(data, claims)
    current = current.assign(
        used=current["auth_id"].map(used).fillna(0).astype("int64"),
        days_left=(current["end_date"] - today).dt.days,
    )
    left = current["units_approved"].astype("int64") - current["used"]
    short = current[(left <= UNITS_FLOOR) | (current["days_left"] <= DAYS_FLOOR)]
    short = short.sort_values(["days_left", "auth_id"])
    return [
        AuthRunningOut(
            str(row.auth_id),
            str(row.patient_id),
            str(row.payer_id),
            None if pd.isna(row.program) else str(row.program),
            row.end_date.date(),
            int(row.units_approved),
            int(row.used),
            int(row.days_left),
        )
        for row in short.itertuples(index=False)
    ]


def _standing(claims: pd.DataFrame) -> pd.DataFrame:
    """Claims that stand: not voids, and not replaced or voided by a later claim."""
    superseded = set(claims["original_claim_id"].dropna())
    keep = (claims["frequency_code"] != "8").fillna(True) & ~claims["claim_id"].isin(superseded)
    return claims[keep.astype(bool)]
