"""Settings read from the environment at invocation time (names in docs/CONTRACTS.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class MissingSettingError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Settings:
    bus_name: str
    data_bucket: str
    artifacts_bucket: str
    runs_table: str
    idempotency_table: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def need(name: str) -> str:
            value = env.get(name)
            if not value:
                raise MissingSettingError(f"environment variable {name} is not set (template.yaml sets it)")
            return value

        return cls(
            bus_name=need("TAILOR_BUS_NAME"),
            data_bucket=need("DATA_BUCKET"),
            artifacts_bucket=need("ARTIFACTS_BUCKET"),
            runs_table=need("RUNS_TABLE"),
            idempotency_table=env.get("IDEMPOTENCY_TABLE") or None,
        )
