"""How payers decide: a denial probability per mechanism, the outcome, and the 835 it produces.

Each mechanism has its own probability for each claim; the claim is denied if
any fires, and the first to fire in the order a payer's front-end edits run
names the category. `p_denial = 1 - prod(1 - p_k)` is the exact probability
recorded in truth.csv. Remit codes are drawn from what payers really send for
each category, so `data_contracts.denials` maps them back to the same category.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic.population import START

ORDER = (
    "missing_info",
    "coverage_inactive",
    "timely_filing",
    "duplicate",
    "credential_not_covered",
    "missing_auth",
    "auth_exhausted",
    "visit_limit",
    "dx_not_covered",
    "modifier_invalid",
    "time_code_mismatch",
    "bundling",
    "medical_necessity",
    "other",
)

REMIT_CODES: dict[str, tuple[tuple[str, str, float], ...]] = {
    "missing_auth": (("CO-197", "", 0.7), ("CO-15", "", 0.2), ("CO-16", "M62", 0.1)),
    "auth_exhausted": (("CO-198", "", 0.6), ("CO-197", "N362", 0.4)),
    "visit_limit": (("CO-119", "N130", 0.5), ("CO-119", "", 0.5)),
    "timely_filing": (("CO-29", "", 1.0),),
    "coverage_inactive": (("CO-27", "", 0.75), ("CO-31", "", 0.1), ("CO-109", "", 0.15)),
    "time_code_mismatch": (("CO-50", "N180", 0.4), ("CO-16", "M20", 0.3), ("CO-4", "N56", 0.3)),
    "credential_not_covered": (("CO-185", "", 0.5), ("CO-B7", "", 0.3), ("CO-170", "N95", 0.2)),
    "modifier_invalid": (("CO-4", "N519", 0.6), ("CO-182", "", 0.4)),
    "dx_not_covered": (("CO-167", "", 0.6), ("CO-11", "", 0.4)),
    "duplicate": (("OA-18", "", 0.6), ("CO-18", "", 0.4)),
    "bundling": (("CO-97", "M15", 0.5), ("CO-234", "N20", 0.3), ("CO-231", "", 0.2)),
    "medical_necessity": (("CO-150", "", 0.4), ("CO-152", "N10", 0.3), ("CO-56", "", 0.3)),
    "missing_info": (("CO-16", "M76", 0.7), ("CO-16", "MA130", 0.3)),
    "other": (("CO-96", "", 0.4), ("CO-A1", "N130", 0.3), ("CO-204", "", 0.3)),
}
ADDON_ALONE_CODES = ("CO-B15", "N122")
POS_CODES = ("CO-5", "")
OUT_OF_NETWORK_CODES = ("CO-242", "")


def mechanism_probabilities(claims: pd.DataFrame, payers: pd.DataFrame) -> pd.DataFrame:
    """P(denied by mechanism k) per claim, one column per contract category."""
    c = claims
    payer = c["payer"].to_numpy()
    op = c["program"].to_numpy() == "OP"
    codes = c["main_code"].to_numpy()
    day = c["day"].to_numpy()
    scrutiny_from = (
        pd.to_datetime(payers["scrutiny_from"]).to_numpy().astype("datetime64[D]") - START
    ).astype(int)
    scrutinised = (
        (codes == "90837") & ~c["time_mismatch"].to_numpy() & (day >= scrutiny_from[payer])
    )
    los = payers["los_days"].to_numpy()[payer].astype(float)
    los = np.where(los > 0, los, 10.0)
    overstay = 1 / (1 + np.exp(-(c["episode_day"].to_numpy() - los) / (0.25 * los)))
    severity_relief = np.exp(-0.5 * c["severity"].to_numpy())
    sud_code = np.isin(codes, ["H0015", "H0004", "H0005", "H0010", "H0011"])
    sud_dx = c["primary_dx"].str.startswith("F1").to_numpy()
    em_only = np.isin(codes, ["99213", "99214"]) & (c["addon_code"].to_numpy() == "")
    p = {
        "missing_info": np.where(c["clerical_error"], 0.95, 0.0),
        "coverage_inactive": np.where(c["coverage_inactive"], 0.95, 0.0),
        "timely_filing": np.where(c["filed_late"], 0.97, 0.0),
        "duplicate": np.where(c["is_duplicate"], 0.95, 0.0),
        "credential_not_covered": np.where(c["credential_excluded"] & op, 0.4, 0.0),
        "missing_auth": np.where(c["auth_missing"], 0.92, 0.0),
        "auth_exhausted": np.where(c["auth_exhausted"], 0.9, 0.0),
        "visit_limit": np.where(c["over_visit_cap"], 0.9, 0.0),
        "dx_not_covered": np.maximum(
            np.where(c["dx_excluded"], 0.85, 0.0), np.where(sud_code & ~sud_dx, 0.3, 0.0)
        ),
        "modifier_invalid": np.maximum.reduce(
            [
                np.where(c["telehealth_modifier_bad"], 0.85, 0.0),
                np.where(c["pos10_rejected"], 0.8, 0.0),
                np.where(c["credential_modifier_missing"], 0.75, 0.0),
            ]
        ),
        "time_code_mismatch": np.maximum.reduce(
            [
                np.where(c["time_mismatch"] & ~c["minutes_missing"], 0.6, 0.0),
                np.where(c["time_mismatch"] & c["minutes_missing"], 0.45, 0.0),
                np.where(scrutinised, payers["scrutiny_90837"].to_numpy()[payer], 0.0),
            ]
        ),
        "bundling": np.maximum.reduce(
            [
                np.where(c["addon_alone"], 0.9, 0.0),
                np.where(c["screening_unbundled"], 0.7, 0.0),
                np.where(c["complexity_with_crisis"], 0.85, 0.0),
            ]
        ),
        "medical_necessity": np.where(
            op,
            np.where(em_only, 0.004, 0.0),
            np.minimum(0.9, 0.005 + 0.25 * overstay * severity_relief),
        ),
        "other": np.clip(
            0.7 * payers["noise"].to_numpy()[payer]
            + np.where(c["network_status"] == "out", 0.12, 0.0),
            0,
            1,
        ),
    }
    return pd.DataFrame({name: p[name] for name in ORDER}, index=claims.index)


def adjudicate(rng: np.random.Generator, probabilities: pd.DataFrame) -> pd.DataFrame:
    """Denied or not, the category that fired first, and the exact P(denial)."""
    p = probabilities.to_numpy()
    fired = rng.random(p.shape) < p
    denied = fired.any(axis=1)
    first_fired = np.argmax(fired, axis=1)
    dominant = np.argmax(p, axis=1)
    category = np.asarray(ORDER, dtype=object)[np.where(denied, first_fired, dominant)]
    return pd.DataFrame(
        {"denied": denied, "category": category, "p_denial": 1 - np.prod(1 - p, axis=1)},
        index=probabilities.index,
    )


def remit_codes(
    rng: np.random.Generator, claims: pd.DataFrame, outcome: pd.DataFrame
) -> pd.DataFrame:
    """CARC and RARC for each denial, chosen the way payers phrase that category."""
    n = len(claims)
    carc = np.full(n, "", dtype=object)
    rarc = np.full(n, "", dtype=object)
    category = outcome["category"].to_numpy()
    denied = outcome["denied"].to_numpy()
    for name, options in REMIT_CODES.items():
        mask = denied & (category == name)
        pick = rng.choice(len(options), size=int(mask.sum()), p=[o[2] for o in options])
        carc[mask] = np.array([o[0] for o in options], dtype=object)[pick]
        rarc[mask] = np.array([o[1] for o in options], dtype=object)[pick]
    for flag, category_name, (code, remark) in (
        ("addon_alone", "bundling", ADDON_ALONE_CODES),
        ("pos10_rejected", "modifier_invalid", POS_CODES),
    ):
        mask = denied & (category == category_name) & claims[flag].to_numpy()
        carc[mask], rarc[mask] = code, remark
    out_of_network = denied & (category == "other") & (claims["network_status"].to_numpy() == "out")
    carc[out_of_network], rarc[out_of_network] = OUT_OF_NETWORK_CODES
    return pd.DataFrame({"denial_carc": carc, "denial_rarc": rarc}, index=claims.index)


def remit_amounts(
    rng: np.random.Generator,
    claims: pd.DataFrame,
    outcome: pd.DataFrame,
    codes: pd.DataFrame,
    payers: pd.DataFrame,
    origin: np.datetime64 = START,
) -> pd.DataFrame:
    """What the 835 says was billed, allowed, paid and left to the patient, with its CARCs.

    Deductibles fall early in the calendar year, counted from day 0 = `origin`."""
    n = len(claims)
    payer = claims["payer"].to_numpy()
    billed = claims["total_charge"].to_numpy()
    denied = outcome["denied"].to_numpy()
    partial = denied & claims["line_level_denial"].to_numpy()
    denied_charge = np.where(partial, claims["denied_line_charge"].to_numpy(), billed)
    payable = np.where(denied & ~partial, 0.0, billed - np.where(partial, denied_charge, 0.0))
    allowed = np.round(
        payable * payers["allowed_fraction"].to_numpy()[payer] * rng.uniform(0.92, 1.05, n), 2
    )
    plan = claims["plan_type"].to_numpy()
    cost_share = np.isin(plan, ["commercial", "medicare_advantage", "tricare", "other", "medicare"])
    kind = rng.choice(3, size=n, p=[0.15, 0.25, 0.60])
    month = (origin + claims["day"].to_numpy().astype("timedelta64[D]")).astype(
        "datetime64[M]"
    ).astype(int) % 12
    kind = np.where((kind == 0) & (month > 3), 2, kind)
    kind = np.where(plan == "medicare", 1, kind)
    share = np.select(
        [kind == 0, kind == 1, kind == 2],
        [
            np.minimum(allowed, rng.uniform(50, 300, n)),
            allowed * 0.2,
            np.minimum(allowed, rng.choice([20, 30, 40], n)),
        ],
    )
    share = np.round(np.where(cost_share & (allowed > 0), share, 0.0), 2)
    pr_code = np.array(["PR-1", "PR-2", "PR-3"], dtype=object)[kind]
    adjustments = np.where(allowed > 0, "CO-45", "")
    adjustments = np.where(share > 0, adjustments + ";" + pr_code, adjustments)
    carc = np.where(denied, codes["denial_carc"].to_numpy(), "")
    carc = np.where(
        partial | ~denied, np.where(carc == "", adjustments, carc + ";" + adjustments), carc
    )
    carc = pd.Series(carc).str.strip(";").to_numpy()
    return pd.DataFrame(
        {
            "status": np.where(partial, "partial", np.where(denied, "denied", "paid")),
            "billed_amount": billed,
            "allowed_amount": allowed,
            "paid_amount": np.round(allowed - share, 2),
            "patient_responsibility": share,
            "carc_codes": carc,
            "rarc_codes": np.where(denied, codes["denial_rarc"].to_numpy(), ""),
        },
        index=claims.index,
    )
