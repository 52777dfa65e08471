"""Features from the reference tables, authorizations and eligibility, as they stand.

The contract lets these be used as they are on file (payers and clinics update
them in place), unlike claims, remits and appeals, which are point in time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_contracts.denials import split_list
from features.claim_level import days

OPEN_ENDED = np.iinfo(np.int64).max


def _differs(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise inequality of two string columns, a missing value being ''."""
    return (a.fillna("").to_numpy(object) != b.fillna("").to_numpy(object)).astype(bool)


def _any_by_row(rows: np.ndarray, flags: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(rows[flags], minlength=n) > 0


def authorization_days(authorizations: pd.DataFrame) -> pd.DataFrame:
    """Authorizations with their window as days since EPOCH (`start_day`, `end_day`)."""
    return authorizations.assign(
        start_day=days(authorizations["start_date"]), end_day=days(authorizations["end_date"])
    )


def coverage_spans(eligibility: pd.DataFrame) -> pd.DataFrame:
    """Eligibility rows as day spans; open-ended coverage ends at `OPEN_ENDED`."""
    end = eligibility["coverage_end"]
    return eligibility.assign(
        start_day=days(eligibility["coverage_start"]),
        end_day=np.where(end.isna(), OPEN_ENDED, days(end.fillna(eligibility["coverage_start"]))),
    )


def authorization_features(base: pd.DataFrame, authorizations: pd.DataFrame) -> pd.DataFrame:
    """The authorization the claim names (on file, in window, right payer and code), and
    whether an active one exists for a claim that names none."""
    n = len(base)
    auths = authorization_days(authorizations)
    named = base[["prior_auth_id"]].merge(
        auths.drop_duplicates("auth_id"),
        left_on="prior_auth_id",
        right_on="auth_id",
        how="left",
    )
    service = base["service_day"].to_numpy()
    has_auth = base["has_prior_auth"].to_numpy()
    on_file = has_auth & named["auth_id"].notna().to_numpy()
    codes = named["procedure_codes"].fillna("").map(split_list)
    covers_code = np.array(
        [not listed or code in listed for code, listed in zip(base["code_1"], codes, strict=True)],
        dtype=bool,
    )
    out = pd.DataFrame(index=base.index)
    out["auth_on_file"] = on_file.astype("float64")
    out["auth_unknown_number"] = (has_auth & ~on_file).astype("float64")
    out["auth_units_approved"] = named["units_approved"].astype("float64").to_numpy()
    out["auth_days_left"] = np.where(on_file, named["end_day"].to_numpy() - service, np.nan)
    out["auth_not_started"] = (on_file & (service < named["start_day"].to_numpy())).astype(
        "float64"
    )
    wrong_payer = on_file & _differs(named["payer_id"], base["payer_id"])
    out["auth_payer_mismatch"] = wrong_payer.astype("float64")
    wrong_program = on_file & named["program"].notna().to_numpy()
    wrong_program &= _differs(named["program"], base["program"])
    out["auth_program_mismatch"] = wrong_program.astype("float64")
    out["auth_code_not_covered"] = (on_file & ~covers_code).astype("float64")

    pairs = base[["patient_id", "payer_id"]].assign(row=np.arange(n), service=service)
    candidates = pairs.merge(auths, on=["patient_id", "payer_id"], how="inner")
    active = (candidates["start_day"] <= candidates["service"]) & (
        candidates["service"] <= candidates["end_day"]
    )
    out["active_auth_on_file"] = _any_by_row(
        candidates["row"].to_numpy(), active.to_numpy(), n
    ).astype("float64")
    return out


def eligibility_features(base: pd.DataFrame, eligibility: pd.DataFrame) -> pd.DataFrame:
    """Coverage on the date of service with this payer, with another payer, or ended before."""
    n = len(base)
    spans = coverage_spans(eligibility)
    claims = base[["patient_id", "payer_id"]].assign(row=np.arange(n), service=base["service_day"])
    same = claims.merge(spans, on=["patient_id", "payer_id"], how="inner")
    rows, service = same["row"].to_numpy(), same["service"].to_numpy()
    covering = (same["start_day"].to_numpy() <= service) & (service <= same["end_day"].to_numpy())
    ended = same["end_day"].to_numpy() < service
    out = pd.DataFrame(index=base.index)
    out["eligibility_on_file"] = _any_by_row(rows, np.ones(len(rows), bool), n).astype("float64")
    out["covered_on_service_date"] = _any_by_row(rows, covering, n).astype("float64")
    last_end = pd.Series(np.where(ended, same["end_day"].to_numpy(), np.nan)).groupby(rows).max()
    out["days_since_coverage_end"] = (
        base["service_day"].to_numpy() - last_end.reindex(np.arange(n)).to_numpy()
    )
    others = claims.merge(
        spans.rename(columns={"payer_id": "other_payer"}), on="patient_id", how="inner"
    )
    other_rows, other_service = others["row"].to_numpy(), others["service"].to_numpy()
    other_covering = _differs(others["other_payer"], others["payer_id"]) & (
        (others["start_day"].to_numpy() <= other_service)
        & (other_service <= others["end_day"].to_numpy())
    )
    out["other_payer_covered"] = _any_by_row(other_rows, other_covering, n).astype("float64")
    return out
