"""The payers, facilities and providers of the synthetic world, each with its own rules.

These tables are small (tens to hundreds of rows) and are built row by row;
the claims built on them are generated vectorised in `claims.py`. Every rule
here is something a behavioral-health billing team meets: per-payer filing
limits, visit caps, authorization requirements, telehealth and credential
modifiers, credentials a plan will not pay for, diagnoses it does not cover.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MASTERS = ("LCSW", "LPC", "LMFT", "LMHC")
DOCTORAL = ("PhD", "PsyD")
PRESCRIBERS = ("MD", "DO", "PMHNP", "NP", "PA")
CREDENTIAL_MODIFIER = {
    **dict.fromkeys(MASTERS, "HO"),
    **dict.fromkeys(DOCTORAL, "HP"),
    "LCADC": "HN",
}
"""Medicaid-style modifiers that say the rendering provider's level of licensure."""


@dataclass(frozen=True)
class PayerSpec:
    payer_id: str
    plan_type: str
    share: float
    timely_filing_days: int
    visit_cap: int
    """OP visits per calendar year; 0 = no cap."""
    op_auth: bool
    """Authorization required for outpatient psychotherapy too, not only IOP/PHP/RES/DETOX."""
    telehealth_modifier: str
    accepts_pos10: bool
    credential_modifiers: bool
    excluded_credentials: tuple[str, ...]
    excluded_dx: tuple[str, ...]
    """Primary-diagnosis prefixes the plan will not pay behavioral-health services for."""
    scrutiny_90837: float
    """Chance a 90837 is denied as unsupported even when minutes are documented (payer habit)."""
    scrutiny_from: str
    """Date from which that habit starts: payer behaviour drifts."""
    los_days: int
    """Length of stay the payer's utilization review accepts for IOP/PHP/RES before pushing back."""
    noise: float
    remit_lag_days: int
    allowed_fraction: float
    appeal_window_days: int
    appeal_friendliness: float
    network_out_share: float


PAYERS: tuple[PayerSpec, ...] = (
    PayerSpec(
        "PY-COM1",
        "commercial",
        0.13,
        90,
        0,
        False,
        "95",
        True,
        False,
        ("other",),
        ("Z63", "F52"),
        0.04,
        "2024-01-01",
        28,
        0.010,
        16,
        0.62,
        180,
        1.0,
        0.10,
    ),
    PayerSpec(
        "PY-COM2",
        "commercial",
        0.10,
        180,
        40,
        False,
        "95",
        True,
        False,
        ("other",),
        ("Z63",),
        0.02,
        "2024-01-01",
        35,
        0.012,
        21,
        0.58,
        180,
        1.1,
        0.08,
    ),
    PayerSpec(
        "PY-COM3",
        "commercial",
        0.08,
        90,
        26,
        True,
        "GT",
        False,
        False,
        ("LCADC", "LMHC", "other"),
        ("Z63", "F52", "F64"),
        0.30,
        "2025-03-01",
        21,
        0.015,
        14,
        0.55,
        90,
        0.8,
        0.12,
    ),
    PayerSpec(
        "PY-COM4",
        "commercial",
        0.05,
        365,
        0,
        False,
        "GT",
        False,
        False,
        ("other",),
        (),
        0.02,
        "2024-01-01",
        30,
        0.020,
        30,
        0.50,
        365,
        1.2,
        0.20,
    ),
    PayerSpec(
        "PY-EAP",
        "other",
        0.03,
        90,
        8,
        True,
        "95",
        True,
        False,
        ("LCADC", "other", "PA"),
        ("F10", "F11", "F12", "F20", "F31"),
        0.00,
        "2024-01-01",
        0,
        0.010,
        20,
        0.70,
        60,
        0.6,
        0.0,
    ),
    PayerSpec(
        "PY-MCD",
        "medicaid",
        0.15,
        365,
        30,
        False,
        "95",
        True,
        True,
        ("other",),
        ("Z63",),
        0.02,
        "2024-01-01",
        30,
        0.015,
        25,
        0.40,
        120,
        0.9,
        0.0,
    ),
    PayerSpec(
        "PY-MCO1",
        "medicaid_mco",
        0.10,
        90,
        0,
        True,
        "95",
        True,
        True,
        ("other",),
        ("Z63", "F52"),
        0.06,
        "2024-01-01",
        21,
        0.020,
        18,
        0.42,
        60,
        0.7,
        0.02,
    ),
    PayerSpec(
        "PY-MCO2",
        "medicaid_mco",
        0.07,
        120,
        0,
        False,
        "GT",
        False,
        True,
        ("other",),
        ("Z63",),
        0.25,
        "2024-09-01",
        24,
        0.018,
        22,
        0.44,
        90,
        0.8,
        0.02,
    ),
    PayerSpec(
        "PY-MCR",
        "medicare",
        0.12,
        365,
        0,
        False,
        "95",
        True,
        False,
        ("LCADC", "other"),
        ("Z63", "F64"),
        0.03,
        "2024-01-01",
        30,
        0.008,
        14,
        0.60,
        120,
        1.1,
        0.0,
    ),
    PayerSpec(
        "PY-MA1",
        "medicare_advantage",
        0.08,
        90,
        0,
        True,
        "95",
        True,
        False,
        ("LCADC", "LMHC", "other"),
        ("Z63",),
        0.10,
        "2024-06-01",
        20,
        0.020,
        20,
        0.55,
        60,
        0.7,
        0.06,
    ),
    PayerSpec(
        "PY-MA2",
        "medicare_advantage",
        0.05,
        180,
        0,
        False,
        "GT",
        True,
        False,
        ("other",),
        ("Z63",),
        0.03,
        "2024-01-01",
        28,
        0.012,
        17,
        0.57,
        120,
        1.0,
        0.05,
    ),
    PayerSpec(
        "PY-TRI",
        "tricare",
        0.04,
        365,
        0,
        True,
        "GT",
        True,
        False,
        ("other",),
        (),
        0.02,
        "2024-01-01",
        30,
        0.010,
        24,
        0.65,
        90,
        1.0,
        0.03,
    ),
)


