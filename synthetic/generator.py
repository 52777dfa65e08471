"""Assemble the synthetic data directory: contract tables plus truth.csv.

Sessions are generated over two years, billed, adjudicated, and then cut at the
submission date of the N-th claim (the extract date, `as_of`): remits that
arrive later are hidden (those claims are pending), appeals not yet made are
absent, and appeals not yet closed are pending. The cut is by submission order
so the history before it is complete, as in a real clinic's extract.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from synthetic import adjudication, history, population, scenarios, sessions, world
from synthetic.appeals import appeals_for
from synthetic.population import START

log = logging.getLogger(__name__)

NEAR_LIMIT = 0.02
"""Share of claims sent within `LIMIT_SPREAD` days either side of the payer's filing limit
(a billing backlog): those past it are denied with CARC 29, the evidence of the limit."""
LIMIT_SPREAD = 15
EXTRACT_AFTER_SESSIONS = 30
"""Most days the extract may fall after the last session generated (else more are)."""
SESSIONS_PER_PATIENT = 18.0
"""Measured average over the two years; a little headroom is generated and cut at `as_of`."""
HEADROOM = 1.1
LATER_HEADROOM = 1.05
"""A later chunk of a chunked run simulates this much more than the first chunk needed, so
that it rarely falls short of its claims by the extract date and is simulated again."""
APPEALS_STREAM, ELIGIBILITY_STREAM, COHORT_STREAM = 1, 2, 3
"""Random streams drawn from the seed besides the world's own (`_stream`)."""
Progress = Callable[[str], None]


@dataclass
class SyntheticData:
    tables: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    as_of: date
    seed: int
    ends_on: date | None = None
    """The `ends_on` asked for (then equal to `as_of`), for the manifest that reproduces it."""
    scenario: str | None = None
    """The drift scenario (`synthetic.scenarios`), if any, and the date it starts on."""
    change_on: date | None = None


def _dates(days: np.ndarray) -> np.ndarray:
    return (START + np.asarray(days).astype("timedelta64[D]")).astype("datetime64[us]")


def _claim_flags(
    rng: np.random.Generator,
    coded: pd.DataFrame,
    patients: pd.DataFrame,
    facilities: pd.DataFrame,
    providers: pd.DataFrame,
    payers: pd.DataFrame,
) -> pd.DataFrame:
    """Claim-level facts and mistakes that do not need a claim's history."""
    n = len(coded)
    payer = coded["payer"].to_numpy()
    facility = coded["facility"].to_numpy()
    patient = coded["patient"].to_numpy()
    primary_dx = patients["primary_dx"].to_numpy()[patient]
    credential_excluded, dx_excluded = world.payer_exclusions(
        payer, coded["credential"].to_numpy(), primary_dx, payers
    )
    out_pairs = (
        rng.random((len(facilities), len(payers))) < payers["network_out_share"].to_numpy()[None, :]
    )
    median = facilities["submit_lag_median"].to_numpy()[facility]
    lag = np.round(rng.lognormal(np.log(median), 0.6))
    late_batch = rng.random(n) < facilities["late_batch_rate"].to_numpy()[facility]
    lag = np.where(late_batch, rng.integers(45, 420, n), lag).astype(np.int64)
    limit = payers["timely_filing_days"].to_numpy()[payer]
    near_limit = rng.random(n) < NEAR_LIMIT
    lag = np.where(near_limit, limit + rng.integers(-LIMIT_SPREAD, LIMIT_SPREAD + 1, n), lag)
    main_present = ~coded["addon_alone"].to_numpy()
    main_mismatch = sessions.time_mismatch(
        coded["main_code"].to_numpy(),
        coded["main_minutes"].to_numpy(),
        extended=coded["extra_code"].to_numpy() == "90840",
    )
    addon_codes, addon_minutes = coded["addon_code"].to_numpy(), coded["addon_minutes"].to_numpy()
    mismatch = (main_mismatch & main_present) | sessions.time_mismatch(addon_codes, addon_minutes)
    clerical = rng.random(n) < providers["clerical_rate"].to_numpy()[coded["provider"].to_numpy()]
    return coded.assign(
        # A clerical slip shows on the claim: the diagnosis cut to its header (F33 for F33.1).
        primary_dx=np.where(clerical, pd.Series(primary_dx).str.slice(0, 3), primary_dx),
        secondary_dx=patients["secondary_dx"].to_numpy()[patient],
        severity=patients["severity"].to_numpy()[patient],
        credential_excluded=credential_excluded,
        dx_excluded=dx_excluded,
        network_status=np.where(out_pairs[facility, payer], "out", "in"),
        clerical_error=clerical,
        submission_day=coded["day"].to_numpy() + lag,
        filed_late=lag > limit,
        time_mismatch=mismatch,
    )


