"""A synthetic data set and a throwaway MLflow store for the benchmarks that train a model."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd

from data_contracts.reader import ContractData, read_data_dir
from synthetic import generate, write_synthetic


def synthetic_store(
    claims: int, seed: int, folder: Path
) -> tuple[ContractData, pd.DataFrame, float]:
    """Write `claims` synthetic claims under `folder` and read them back through the contract;
    point MLflow at a store in `folder`. Returns the data, truth.csv (evaluation only) and
    the seconds the read took."""
    data_dir = folder / "data"
    write_synthetic(generate(claims, seed), data_dir, "parquet")
    truth = pd.read_csv(data_dir / "truth.csv").set_index("claim_id")
    started = time.perf_counter()
    data = read_data_dir(data_dir)
    read_seconds = time.perf_counter() - started
    os.chdir(folder)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder / 'mlflow.db'}"
    return data, truth, read_seconds
