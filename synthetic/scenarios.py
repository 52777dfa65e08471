"""Drift scenarios: the world changes on a date, for testing a model monitor.

Each scenario rewrites only sessions on or after its change day, with random
numbers from its own stream, and never changes which claims exist or when they
are sent. `generator.generate` runs the simulation with and without the
scenario and keeps every claim served before the change from the run without
it, so the data before the change date is byte-identical to the data the same
seed gives without a scenario, and a model trained on it is the same either way.

- `auth_rule`: `AUTH_RULE_PAYER` starts requiring prior authorization for
  `AUTH_RULE_CODE`. Clinics catch up slowly (`AUTH_RULE_UPTAKE`), so most such
  claims go out without one and are denied `missing_auth` (CO-197 mostly).
- `new_payer`: `world.ENTRANT` enters the market and takes over patients from
  the change day, about `NEW_PAYER_SHARE` of the claims served after it; its
  rules are stricter and the clinic bills it the way it bills the plans it knew.
- `code_mix`: the practice changes how it sees patients: sessions grow longer (most
  of 90832 moves to 90834 and 90837, most of 90834 to 90837, minutes documented to
  match, so not upcoding) and `TELEHEALTH_SHIFT` of in-person outpatient sessions move to
  telehealth (POS 02, billed right with the payer's modifier).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthetic import history, sessions, world

SCENARIOS = ("auth_rule", "new_payer", "code_mix")
WEEKS_AFTER_CHANGE = 8
"""Default change date: this many weeks before the extract date."""
AUTH_RULE_PAYER = "PY-MCD"
"""The largest payer that asks no authorization for outpatient therapy: a state Medicaid
program starting to ask one for 60-minute psychotherapy."""
AUTH_RULE_CODE = "90837"
AUTH_RULE_UPTAKE = 0.2
"""Chance a clinic obtains an authorization under the new rule (it mostly has not heard)."""
NEW_PAYER_SHARE = 0.12
CODE_SHIFT: dict[str, tuple[tuple[str, float], ...]] = {
    # billed code: (code the session becomes, chance), ...
    "90832": (("90834", 0.3), ("90837", 0.6)),
    "90834": (("90837", 0.7),),
}
TELEHEALTH_SHIFT = 0.4
"""Share of in-person outpatient sessions that move to telehealth under `code_mix`."""
STREAM = 3
"""`np.random.default_rng([seed, STREAM])` draws the scenario's numbers (1 and 2 are taken)."""


@dataclass(frozen=True)
class Drift:
    """A scenario, the simulation day it starts on, and its own random stream's seed."""

    scenario: str
    change_day: int
    seed: int

    def rng(self) -> np.random.Generator:
        return np.random.default_rng([self.seed, STREAM])


def check_scenario(name: str) -> None:
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}: use one of {', '.join(SCENARIOS)}")


def recode(drift: Drift, coded: pd.DataFrame) -> pd.DataFrame:
    """`code_mix`: longer psychotherapy sessions from the change day on, with the minutes
    documented for the new code. Units stay one, so authorizations count the same."""
    if drift.scenario != "code_mix":
        return coded
    rng = drift.rng()
    main = coded["main_code"].to_numpy().copy()
    eligible = (coded["day"].to_numpy() >= drift.change_day) & ~coded["upcoded"].to_numpy()
    draw = rng.random(len(coded))
    shifted = np.zeros(len(coded), dtype=bool)
    for source, targets in CODE_SHIFT.items():
        bound = 0.0
        is_source = eligible & (main == source)
        for target, chance in targets:
            hit = is_source & (draw >= bound) & (draw < bound + chance)
            main[hit] = target
            shifted |= hit
            bound += chance
    minutes = coded["main_minutes"].to_numpy().copy()
    documented = shifted & ~np.isnan(minutes)
    minutes[documented] = sessions.session_minutes(rng, main[documented])
    return _to_telehealth(
        coded.assign(main_code=main, main_minutes=minutes),
        eligible & (coded["program"].to_numpy() == "OP") & ~coded["telehealth"].to_numpy(),
        rng,
    )


