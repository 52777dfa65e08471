"""Features of a claim on its own: what a billing expert reads off the claim form.

Pure functions of the `claims` and `claim_lines` frames, vectorised, used as is
by training and by serving. The facts they rely on (time bands, add-on
primaries, telehealth and credential modifiers) come from
`data_contracts.codes`, the same tables the serving edits will use.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from data_contracts.codes import behavioral_health_procedures, icd10cm_billable

EPOCH = pd.Timestamp("2020-01-01")
TELEHEALTH_POS = ("02", "10")
TELEHEALTH_MODIFIERS = ("95", "GT", "FQ", "93")
CREDENTIAL_MODIFIERS = ("HO", "HN", "HP", "AH", "AJ", "HM", "HL")
EXPECTED_CREDENTIAL_MODIFIER = {
    "LCSW": "HO",
    "LPC": "HO",
    "LMFT": "HO",
    "LMHC": "HO",
    "PhD": "HP",
    "PsyD": "HP",
    "LCADC": "HN",
}
"""Medicaid-style level-of-licensure modifiers; payers that require them deny without them."""
UNBUNDLING_MODIFIERS = ("59", "25")
"""Modifiers that mark 96127 as a distinct service beside psychotherapy."""
REPLACEMENT_FREQUENCIES = ("7", "8")
CRISIS, CRISIS_ADDON, COMPLEXITY, SCREENING = "90839", "90840", "90785", "96127"
SUD_SERVICE_CODES = ("H0015", "H0004", "H0005", "H0001", "H0010", "H0011")
SUD_DX = r"F1[0-9]"
UNSPECIFIED_DX = ("F32.9", "F32.A", "F41.9", "F39", "F99", "F43.9", "F43.20", "F31.9")
SUPPORTED_TIMED_CODES = (("none", "90832", "90834", "90837"), ("none", "90833", "90836", "90838"))
"""The psychotherapy code documented minutes support, by `timed_band`: alone, then with E/M."""
BANDED_CODES = frozenset(SUPPORTED_TIMED_CODES[0][1:] + SUPPORTED_TIMED_CODES[1][1:])
"""Codes whose band the minutes decide (crisis and family codes have bands of their own)."""


def timed_band(minutes: np.ndarray | float) -> np.ndarray | int:
    """Band of documented minutes: 0 under 16, 1 up to 37, 2 up to 52, 3 beyond (NaN: 0).

    Comparisons and addition only, so the batch path (arrays) and the row path
    (`features.online`, one float) share it.
    """
    return (minutes >= 16) * 1 + (minutes > 37) + (minutes > 52)


def _item(values: tuple[str, ...], group: str = "?:") -> str:
    """Regex for any of `values` as a whole item of a ';'-separated list cell."""
    return rf"\b({group}{'|'.join(values)})\b"


def member(values: pd.Series, allowed: frozenset[str]) -> np.ndarray:
    """Set membership by hashing each value: pandas' Arrow-string `isin` rebuilds the value set
    on every call, which costs milliseconds for the 98,000 ICD-10-CM codes even for one claim."""
    return np.fromiter((value in allowed for value in values.to_numpy(object)), bool, len(values))


def days(dates: pd.Series) -> np.ndarray:
    """Whole days since a fixed epoch: the time axis of every history feature."""
    return ((dates - EPOCH) // pd.Timedelta(days=1)).to_numpy(dtype="int64")


@cache
def procedure_facts() -> pd.DataFrame:
    """Family and time band per procedure code (read-only: it is cached)."""
    facts = pd.DataFrame.from_dict(behavioral_health_procedures(), orient="index")
    facts["min_minutes"] = pd.to_numeric(facts["min_minutes"], errors="coerce")
    facts["max_minutes"] = pd.to_numeric(facts["max_minutes"], errors="coerce")
    return facts


def _timed_band_for_minutes(minutes: pd.Series, addon: pd.Series) -> pd.Series:
    """The psychotherapy code the documented minutes support (what a coder would bill)."""
    band = timed_band(minutes.to_numpy(np.float64))
    supported = np.array(SUPPORTED_TIMED_CODES)[addon.to_numpy(bool).astype(np.intp), band]
    return pd.Series(supported, index=minutes.index).where(minutes.notna(), "unknown")


def line_summary(claim_lines: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: the primary line, the timed psychotherapy line, and line-set facts."""
    facts = procedure_facts()
    lines = claim_lines.sort_values(["claim_id", "line_number"], kind="stable")
    code = lines["procedure_code"]
    family = code.map(facts["family"]).fillna("other")
    modifiers = lines["modifiers"].fillna("")
    timed = family.str.startswith(("psychotherapy", "crisis")) & ~code.eq(CRISIS_ADDON)
    per_line = pd.DataFrame(
        {
            "claim_id": lines["claim_id"],
            "is_em": family.eq("em"),
            "is_psychotherapy_addon": family.eq("psychotherapy_addon"),
            "is_psychotherapy": family.isin(["psychotherapy", "psychotherapy_addon"]),
            "is_crisis": code.eq(CRISIS),
            "is_crisis_addon": code.eq(CRISIS_ADDON),
            "is_complexity": code.eq(COMPLEXITY),
            "is_evaluation": family.eq("evaluation"),
            "is_screening_unbundled": code.eq(SCREENING)
            & ~modifiers.str.contains(_item(UNBUNDLING_MODIFIERS)),
            "telehealth_modifier": modifiers.str.contains(_item(TELEHEALTH_MODIFIERS)),
            "credential_modifier": modifiers.str.extract(_item(CREDENTIAL_MODIFIERS, ""))[0],
            "units": lines["units"].astype("float64"),
            "charge": lines["line_charge"].astype("float64"),
            "timed": timed,
            "minutes": lines["minutes"].astype("float64"),
            "revenue": lines["revenue_code"].notna(),
        }
    )
    grouped = per_line.groupby("claim_id", sort=False)
    summary = grouped.agg(
        n_lines=("units", "size"),
        total_units=("units", "sum"),
        has_em=("is_em", "any"),
        has_psychotherapy_addon=("is_psychotherapy_addon", "any"),
        has_psychotherapy=("is_psychotherapy", "any"),
        has_crisis=("is_crisis", "any"),
        has_crisis_addon=("is_crisis_addon", "any"),
        has_complexity=("is_complexity", "any"),
        has_evaluation=("is_evaluation", "any"),
        screening_unbundled=("is_screening_unbundled", "any"),
        any_telehealth_modifier=("telehealth_modifier", "any"),
        credential_modifier=("credential_modifier", "first"),
        institutional=("revenue", "any"),
    )
    first = lines.groupby("claim_id", sort=False).head(1).set_index("claim_id")
    summary["code_1"] = first["procedure_code"]
    summary["modifiers_1"] = first["modifiers"].fillna("")
    summary["code_family_1"] = summary["code_1"].map(facts["family"]).fillna("other")
    timed_lines = lines[timed.to_numpy()].groupby("claim_id", sort=False).head(1)
    timed_lines = timed_lines.set_index("claim_id")
    summary["timed_code"] = timed_lines["procedure_code"].reindex(summary.index)
    summary["timed_minutes"] = timed_lines["minutes"].astype("float64").reindex(summary.index)
    return summary


