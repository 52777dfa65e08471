"""Claim features, point in time: one code path for training and for serving.

Training (`build_features`) runs over a whole data directory: every claim sees
the claims before it in submission order and the remits received before its
submission date. Serving (`features_for_claims`) runs the same steps over a
batch of new claims with the stored `FeatureState` as the seed of every tally;
earlier claims of the batch count as history, as the contract says. Both go
through `_features`, which differs only in where events and seeds come from.
On every path a claim is left out of its own history (a claim sent again is in
the state already), and so is the claim a replacement replaces
(`_stage_one_and_two`). A claim submitted before the state's as-of date (a pending
claim scored again later) sees only the claims and remits of the state that came
before it, so it gets the features the batch path over the data directory gives it.
The API's row path (`features.online`) shares `history_features` and
`decay_factor` with them and is held to them bit for bit by its tests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

import numpy as np
import pandas as pd

from data_contracts.denials import timed_psychotherapy_claims
from data_contracts.reader import ContractData, empty_table, isin
from features.asof import accumulate, key_codes, totals
from features.catalog import CATEGORICAL, FEATURES
from features.claim_level import claim_features
from features.events import claim_events, remit_events, submission_order
from features.reference import authorization_features, eligibility_features
from features.state import CLAIM_COLUMNS, REMIT_COLUMNS, FeatureState, key_tuples
from features.tallies import (
    CLAIM_TALLIES,
    DECAY_DAYS,
    REMIT_TALLIES,
    TALLIES,
    Tally,
    column,
    event_values,
)

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
SMOOTHING = 20.0
"""Pseudo-count pulling a sparse key's denial rate toward the overall rate."""
Number = TypeVar("Number", np.ndarray, float)
"""Arrays in the batch path, single floats in the row path (`features.online`)."""


def decay_factor(times: np.ndarray) -> np.ndarray:
    """exp(-t / DECAY_DAYS) as numpy computes it: the row path calls this too, because
    `math.exp` can differ from `np.exp` in the last bit."""
    return np.exp(-times / DECAY_DAYS)


def _finish(tally: Tally, raw: np.ndarray, queries: pd.DataFrame, times: np.ndarray) -> dict:
    out = {}
    for index, measure in enumerate(tally.measures):
        value = raw[:, index]
        if measure.how != "sum":
            value = np.where(np.isinf(value), np.nan, value)
        if measure.decay:
            value = value * decay_factor(times)
        if tally.only_where is not None:
            value = np.where(queries[tally.only_where].to_numpy(bool), value, np.nan)
        out[column(tally, measure)] = value
    return out


