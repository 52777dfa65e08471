"""How the champion did: realized metrics on adjudicated claims, by week and by payer, its
calibration, what it caught per denial category, how often its top fix named the denial
that came, and a label-free estimate for the claims still pending.

Realized metrics use the same definitions as training's test metrics
(`model_bundle.metrics`), so a monitored week reads like the test period the model was
promoted on. A group with one class only has no ROC-AUC (missing, not 0 or 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binom
from sklearn.metrics import brier_score_loss, roc_auc_score

from model_bundle.metrics import expected_calibration_error
from monitoring.cbpe import estimated_brier, estimated_denial_rate, estimated_roc_auc

RELIABILITY_BINS = 10
CHALLENGE = ("claims", "roc_auc", "brier", "ece", "mean_prediction", "mean_abs_difference")
"""What `champion_versus_challenger` says of each model."""
JUDGED = (
    "claims",
    "denied",
    "denial_rate",
    "mean_prediction",
    "gap",
    "p_value",
    "roc_auc",
    "brier",
    "ece",
)


def realized(adjudicated: pd.DataFrame, by: str | list[str] | None = None) -> pd.DataFrame:
    """Per group of `by` (a column or columns; none: one row, segment `all`): claims,
    denied, denial_rate (observed), mean_prediction, gap (observed - predicted), p_value
    (`chance_of_gap`), roc_auc, brier, ece."""
    keys = [by] if isinstance(by, str) else list(by or ["segment"])
    groups = adjudicated.groupby(keys, observed=True, sort=True) if by else [("all", adjudicated)]
    rows = []
    for name, part in groups:
        y = part["denied"].to_numpy(float)
        p = part["p_denial"].to_numpy(float)
        named = name if isinstance(name, tuple) else (name,)
        rows.append({**dict(zip(keys, named, strict=True)), **_judged(y, p)})
    return pd.DataFrame(rows, columns=[*keys, *JUDGED])


def chance_of_gap(denied: int, claims: int, predicted: float) -> float:
    """How likely a count of denials at least as far from the predicted `predicted x claims`
    as `denied` is (two-sided), if the scores are right. The count of a claim mix is a sum
    of unequal Bernoullis, whose tails are thinner than the binomial's at their mean rate
    (Hoeffding, 1956), so the binomial errs towards calling a gap chance: an alert on it is
    not a false alarm more often than it says."""
    if claims == 0:
        return np.nan
    upper = binom.sf(denied - 1, claims, predicted)
    lower = binom.cdf(denied, claims, predicted)
    return float(min(1.0, 2 * min(upper, lower)))


def _judged(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    both = 0 < y.sum() < len(y)
    gap = float(y.mean() - p.mean()) if len(y) else np.nan
    return {
        "claims": len(y),
        "denied": int(y.sum()),
        "denial_rate": float(y.mean()) if len(y) else np.nan,
        "mean_prediction": float(p.mean()) if len(y) else np.nan,
        "gap": gap,
        "p_value": chance_of_gap(int(y.sum()), len(y), float(p.mean())) if len(y) else np.nan,
        "roc_auc": float(roc_auc_score(y, p)) if both else np.nan,
        "brier": float(brier_score_loss(y, p)) if len(y) else np.nan,
        "ece": expected_calibration_error(y, p) if len(y) else np.nan,
    }


def reliability(adjudicated: pd.DataFrame, bins: int = RELIABILITY_BINS) -> pd.DataFrame:
    """The reliability curve: per equal-width bin of P(denial), claims, mean prediction and
    observed denial rate (a calibrated model's points lie on the diagonal)."""
    p = adjudicated["p_denial"].to_numpy(float)
    which = np.minimum((p * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"bin": which, "p": p, "y": adjudicated["denied"].to_numpy(float)})
    table = frame.groupby("bin").agg(
        claims=("p", "size"), mean_prediction=("p", "mean"), denial_rate=("y", "mean")
    )
    table.index = [f"{b / bins:.1f}–{(b + 1) / bins:.1f}" for b in table.index]
    return table.rename_axis("p_denial").reset_index()


def by_category(adjudicated: pd.DataFrame, review_threshold: float) -> pd.DataFrame:
    """Per realized denial category: denied claims, their share of adjudicated claims, how
    risky the model thought them (mean P(denial)) and the share it flagged for review."""
    denied = adjudicated[adjudicated["category"].notna()]
    table = denied.groupby("category", observed=True)["p_denial"].agg(
        denied_claims="size",
        mean_prediction="mean",
        flagged=lambda p: float((p >= review_threshold).mean()),
    )
    table.insert(1, "share_of_adjudicated", table["denied_claims"] / max(len(adjudicated), 1))
    return table.sort_values("denied_claims", ascending=False).reset_index()


def top_fix_precision(adjudicated: pd.DataFrame) -> pd.DataFrame:
    """Per top fix given (kept scores that named one): claims, how many were denied, and
    the precision: the share denied for the very category the fix addresses (a fix's code
    is its denial category, serving/fix_rules.csv)."""
    fixed = adjudicated[adjudicated["top_fix"].notna()]
    hit = (fixed["category"] == fixed["top_fix"]).fillna(False)
    table = pd.DataFrame(
        {"top_fix": fixed["top_fix"], "denied": fixed["denied"].astype(float), "hit": hit}
    )
    out = table.groupby("top_fix", observed=True).agg(
        claims=("hit", "size"), denied=("denied", "sum"), precision=("hit", "mean")
    )
    total = pd.DataFrame(
        {"claims": [len(table)], "denied": [table["denied"].sum()], "precision": [hit.mean()]},
        index=pd.Index(["all"], name="top_fix"),
    )
    return pd.concat([out.sort_values("claims", ascending=False), total]).reset_index()


def estimated(pending: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """The label-free estimate (CBPE) for pending claims, per group of `by` (or `all`):
    claims, estimated denial rate, ROC-AUC and Brier, which hold if the scores are
    calibrated on these claims."""
    groups = pending.groupby(by, observed=True, sort=True) if by else [("all", pending)]
    rows = []
    for name, part in groups:
        p = part["p_denial"].to_numpy(float)
        rows.append(
            {
                by or "segment": name,
                "claims": len(p),
                "estimated_denial_rate": estimated_denial_rate(p) if len(p) else np.nan,
                "estimated_roc_auc": estimated_roc_auc(p) if len(p) else np.nan,
                "estimated_brier": estimated_brier(p) if len(p) else np.nan,
            }
        )
    columns = [by or "segment", "claims", "estimated_denial_rate", "estimated_roc_auc"]
    return pd.DataFrame(rows, columns=[*columns, "estimated_brier"])


def champion_versus_challenger(adjudicated: pd.DataFrame) -> pd.DataFrame:
    """The champion and the shadow challenger on the adjudicated claims both scored: per
    model (its version), claims, ROC-AUC, Brier, ECE and mean prediction, and how far apart
    their scores were (mean |difference|). Empty when no claim had a shadow score."""
    both = adjudicated[adjudicated["shadow_p_denial"].notna()]
    if both.empty:
        return pd.DataFrame(columns=["model", "version", *CHALLENGE])
    y = both["denied"].to_numpy(float)
    apart = float(np.abs(both["p_denial"] - both["shadow_p_denial"]).mean())
    rows = []
    for model, score, version in (
        ("champion", "p_denial", "model_version"),
        ("challenger", "shadow_p_denial", "shadow_version"),
    ):
        judged = _judged(y, both[score].to_numpy(float))
        rows.append(
            {
                "model": model,
                "version": ", ".join(sorted(both[version].dropna().astype(str).unique())),
                **{name: judged[name] for name in CHALLENGE if name in judged},
                "mean_abs_difference": apart,
            }
        )
    return pd.DataFrame(rows, columns=["model", "version", *CHALLENGE])
