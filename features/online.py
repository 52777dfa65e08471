"""The row path: features of a few claims given as Python records, for the scoring API.

`features.pipeline.features_for_claims` defines every feature, vectorised over
pandas frames; for one claim that is hundreds of pandas calls (~100 ms), while
the API must answer in a few milliseconds. This module computes the same 92
features for a request's claims with dicts and floats against the same
`FeatureState`, in well under a millisecond per claim.

Shared with the batch path rather than copied: the tally declarations
(`features.tallies`), the claim-level constants and minutes bands
(`features.claim_level`), the day spans of the reference tables, the decay
factor and the assembly arithmetic (`pipeline.history_features`). The
claim-level logic itself is necessarily a second, per-row rendering of
`claim_level.py`; `tests/features/test_online.py` holds the two paths equal,
bit for bit, on the synthetic data and on edge cases.

Records are what `ClaimIn.model_dump()` gives: the `claims` columns (dates as
`datetime.date`, `secondary_dx` a list) plus `lines`, the `claim_lines`
columns without claim_id (`modifiers` a list). List items are validated codes,
so an item is in a list exactly when the batch path's word-boundary regex
finds it in the ';'-joined cell.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from functools import cache
from typing import Any

import numpy as np

from data_contracts.codes import icd10cm_billable
from features.asof import IDENTITY
from features.catalog import CATEGORICAL, FEATURES
from features.claim_level import (
    BANDED_CODES,
    COMPLEXITY,
    CREDENTIAL_MODIFIERS,
    CRISIS,
    CRISIS_ADDON,
    EPOCH,
    EXPECTED_CREDENTIAL_MODIFIER,
    REPLACEMENT_FREQUENCIES,
    SCREENING,
    SUD_DX,
    SUD_SERVICE_CODES,
    SUPPORTED_TIMED_CODES,
    TELEHEALTH_MODIFIERS,
    TELEHEALTH_POS,
    UNBUNDLING_MODIFIERS,
    UNSPECIFIED_DX,
    procedure_facts,
    timed_band,
)
from features.pipeline import decay_factor, history_features
from features.state import FeatureState
from features.tallies import CLAIM_TALLIES, REMIT_TALLIES, Tally, column

NAN = float("nan")
_EPOCH_DATE: date = EPOCH.date()
_NAMES = tuple(feature.name for feature in FEATURES)
_SUD_DX = re.compile(SUD_DX)

Record = Mapping[str, Any]
Features = dict[str, float | str | None]


@cache
def _facts() -> dict[str, tuple[str, float, float]]:
    """Procedure code -> (family, min minutes, max minutes), from the batch path's table."""
    facts = procedure_facts()
    return {
        code: (family, float(low), float(high))
        for code, family, low, high in zip(
            facts.index, facts["family"], facts["min_minutes"], facts["max_minutes"], strict=True
        )
    }


def _family(code: str) -> str:
    return _facts().get(code, ("other", NAN, NAN))[0]


def _timed(code: str, family: str) -> bool:
    """A psychotherapy or crisis code the minutes decide (not the 90840 add-on)."""
    return family.startswith(("psychotherapy", "crisis")) and code != CRISIS_ADDON


def timed_code(lines: Sequence[Record]) -> str | None:
    """Code of the claim's timed psychotherapy line, the first in line-number order, or None:
    `claim_level.line_summary`'s `timed_code` for one claim's line records."""
    codes = [line["procedure_code"] for line in sorted(lines, key=lambda line: line["line_number"])]
    return next((code for code in codes if _timed(code, _family(code))), None)


def _clipped(value: float) -> float:
    """pandas' `clip(lower=0)`: NaN stays NaN."""
    return 0.0 if value < 0 else value


