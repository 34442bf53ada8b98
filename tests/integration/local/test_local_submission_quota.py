"""A full customization quota, played by the local stack with the real template and handlers: the
second validated run is held on SubmitQueue (the handler's growing hold, scaled), nothing is
dead-lettered, and it is submitted once a slot frees up — one job per run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tailor.local import LocalStack
from tailor.local.demo import good_dataset, job_spec

pytestmark = pytest.mark.integration

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"

if not (TEMPLATE.parent / "services" / "submission" / "app.py").exists():  # pragma: no cover
    pytest.skip("the submission service is not there yet", allow_module_level=True)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(
        TEMPLATE, stack_name="tailor-quota", parameter_values={"CustomizationJobQuota": 1}, time_scale=0.001
    ) as running:
        yield running


def _jobs(stack: LocalStack) -> list[dict[str, Any]]:
    pages = stack.client("bedrock").get_paginator("list_model_customization_jobs").paginate()
    return [job for page in pages for job in page["modelCustomizationJobSummaries"]]


def test_a_full_quota_holds_the_run_until_a_slot_frees(stack: LocalStack) -> None:
    for name in ("quota-first", "quota-second"):
        stack.upload(f"datasets/{name}/train.jsonl", good_dataset())
        stack.upload(f"datasets/{name}/job.json", job_spec())
    deadline = time.monotonic() + 20
    while stack.dispatcher.holds_seen < 3 and time.monotonic() < deadline:
        stack.dispatcher.poll_once()
        time.sleep(0.01)
    assert stack.dispatcher.holds_seen >= 3  # held again and again, never failed or dead-lettered
    (running,) = _jobs(stack)
    assert running["status"] == "InProgress"
    assert stack.dlq_messages("SubmissionFunction") == []

    stack.client("bedrock").stop_model_customization_job(jobIdentifier=running["jobArn"])
    summary = stack.run_until_idle(timeout=20)

    assert summary.errors == []
    assert stack.dlq_messages("SubmissionFunction") == []
    jobs = _jobs(stack)
    assert sorted(j["status"] for j in jobs) == ["InProgress", "Stopped"]
    submitted = [e for e in stack.published_events(history=True) if e["detail-type"] == "JobSubmitted"]
    assert sorted(e["detail"]["data"]["jobArn"] for e in submitted) == sorted(j["jobArn"] for j in jobs)