def _to_telehealth(
    coded: pd.DataFrame, candidates: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """`TELEHEALTH_SHIFT` of the `candidates` seen by video instead: POS 02, which every
    payer takes, and the payer's telehealth modifier on the main line."""
    moved = candidates & (rng.random(len(coded)) < TELEHEALTH_SHIFT)
    modifier = world.payer_frame()["telehealth_modifier"].to_numpy()[coded["payer"].to_numpy()]
    modifiers = coded["main_modifiers"].to_numpy()
    joined = np.where(modifiers == "", modifier, modifier + ";" + modifiers)
    return coded.assign(
        place_of_service=np.where(moved, "02", coded["place_of_service"].to_numpy()),
        main_modifiers=np.where(moved, joined, modifiers),
        telehealth=coded["telehealth"].to_numpy() | moved,
    )


def rebill(
    drift: Drift,
    claims: pd.DataFrame,
    patients: pd.DataFrame,
    payers: pd.DataFrame,
    facilities: pd.DataFrame,
    authorizations: tuple[pd.DataFrame, pd.DataFrame],
    origin: np.datetime64,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, tuple[pd.DataFrame, pd.DataFrame]]:
    """`auth_rule` and `new_payer`: claims, patients, payers and (records, per-claim flags)
    of the authorizations after the change. The usual authorizations are drawn first, so
    these use numbers after every claim's row (`first_number`) and never repeat one."""
    records, flags = authorizations
    first_number = len(claims) + 1
    if drift.scenario == "auth_rule":
        payer = int(np.flatnonzero(payers["payer_id"].to_numpy() == AUTH_RULE_PAYER)[0])
        covered = (
            (claims["payer"].to_numpy() == payer)
            & (claims["main_code"].to_numpy() == AUTH_RULE_CODE)
            & (claims["day"].to_numpy() >= drift.change_day)
            & ~history.authorization_required(claims, payers)
        )
        new_records, new_flags = history.authorizations(
            drift.rng(),
            claims,
            facilities,
            payers,
            covered,
            first_number=first_number,
            obtain_rate=AUTH_RULE_UPTAKE,
            procedure_codes=AUTH_RULE_CODE,
            start_floor=drift.change_day,
        )
    elif drift.scenario == "new_payer":
        rng = drift.rng()
        payers = pd.concat([payers, pd.DataFrame([world.ENTRANT.__dict__])], ignore_index=True)
        entrant = len(payers) - 1
        enrolled, covered = _enroll(rng, drift, claims, patients)
        # Their old plan's authorizations for care after the change were never asked for.
        records = records[
            ~(
                np.isin(records["patient"].to_numpy(), enrolled)
                & (records["start_day"].to_numpy() >= drift.change_day)
            )
        ]
        patients = patients.assign(entrant=np.isin(np.arange(len(patients)), enrolled))
        claims = _as_billed_to(rng, claims, covered, entrant, patients, payers, facilities)
        claims["over_visit_cap"] = history.visits_over_cap(claims, payers, origin)
        new_records, new_flags = history.authorizations(
            rng,
            claims,
            facilities,
            payers,
            covered & history.authorization_required(claims, payers),
            first_number=first_number,
            start_floor=drift.change_day,
        )
    else:
        return claims, patients, payers, authorizations
    flags = flags.copy()
    flags.loc[covered] = new_flags.loc[covered]
    return claims, patients, payers, (pd.concat([records, new_records], ignore_index=True), flags)


def _enroll(
    rng: np.random.Generator, drift: Drift, claims: pd.DataFrame, patients: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Patients the entrant enrolls from the change day on, and the sessions it is billed for.

    Patients with no other change of coverage move (a state reassigning its members, an
    employer changing plans), enough of them for `NEW_PAYER_SHARE` of the sessions after
    the change; their sessions from then on are billed to the entrant."""
    patient = claims["patient"].to_numpy()
    settled = (patients["second_payer"].to_numpy() < 0) & ~patients["lost_coverage"].to_numpy()
    after = claims["day"].to_numpy() >= drift.change_day
    candidates = np.unique(patient[after & settled[patient]])
    chance = min(1.0, NEW_PAYER_SHARE * after.sum() / max(1, (after & settled[patient]).sum()))
    enrolled = candidates[rng.random(len(candidates)) < chance]
    return enrolled, after & np.isin(patient, enrolled)


def _as_billed_to(
    rng: np.random.Generator,
    claims: pd.DataFrame,
    covered: np.ndarray,
    payer: int,
    patients: pd.DataFrame,
    payers: pd.DataFrame,
    facilities: pd.DataFrame,
) -> pd.DataFrame:
    """The `covered` claims billed to `payer` instead, judged by its rules as the clinic
    billed them: with the modifiers of the plans it knew, after its usual lag."""
    spec = payers.iloc[payer]
    credential = claims["credential"].to_numpy()
    modifiers = [set(mods.split(";")) for mods in claims["main_modifiers"]]
    telehealth = claims["telehealth"].to_numpy()
    wanted = [world.CREDENTIAL_MODIFIER.get(c, "") for c in credential]
    credential_missing = (
        spec["credential_modifiers"]
        & (claims["program"].to_numpy() == "OP")
        & np.array([w != "" and w not in m for w, m in zip(wanted, modifiers, strict=True)])
    )
    credential_excluded, dx_excluded = world.payer_exclusions(
        np.full(len(claims), payer),
        credential,
        patients["primary_dx"].to_numpy()[claims["patient"].to_numpy()],
        payers,
    )
    out_of_network = rng.random(len(facilities)) < spec["network_out_share"]
    lag = claims["submission_day"].to_numpy() - claims["day"].to_numpy()
    rejudged = {
        "payer": payer,
        "plan_type": spec["plan_type"],
        "timely_filing_days": spec["timely_filing_days"],
        "filed_late": lag > spec["timely_filing_days"],
        "telehealth_modifier_bad": telehealth
        & np.array([spec["telehealth_modifier"] not in m for m in modifiers]),
        "pos10_rejected": telehealth
        & (claims["place_of_service"].to_numpy() == "10")
        & (not spec["accepts_pos10"]),
        "credential_modifier_missing": credential_missing,
        "credential_excluded": credential_excluded,
        "dx_excluded": dx_excluded,
        "network_status": np.where(out_of_network[claims["facility"].to_numpy()], "out", "in"),
    }
    return claims.assign(
        **{
            column: np.where(covered, values, claims[column].to_numpy())
            for column, values in rejudged.items()
        }
    )


def restate_eligibility(
    drift: Drift, spans: pd.DataFrame, patients: pd.DataFrame, change_date: np.datetime64
) -> pd.DataFrame:
    """`new_payer`: the entrant's coverage, from the change date, of the patients it enrolled
    who are in the data. Their old plan's span is left open: the clinic was not told."""
    if drift.scenario != "new_payer":
        return spans
    enrolled = patients.loc[patients["entrant"], "patient_id"]
    joined = pd.DataFrame(
        {
            "patient_id": enrolled[enrolled.isin(spans["patient_id"])].to_numpy(),
            "payer_id": world.ENTRANT.payer_id,
            "coverage_start": change_date,
            "coverage_end": pd.NaT,
        }
    )
    return pd.concat([spans, joined], ignore_index=True).sort_values(
        ["patient_id", "coverage_start"], kind="stable", ignore_index=True
    )