def _add_duplicates(
    rng: np.random.Generator, claims: pd.DataFrame, lines: pd.DataFrame, facilities: pd.DataFrame
):
    """Resubmissions of claims still awaiting an answer: the classic CO-18."""
    rate = facilities["duplicate_rate"].to_numpy()[claims["facility"].to_numpy()]
    chosen = np.flatnonzero(rng.random(len(claims)) < rate)
    copies = claims.iloc[chosen].copy()
    copies["is_duplicate"] = True
    copies["submission_day"] += rng.integers(25, 50, len(copies))
    copies["filed_late"] = (copies["submission_day"] - copies["day"]).to_numpy() > copies[
        "timely_filing_days"
    ].to_numpy()
    copies.index = pd.RangeIndex(len(claims), len(claims) + len(copies))
    mapping = pd.Series(copies.index, index=chosen)
    copied_lines = lines[lines["session"].isin(chosen)].copy()
    copied_lines["session"] = mapping.loc[copied_lines["session"]].to_numpy()
    return pd.concat([claims, copies]), pd.concat([lines, copied_lines], ignore_index=True)


def _line_level(claims: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Which denials hit one line only (partial payment), and that line's charge."""
    extra_charge = lines[lines["slot"] == 3].groupby("session")["line_charge"].sum()
    addon_charge = lines[lines["slot"] == 2].groupby("session")["line_charge"].sum()
    with_em = ~claims["addon_alone"].to_numpy() & (claims["addon_code"].to_numpy() != "")
    addon_mismatch_only = (
        with_em
        & ~sessions.time_mismatch(claims["main_code"].to_numpy(), claims["main_minutes"].to_numpy())
        & claims["time_mismatch"].to_numpy()
    )
    extra_issue = (
        claims["screening_unbundled"].to_numpy() | claims["complexity_with_crisis"].to_numpy()
    )
    charge = np.where(
        extra_issue,
        extra_charge.reindex(claims.index, fill_value=0.0).to_numpy(),
        np.where(
            addon_mismatch_only, addon_charge.reindex(claims.index, fill_value=0.0).to_numpy(), 0.0
        ),
    )
    return claims.assign(line_issue=extra_issue | addon_mismatch_only, denied_line_charge=charge)


@dataclass(frozen=True)
class Cohort:
    """The patients one chunk of a chunked run simulates, in a world shared by every chunk.

    The world (payers, facilities, providers) is drawn from the seed alone, sized by
    `world_claims` (every chunk's claims), so every chunk has the same one; cohort 0 goes on
    drawing from the world's stream, as `generate` does, and cohort k from a stream of its
    own. Patient and authorization numbers start after the earlier cohorts' so none repeats.
    """

    index: int
    world_claims: int
    first_patient: int = 1
    first_auth: int = 1


def _stream(seed: int, stream: int, cohort: int) -> np.random.Generator:
    """A random stream of the seed; cohort 0's are `generate`'s own, so a run of one chunk
    is `generate`'s data."""
    return np.random.default_rng([seed, stream] if cohort == 0 else [seed, stream, cohort])


@dataclass
class Simulation:
    """Everything simulated before the extract cut, indexed by session/claim row."""

    payers: pd.DataFrame
    facilities: pd.DataFrame
    providers: pd.DataFrame
    patients: pd.DataFrame
    claims: pd.DataFrame
    lines: pd.DataFrame
    outcome: pd.DataFrame
    remits: pd.DataFrame
    authorizations: pd.DataFrame


def _simulate(
    n_claims: int,
    seed: int,
    headroom: float,
    progress: Progress,
    origin: np.datetime64,
    drift: scenarios.Drift | None = None,
    cohort: Cohort | None = None,
) -> Simulation:
    """The world, its patients and every claim, with the calendar's day 0 on `origin`.

    A `drift` rewrites sessions from its change day on with its own random numbers, so
    every draw from `rng` is the same as without it until adjudication; the remits after
    that are drawn again (`_splice` keeps the earlier claims' from the run without it).
    A `cohort` is one chunk's patients in the world of a chunked run (`generate_chunks`)."""
    cohort = cohort or Cohort(0, n_claims)
    rng = np.random.default_rng(seed)
    payers = world.payer_frame()
    facilities = world.facility_frame(rng, cohort.world_claims)
    providers = world.provider_frame(rng, facilities, cohort.world_claims)
    if cohort.index:
        rng = _stream(seed, COHORT_STREAM, cohort.index)
    n_patients = int(np.ceil(n_claims * headroom / SESSIONS_PER_PATIENT)) + 10
    progress("patients and episodes")
    patients = population.make_patients(
        rng, n_patients, payers, facilities, first_id=cohort.first_patient
    )
    episodes = population.make_episodes(rng, patients, facilities, providers)
    progress("sessions and coding")
    expanded = sessions.expand_sessions(rng, episodes, patients, facilities, providers, payers)
    coded = sessions.code_sessions(rng, expanded, facilities, providers, payers)
    if drift:
        coded = scenarios.recode(drift, coded)
    coded = coded.join(payers[["timely_filing_days"]], on="payer")
    claims = _claim_flags(rng, coded, patients, facilities, providers, payers)
    progress("history: caps and authorizations")
    claims["over_visit_cap"] = history.visits_over_cap(claims, payers, origin)
    auth = history.authorizations(rng, claims, facilities, payers, first_number=cohort.first_auth)
    if drift:
        claims, patients, payers, auth = scenarios.rebill(
            drift, claims, patients, payers, facilities, auth, origin
        )
    auth_records, auth_flags = auth
    claims = claims.join(auth_flags)
    lines = sessions.build_lines(claims, facilities)
    claims["total_charge"] = (
        lines.groupby("session")["line_charge"].sum().reindex(claims.index).to_numpy()
    )
    claims["is_duplicate"] = False
    claims, lines = _add_duplicates(rng, claims, lines, facilities)
    claims = _line_level(claims, lines)
    progress("adjudication")
    probabilities = adjudication.mechanism_probabilities(claims, payers)
    outcome = adjudication.adjudicate(rng, probabilities)
    claims["line_level_denial"] = (
        claims["line_issue"].to_numpy()
        & outcome["category"].isin(["bundling", "time_code_mismatch"]).to_numpy()
    )
    codes = adjudication.remit_codes(rng, claims, outcome)
    remits = adjudication.remit_amounts(rng, claims, outcome, codes, payers, origin)
    lag = payers["remit_lag_days"].to_numpy()[claims["payer"].to_numpy()]
    remits["received_day"] = claims["submission_day"].to_numpy() + np.maximum(
        3, np.round(rng.gamma(4, lag / 4))
    )
    return Simulation(
        payers, facilities, providers, patients, claims, lines, outcome, remits, auth_records
    )


def generate(
    n_claims: int,
    seed: int,
    progress: Progress | None = None,
    ends_on: date | None = None,
    scenario: str | None = None,
    change_on: date | None = None,
) -> SyntheticData:
    """A synthetic behavioral-health data directory of exactly `n_claims` claims.

    The data starts on `START` unless `ends_on` is given: then every date moves so the
    extract date is `ends_on` (a demo made today has deadlines still ahead of it), and
    the calendar moves with it, so visit caps still reset on 1 January. Same seed and
    `ends_on`, same data.

    A `scenario` (one of `scenarios.SCENARIOS`) changes the world for sessions served
    on or after `change_on` (default: `scenarios.WEEKS_AFTER_CHANGE` weeks before the
    extract date); every row of the data about sessions before it is the same as
    without the scenario, and so are the claims' ids, submission dates and the extract
    date.
    """
    if n_claims < 1:
        raise ValueError("n_claims must be at least 1")
    if scenario is None and change_on is not None:
        raise ValueError("change_on needs a scenario")
    if scenario is not None:
        scenarios.check_scenario(scenario)
    progress = progress or _log_progress
    sim, headroom = _fitted(n_claims, seed, progress, Cohort(0, n_claims))
    origin = START
    if ends_on is not None:
        origin = _origin(sim, n_claims, ends_on)
        if origin != START:
            sim = _simulate(n_claims, seed, headroom, progress, origin)
    as_of_day = _extract_day(sim, n_claims)
    drift = None
    if scenario is not None:
        change_day = as_of_day - 7 * scenarios.WEEKS_AFTER_CHANGE
        if change_on is not None:
            change_day = int((np.datetime64(change_on, "D") - origin).astype(int))
        if not 0 < change_day <= as_of_day:
            first, last = (origin + np.timedelta64(d, "D") for d in (1, as_of_day))
            raise ValueError(f"change_on must fall between {first} and {last}")
        progress(f"scenario {scenario}")
        drift = scenarios.Drift(scenario, change_day, seed)
        sim = _splice(sim, _simulate(n_claims, seed, headroom, progress, origin, drift), drift)

    progress("cut at the extract date")
    claims = _in_submission_order(sim.claims).iloc[:n_claims]
    tables, truth = _contract_data(sim, claims, as_of_day, seed, progress)
    if drift:
        tables["eligibility"] = scenarios.restate_eligibility(
            drift, tables["eligibility"], sim.patients, _dates(np.array([drift.change_day]))[0]
        )
    _move_dates(tables, origin - START)
    as_of = (origin + np.timedelta64(as_of_day, "D")).astype(date)
    change = (origin + np.timedelta64(drift.change_day, "D")).astype(date) if drift else None
    return SyntheticData(tables, truth, as_of, seed, ends_on, scenario, change)


def generate_chunks(
    n_claims: int,
    seed: int,
    chunk_claims: int,
    progress: Progress | None = None,
    ends_on: date | None = None,
) -> Iterator[SyntheticData]:
    """`n_claims` claims of one synthetic world, `chunk_claims` at a time, so that memory
    holds one chunk's simulation, never the whole data set's.

    Every chunk shares the world (payers, facilities, providers and their rules), the
    calendar and the extract date; each has patients of its own (ids never repeat) and
    claims numbered on from the chunk before. The first chunk is cut as `generate` cuts
    (its first claims in submission order), which fixes the extract date; a later chunk
    simulates a fresh cohort of patients and keeps, patient by patient, the claims sent by
    that date until it has its share, so its last patient may lose their last few claims,
    like one who stopped coming. A run of one chunk is `generate`'s data; the same seed,
    claims and chunk size give the same chunks. Each chunk's `tables` hold only its own
    rows (authorizations and eligibility of its own patients).
    """
    if n_claims < 1 or chunk_claims < 1:
        raise ValueError("n_claims and chunk_claims must be at least 1")
    progress = progress or _log_progress
    sizes = [chunk_claims] * (n_claims // chunk_claims)
    if n_claims % chunk_claims:
        sizes.append(n_claims % chunk_claims)
    cohort = Cohort(0, n_claims)
    sim, headroom = _fitted(sizes[0], seed, progress, cohort)
    origin = START
    if ends_on is not None:
        origin = _origin(sim, sizes[0], ends_on)
        if origin != START:
            sim = _simulate(sizes[0], seed, headroom, progress, origin, cohort=cohort)
    as_of_day = _extract_day(sim, sizes[0])
    as_of = (origin + np.timedelta64(as_of_day, "D")).astype(date)
    claims = _in_submission_order(sim.claims).iloc[: sizes[0]]
    first_claim = first_patient = first_auth = 1
    for index, size in enumerate(sizes):
        if index:
            progress(f"chunk {index + 1} of {len(sizes)}")
            cohort = Cohort(index, n_claims, first_patient, first_auth)
            sim, claims = _later_cohort(
                size, seed, headroom * LATER_HEADROOM, progress, origin, as_of_day, cohort
            )
        first_patient += len(sim.patients)
        first_auth += len(sim.claims)  # a number per session at most, so none repeats
        tables, truth = _contract_data(sim, claims, as_of_day, seed, progress, index, first_claim)
        del sim, claims  # the next chunk is simulated without this one's held
        _move_dates(tables, origin - START)
        first_claim += size
        yield SyntheticData(tables, truth, as_of, seed, ends_on)
        del tables, truth


def _later_cohort(
    n_claims: int,
    seed: int,
    headroom: float,
    progress: Progress,
    origin: np.datetime64,
    as_of_day: int,
    cohort: Cohort,
) -> tuple[Simulation, pd.DataFrame]:
    """A later chunk's simulation and its `n_claims` claims sent by `as_of_day`: all of its
    first patients', in submission order."""
    while True:
        sim = _simulate(n_claims, seed, headroom, progress, origin, cohort=cohort)
        sent = sim.claims[sim.claims["submission_day"].to_numpy() <= as_of_day]
        if len(sent) >= n_claims:
            break
        del sim, sent
        headroom *= 1.25
    by_patient = np.lexsort(
        (sent.index.to_numpy(), sent["submission_day"].to_numpy(), sent["patient"].to_numpy())
    )
    return sim, _in_submission_order(sent.iloc[np.sort(by_patient[:n_claims])])


def _log_progress(step: str) -> None:
    log.info("synth: %s", step)


def _fitted(
    n_claims: int, seed: int, progress: Progress, cohort: Cohort
) -> tuple[Simulation, float]:
    """A simulation with `n_claims` claims to cut, and the headroom it took.

    Small data sets vary more than the average promises. And the extract must fall at most
    a month after the last session: later, only claims sent near a filing limit are still
    being sent, and the extract's pending claims would be those alone."""
    headroom = HEADROOM
    sim = _simulate(n_claims, seed, headroom, progress, START, cohort=cohort)
    while (
        len(sim.claims) < n_claims
        or _extract_day(sim, n_claims) > sim.claims["day"].max() + EXTRACT_AFTER_SESSIONS
    ):
        headroom *= 1.25
        sim = _simulate(n_claims, seed, headroom, progress, START, cohort=cohort)
    return sim, headroom


def _origin(sim: Simulation, n_claims: int, ends_on: date) -> np.datetime64:
    """The calendar's day 0 that puts the extract on `ends_on`. Which claims exist and when
    they are sent does not depend on the calendar, so the extract day is known before
    choosing the calendar that ends on it."""
    return np.datetime64(ends_on, "D") - np.timedelta64(_extract_day(sim, n_claims), "D")


def _in_submission_order(claims: pd.DataFrame) -> pd.DataFrame:
    return claims.iloc[np.lexsort((claims.index.to_numpy(), claims["submission_day"].to_numpy()))]


def _contract_data(
    sim: Simulation,
    claims: pd.DataFrame,
    as_of_day: int,
    seed: int,
    progress: Progress,
    cohort: int = 0,
    first_claim: int = 1,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The contract tables and truth of `claims` (rows of `sim.claims`, in the order their ids
    are given, from `first_claim` on), as the extract on `as_of_day` shows them."""
    outcome = sim.outcome.loc[claims.index]
    remits = sim.remits.loc[claims.index]
    recovery = appeals_for(
        _stream(seed, APPEALS_STREAM, cohort), claims, outcome, remits, sim.payers, as_of_day
    )
    claim_ids = pd.Series(
        pd.Series(np.arange(first_claim, first_claim + len(claims)))
        .map("CLM{:09d}".format)
        .to_numpy(),
        index=claims.index,
    )
    progress("contract tables")
    ids = _Ids(sim, claim_ids)
    tables = {
        "claims": _claims_table(claims, ids),
        "claim_lines": _lines_table(sim.lines[sim.lines["session"].isin(claims.index)], ids),
        "remits": _remits_table(remits[remits["received_day"] <= as_of_day], ids),
        "authorizations": _authorizations_table(sim, claims, as_of_day, ids),
        "eligibility": _eligibility_table(
            _stream(seed, ELIGIBILITY_STREAM, cohort),
            sim.patients,
            claims["patient"].unique(),
            ids,
        ),
        "appeals": _appeals_table(recovery.appeals, ids),
    }
    payer = claims["payer"].to_numpy()
    truth = pd.DataFrame(
        {
            "claim_id": claim_ids.to_numpy(),
            "p_denial": outcome["p_denial"].round(6).to_numpy(),
            "denial_category": outcome["category"].to_numpy(),
            "p_recover": recovery.p_recover.round(6).to_numpy(),
            "effort_minutes": recovery.effort_minutes.round(1).to_numpy(),
            "denied": outcome["denied"].to_numpy(),
            # The claim's payer's true deadlines, for evaluating what the queue learns of them.
            "appeal_window_days": sim.payers["appeal_window_days"].to_numpy()[payer],
            "filing_limit_days": sim.payers["timely_filing_days"].to_numpy()[payer],
        }
    )
    return tables, truth


def _splice(base: Simulation, changed: Simulation, drift: scenarios.Drift) -> Simulation:
    """`changed` for sessions on or after the change day, `base` for those before it.

    Both runs must have the same claims sent on the same days: then the extract date,
    the claims' order and their ids are the same with or without the scenario."""
    same_claims = base.claims.index.equals(changed.claims.index) and np.array_equal(
        base.claims["submission_day"].to_numpy(), changed.claims["submission_day"].to_numpy()
    )
    if not same_claims:
        raise RuntimeError(f"scenario {drift.scenario} changed which claims are sent when")
    after = changed.claims["day"].to_numpy() >= drift.change_day

    def spliced(before: pd.DataFrame, later: pd.DataFrame) -> pd.DataFrame:
        return pd.concat([before[~after], later[after]]).loc[before.index]

    later_sessions = changed.claims.index[after]
    lines = pd.concat(
        [
            base.lines[~base.lines["session"].isin(later_sessions)],
            changed.lines[changed.lines["session"].isin(later_sessions)],
        ]
    ).sort_values(["session", "slot"], kind="stable", ignore_index=True)
    return Simulation(
        payers=changed.payers,
        facilities=base.facilities,
        providers=base.providers,
        patients=changed.patients,
        claims=spliced(base.claims, changed.claims),
        lines=lines,
        outcome=spliced(base.outcome, changed.outcome),
        remits=spliced(base.remits, changed.remits),
        authorizations=changed.authorizations,
    )


def _extract_day(sim: Simulation, n_claims: int) -> int:
    """The submission day of the `n_claims`-th claim sent: where the data is cut."""
    return int(np.sort(sim.claims["submission_day"].to_numpy())[n_claims - 1])


def _move_dates(tables: dict[str, pd.DataFrame], shift: np.timedelta64) -> None:
    """Move every date column of `tables` by `shift` days (the tables are built from `START`)."""
    if shift == np.timedelta64(0, "D"):
        return
    for table in tables.values():
        for column in table.columns:
            if pd.api.types.is_datetime64_any_dtype(table[column]):
                table[column] += pd.Timedelta(days=int(shift.astype(int)))


class _Ids:
    """Contract identifiers for the simulation's integer keys."""

    def __init__(self, sim: Simulation, claim_ids: pd.Series):
        self.claim = claim_ids
        self.payer = sim.payers["payer_id"].to_numpy()
        self.patient = sim.patients["patient_id"].to_numpy()
        self.provider = sim.providers["rendering_provider_id"].to_numpy()
        self.facility = sim.facilities["facility_id"].to_numpy()


def _claims_table(claims: pd.DataFrame, ids: _Ids) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "claim_id": ids.claim.to_numpy(),
            "patient_id": ids.patient[claims["patient"].to_numpy()],
            "payer_id": ids.payer[claims["payer"].to_numpy()],
            "plan_type": claims["plan_type"].to_numpy(),
            "network_status": claims["network_status"].to_numpy(),
            "rendering_provider_id": ids.provider[claims["provider"].to_numpy()],
            "provider_credential": claims["credential"].to_numpy(),
            "facility_id": ids.facility[claims["facility"].to_numpy()],
            "program": claims["program"].to_numpy(),
            "place_of_service": claims["place_of_service"].to_numpy(),
            "service_date": _dates(claims["day"].to_numpy()),
            "submission_date": _dates(claims["submission_day"].to_numpy()),
            "primary_dx": claims["primary_dx"].to_numpy(),
            "secondary_dx": claims["secondary_dx"].to_numpy(),
            "prior_auth_id": claims["prior_auth_id"].to_numpy(),
            "total_charge": claims["total_charge"].to_numpy(),
            "frequency_code": "1",
            "original_claim_id": None,
        }
    )


def _lines_table(lines: pd.DataFrame, ids: _Ids) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "claim_id": ids.claim.loc[lines["session"]].to_numpy(),
            "line_number": lines["line_number"].to_numpy(),
            "procedure_code": lines["procedure_code"].to_numpy(),
            "modifiers": lines["modifiers"].to_numpy(),
            "units": lines["units"].to_numpy(),
            "minutes": pd.array(lines["minutes"].to_numpy(), dtype="Float64").astype("Int64"),
            "line_charge": lines["line_charge"].to_numpy(),
            "revenue_code": lines["revenue_code"].replace("", None).to_numpy(),
        }
    ).sort_values(["claim_id", "line_number"], ignore_index=True)


