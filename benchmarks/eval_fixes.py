"""Do the fix suggestions name the real problem? Top fix_code against truth.csv's category.

Run: `.venv/bin/python benchmarks/eval_fixes.py [--claims 200000] [--seed 1]`.
Trains the denial model on synthetic data (throwaway MLflow store), scores the
test-period claims with the serving scorer, and among those truly denied for a
fixable reason (every category but `other`) counts how often the top suggestion's
fix_code is the true category — overall and per category. Only this script reads
truth.csv.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import mlflow
import pandas as pd
from _machine import describe_machine
from _synthetic import synthetic_store

from features.pipeline import build_features
from serving.scorer import Scorer
from settings import Settings
from training.train import train_denial_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(describe_machine())
    settings = Settings()
    with tempfile.TemporaryDirectory() as folder:
        data, truth, _ = synthetic_store(args.claims, args.seed, Path(folder))
        result = train_denial_model(data, settings)
        model = mlflow.pyfunc.load_model("models:/denial-risk@champion").unwrap_python_model()
    test = result.test_claims
    denied = truth.loc[test]
    denied = denied[denied["denied"] & (denied["denial_category"] != "other")]
    features = build_features(data).loc[denied.index]

    def top_fixes(min_push: float) -> pd.DataFrame:
        scorer = Scorer(
            model.bundle,
            "eval",
            settings.review_threshold,
            settings.hold_threshold,
            settings.drivers_per_claim,
            min_push,
        )
        results = scorer.score_features(features, data.claims, data.claim_lines)
        top = pd.Series({r.claim_id: (r.fixes[0].fix_code if r.fixes else "") for r in results})
        frame = denied.assign(top=top.reindex(denied.index).fillna(""))
        return frame.assign(match=frame["top"] == frame["denial_category"])

    for min_push in sorted({0.0, 0.05, 0.2, 0.4, settings.fix_min_push}):
        share = top_fixes(min_push)["match"].mean()
        print(f"fix_min_push {min_push}: top fix_code = true category {share:.1%}")
    frame = top_fixes(settings.fix_min_push)
    by_category = frame.groupby("denial_category").agg(
        denied=("match", "size"),
        top_fix_matches=("match", "mean"),
        no_fix=("top", lambda t: float((t == "").mean())),
    )
    print(
        f"{args.claims:,} claims (seed {args.seed}); {len(frame):,} test-period claims "
        "denied for a fixable reason"
    )
    print(
        f"top fix_code = true category at the setting ({settings.fix_min_push}): "
        f"{frame['match'].mean():.1%}"
    )
    print(
        by_category.sort_values("denied", ascending=False).to_string(float_format="{:.3f}".format)
    )
    misses = frame[~frame["match"]]
    confusion = pd.crosstab(misses["denial_category"], misses["top"].replace("", "(none)"))
    print("\nmisses: true category (rows) against the top suggestion (columns)")
    print(confusion.to_string())


if __name__ == "__main__":
    main()
