"""The Bedrock simulator behind template.yaml's real wiring: a dataset uploaded to the data bucket is
validated and submitted by the real functions, its job.json ``tags`` reach Bedrock as ``jobTags``
(``tailor:simulate`` steers the job), the simulated jobs write their CSVs into the artifacts bucket
and their events reach the template's StatusQueue (rule on the default bus). The status function is
not dispatched here (``functions=``): its queue keeps the events for this test to read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tailor.local import LocalStack
from tailor.local.bedrock_sim import SIMULATE_TAG, SimulatorConfig

pytestmark = pytest.mark.integration


def _record(i: int) -> bytes:
    return orjson.dumps(
        {
            "messages": [
                {"role": "user", "content": [{"text": f"Where is order {i}?"}]},
                {"role": "assistant", "content": [{"text": f"Order {i} ships on Monday."}]},
            ]
        }
    )


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(
        time_scale=0.0001,
        functions=["IngestionFunction", "SubmissionFunction"],
        simulate_bedrock=SimulatorConfig.exact(),
    ) as local:
        yield local


def _upload(stack: LocalStack, name: str, tags: dict[str, str]) -> None:
    spec = {"technique": "fine-tuning", "baseModel": "nova-lite", "tags": tags}
    stack.upload(f"datasets/{name}/train.jsonl", b"\n".join(_record(i) for i in range(12)) + b"\n")
    stack.upload(f"datasets/{name}/job.json", orjson.dumps(spec))


def _status_queue(stack: LocalStack) -> list[dict[str, Any]]:
    sqs, url = stack.client("sqs"), stack.queue("StatusQueue").url
    bodies: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_submitted_jobs_train_and_their_events_reach_the_status_queue(stack: LocalStack) -> None:
    _upload(stack, "orders", {"team": "support"})
    _upload(stack, "broken-orders", {SIMULATE_TAG: "fail"})
    stack.run_until_idle(timeout=60)
    submitted = {
        e["detail"]["data"]["runId"].rsplit("-", 1)[0]: e["detail"]["data"]
        for e in stack.published_events()
        if e["detail-type"] == "JobSubmitted"
    }
    assert set(submitted) == {"orders", "broken-orders"}
    sim = stack.bedrock_simulator
    assert sim.job(submitted["orders"]["jobArn"]).fate == "complete"
    assert sim.job(submitted["broken-orders"]["jobArn"]).fate == "fail"

    sim.finish()
    bedrock = stack.client("bedrock")
    done = bedrock.get_model_customization_job(jobIdentifier=submitted["orders"]["jobArn"])
    failed = bedrock.get_model_customization_job(jobIdentifier=submitted["broken-orders"]["jobArn"])
    assert done["status"] == "Completed" and failed["status"] == "Failed"
    artifacts = stack.env_value("ARTIFACTS_BUCKET")
    assert done["outputDataConfig"]["s3Uri"].startswith(f"s3://{artifacts}/")
    (training,) = sim.job(done["jobArn"]).metrics  # the template's jobs have no validation set
    assert training.startswith(done["outputDataConfig"]["s3Uri"].rstrip("/") + "/model-customization-job-")
    events = _status_queue(stack)
    by_job = {(e["detail"]["jobName"], e["detail"]["jobStatus"]) for e in events}
    assert by_job == {
        (done["jobName"], "InProgress"),
        (done["jobName"], "Completed"),
        (failed["jobName"], "InProgress"),
        (failed["jobName"], "Failed"),
    }