def _remits_table(remits: pd.DataFrame, ids: _Ids) -> pd.DataFrame:
    columns = ["billed_amount", "allowed_amount", "paid_amount", "patient_responsibility"]
    return pd.DataFrame(
        {
            "claim_id": ids.claim.loc[remits.index].to_numpy(),
            "received_date": _dates(remits["received_day"].to_numpy()),
            "status": remits["status"].to_numpy(),
            **{column: remits[column].to_numpy() for column in columns},
            "carc_codes": remits["carc_codes"].to_numpy(),
            "rarc_codes": remits["rarc_codes"].to_numpy(),
        }
    )


def _appeals_table(appeals: pd.DataFrame, ids: _Ids) -> pd.DataFrame:
    closed = appeals["closed_day"].notna().to_numpy()
    closed_date = _dates(appeals["closed_day"].fillna(0).astype(int).to_numpy())
    return pd.DataFrame(
        {
            "claim_id": ids.claim.loc[appeals["claim"]].to_numpy(),
            "action": appeals["action"].to_numpy(),
            "action_date": _dates(appeals["action_day"].to_numpy()),
            "effort_minutes": appeals["effort_minutes"].to_numpy(),
            "outcome": appeals["outcome"].to_numpy(),
            "recovered_amount": appeals["recovered_amount"].to_numpy(),
            "closed_date": pd.Series(closed_date).where(closed).to_numpy(),
            "outcome_reason": appeals["outcome_reason"].to_numpy(),
        }
    )


