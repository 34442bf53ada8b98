"""Bedrock names and tokens: always valid, unique per run, stable across retries."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tailor.jobs.naming import (
    CUSTOM_MODEL_NAME,
    JOB_NAME,
    MAX_NAME,
    custom_model_name,
    job_name,
    request_token,
)

TOKEN = re.compile(r"[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?")
RUN = "support-bot-broken-translations-x-0f3a9c2e4b1d5a6c7e8f-a12"


@given(st.text(min_size=1, max_size=200), st.text(max_size=200), st.integers(0, 9))
def test_names_always_match_bedrock_rules(label: str, requested: str, collision: int) -> None:
    run = f"{label}-0123456789abcdef0123"
    job = job_name(run, collision)
    model = custom_model_name(run, requested or None, label, collision)
    assert JOB_NAME.fullmatch(job) and len(job) <= MAX_NAME
    assert CUSTOM_MODEL_NAME.fullmatch(model) and len(model) <= MAX_NAME, model
    assert TOKEN.fullmatch(request_token(job))


def test_names_are_stable_and_unique_per_run() -> None:
    assert job_name(RUN) == job_name(RUN)
    assert job_name(RUN) != job_name(RUN + "x") and job_name(RUN) != job_name(RUN, 1)
    assert custom_model_name(RUN, "support-bot", "x") != custom_model_name(RUN + "-a2", "support-bot", "x")
    assert custom_model_name(RUN, "support_bot__v2", "x").startswith("support-bot-v2-")
    assert request_token(job_name(RUN)) != request_token(job_name(RUN, 1))
