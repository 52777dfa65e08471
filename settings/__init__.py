"""Runtime settings in one typed place, read from the environment (prefix `DENIALOPS_`).

Every command and the service read the same values; a `.env` file in the
working directory is read too. MLflow's own `MLFLOW_TRACKING_URI` wins over
`tracking_uri` when set, as the contract says.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class LightGBMParams(BaseModel):
    """Defaults for the denial model; `denialops tune` finds better ones per data set."""

    learning_rate: float = 0.1
    num_leaves: int = 31
    max_depth: int = 6
    min_data_in_leaf: int = 50
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    bagging_freq: int = 1
    lambda_l2: float = 1.0
    max_bin: int = 255


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DENIALOPS_", env_file=".env", env_nested_delimiter="__", extra="ignore"
    )

    log_level: str = Field("WARNING", description="Python logging level for library code.")

    tracking_uri: str = Field(
        "sqlite:///mlflow.db", description="MLflow store when MLFLOW_TRACKING_URI is unset."
    )
    experiment: str = "denialops"
    denial_model_name: str = "denial-risk"
    recovery_model_name: str = "denial-recovery"

    quarantine_ceiling: float = Field(
        0.01,
        ge=0,
        le=1,
        description="With --on-bad-rows quarantine: the share of a table's rows that may break "
        "the contract and be set aside in DIR/quarantine; above it the load fails, because a "
        "wrong file must not silently become a small one.",
    )

    validation_fraction: float = Field(0.15, gt=0, lt=0.5)
    test_fraction: float = Field(0.15, gt=0, lt=0.5)
    lightgbm: LightGBMParams = LightGBMParams()
    max_boost_rounds: int = 2000
    early_stopping_rounds: int = 50
    threads: int = Field(2, ge=1, description="LightGBM threads in training.")
    calibration_min_rows_isotonic: int = 1000
    shap_sample_rows: int = 2000
    seed: int = 7

    dask_scheduler: str | None = Field(
        None,
        description="The Dask scheduler `--engine dask` runs on (tcp://host:8786, or any address "
        "a dask.distributed Client takes). Unset: a LocalCluster on this machine, one "
        "single-threaded worker per core sharing the memory (`dask_workers` to change).",
    )
    dask_workers: int | None = Field(
        None, ge=1, description="Workers of the LocalCluster (unset: one per core)."
    )
    dask_driver_memory_share: float = Field(
        0.25,
        ge=0,
        lt=1,
        description="Share of this machine's memory a LocalCluster leaves to the command that "
        "started it (the driver holds the serving state and the time split while training); "
        "the workers split the rest, so they spill to disk before the machine runs out.",
    )
    dask_partitions: int | None = Field(
        None,
        ge=1,
        description="Partitions the Dask engine splits claims into by patient (unset: one per "
        "250,000 claims, and at least two per worker), so one task's working set stays a "
        "fraction of a worker's memory.",
    )

    model_uri: str = Field(
        "models:/denial-risk@champion", description="The registered model the service scores with."
    )
    recovery_model_uri: str = Field(
        "models:/denial-recovery@champion", description="The model the work queue ranks with."
    )
    shadow_sample: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of score requests also scored by the challenger (the registered "
        "model's `challenger` alias, when it has one), off the request path, and kept in the "
        "scoring audit as `shadow`; the answer is always the champion's. 0: no shadow scoring.",
    )
    shadow_queue_size: int = Field(
        16,
        ge=1,
        description="Sampled requests waiting for the challenger at most; more are dropped (and "
        "counted in /metrics) rather than held: a slow challenger must not grow the service.",
    )
    policy_path: Path = Field(
        Path("denialops_policy.yaml"),
        description="The policy file of earlier versions: imported once as the starting version "
        "while the database holds no policy (policies are saved in the database).",
    )
    queue_data_dir: Path | None = Field(
        None, description="The clinic's contract data directory the queue is ranked from."
    )
    letter_templates_dir: Path | None = Field(
        None,
        description="RevOps' own appeal letter templates: a file here wins over the bundled "
        "one of the same name, and a file in its subfolder named for a tenant wins for that "
        "tenant's letters (queues/letter_templates/README.md lists files and variables).",
    )
    api_keys: str = Field(
        "",
        description="Bootstrap API keys, comma-separated key:role pairs (DENIALOPS_API_KEYS).",
        repr=False,
    )
    key_store: Path = Field(
        Path("denialops_keys.json"),
        description="The JSON key store of earlier versions: its keys are imported into the "
        "database (api_keys) when it is opened; delete the file once imported.",
    )
    key_cache_seconds: float = Field(
        2.0,
        gt=0,
        description="How long the service trusts its copy of the API keys: a key added or "
        "revoked with `denialops keys` takes effect within this time.",
    )
    key_last_used_seconds: float = Field(
        60.0,
        gt=0,
        description="How often at most a key's last-used time is written to the database.",
    )
    max_body_bytes: int = Field(
        2**20,
        gt=0,
        description="Largest request body the service reads (413 above), unless the route has "
        "its own limit in max_body_routes.",
    )
    max_body_routes: dict[str, int] = Field(
        {"POST /v1/claims/score": 2 * 2**20, "POST /check": 16 * 2**20},
        description='Per-route body limits by "METHOD /path". Scoring: a 1,000-claim request '
        "(the most one takes) of synthetic claims measured 0.66 MB; 2 MiB leaves room for about "
        "12 lines a claim. The pre-submission check page: two CSVs of a day's batch, about "
        "40,000 claims at 16 MiB.",
    )
    database_url: str = Field(
        "sqlite:///denialops.db",
        description="The service's database: work queue, audit trails, policy versions and API "
        "keys (SQLite file, or postgresql+psycopg://).",
    )
    lease_seconds: int = Field(
        900,
        gt=0,
        description="How long a biller holds a queue item before others may take it over.",
    )
    max_leases_per_biller: int = Field(
        3,
        ge=1,
        description="Live queue leases one biller may hold at once, so no key can take the "
        "whole queue; `next` refuses beyond it.",
    )
    queue_pool_size: int = Field(
        20,
        ge=1,
        description="Database connections the work queue keeps: one per concurrent biller request.",
    )
    queue_busy_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="SQLite only: how long a queue write waits for another process's write lock.",
    )
    # Sign-in (accounts/throttle.py, accounts/sessions.py).
    login_free_failures: int = Field(
        3,
        ge=0,
        description="Failed sign-ins of one username (or from one address) answered without "
        "delay: a person mistyping a few times is not slowed down.",
    )
    login_delay_base_seconds: float = Field(
        1.0,
        gt=0,
        description="The wait after the first failure beyond the free ones; it doubles with "
        "each further failure (1, 2, 4, 8 ... s), so guessing gets slow fast.",
    )
    login_delay_max_seconds: float = Field(
        60.0, gt=0, description="The longest wait between two sign-in attempts."
    )
    login_lock_failures: int = Field(
        10,
        ge=1,
        description="Failures of one username in one series that lock it for "
        "login_lock_minutes, whatever the password tried next.",
    )
    login_address_free_failures: int = Field(
        10,
        ge=0,
        description="As login_free_failures, per client address: higher, because an office "
        "signs in from one address.",
    )
    login_address_lock_failures: int = Field(
        100,
        ge=1,
        description="Failures from one client address in one series that lock that "
        "address out, so one machine cannot try many usernames.",
    )
    login_window_minutes: float = Field(
        15.0,
        gt=0,
        description="A series of failures (what the delays and the lock count) ends after "
        "this long without a failure.",
    )
    login_lock_minutes: float = Field(15.0, gt=0, description="How long a lock lasts.")
    session_idle_minutes: float = Field(
        30.0, gt=0, description="A browser session ends after this long without a request."
    )
    throttle_purge_seconds: float = Field(
        3600.0,
        gt=0,
        description="How often the service forgets failed-sign-in counters that no longer "
        "affect any answer (accounts.throttle.LoginThrottle.purge).",
    )
    session_touch_seconds: float = Field(
        60.0,
        ge=0,
        description="A request writes its session's last_seen_at only when the stored one is "
        "at least this old (one write a minute, not one per request): idle expiry counts from "
        "the stored value, so a session may end up to this long early, never late.",
    )
    session_absolute_hours: float = Field(
        12.0,
        gt=0,
        description="A browser session ends this long after sign-in, however active.",
    )
    session_cookie_secure: bool = Field(
        True,
        description="Send the session cookie over HTTPS only (Secure). Set false only for "
        "a demo on http://localhost: a browser drops a Secure cookie sent over plain http.",
    )
    session_secret: SecretStr = Field(
        SecretStr(""),
        description="Server secret the CSRF tokens of browser sessions are signed with "
        "(DENIALOPS_SESSION_SECRET, at least 32 characters, e.g. from "
        "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`); every process of "
        "one service must share it. Required once sign-in is used; never a default.",
    )

    review_threshold: float = Field(0.15, gt=0, lt=1, description="p_denial from which: review.")
    hold_threshold: float = Field(0.5, gt=0, lt=1, description="p_denial from which: hold.")
    drivers_per_claim: int = Field(5, ge=1)
    fix_min_push: float = Field(
        0.1,
        ge=0,
        description="Log-odds a model fix rule's features must add to a claim's risk to be "
        "suggested (edits are suggested whenever they apply).",
    )
    monitor_weeks: int = Field(
        12, ge=1, description="Weeks of submissions `denialops monitor` reports on by default."
    )
    monitor_alert_weeks: int = Field(
        4,
        ge=1,
        description="The latest weeks of submissions the alerts judge: short enough that a "
        "change shows within a month, long enough to hold a few hundred claims.",
    )
    monitor_min_claims: int = Field(
        200,
        ge=1,
        description="Fewest claims the latest weeks need before drift or whole-book "
        "performance alerts may fire.",
    )
    monitor_min_segment_claims: int = Field(
        20,
        ge=1,
        description="Fewest adjudicated claims a payer (or payer and code) needs in the latest "
        "weeks before its denial-rate gap may alert.",
    )
    monitor_psi: float = Field(
        0.2,
        gt=0,
        description="Feature or prediction PSI from which drift alerts: the credit-scoring "
        "reading, under 0.1 stable, 0.1 to 0.2 a moderate shift, 0.2 and over a significant one.",
    )
    monitor_rate_gap: float = Field(
        0.05,
        gt=0,
        description="Observed minus predicted denial rate of a segment from which an alert "
        "fires, when the gap is also unlikely by chance (`monitor_alpha`).",
    )
    monitor_alpha: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="Chance of any denial-rate alert firing on a run where every score is "
        "right: each segment is tested at this over the number of segments judged.",
    )
    monitor_min_roc_auc: float = Field(
        0.70, gt=0, lt=1, description="Realized or estimated ROC-AUC under which an alert fires."
    )
    monitor_max_ece: float = Field(
        0.05, gt=0, lt=1, description="Expected calibration error over which an alert fires."
    )

    def resolved_tracking_uri(self) -> str:
        return os.environ.get("MLFLOW_TRACKING_URI") or self.tracking_uri


@cache
def get_settings() -> Settings:
    return Settings()
