"""Mechanisms that depend on a claim's history: authorization units, visit caps, duplicates.

These are what a model that looks only at the claim's own columns cannot see,
and what the point-in-time features of `features/` must reconstruct.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic.population import EPISODE, START

CLERICAL_AUTH_OMISSION = 0.02
REUSE_STALE_AUTH = 0.7
AUTH_LEAD_DAYS = 5
"""Most days an authorization starts before the first session it covers."""


def authorization_required(coded: pd.DataFrame, payers: pd.DataFrame) -> np.ndarray:
    """Sessions whose payer wants a prior authorization: every program but outpatient, and
    outpatient after the first visit where the payer says so; never traditional Medicare."""
    program = coded["program"].to_numpy()
    payer_plan = payers["plan_type"].to_numpy()[coded["payer"].to_numpy()]
    op_auth = payers["op_auth"].to_numpy()[coded["payer"].to_numpy()]
    requires = (program != "OP") | (op_auth & (coded["k"].to_numpy() > 0))
    return requires & (payer_plan != "medicare")


def authorizations(
    rng: np.random.Generator,
    coded: pd.DataFrame,
    facilities: pd.DataFrame,
    payers: pd.DataFrame,
    requires: np.ndarray | None = None,
    *,
    first_number: int = 1,
    obtain_rate: float | None = None,
    procedure_codes: str = "",
    start_floor: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Authorization records, and per session the auth number sent and the auth problem.

    Units are counted per (episode, payer); every `units approved` a new
    authorization (an extension) is needed. A facility obtains the first with
    its `auth_discipline` and extensions with its `auth_extension_rate`; where
    none was obtained the claim goes out with the last, used-up number or none.

    The keywords serve a rule that starts mid-history (`synthetic.scenarios`):
    `requires` names the sessions it covers (default `authorization_required`),
    numbers start at `first_number` so they never repeat the usual ones, clinics
    that have not caught up obtain one at `obtain_rate` instead of their habit,
    the records cover only `procedure_codes` ("" = the whole program), and none
    starts before day `start_floor`.
    """
    if requires is None:
        requires = authorization_required(coded, payers)
    sessions = coded.loc[
        requires,
        ["episode", "payer", "day", "billed_units", "facility", "patient", "program"],
    ]
    # Payers count every unit billed under the authorization, line by line.
    units = sessions["billed_units"]
    units_used_before = sessions.groupby(["episode", "payer"])["billed_units"].cumsum() - units
    approved = sessions["program"].map({p: spec[3] for p, spec in EPISODE.items()})
    window = sessions["program"].map({p: spec[4] for p, spec in EPISODE.items()})
    segment = units_used_before // approved
    sessions = sessions.assign(
        segment=segment.to_numpy(),
        approved=approved,
        window=window,
        # A claim whose units run past what its authorization approved (a 7-day residential
        # week on 5 approved days): the payer pays the approved units and denies the rest.
        overflow=(units_used_before + units > (segment + 1) * approved).to_numpy(),
    )
    segments = (
        sessions.groupby(["episode", "payer", "segment"], sort=False)
        .agg(
            first_day=("day", "min"),
            patient=("patient", "first"),
            facility=("facility", "first"),
            program=("program", "first"),
            approved=("approved", "first"),
            window=("window", "first"),
        )
        .reset_index()
    )
    odds = np.where(
        segments["segment"].to_numpy() == 0,
        facilities["auth_discipline"].to_numpy()[segments["facility"].to_numpy()],
        facilities["auth_extension_rate"].to_numpy()[segments["facility"].to_numpy()],
    )
    if obtain_rate is not None:
        odds = np.full(len(segments), obtain_rate)
    segments["obtained"] = rng.random(len(segments)) < odds
    segments["start_day"] = segments["first_day"] - rng.integers(
        0, AUTH_LEAD_DAYS + 1, len(segments)
    )
    if start_floor is not None:
        segments["start_day"] = np.maximum(segments["start_day"], start_floor)
    segments["end_day"] = segments["start_day"] + segments["window"]
    segments = segments.sort_values(["episode", "payer", "segment"]).reset_index(drop=True)
    segments["auth_number"] = np.where(
        segments["obtained"],
        pd.Series(np.arange(first_number, first_number + len(segments))).map("AUTH{:08d}".format),
        None,
    )
    segments["last_obtained"] = segments.groupby(["episode", "payer"])["auth_number"].ffill()

    merged = (
        sessions.reset_index()
        .merge(
            segments[
                [
                    "episode",
                    "payer",
                    "segment",
                    "obtained",
                    "end_day",
                    "auth_number",
                    "last_obtained",
                ]
            ],
            on=["episode", "payer", "segment"],
            how="left",
        )
        .set_index("index")
    )
    n = len(coded)
    sent = np.full(n, None, dtype=object)
    missing = np.zeros(n, dtype=bool)
    exhausted = np.zeros(n, dtype=bool)
    rows = merged.index.to_numpy()
    obtained = merged["obtained"].to_numpy(dtype=bool)
    omitted = rng.random(len(rows)) < CLERICAL_AUTH_OMISSION
    stale = (
        ~obtained
        & merged["last_obtained"].notna().to_numpy()
        & (rng.random(len(rows)) < REUSE_STALE_AUTH)
    )
    sent[rows] = np.where(
        obtained & ~omitted, merged["auth_number"], np.where(stale, merged["last_obtained"], None)
    )
    expired = obtained & (merged["day"].to_numpy() > merged["end_day"].to_numpy())
    overflow = obtained & ~omitted & merged["overflow"].to_numpy(dtype=bool)
    exhausted[rows] = stale | (expired & ~omitted) | overflow
    missing[rows] = (~obtained & ~stale) | (obtained & omitted)

    granted = segments[segments["obtained"]]
    records = pd.DataFrame(
        {
            "auth_id": granted["auth_number"].to_numpy(),
            "patient": granted["patient"].to_numpy(),
            "payer": granted["payer"].to_numpy(),
            "procedure_codes": procedure_codes,
            "program": granted["program"].to_numpy(),
            "start_day": granted["start_day"].to_numpy(),
            "end_day": granted["end_day"].to_numpy(),
            "units_approved": granted["approved"].to_numpy(),
        }
    )
    flags = pd.DataFrame(
        {"prior_auth_id": sent, "auth_missing": missing, "auth_exhausted": exhausted},
        index=coded.index,
    )
    return records, flags


def visits_over_cap(
    coded: pd.DataFrame, payers: pd.DataFrame, origin: np.datetime64 = START
) -> np.ndarray:
    """OP visits beyond the payer's calendar-year cap for this patient (day 0 is `origin`)."""
    cap = payers["visit_cap"].to_numpy()[coded["payer"].to_numpy()]
    op = coded["program"].to_numpy() == "OP"
    year = (origin + coded["day"].to_numpy().astype("timedelta64[D]")).astype("datetime64[Y]")
    order = coded.assign(year=year)[op].sort_values(
        ["patient", "payer", "year", "day"], kind="stable"
    )
    visit_number = np.zeros(len(coded), dtype=np.int64)
    visit_number[order.index.to_numpy()] = (
        order.groupby(["patient", "payer", "year"]).cumcount().to_numpy() + 1
    )
    return op & (cap > 0) & (visit_number > cap)
