"""Runtime settings in one typed place, read from the environment (prefix `DENIALOPS_`).

Later stages add their settings here (MLflow store, queue database, API keys,
risk bands) so that every command and the service read the same values.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DENIALOPS_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data/demo"), description="Default data directory for demo runs.")
    demo_claims: int = Field(20_000, ge=1, description="Claims `make demo` generates.")
    demo_seed: int = Field(7, description="Seed `make demo` uses, so demo runs repeat exactly.")
    log_level: str = Field("WARNING", description="Python logging level for library code.")


@cache
def get_settings() -> Settings:
    return Settings()