def _claim_level(claim: Record) -> dict[str, Any]:
    """`claim_level.claim_features` for one claim, plus the event columns the tallies key on."""
    facts = _facts()
    lines = sorted(claim["lines"], key=lambda line: line["line_number"])
    if not lines:
        raise ValueError(f"claim {claim['claim_id']} has no lines; the contract requires one")
    codes = [line["procedure_code"] for line in lines]
    families = [_family(code) for code in codes]
    modifiers = [line["modifiers"] for line in lines]
    has_em = "em" in families
    has_addon = "psychotherapy_addon" in families
    has_psychotherapy = has_addon or "psychotherapy" in families
    has_crisis, has_crisis_addon = CRISIS in codes, CRISIS_ADDON in codes
    tele_modifier = any(m in TELEHEALTH_MODIFIERS for items in modifiers for m in items)
    credential_modifier = next(
        (m for items in modifiers for m in items if m in CREDENTIAL_MODIFIERS), None
    )
    screening = any(
        code == SCREENING and not any(m in UNBUNDLING_MODIFIERS for m in items)
        for code, items in zip(codes, modifiers, strict=True)
    )
    timed = next(
        (
            line
            for line, family in zip(lines, families, strict=True)
            if _timed(line["procedure_code"], family)
        ),
        None,
    )
    code_1 = codes[0]
    total_units = float(sum(line["units"] for line in lines))
    service, submission = claim["service_date"], claim["submission_date"]
    service_day, submission_day = (service - _EPOCH_DATE).days, (submission - _EPOCH_DATE).days
    total_charge = float(claim["total_charge"])
    dx = claim["primary_dx"]
    substance_use = _SUD_DX.match(dx) is not None
    telehealth = claim["place_of_service"] in TELEHEALTH_POS
    expected = EXPECTED_CREDENTIAL_MODIFIER.get(claim["provider_credential"])
    row: dict[str, Any] = {
        name: claim[name]
        for name in (
            "claim_id",
            "patient_id",
            "payer_id",
            "plan_type",
            "network_status",
            "rendering_provider_id",
            "provider_credential",
            "facility_id",
            "program",
            "place_of_service",
            "prior_auth_id",
        )
    }
    row["original_claim_id"] = (
        claim["original_claim_id"] if claim["frequency_code"] in REPLACEMENT_FREQUENCIES else None
    )
    row |= {
        "code_1": code_1,
        "code_family_1": families[0],
        "modifier_pattern": ";".join(modifiers[0]),
        "n_lines": float(len(lines)),
        "total_units": total_units,
        "total_charge": total_charge,
        "charge_per_unit": total_charge / total_units if total_units > 0 else NAN,
        "institutional": float(any(line["revenue_code"] is not None for line in lines)),
        "replacement_claim": float(claim["frequency_code"] in REPLACEMENT_FREQUENCIES),
        "days_to_submit": float(submission_day - service_day),
        "service_month": float(service.month),
        "service_weekday": float(service.weekday()),
        "timed_psychotherapy": float(timed is not None),
        "timed_minutes": NAN,
        "timed_minutes_missing": 0.0,
        "minutes_below_band": NAN,
        "minutes_above_band": NAN,
        "time_code_mismatch": 0.0,
        "supported_timed_code": "not_applicable",
        "telehealth_pos": float(telehealth),
        "telehealth_modifier_missing": float(telehealth and not tele_modifier),
        "telehealth_modifier_off_pos": float(not telehealth and tele_modifier),
        "credential_modifier_expected": float(expected is not None),
        "credential_modifier_missing": float(expected is not None and credential_modifier is None),
        "credential_modifier_wrong": float(
            expected is not None
            and credential_modifier is not None
            and credential_modifier != expected
        ),
        "addon_without_em": float(has_addon and not has_em),
        "crisis_with_complexity": float(has_crisis and COMPLEXITY in codes),
        "crisis_addon_without_crisis": float(has_crisis_addon and not has_crisis),
        "evaluation_with_crisis": float("evaluation" in families and has_crisis),
        "screening_unbundled": float(screening and has_psychotherapy),
        "prior_auth_present": float(claim["prior_auth_id"] is not None),
        "dx_category": dx[:3],
        "dx_chapter": dx[:1],
        "dx_billable": float(dx in icd10cm_billable()),
        "dx_unspecified": float(dx in UNSPECIFIED_DX),
        "dx_substance_use": float(substance_use),
        "dx_z_code": float(dx.startswith("Z")),
        "n_secondary_dx": float(len(claim["secondary_dx"])),
        "sud_service_without_sud_dx": float(code_1 in SUD_SERVICE_CODES and not substance_use),
        # Event columns (`events.claim_events`) for the tally keys.
        "has_prior_auth": claim["prior_auth_id"] is not None,
        "service_day": service_day,
        "submission_day": submission_day,
        "service_year": service.year,
        "everyone": 0,
        "one": 1.0,
    }
    if timed is not None:
        _, low, high = facts[timed["procedure_code"]]
        high = NAN if has_crisis_addon else high
        minutes = NAN if timed["minutes"] is None else float(timed["minutes"])
        below, above = _clipped(low - minutes), _clipped(minutes - high)
        row |= {
            "timed_minutes": minutes,
            "timed_minutes_missing": float(math.isnan(minutes)),
            "minutes_below_band": below,
            "minutes_above_band": above,
            "time_code_mismatch": float(below > 0 or above > 0),
        }
        if timed["procedure_code"] in BANDED_CODES:
            row["supported_timed_code"] = (
                "unknown"
                if math.isnan(minutes)
                else SUPPORTED_TIMED_CODES[has_em][timed_band(minutes)]
            )
    return row


