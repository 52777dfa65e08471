"""The history the features need, declared once: which events, keyed how, aggregated how.

A `Tally` is a set of measures over one event source sharing one key. Claim
tallies count earlier claims (in submission order: date, then claim id);
remit tallies count remits received strictly before the claim's submission
date. Training accumulates them over the whole history, serving seeds them
from the stored state; both go through `features.asof`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from features.asof import IDENTITY, How

DECAY_DAYS = 90.0
"""Time constant of decayed counts: recent payer behaviour weighs more than old."""


@dataclass(frozen=True)
class Measure:
    name: str
    value: str
    """Column of the event frame; `one` counts events."""
    how: How = "sum"
    where: str | None = None
    """Boolean column of the event frame: only these events count."""
    decay: bool = False
    """Exponentially decayed with `DECAY_DAYS` (sums only)."""


@dataclass(frozen=True)
class Tally:
    name: str
    source: Literal["claims", "remits"]
    keys: tuple[str, ...]
    measures: tuple[Measure, ...]
    stage: int = 1
    """Claim tallies of stage 2 read stage-1 results (first visit of the day)."""
    only_where: str | None = None
    """Boolean column of the query frame: rows where the key means something (else NaN)."""


COUNT = Measure("n", "one")
DENIED = Measure("denied", "denied")


def _denials(category: str) -> Measure:
    return Measure(category, f"is_{category}")


CLAIM_TALLIES: tuple[Tally, ...] = (
    Tally(
        "patient",
        "claims",
        ("patient_id",),
        (Measure("prior_claims", "one"), Measure("last_service_day", "service_day", "max")),
    ),
    Tally(
        "patient_day", "claims", ("patient_id", "service_day"), (Measure("prior_claims", "one"),)
    ),
    Tally(
        "patient_day_code",
        "claims",
        ("patient_id", "service_day", "code_1"),
        (Measure("prior_claims", "one"),),
    ),
    Tally(
        "patient_payer_day",
        "claims",
        ("patient_id", "payer_id", "service_day"),
        (Measure("prior_claims", "one"),),
    ),
    Tally(
        "auth",
        "claims",
        ("prior_auth_id",),
        (Measure("units_used", "total_units"), Measure("prior_claims", "one")),
        only_where="has_prior_auth",
    ),
    Tally(
        "program_stay",
        "claims",
        ("patient_id", "program", "facility_id"),
        (Measure("first_service_day", "service_day", "min"), Measure("prior_claims", "one")),
    ),
    Tally(
        "visit_year",
        "claims",
        ("patient_id", "payer_id", "service_year", "program"),
        (Measure("visits", "first_visit_of_day"),),
        stage=2,
    ),
)

REMIT_TALLIES: tuple[Tally, ...] = (
    Tally(
        "all",
        "remits",
        ("everyone",),
        (
            COUNT,
            DENIED,
            *(
                _denials(c)
                for c in (
                    "time_code_mismatch",
                    "credential_not_covered",
                    "modifier_invalid",
                    "dx_not_covered",
                    "auth",
                )
            ),
        ),
    ),
    Tally(
        "payer_code",
        "remits",
        ("payer_id", "code_1"),
        (
            COUNT,
            DENIED,
            _denials("time_code_mismatch"),
            Measure("n_recent", "one", decay=True),
            Measure("denied_recent", "denied", decay=True),
        ),
    ),
    Tally(
        "payer_credential",
        "remits",
        ("payer_id", "provider_credential"),
        (COUNT, DENIED, _denials("credential_not_covered")),
    ),
    Tally(
        "payer_modifiers",
        "remits",
        ("payer_id", "modifier_pattern", "place_of_service"),
        (COUNT, DENIED, _denials("modifier_invalid")),
    ),
    Tally("provider", "remits", ("rendering_provider_id",), (COUNT, DENIED)),
    Tally("facility", "remits", ("facility_id",), (COUNT, DENIED)),
    Tally(
        "payer_program_auth",
        "remits",
        ("payer_id", "program", "has_prior_auth"),
        (COUNT, DENIED, _denials("auth")),
    ),
    Tally(
        "payer_dx",
        "remits",
        ("payer_id", "dx_category"),
        (COUNT, DENIED, _denials("dx_not_covered")),
    ),
    Tally(
        "patient_remits",
        "remits",
        ("patient_id",),
        (COUNT, DENIED, Measure("denied_recent", "denied", decay=True)),
    ),
    Tally(
        "patient_payer_remits",
        "remits",
        ("patient_id", "payer_id"),
        (_denials("coverage_inactive"), _denials("visit_limit")),
    ),
    Tally(
        "auth_remits",
        "remits",
        ("prior_auth_id",),
        (_denials("auth_exhausted"),),
        only_where="has_prior_auth",
    ),
    Tally(
        "payer_limits",
        "remits",
        ("payer_id",),
        (
            Measure("learned_visit_cap", "visit_number", "min", where="is_visit_limit"),
            Measure("learned_filing_limit", "days_to_submit", "min", where="is_timely_filing"),
            Measure("longest_paid_lag", "days_to_submit", "max", where="paid"),
        ),
    ),
)

TALLIES: tuple[Tally, ...] = CLAIM_TALLIES + REMIT_TALLIES


def column(tally: Tally, measure: Measure) -> str:
    """Name of the raw accumulated column, e.g. `payer_code__denied`."""
    return f"{tally.name}__{measure.name}"


def event_values(tally: Tally, events: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """What each event adds to `tally`, (n, m): the measure's column, its identity where the
    event does not count (`where`), decayed measures scaled by exp(time / DECAY_DAYS) (the
    query's exp(-time / DECAY_DAYS) undoes it: `pipeline.decay_factor`)."""
    columns = []
    for measure in tally.measures:
        value = events[measure.value].to_numpy(np.float64)
        if measure.where is not None:
            value = np.where(events[measure.where].to_numpy(bool), value, IDENTITY[measure.how])
        if measure.decay:
            value = value * np.exp(times / DECAY_DAYS)
        columns.append(value)
    return np.column_stack(columns) if columns else np.empty((len(events), 0))


SHARD_KEYS = frozenset({"patient_id", "prior_auth_id"})
"""The Dask engine keeps a patient's claims, and every claim naming an authorization,
together in one shard: a tally keyed by either is complete within its shard."""


def within_shard(tally: Tally) -> bool:
    """Whether every event a claim's `tally` counts lies in the claim's own shard."""
    return bool(SHARD_KEYS & set(tally.keys))
