"""``LocalStack(functions=…)``: dispatch only some functions (an ingestion-only test must not see
submission's effects); the other queues keep their messages and do not hold up ``run_until_idle``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailor.local import LocalStack, LocalStackError
from tailor.local.demo import good_dataset, job_spec

pytestmark = pytest.mark.integration

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"


def test_only_the_named_functions_are_dispatched() -> None:
    with pytest.raises(LocalStackError, match="NoSuchFunction"):
        LocalStack(TEMPLATE, functions=["NoSuchFunction"]).start()

    with LocalStack(
        TEMPLATE, stack_name="tailor-only", functions=["IngestionFunction"], time_scale=0.001
    ) as stack:
        stack.upload("datasets/only/train.jsonl", good_dataset())
        stack.upload("datasets/only/job.json", job_spec())
        summary = stack.run_until_idle(timeout=20)  # SubmitQueue's message does not keep it busy

        assert summary.errors == []
        assert [e["detail-type"] for e in stack.published_events()] == ["DatasetValidated"]
        attributes = stack.client("sqs").get_queue_attributes(
            QueueUrl=stack.physical_id("SubmitQueue"), AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "1"  # delivered, not consumed
        assert stack.client("bedrock").list_model_customization_jobs()["modelCustomizationJobSummaries"] == []
        assert any("SubmissionEventSource: not dispatched" in note for note in stack.summary().notes)