@cache
def _columns(tally: Tally) -> tuple[str, ...]:
    return tuple(column(tally, measure) for measure in tally.measures)


@cache
def _identities(tally: Tally) -> tuple[float, ...]:
    return tuple(IDENTITY[measure.how] for measure in tally.measures)


def _finished(tally: Tally, row: Mapping[str, Any], values: Sequence[float]) -> dict[str, float]:
    """`pipeline._finish` but the decay: min/max identities and `only_where` rows to NaN."""
    if tally.only_where is not None and not row[tally.only_where]:
        return dict.fromkeys(_columns(tally), NAN)
    return {
        name: NAN if measure.how != "sum" and math.isinf(value) else value
        for name, measure, value in zip(_columns(tally), tally.measures, values, strict=True)
    }


def _combine(how: str, total: float, value: float) -> float:
    """One step of `asof._running` (Python's min/max treat NaN as numba's do)."""
    if how == "sum":
        return total + value
    return min(total, value) if how == "min" else max(total, value)


_STAGE_ONE = tuple(tally for tally in CLAIM_TALLIES if tally.stage == 1)
_STAGE_TWO = tuple(tally for tally in CLAIM_TALLIES if tally.stage == 2)


def _running_tallies(
    rows: Sequence[dict[str, Any]], state: FeatureState | None
) -> list[dict[str, float]]:
    """Claim tallies of `rows`, in the order given, as `accumulate` with seeds computes them:
    the state's total for a key first (without a state, nothing), then the earlier rows one
    by one. Stage 2 reads stage 1's first visit of the day, as in `pipeline._claim_tallies`;
    each row gets its `first_visit_of_day` and `visit_number`."""
    raws: list[dict[str, float]] = [{} for _ in rows]
    running: dict[str, dict[tuple, Sequence[float]]] = {tally.name: {} for tally in CLAIM_TALLIES}

    def tally_and_add(tally: Tally, row: dict[str, Any], raw: dict[str, float]) -> None:
        key = tuple(row[name] for name in tally.keys)
        totals = running[tally.name].get(key)
        if totals is None:
            seed = None if state is None else state.index(tally).get(key)
            totals = _identities(tally) if seed is None else seed.tolist()
        raw |= _finished(tally, row, totals)
        running[tally.name][key] = [
            _combine(measure.how, total, float(row[measure.value]))
            for measure, total in zip(tally.measures, totals, strict=True)
        ]

    for row, raw in zip(rows, raws, strict=True):
        for tally in _STAGE_ONE:
            tally_and_add(tally, row, raw)
        row["first_visit_of_day"] = float(raw["patient_payer_day__prior_claims"] == 0)
        for tally in _STAGE_TWO:
            tally_and_add(tally, row, raw)
        row["visit_number"] = raw["visit_year__visits"] + row["first_visit_of_day"]
    return raws


