"""The submission crash window through the local stack: a VALIDATED run whose job exists is
adopted by the reconcile schedule (its own module: one local stack per process at a time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from test_status_local import data, of, run_item, settle

from tailor.local.stack import LocalStack

pytestmark = pytest.mark.integration


def test_an_orphan_job_is_adopted_by_the_reconciler() -> None:
    """Submission created the job and died before recording it: the run is VALIDATED, its job
    runs. The reconcile schedule finds the job by its deterministic name and token, adopts it."""
    from tailor.jobs.naming import job_name, request_token

    with LocalStack(time_scale=0.0001, functions=["IngestionFunction", "StatusFunction"]) as local:
        local.upload("datasets/orphan/train.jsonl", data(12))
        local.upload(
            "datasets/orphan/job.json", orjson.dumps({"technique": "fine-tuning", "baseModel": "nova-lite"})
        )
        (validated,) = settle(local)
        run_id = validated["detail"]["data"]["runId"]
        snapshot = validated["detail"]["data"]["dataset"]["snapshot"]["training"]["uri"]
        name = job_name(run_id)
        local.client("bedrock").create_model_customization_job(
            jobName=name,
            customModelName=f"orphan-{run_id[-10:]}",
            roleArn="arn:aws:iam::123456789012:role/BedrockCustomizationRole",
            clientRequestToken=request_token(name),
            baseModelIdentifier="amazon.nova-lite-v1:0:300k",
            customizationType="FINE_TUNING",
            trainingDataConfig={"s3Uri": snapshot},
            outputDataConfig={"s3Uri": f"s3://{local.env_value('ARTIFACTS_BUCKET')}/jobs/{run_id}/"},
            hyperParameters={"epochCount": "2"},
            jobTags=[{"key": "tailor-run-id", "value": run_id}],
        )
        old = (
            (datetime.now(UTC) - timedelta(minutes=10))
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
        local.client("dynamodb").update_item(
            TableName=local.env_value("RUNS_TABLE"),
            Key={"runId": {"S": run_id}},
            UpdateExpression="SET updatedAt = :old",
            ExpressionAttributeValues={":old": {"S": old}},
        )
        local.fire_schedules(["StatusFunctionReconcile"])
        events = settle(local)
        assert len(of(events, run_id, "JobSubmitted")) == 1
        assert [(c["status"], c["observedVia"]) for c in of(events, run_id, "JobStatusChanged")] == [
            ("InProgress", "poll")
        ]
        item = run_item(local, run_id)
        assert item["status"]["S"] == "IN_PROGRESS" and item["facts"]["M"]["jobName"]["S"] == name