def _seeds(
    tally: Tally, queries: pd.DataFrame, codes: np.ndarray, state: FeatureState | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """One pseudo-event per distinct key of the batch, carrying the state's value for it."""
    if state is None:
        return None, None
    distinct, first = np.unique(codes, return_index=True)
    found, values = state.lookup(tally, key_tuples(queries.iloc[first], tally.keys))
    return distinct[found], values[found]


def run_tally(
    tally: Tally,
    events: pd.DataFrame,
    event_times: np.ndarray,
    queries: pd.DataFrame,
    query_times: np.ndarray,
    state: FeatureState | None,
    scope: tuple[str, ...] = (),
) -> dict:
    """`tally`'s finished columns for each query: the events with its key before it, seeded
    by `state` (anything with `lookup`: the serving state, or the Dask engine's totals of
    the earlier time chunks). `scope` columns split the key space further."""
    keys = [*scope, *tally.keys]
    both = pd.concat([events[keys], queries[keys]], ignore_index=True)
    codes = key_codes(both, keys)
    event_codes, query_codes = codes[: len(events)], codes[len(events) :]
    seed_keys, seed_values = _seeds(tally, queries, query_codes, state)
    raw = accumulate(
        event_codes,
        event_times,
        event_values(tally, events, event_times),
        query_codes,
        query_times,
        [m.how for m in tally.measures],
        seed_keys,
        seed_values,
    )
    return _finish(tally, raw, queries, query_times)


def _claim_tallies(
    base: pd.DataFrame,
    rank: np.ndarray,
    state: FeatureState | None,
    scope: tuple[str, ...] = (),
) -> tuple[dict, pd.DataFrame]:
    """Claim tallies, each claim over the claims before it (and the state); stage 2 needs
    stage 1's 'first visit with this payer that day'. `scope` columns, when given, split
    the claims into separate histories."""
    raw: dict = {}
    for tally in (t for t in CLAIM_TALLIES if t.stage == 1):
        raw |= run_tally(tally, base, rank, base, rank, state, scope)
    base = base.assign(
        first_visit_of_day=(raw["patient_payer_day__prior_claims"] == 0).astype("float64")
    )
    for tally in (t for t in CLAIM_TALLIES if t.stage == 2):
        raw |= run_tally(tally, base, rank, base, rank, state, scope)
    base["visit_number"] = raw["visit_year__visits"] + base["first_visit_of_day"]
    return raw, base


def _stage_one_and_two(
    base: pd.DataFrame, rank: np.ndarray, state: FeatureState | None
) -> tuple[dict, pd.DataFrame]:
    """Claim tallies of every claim, none counting itself or the claim it replaces.

    The running tallies see every earlier claim and the state's totals. Where that
    history may hold the claim itself (sent again: its id is in the state) or its
    original (a frequency 7/8 claim), or claims submitted after it (it was submitted
    before the state's as-of date), the claim's tallies and visit number are recomputed
    from the claims behind them, without those (`_own_history_excluded`).
    As events for later claims, claims keep their values: a claim is left out of its
    own history only.
    """
    raw, base = _claim_tallies(base, rank, state)
    positions = np.flatnonzero(_own_history_at_stake(base, state))
    if len(positions):
        own, visit_number = _own_history_excluded(base, rank, state, positions)
        for name, values in own.items():
            raw[name] = raw[name].copy()
            raw[name][positions] = values
        base.loc[positions, "visit_number"] = visit_number
    return raw, base


def _own_history_at_stake(base: pd.DataFrame, state: FeatureState | None) -> np.ndarray:
    """Claims whose running tallies may count a claim they must not: a replacement whose
    original is known, a claim already in the state, the claims sharing a patient or
    an authorization with the latter (the state's copy and the claim would both count),
    and a claim submitted before the state's as-of date (the state's totals hold claims
    submitted after it). The row path (`online._claim_history`) applies the same rule."""
    # Arrow membership against the state's claim column: pandas' isin over Arrow strings
    # loops in Python over the allowed values (seconds per million state claims)
    ids = state.claims["claim_id"] if state is not None else pd.Series([], dtype="string")
    claim_ids, original = base["claim_id"], base["original_claim_id"]
    replaces = original.notna() & (isin(original, ids) | isin(original, claim_ids))
    resent = isin(claim_ids, ids).to_numpy(bool)
    has_auth = base["has_prior_auth"].to_numpy(bool)
    shares = base["patient_id"].isin(base.loc[resent, "patient_id"]).to_numpy(bool) | (
        has_auth & base["prior_auth_id"].isin(base.loc[resent & has_auth, "prior_auth_id"])
    ).to_numpy(bool)
    early = (
        base["submission_day"].to_numpy() < state.as_of_day
        if state is not None
        else np.zeros(len(base), bool)
    )
    return replaces.to_numpy(bool) | shares | early


def _own_history_excluded(
    base: pd.DataFrame, rank: np.ndarray, state: FeatureState | None, positions: np.ndarray
) -> tuple[dict, np.ndarray]:
    """Claim tallies and visit number of the claims at `positions`, each over its own
    history: the state's claims and the earlier claims of `base` that share its patient
    (every claim tally but one is keyed by patient) or its authorization (the other),
    less the claim itself, its original, the state's copies of claims `base` sent
    again before it, and the state's claims submitted after it (date, then claim id).
    The histories run through `_claim_tallies` at once, one scope each, in the running
    tallies' order, so a claim with nothing to leave out gets the same bits.
    """
    frames = [state.claims] if state is not None else []
    history = pd.concat([*frames, base[list(CLAIM_COLUMNS)]], ignore_index=True)
    known = len(history) - len(base)
    times = np.concatenate([np.arange(known) - known, rank]).astype(np.float64)
    resent_at = np.full(len(history), np.inf)
    if known:
        sent = pd.Series(rank.astype(np.float64), index=base["claim_id"].to_numpy(object))
        state_ids = history["claim_id"].iloc[:known].to_numpy(object)
        resent_at[:known] = sent.reindex(state_ids).fillna(np.inf).to_numpy()
    ids = history["claim_id"].to_numpy(object)
    submitted = history["submission_day"].to_numpy()
    by_patient = history.groupby("patient_id", sort=False).indices
    auth_rows = np.flatnonzero(history["has_prior_auth"].to_numpy(bool))
    by_auth = history.iloc[auth_rows].groupby("prior_auth_id", sort=False).indices
    rows: list[np.ndarray] = []
    for position in positions:
        claim = base.iloc[position]
        own = known + position
        scope = by_patient[claim["patient_id"]]
        if claim["has_prior_auth"]:
            scope = np.union1d(scope, auth_rows[by_auth[claim["prior_auth_id"]]])
        left_out = {claim["claim_id"]} | (
            set() if pd.isna(claim["original_claim_id"]) else {claim["original_claim_id"]}
        )
        day = submitted[own]
        scope = scope[
            (times[scope] < times[own])
            & ((submitted[scope] < day) | ((submitted[scope] == day) & (ids[scope] < ids[own])))
            & (resent_at[scope] > times[own])
            & np.fromiter((i not in left_out for i in ids[scope]), bool, len(scope))
        ]
        rows.append(np.append(scope, own))
    taken = np.concatenate(rows)
    queries = np.cumsum([len(r) for r in rows]) - 1
    scoped = history.iloc[taken].reset_index(drop=True)
    scoped["_scope"] = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
    raw, scoped = _claim_tallies(scoped, times[taken], None, ("_scope",))
    return (
        {name: np.asarray(values)[queries] for name, values in raw.items()},
        scoped["visit_number"].to_numpy()[queries],
    )


@dataclass
class HistoryPass:
    """One pass over claims and remits: the parts the features are assembled from (claim-level
    features, claim events, raw tallies, reference features) and the remit events."""

    level: pd.DataFrame
    base: pd.DataFrame
    rank: np.ndarray
    events: pd.DataFrame
    raw: dict[str, np.ndarray]
    reference: pd.DataFrame

    @property
    def features(self) -> pd.DataFrame:
        return _assemble(self.level, self.base, self.raw, self.reference)


def _features(
    claims: pd.DataFrame,
    claim_lines: pd.DataFrame,
    remits: pd.DataFrame,
    authorizations: pd.DataFrame,
    eligibility: pd.DataFrame,
    state: FeatureState | None,
    progress: Progress,
    remit_tallies: Sequence[Tally] = REMIT_TALLIES,
) -> HistoryPass:
    """The history pass; `remit_tallies` leaves some out for the Dask engine, which runs
    the tallies whose keys span patients over time chunks (`features.distributed`)."""
    progress("claim-level features")
    level = claim_features(claims, claim_lines)
    base = claim_events(claims, level)
    progress("claim history")
    rank = submission_order(base)
    raw, base = _stage_one_and_two(base, rank, state)
    progress("remit history")
    submitted = base["submission_day"].to_numpy(np.float64)
    timed = pd.Series(True, index=timed_psychotherapy_claims(claim_lines))
    events = remit_events(remits, base, timed)
    event_times = events["received_day"].to_numpy(np.float64)
    for tally in remit_tallies:
        raw |= run_tally(tally, events, event_times, base, submitted, state)
    if state is not None:
        _remits_before_as_of(raw, base, submitted, state)
    progress("authorizations and eligibility")
    reference = pd.concat(
        [
            authorization_features(base, authorizations),
            eligibility_features(base, eligibility),
        ],
        axis=1,
    )
    return HistoryPass(level, base, rank, events, raw, reference)


def _remits_before_as_of(
    raw: dict, base: pd.DataFrame, submitted: np.ndarray, state: FeatureState
) -> None:
    """Remit tallies of the claims submitted before the state's as-of date: the state's
    totals hold remits received on or after their submission day, so these claims count
    only the state's remits received before it (`FeatureState.remit_history`)."""
    cut = np.flatnonzero(submitted < state.as_of_day)
    if not len(cut):
        return
    queries, times, history = base.iloc[cut], submitted[cut], state.remit_history()
    for tally in REMIT_TALLIES:
        values = history.before(tally, key_tuples(queries, tally.keys), times)
        for name, finished in _finish(tally, values, queries, times).items():
            raw[name] = np.array(raw[name], np.float64)
            raw[name][cut] = finished


def _rate(denied: Number, count: Number, prior: Number) -> Number:
    return (denied + SMOOTHING * prior) / (count + SMOOTHING)


def history_features(raw: Mapping[str, Number], claim: Mapping[str, Number]) -> dict[str, Number]:
    """Raw tallies to the documented history features: the one arithmetic of both paths.

    `raw` holds the finished tally columns; `claim` the claim's `service_day`,
    `visit_number`, `days_to_submit`, `total_units` and `auth_units_approved`.
    Only elementwise + - * / and `np.fmin`, so numpy arrays (batch) and Python
    floats (row path) give the same IEEE results.
    """
    out = {}
    overall = (raw["all__denied"] + 1) / (raw["all__n"] + 2)
    out["overall_denial_rate"] = overall
    for name, tally in (
        ("payer_code", "payer_code"),
        ("payer_credential", "payer_credential"),
        ("payer_modifier", "payer_modifiers"),
        ("provider", "provider"),
        ("facility", "facility"),
        ("payer_program", "payer_program_auth"),
        ("payer_dx", "payer_dx"),
        ("patient", "patient_remits"),
    ):
        out[f"{name}_denial_rate"] = _rate(raw[f"{tally}__denied"], raw[f"{tally}__n"], overall)
    out["payer_code_adjudicated"] = raw["payer_code__n"]
    out["payer_code_recent_denial_rate"] = _rate(
        raw["payer_code__denied_recent"], raw["payer_code__n_recent"], overall
    )
    for name, tally, category in (
        ("payer_code_time_mismatch_rate", "payer_code", "time_code_mismatch"),
        ("payer_credential_not_covered_rate", "payer_credential", "credential_not_covered"),
        ("payer_modifier_invalid_rate", "payer_modifiers", "modifier_invalid"),
        ("payer_program_auth_denial_rate", "payer_program_auth", "auth"),
        ("payer_dx_not_covered_rate", "payer_dx", "dx_not_covered"),
    ):
        prior = (raw[f"all__{category}"] + 1) / (raw["all__n"] + 2)
        out[name] = _rate(raw[f"{tally}__{category}"], raw[f"{tally}__n"], prior)
    out["patient_prior_denials"] = raw["patient_remits__denied"]
    out["patient_recent_denials"] = raw["patient_remits__denied_recent"]
    out["patient_payer_coverage_denials"] = raw["patient_payer_remits__coverage_inactive"]
    out["patient_payer_visit_limit_denials"] = raw["patient_payer_remits__visit_limit"]
    out["auth_exhausted_denials"] = raw["auth_remits__auth_exhausted"]

    service, visit_number = claim["service_day"], claim["visit_number"]
    out["patient_prior_claims"] = raw["patient__prior_claims"]
    out["days_since_last_claim"] = service - raw["patient__last_service_day"]
    out["same_day_prior_claims"] = raw["patient_day__prior_claims"]
    out["same_service_prior_claims"] = raw["patient_day_code__prior_claims"]
    out["visit_number_this_year"] = visit_number
    out["visits_over_learned_cap"] = visit_number - raw["payer_limits__learned_visit_cap"]
    out["days_to_submit_over_learned_limit"] = (
        claim["days_to_submit"] - raw["payer_limits__learned_filing_limit"]
    )
    out["days_to_submit_over_longest_paid"] = (
        claim["days_to_submit"] - raw["payer_limits__longest_paid_lag"]
    )
    out["days_in_program"] = service - np.fmin(raw["program_stay__first_service_day"], service)
    out["program_prior_claims"] = raw["program_stay__prior_claims"]
    out["auth_units_used"] = raw["auth__units_used"]
    out["auth_prior_claims"] = raw["auth__prior_claims"]
    out["auth_units_remaining"] = (
        claim["auth_units_approved"] - raw["auth__units_used"] - claim["total_units"]
    )
    return out


def _assemble(
    level: pd.DataFrame, base: pd.DataFrame, raw: dict[str, np.ndarray], reference: pd.DataFrame
) -> pd.DataFrame:
    """Claim-level, history and reference features in catalog order with the catalog's dtypes."""
    claim = {
        "service_day": base["service_day"].to_numpy(),
        "visit_number": base["visit_number"].to_numpy(),
        "days_to_submit": level["days_to_submit"].to_numpy(),
        "total_units": level["total_units"].to_numpy(),
        "auth_units_approved": reference["auth_units_approved"].to_numpy(),
    }
    history = pd.DataFrame(history_features(raw, claim), index=level.index)
    out = pd.concat([level, history, reference.set_axis(level.index)], axis=1)
    out = out[[feature.name for feature in FEATURES]]
    for name in out.columns:
        out[name] = out[name].astype("string" if name in CATEGORICAL else "float64")
    return out


def build_features(data: ContractData, progress: Progress | None = None) -> pd.DataFrame:
    """Training path: features of every claim of `data`, indexed by claim_id, in claims order."""
    return history_pass(data, progress).features


def build_features_and_state(
    data: ContractData, progress: Progress | None = None
) -> tuple[pd.DataFrame, FeatureState]:
    """Training features and the serving state as of after all of `data`, from one pass:
    the same as `build_features` and `build_state` without building the claim events twice."""
    history = history_pass(data, progress)
    state = _state_from_events(
        history.base, history.rank, history.events, day_after_latest(data), data
    )
    return history.features, state


def history_pass(
    data: ContractData,
    progress: Progress | None = None,
    remit_tallies: Sequence[Tally] = REMIT_TALLIES,
) -> HistoryPass:
    """The training path's pass over a whole data directory (or one Dask shard of it)."""
    progress = progress or (lambda step: log.info("features: %s", step))
    return _features(
        data.claims,
        data.claim_lines,
        data.remits,
        data.authorizations,
        data.eligibility,
        None,
        progress,
        remit_tallies,
    )


def features_for_claims(
    claims: pd.DataFrame, claim_lines: pd.DataFrame, state: FeatureState
) -> pd.DataFrame:
    """Serving path: features of a batch of new claims against the stored state.

    The batch brings no remits of its own: every remit it may use is in the state.
    """
    return _features(
        claims,
        claim_lines,
        empty_table("remits"),
        state.authorizations,
        state.eligibility,
        state,
        lambda _step: None,
    ).features


def latest_event(data: ContractData) -> pd.Timestamp:
    """The latest submission or remit date (NaT when there is none)."""
    return max(data.claims["submission_date"].max(), data.remits["received_date"].max())


def day_after(latest: pd.Timestamp) -> date:
    """'Now' for data whose latest event is `latest`: the day after it (today without one)."""
    return (latest + timedelta(days=1)).date() if pd.notna(latest) else date.today()


def day_after_latest(data: ContractData) -> date:
    """The day after the latest submission or remit: 'now' for a data directory."""
    return day_after(latest_event(data))


def build_state(data: ContractData, as_of: date | None = None) -> FeatureState:
    """Latest tally values per key from everything known before `as_of` (default: after all)."""
    as_of = as_of or day_after_latest(data)
    claims = data.claims[data.claims["submission_date"] < pd.Timestamp(as_of)]
    lines = data.claim_lines[data.claim_lines["claim_id"].isin(claims["claim_id"])]
    remits = data.remits[data.remits["received_date"] < pd.Timestamp(as_of)]
    base = claim_events(claims, claim_features(claims, lines))
    rank = submission_order(base)
    _, base = _stage_one_and_two(base, rank, None)
    timed = pd.Series(True, index=timed_psychotherapy_claims(lines))
    events = remit_events(remits, base, timed)
    return _state_from_events(base, rank, events, as_of, data)


def _state_from_events(
    base: pd.DataFrame,
    rank: np.ndarray,
    events: pd.DataFrame,
    as_of: date,
    data: ContractData,
) -> FeatureState:
    """Every tally's total per key over the given claim and remit events."""
    tallies = {tally.name: tally_totals(tally, base, rank, events) for tally in TALLIES}
    claims = base.iloc[np.argsort(rank)][list(CLAIM_COLUMNS)].reset_index(drop=True)
    remits = events[list(REMIT_COLUMNS)].reset_index(drop=True)
    log.info("feature state as of %s", as_of)
    return FeatureState(as_of, tallies, claims, remits, data.authorizations, data.eligibility)


def tally_totals(
    tally: Tally, base: pd.DataFrame, rank: np.ndarray, events: pd.DataFrame
) -> pd.DataFrame:
    """`tally`'s total per key over the claim events (`base`, in `rank` order) or the remit
    events: its key columns and its raw measure columns, one row per key."""
    source, times = (
        (base, rank)
        if tally.source == "claims"
        else (events, events["received_day"].to_numpy(np.float64))
    )
    codes = key_codes(source, tally.keys)
    keys, values = totals(
        codes, times, event_values(tally, source, times), [m.how for m in tally.measures]
    )
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().reindex(keys).to_numpy()
    frame = source.iloc[first][list(tally.keys)].reset_index(drop=True)
    for index, measure in enumerate(tally.measures):
        frame[column(tally, measure)] = values[:, index]
    return frame