def _claim_history(rows: list[dict[str, Any]], state: FeatureState) -> list[dict[str, float]]:
    """Claim tallies of a request: the state's totals, then the request's earlier claims
    (submission date, then claim id). A claim whose history may hold itself or its original
    is recomputed over its own history without them, as `pipeline._stage_one_and_two` does,
    by the same rule (`_at_stake`) and in the same order; so is a claim submitted before the
    state's as-of date, over the claims submitted before it."""
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["submission_day"], rows[i]["claim_id"]))
    ordered = [rows[i] for i in order]
    raws: list[dict[str, float]] = [{} for _ in rows]
    for i, raw in zip(order, _running_tallies(ordered, state), strict=True):
        raws[i] = raw
    at_stake = _at_stake(ordered, state)
    for position, row in enumerate(ordered):
        if at_stake(row):
            history = [dict(event) for event in _own_history(ordered, position, state)]
            history.append(dict(row))
            raws[order[position]] |= _running_tallies(history, None)[-1]
            row["visit_number"] = history[-1]["visit_number"]
    return raws


def _at_stake(rows: Sequence[Record], state: FeatureState) -> Callable[[Record], bool]:
    """`pipeline._own_history_at_stake` for the row path: a replacement whose original is
    known, a claim already in the state, claims sharing a patient or an authorization
    with one, and a claim submitted before the state's as-of date."""
    known, as_of_day = state.claim_lookup().ids, state.as_of_day
    request = {row["claim_id"] for row in rows}
    resent = [row for row in rows if row["claim_id"] in known]
    patients = {row["patient_id"] for row in resent}
    auths = {row["prior_auth_id"] for row in resent if row["has_prior_auth"]}

    def at_stake(row: Record) -> bool:
        original = row["original_claim_id"]
        return (
            (original is not None and (original in known or original in request))
            or row["patient_id"] in patients
            or (row["has_prior_auth"] and row["prior_auth_id"] in auths)
            or row["submission_day"] < as_of_day
        )

    return at_stake


def _own_history(ordered: Sequence[Record], position: int, state: FeatureState) -> list[Record]:
    """`pipeline._own_history_excluded`'s history of one claim: the state's claims and the
    request's earlier claims sharing its patient or its authorization, in that order, less
    the claim itself, its original, the state's copies of claims sent again before it and
    the state's claims submitted after it (date, then claim id)."""
    row, earlier = ordered[position], ordered[:position]
    left_out = {row["claim_id"], row["original_claim_id"]} - {None}
    claims = state.claim_lookup()
    scope = set(claims.by_patient.get(row["patient_id"], ()))
    if row["has_prior_auth"]:
        scope |= set(claims.by_auth.get(row["prior_auth_id"], ()))
    gone = left_out | {event["claim_id"] for event in earlier}
    submitted = (row["submission_day"], row["claim_id"])
    known = [
        event
        for event in (claims.records[i] for i in sorted(scope))
        if (event["submission_day"], event["claim_id"]) < submitted
    ]
    return [event for event in known if event["claim_id"] not in gone] + [
        event
        for event in earlier
        if event["claim_id"] not in left_out
        and (
            event["patient_id"] == row["patient_id"]
            or (
                row["has_prior_auth"]
                and event["has_prior_auth"]
                and event["prior_auth_id"] == row["prior_auth_id"]
            )
        )
    ]


def _add_remits(
    tally: Tally,
    rows: Sequence[Record],
    raws: Sequence[dict[str, float]],
    factors: Sequence[float],
    seeds: Iterable[np.ndarray | None],
) -> None:
    """Each claim's `tally` from its seed (None: no remit), decayed to its submission day
    (`factors`) and finished into its raw tallies."""
    decays = [measure.decay for measure in tally.measures]
    for row, raw, factor, seed in zip(rows, raws, factors, seeds, strict=True):
        values = _identities(tally) if seed is None else seed.tolist()
        if any(decays):
            values = [v * factor if d else v for v, d in zip(values, decays, strict=True)]
        raw |= _finished(tally, row, values)