def claim_features(claims: pd.DataFrame, claim_lines: pd.DataFrame) -> pd.DataFrame:
    """Claim-level features indexed by claim_id, in the order of `claims`."""
    facts = procedure_facts()
    lines = line_summary(claim_lines).reindex(claims["claim_id"])
    c = claims.set_index("claim_id")
    out = pd.DataFrame(index=c.index)
    for column in ("payer_id", "plan_type", "network_status", "provider_credential", "program"):
        out[column] = c[column]
    out["place_of_service"] = c["place_of_service"]
    out["code_1"] = lines["code_1"]
    out["code_family_1"] = lines["code_family_1"].fillna("none")
    out["modifier_pattern"] = lines["modifiers_1"].fillna("")
    out["n_lines"] = lines["n_lines"].fillna(0).astype("float64")
    out["total_units"] = lines["total_units"].fillna(0.0)
    out["total_charge"] = c["total_charge"].astype("float64")
    out["charge_per_unit"] = out["total_charge"] / out["total_units"].where(out["total_units"] > 0)
    out["institutional"] = lines["institutional"].fillna(False).astype("float64")
    out["replacement_claim"] = c["frequency_code"].isin(REPLACEMENT_FREQUENCIES).astype("float64")

    service = days(c["service_date"])
    submission = days(c["submission_date"])
    out["days_to_submit"] = (submission - service).astype("float64")
    out["service_month"] = c["service_date"].dt.month.astype("float64")
    out["service_weekday"] = c["service_date"].dt.day_of_week.astype("float64")

    timed_code = lines["timed_code"]
    minutes = pd.Series(
        lines["timed_minutes"].to_numpy(dtype="float64", na_value=np.nan), index=lines.index
    )
    with_em = lines["has_em"].fillna(False)
    low = timed_code.map(facts["min_minutes"]).astype("float64")
    high = timed_code.map(facts["max_minutes"]).astype("float64")
    high = high.where(~lines["has_crisis_addon"].fillna(False).astype(bool))
    out["timed_psychotherapy"] = timed_code.notna().astype("float64")
    out["timed_minutes"] = minutes
    out["timed_minutes_missing"] = (timed_code.notna() & minutes.isna()).astype("float64")
    out["minutes_below_band"] = (low - minutes).clip(lower=0).where(timed_code.notna())
    out["minutes_above_band"] = (minutes - high).clip(lower=0).where(timed_code.notna())
    out["time_code_mismatch"] = (
        (out["minutes_below_band"] > 0) | (out["minutes_above_band"] > 0)
    ).astype("float64")
    out["supported_timed_code"] = _timed_band_for_minutes(minutes, with_em).where(
        timed_code.notna() & timed_code.isin(BANDED_CODES), "not_applicable"
    )

    telehealth = c["place_of_service"].isin(TELEHEALTH_POS)
    out["telehealth_pos"] = telehealth.astype("float64")
    has_tele_modifier = lines["any_telehealth_modifier"].fillna(False)
    out["telehealth_modifier_missing"] = (telehealth & ~has_tele_modifier).astype("float64")
    out["telehealth_modifier_off_pos"] = (~telehealth & has_tele_modifier).astype("float64")
    expected = c["provider_credential"].map(EXPECTED_CREDENTIAL_MODIFIER)
    out["credential_modifier_expected"] = expected.notna().astype("float64")
    out["credential_modifier_missing"] = (
        expected.notna() & lines["credential_modifier"].isna()
    ).astype("float64")
    out["credential_modifier_wrong"] = (
        expected.notna()
        & lines["credential_modifier"].notna()
        & (lines["credential_modifier"] != expected)
    ).astype("float64")

    out["addon_without_em"] = (lines["has_psychotherapy_addon"].fillna(False) & ~with_em).astype(
        "float64"
    )
    out["crisis_with_complexity"] = (
        lines["has_crisis"].fillna(False) & lines["has_complexity"].fillna(False)
    ).astype("float64")
    out["crisis_addon_without_crisis"] = (
        lines["has_crisis_addon"].fillna(False) & ~lines["has_crisis"].fillna(False)
    ).astype("float64")
    out["evaluation_with_crisis"] = (
        lines["has_evaluation"].fillna(False) & lines["has_crisis"].fillna(False)
    ).astype("float64")
    out["screening_unbundled"] = (
        lines["screening_unbundled"].fillna(False) & lines["has_psychotherapy"].fillna(False)
    ).astype("float64")

    out["prior_auth_present"] = c["prior_auth_id"].notna().astype("float64")
    dx = c["primary_dx"]
    out["dx_category"] = dx.str.slice(0, 3)
    out["dx_chapter"] = dx.str.slice(0, 1)
    out["dx_billable"] = member(dx, icd10cm_billable()).astype("float64")
    out["dx_unspecified"] = dx.isin(UNSPECIFIED_DX).astype("float64")
    out["dx_substance_use"] = dx.str.match(SUD_DX).astype("float64")
    out["dx_z_code"] = dx.str.startswith("Z").astype("float64")
    secondary = c["secondary_dx"].fillna("")
    out["n_secondary_dx"] = secondary.str.count(";").astype("float64") + secondary.ne("").astype(
        "float64"
    )
    sud_service = out["code_1"].isin(SUD_SERVICE_CODES)
    out["sud_service_without_sud_dx"] = (sud_service & out["dx_substance_use"].eq(0)).astype(
        "float64"
    )
    return out