ENTRANT = PayerSpec(
    "PY-MCO3",
    "medicaid_mco",
    0.0,
    90,
    0,
    True,
    "95",
    True,
    True,
    ("LCADC", "other"),
    ("Z63", "F52"),
    0.15,
    "2024-01-01",
    18,
    0.045,
    28,
    0.40,
    60,
    0.6,
    0.15,
)
"""A Medicaid managed-care plan that enters the market in the `new_payer` drift scenario
(`synthetic.scenarios`): strict (outpatient authorization, credential modifiers, 90837
scrutiny, more noise) and unknown to the clinic's billing habits, so it denies more."""


def payer_frame() -> pd.DataFrame:
    frame = pd.DataFrame([spec.__dict__ for spec in PAYERS])
    frame["share"] = frame["share"] / frame["share"].sum()
    return frame


def payer_exclusions(
    payer: np.ndarray, credential: np.ndarray, primary_dx: np.ndarray, payers: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Per claim: is the rendering credential, and is the primary diagnosis, one the payer
    will not pay for (by `payers` row index)."""
    excluded_credentials = payers["excluded_credentials"].to_numpy()
    credential_excluded = np.fromiter(
        (c in excluded_credentials[p] for c, p in zip(credential, payer, strict=True)),
        bool,
        len(payer),
    )
    dx_excluded = np.zeros(len(payer), dtype=bool)
    for p, spec in payers.iterrows():
        if spec["excluded_dx"]:
            dx_excluded |= (payer == p) & pd.Series(primary_dx).str.startswith(
                tuple(spec["excluded_dx"])
            ).to_numpy()
    return credential_excluded, dx_excluded


@dataclass(frozen=True)
class FacilityKind:
    kind: str
    programs: tuple[str, ...]
    program_weights: tuple[float, ...]
    pos: dict[str, str]
    credentials: tuple[str, ...]
    credential_weights: tuple[float, ...]


FACILITY_KINDS = (
    FacilityKind(
        "op_clinic",
        ("OP",),
        (1.0,),
        {"OP": "11"},
        ("LCSW", "LPC", "LMFT", "LMHC", "PhD", "PsyD", "MD", "PMHNP", "NP", "other"),
        (0.22, 0.18, 0.10, 0.08, 0.07, 0.05, 0.09, 0.11, 0.08, 0.02),
    ),
    FacilityKind(
        "cmhc",
        ("OP", "IOP"),
        (0.92, 0.08),
        {"OP": "53", "IOP": "53"},
        ("LCSW", "LPC", "LMHC", "LCADC", "MD", "PMHNP", "PA", "other"),
        (0.27, 0.22, 0.1, 0.12, 0.08, 0.12, 0.05, 0.04),
    ),
    FacilityKind(
        "sud_center",
        ("OP", "IOP", "RES", "DETOX"),
        (0.55, 0.25, 0.12, 0.08),
        {"OP": "57", "IOP": "57", "RES": "55", "DETOX": "55"},
        ("LCADC", "LCSW", "LPC", "MD", "DO", "NP", "other"),
        (0.28, 0.22, 0.2, 0.1, 0.05, 0.1, 0.05),
    ),
    FacilityKind(
        "psych_hospital_op",
        ("IOP", "PHP", "OP"),
        (0.25, 0.2, 0.55),
        {"IOP": "22", "PHP": "52", "OP": "22"},
        ("MD", "DO", "PhD", "PsyD", "LCSW", "LMFT", "PMHNP"),
        (0.2, 0.05, 0.15, 0.1, 0.25, 0.1, 0.15),
    ),
)


def facility_frame(rng: np.random.Generator, n_claims: int) -> pd.DataFrame:
    """Facilities with their operational habits; these differ a lot between real clinics."""
    n = max(8, min(60, n_claims // 25_000 + 8))
    kinds = rng.choice(len(FACILITY_KINDS), size=n, p=[0.55, 0.2, 0.15, 0.1])
    kinds[: len(FACILITY_KINDS)] = np.arange(len(FACILITY_KINDS))
    return pd.DataFrame(
        {
            "facility_id": [f"FAC{i + 1:03d}" for i in range(n)],
            "kind": [FACILITY_KINDS[k].kind for k in kinds],
            "size": rng.lognormal(0, 0.6, n),
            "auth_discipline": rng.beta(30, 1.0, n),
            "auth_extension_rate": rng.beta(14, 1.5, n),
            "submit_lag_median": rng.uniform(2, 9, n),
            "late_batch_rate": rng.beta(1.2, 60, n),
            "duplicate_rate": rng.beta(1.5, 170, n),
            "eligibility_lag_days": rng.uniform(5, 45, n),
            "charge_factor": rng.uniform(0.85, 1.35, n),
        }
    )


def provider_frame(
    rng: np.random.Generator, facilities: pd.DataFrame, n_claims: int
) -> pd.DataFrame:
    """Rendering providers; coding habits vary by person, which history can learn."""
    n = max(40, n_claims // 2_000)
    facility = rng.choice(len(facilities), size=n, p=facilities["size"] / facilities["size"].sum())
    facility[: len(facilities)] = np.arange(len(facilities))
    by_kind = {kind.kind: kind for kind in FACILITY_KINDS}
    credentials = np.empty(n, dtype=object)
    for i, f in enumerate(facility):
        kind = by_kind[facilities["kind"].iat[f]]
        credentials[i] = rng.choice(kind.credentials, p=kind.credential_weights)
    return pd.DataFrame(
        {
            "rendering_provider_id": [f"PRV{i + 1:05d}" for i in range(n)],
            "facility_id": facilities["facility_id"].to_numpy()[facility],
            "credential": credentials,
            "upcode_rate": rng.beta(1.2, 35, n),
            "modifier_miss_rate": rng.beta(1.1, 50, n),
            "clerical_rate": rng.beta(1.0, 150, n),
            "bundling_error_rate": rng.beta(1.0, 90, n),
            "telehealth_share": rng.beta(1.5, 3.0, n),
            "missing_minutes_rate": rng.beta(1.0, 60, n),
        }
    )