def _remit_history(
    rows: list[dict[str, Any]], state: FeatureState, raws: list[dict[str, float]]
) -> None:
    """Remit tallies: a request brings no remits, so the state's totals are the history,
    decayed to each claim's submission day with the batch path's own `decay_factor`. A claim
    submitted before the state's as-of date then gets them again, from the remits received
    before it only, as `pipeline._remits_before_as_of` does; the others pay nothing for that."""
    factors = decay_factor(np.array([row["submission_day"] for row in rows], np.float64)).tolist()
    for tally in REMIT_TALLIES:
        index = state.index(tally)
        seeds = (index.get(tuple(row[name] for name in tally.keys)) for row in rows)
        _add_remits(tally, rows, raws, factors, seeds)
    early = [i for i, row in enumerate(rows) if row["submission_day"] < state.as_of_day]
    if early:
        history, days = state.remit_history(), [rows[i]["submission_day"] for i in early]
        cut = ([rows[i] for i in early], [raws[i] for i in early], [factors[i] for i in early])
        for tally in REMIT_TALLIES:
            keys = [tuple(row[name] for name in tally.keys) for row in cut[0]]
            _add_remits(tally, *cut, history.before(tally, keys, days))


def _reference(row: Mapping[str, Any], state: FeatureState) -> dict[str, float]:
    """`reference.authorization_features` and `eligibility_features` for one claim."""
    references = state.references()
    service, patient, payer = row["service_day"], row["patient_id"], row["payer_id"]
    has_auth = row["has_prior_auth"]
    auth = references.auth_by_id.get(row["prior_auth_id"]) if has_auth else None
    on_file = auth is not None
    active = references.auths_by_patient_payer.get((patient, payer), ())
    spans = references.coverage_by_patient_payer.get((patient, payer), ())
    ended = [end for _, end in spans if end < service]
    others = references.coverage_by_patient.get(patient, ())
    return {
        "auth_on_file": float(on_file),
        "auth_unknown_number": float(has_auth and not on_file),
        "auth_units_approved": auth.units_approved if on_file else NAN,
        "auth_days_left": float(auth.end_day - service) if on_file else NAN,
        "auth_not_started": float(on_file and service < auth.start_day),
        "auth_payer_mismatch": float(on_file and (auth.payer_id or "") != payer),
        "auth_program_mismatch": float(
            on_file and auth.program is not None and auth.program != row["program"]
        ),
        "auth_code_not_covered": float(
            on_file and bool(auth.procedure_codes) and row["code_1"] not in auth.procedure_codes
        ),
        "active_auth_on_file": float(any(a.start_day <= service <= a.end_day for a in active)),
        "eligibility_on_file": float(bool(spans)),
        "covered_on_service_date": float(any(start <= service <= end for start, end in spans)),
        "days_since_coverage_end": float(service - max(ended)) if ended else NAN,
        "other_payer_covered": float(
            any(other != payer and start <= service <= end for other, start, end in others)
        ),
    }


def features_for_records(claims: Sequence[Record], state: FeatureState) -> list[Features]:
    """Features of a request's claims against the stored state, one dict per claim in input
    order, keys in `catalog.FEATURES` order: numeric features as float (NaN when missing),
    categorical ones as str or None. Equal, bit for bit, to `features_for_claims` on the
    same claims as contract frames; earlier claims of the request count as history."""
    rows = [_claim_level(claim) for claim in claims]
    raws = _claim_history(rows, state)
    _remit_history(rows, state, raws)
    out = []
    for row, raw in zip(rows, raws, strict=True):
        values = row | _reference(row, state)
        values |= history_features(raw, values)
        out.append(
            {name: values[name] if name in CATEGORICAL else float(values[name]) for name in _NAMES}
        )
    return out


def warm_code_lists() -> None:
    """Load the code lists the row path reads now (service start-up), rather than on the
    first request; with `FeatureState.warm`, what that request would pay (about a second)."""
    _facts()
    icd10cm_billable()
