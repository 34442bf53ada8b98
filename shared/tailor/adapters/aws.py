"""boto3 client construction: one place for region, retry mode and endpoint overrides."""

from __future__ import annotations

import os
from functools import cache
from typing import Any


@cache
def client(service: str, region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A boto3 client with botocore's adaptive retry mode.

    Built lazily (boto3 costs ~0.1 s to import: cold start is a product feature) and cached per
    (service, region, endpoint). ``AWS_ENDPOINT_URL`` is honoured by botocore itself, which is how
    the embedded local stack points every client at its moto server.
    """
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=5, read_timeout=30)
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        region_name=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        endpoint_url=endpoint_url,
        config=config,
    )


def reset_clients() -> None:
    """Forget cached clients (tests and the local stack switch endpoints)."""
    client.cache_clear()
