"""Patients, coverage and episodes of care: who is treated where, when, and on whose plan.

All arrays are per patient or per episode; days are integers from `START`, the world's
day 0. The calendar (years for visit caps, months for deductibles) may start elsewhere:
see `generator.generate(ends_on=...)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthetic.world import FACILITY_KINDS

START = np.datetime64("2024-01-01")
HORIZON_DAYS = 730

MOOD_ANXIETY_DX = (
    "F33.1",
    "F32.1",
    "F41.1",
    "F43.10",
    "F43.23",
    "F43.22",
    "F41.0",
    "F33.0",
    "F32.0",
    "F90.0",
    "F90.2",
    "F31.81",
    "F31.32",
    "F42.2",
    "F60.3",
    "F20.9",
    "F25.0",
    "F43.12",
    "F32.9",
    "F41.9",
    "F32.A",
    "F43.20",
    "F50.00",
    "F84.0",
    "Z63.0",
    "F52.0",
    "F64.0",
)
MOOD_ANXIETY_WEIGHTS = (
    14,
    10,
    12,
    6,
    7,
    5,
    4,
    4,
    3,
    4,
    2,
    2,
    2,
    2,
    2,
    1,
    1,
    2,
    3,
    3,
    2,
    2,
    1,
    1,
    1.2,
    0.4,
    0.4,
)
SUD_DX = ("F10.20", "F11.20", "F12.20", "F14.20", "F15.20", "F10.10", "F11.21", "F13.20")
SUD_WEIGHTS = (35, 25, 12, 8, 8, 6, 4, 2)
SECONDARY_DX = ("F41.1", "F43.10", "F17.210", "F90.0", "F33.1", "F10.20", "Z91.19", "Z59.00")

EPISODE = {
    # program: (mean sessions, gap days low, gap days high, auth units, auth window days)
    "OP": (13.0, 6, 15, 12, 120),
    "IOP": (12.0, 1, 4, 12, 35),
    "PHP": (11.0, 1, 3, 10, 21),
    "RES": (3.5, 7, 8, 14, 21),
    "DETOX": (1.0, 7, 8, 5, 10),
}


@dataclass
class Population:
    patients: pd.DataFrame
    """patient_id, payer (index), second_payer (index or -1), change_day, lost_coverage,
    lost_known, facility (index), primary_dx, secondary_dx, severity."""
    episodes: pd.DataFrame
    """patient (index), program, facility (index), provider (index), start_day, n_sessions."""


def _weighted(rng: np.random.Generator, options, weights, size: int) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    return np.asarray(options, dtype=object)[
        rng.choice(len(options), size=size, p=weights / weights.sum())
    ]


def make_patients(
    rng: np.random.Generator,
    n: int,
    payers: pd.DataFrame,
    facilities: pd.DataFrame,
    first_id: int = 1,
) -> pd.DataFrame:
    """`n` patients numbered from `first_id` (a later chunk's never repeat an earlier one's)."""
    payer = rng.choice(len(payers), size=n, p=payers["share"].to_numpy())
    switch = rng.random(n) < 0.12
    lost = ~switch & (rng.random(n) < 0.04)
    change_day = np.where(switch | lost, rng.integers(60, HORIZON_DAYS - 20, n), -1)
    second = rng.choice(len(payers), size=n, p=payers["share"].to_numpy())
    second = np.where(second == payer, (second + 1) % len(payers), second)
    facility = rng.choice(len(facilities), size=n, p=facilities["size"] / facilities["size"].sum())
    sud_home = facilities["kind"].to_numpy()[facility] == "sud_center"
    primary = np.where(
        sud_home & (rng.random(n) < 0.92),
        _weighted(rng, SUD_DX, SUD_WEIGHTS, n),
        _weighted(rng, MOOD_ANXIETY_DX, MOOD_ANXIETY_WEIGHTS, n),
    )
    n_secondary = rng.choice(3, size=n, p=[0.45, 0.4, 0.15])
    first = _weighted(rng, SECONDARY_DX, np.ones(len(SECONDARY_DX)), n)
    second_dx = _weighted(rng, SECONDARY_DX, np.ones(len(SECONDARY_DX)), n)
    secondary = np.where(n_secondary >= 1, first, "")
    both = (n_secondary == 2) & (second_dx != first)
    secondary = np.where(both, first + ";" + second_dx, secondary)
    secondary = np.where(first == primary, "", secondary)
    return pd.DataFrame(
        {
            "patient_id": pd.Series(np.arange(first_id, first_id + n)).map("PAT{:07d}".format),
            "payer": payer,
            "second_payer": np.where(switch, second, -1),
            "change_day": change_day,
            "lost_coverage": lost,
            "termination_known": rng.random(n) < 0.8,
            "facility": facility,
            "primary_dx": primary,
            "secondary_dx": secondary,
            "severity": rng.normal(0, 1, n),
        }
    )


def make_episodes(
    rng: np.random.Generator,
    patients: pd.DataFrame,
    facilities: pd.DataFrame,
    providers: pd.DataFrame,
) -> pd.DataFrame:
    n_episodes = 1 + np.minimum(rng.poisson(0.6, len(patients)), 3)
    patient = np.repeat(np.arange(len(patients)), n_episodes)
    facility = patients["facility"].to_numpy()[patient]
    kinds = {kind.kind: kind for kind in FACILITY_KINDS}
    facility_kind = facilities["kind"].to_numpy()[facility]
    program = np.empty(len(patient), dtype=object)
    for name, kind in kinds.items():
        mask = facility_kind == name
        program[mask] = _weighted(rng, kind.programs, kind.program_weights, int(mask.sum()))
    mean_sessions = np.array([EPISODE[p][0] for p in program])
    n_sessions = np.where(
        program == "DETOX",
        1,
        1 + rng.negative_binomial(1.3, 1.3 / (1.3 + np.maximum(mean_sessions - 1, 0.5))),
    )
    start_day = rng.integers(-30, HORIZON_DAYS - 10, len(patient))
    provider = _pick_provider(rng, providers, facilities, facility)
    return pd.DataFrame(
        {
            "patient": patient,
            "program": program,
            "facility": facility,
            "provider": provider,
            "start_day": start_day,
            "n_sessions": n_sessions,
        }
    )


def _pick_provider(
    rng: np.random.Generator,
    providers: pd.DataFrame,
    facilities: pd.DataFrame,
    facility: np.ndarray,
) -> np.ndarray:
    """One provider of the episode's facility renders (or attends) the whole episode."""
    by_facility = providers.groupby("facility_id").indices
    facility_ids = facilities["facility_id"].to_numpy()
    chosen = np.empty(len(facility), dtype=np.int64)
    for f, rows in enumerate(facility_ids):
        mask = facility == f
        staff = by_facility[rows]
        chosen[mask] = staff[rng.integers(0, len(staff), int(mask.sum()))]
    return chosen
