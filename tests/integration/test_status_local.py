"""The status path through the embedded local stack, with the Bedrock simulator (a simulation:
jobs advance, CSVs and Bedrock's events appear where AWS would put them): events drive the runs,
lost events are caught up by the reconcile schedule, duplicates change nothing, failure and stop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from tailor.local.bedrock_sim import SimulatorConfig
from tailor.local.stack import LocalStack

pytestmark = pytest.mark.integration


def record(i: int) -> bytes:
    return orjson.dumps(
        {
            "messages": [
                {"role": "user", "content": [{"text": f"Is invoice {i} paid?"}]},
                {"role": "assistant", "content": [{"text": f"Invoice {i} was paid on Friday."}]},
            ]
        }
    )


def data(n: int) -> bytes:
    return b"\n".join(record(i) for i in range(n)) + b"\n"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # Every event delivered twice: the status service must still publish each change once.
    config = SimulatorConfig(job_quota=20, late_probability=0.0, duplicate_probability=1.0, seed=7)
    with LocalStack(time_scale=0.0001, simulate_bedrock=config) as local:
        yield local


def settle(stack: LocalStack) -> list[dict[str, Any]]:
    stack.run_until_idle(timeout=60)
    return stack.published_events()


def submit(stack: LocalStack, name: str, tags: dict[str, str] | None = None) -> str:
    spec: dict[str, Any] = {
        "technique": "fine-tuning",
        "baseModel": "nova-lite",
        "validation": "validation.jsonl",
    }
    if tags:
        spec["tags"] = tags
    stack.upload(f"datasets/{name}/train.jsonl", data(12))
    stack.upload(f"datasets/{name}/validation.jsonl", data(8))
    stack.upload(f"datasets/{name}/job.json", orjson.dumps(spec))
    events = settle(stack)
    (submitted,) = [e for e in events if e["detail-type"] == "JobSubmitted"]
    return str(submitted["detail"]["data"]["runId"])


def of(events: list[dict[str, Any]], run_id: str, detail_type: str) -> list[dict[str, Any]]:
    return [
        e["detail"]["data"]
        for e in events
        if e["detail-type"] == detail_type and e["detail"]["data"]["runId"] == run_id
    ]


def run_item(stack: LocalStack, run_id: str) -> dict[str, Any]:
    item: dict[str, Any] = stack.client("dynamodb").get_item(
        TableName=stack.env_value("RUNS_TABLE"), Key={"runId": {"S": run_id}}
    )["Item"]
    return item


def test_bedrock_events_move_the_run_to_completed_once_each(stack: LocalStack) -> None:
    run_id = submit(stack, "invoices")
    stack.bedrock_simulator.finish()
    events = settle(stack)
    changes = of(events, run_id, "JobStatusChanged")
    assert [(c.get("previousStatus"), c["status"], c["observedVia"]) for c in changes] == [
        (None, "InProgress", "event"),
        ("InProgress", "Completed", "event"),
    ]
    (completed,) = of(events, run_id, "JobCompleted")
    assert completed["outputModelArn"].startswith("arn:aws:bedrock:us-east-1:123456789012:custom-model/")
    training = completed["trainingMetrics"]
    assert training["points"] >= 40 and training["finalLoss"] < training["curve"][0]["loss"]
    assert completed["validationMetrics"]["csvUri"].endswith("validation_metrics.csv")
    assert run_item(stack, run_id)["status"]["S"] == "COMPLETED"
    assert stack.dlq_messages("StatusQueue") == []


def test_lost_events_are_caught_up_by_the_reconcile_schedule(stack: LocalStack) -> None:
    run_id = submit(stack, "quiet", {"tailor:simulate": "lose-events"})
    stack.bedrock_simulator.finish()
    assert of(settle(stack), run_id, "JobStatusChanged") == []  # Bedrock said nothing
    # As if the interval had passed since the run was last updated.
    old = (
        (datetime.now(UTC) - timedelta(minutes=10)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
    stack.client("dynamodb").update_item(
        TableName=stack.env_value("RUNS_TABLE"),
        Key={"runId": {"S": run_id}},
        UpdateExpression="SET updatedAt = :old",
        ExpressionAttributeValues={":old": {"S": old}},
    )
    stack.fire_schedules(["StatusFunctionReconcile"])
    events = settle(stack)
    assert [(c["status"], c["observedVia"]) for c in of(events, run_id, "JobStatusChanged")] == [
        ("Completed", "poll")
    ]
    assert len(of(events, run_id, "JobCompleted")) == 1
    assert run_item(stack, run_id)["status"]["S"] == "COMPLETED"


@pytest.mark.parametrize(
    ("fate", "detail_type", "status"), [("fail", "JobFailed", "FAILED"), ("stop", "JobStopped", "STOPPED")]
)
def test_failure_and_stop(stack: LocalStack, fate: str, detail_type: str, status: str) -> None:
    run_id = submit(stack, f"fate-{fate}", {"tailor:simulate": fate})
    stack.bedrock_simulator.finish()
    events = settle(stack)
    assert len(of(events, run_id, detail_type)) == 1
    assert of(events, run_id, "JobCompleted") == []
    assert run_item(stack, run_id)["status"]["S"] == status