def _authorizations_table(
    sim: Simulation, claims: pd.DataFrame, as_of_day: int, ids: _Ids
) -> pd.DataFrame:
    """Authorizations on file at the extract date for the patients in the data."""
    records = sim.authorizations
    keep = np.isin(records["patient"], claims["patient"].unique()) & (
        records["start_day"] <= as_of_day
    )
    auths = records[keep]
    return pd.DataFrame(
        {
            "auth_id": auths["auth_id"].to_numpy(),
            "patient_id": ids.patient[auths["patient"].to_numpy()],
            "payer_id": ids.payer[auths["payer"].to_numpy()],
            "procedure_codes": auths["procedure_codes"].to_numpy(),
            "program": auths["program"].to_numpy(),
            "start_date": _dates(auths["start_day"].to_numpy()),
            "end_date": _dates(auths["end_day"].to_numpy()),
            "units_approved": auths["units_approved"].to_numpy(),
        }
    )


def _eligibility_table(
    rng: np.random.Generator, patients: pd.DataFrame, used: np.ndarray, ids: _Ids
) -> pd.DataFrame:
    """Coverage spans as the clinic's last eligibility checks saw them (some ends missed)."""
    p = patients.iloc[np.sort(used)]
    changed = p["change_day"].to_numpy() >= 0
    known_end = changed & p["termination_known"].to_numpy()
    first = pd.DataFrame(
        {
            "patient_id": p["patient_id"].to_numpy(),
            "payer_id": ids.payer[p["payer"].to_numpy()],
            "coverage_start": _dates(-rng.integers(30, 900, len(p))),
            "coverage_end": pd.Series(_dates(p["change_day"].to_numpy() - 1)).where(known_end),
        }
    )
    switched = p["second_payer"].to_numpy() >= 0
    second = pd.DataFrame(
        {
            "patient_id": p["patient_id"].to_numpy()[switched],
            "payer_id": ids.payer[p["second_payer"].to_numpy()[switched]],
            "coverage_start": _dates(p["change_day"].to_numpy()[switched]),
            "coverage_end": pd.NaT,
        }
    )
    spans = pd.concat([first, second], ignore_index=True)
    return spans.sort_values(["patient_id", "coverage_start"], ignore_index=True)
