"""`tailor stop`, `tailor watch` and `tailor metrics` on the real adapters (DynamoRunStore,
BedrockClient) against moto: the runs table as the services write it, moto's Bedrock job."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cli_runs import RUN_ID, RunFactory, loss_metrics
from moto import mock_aws
from typer.testing import CliRunner

from tailor.adapters import aws
from tailor.adapters.runs import DynamoRunStore
from tailor.cli.main import app
from tailor.jobs.run import RunFacts
from tailor.jobs.state import RunStatus

TABLE = "tailor-runs"


@pytest.fixture
def moto_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoRunStore]:
    with mock_aws():
        aws.reset_clients()
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "runId", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "runId", "KeyType": "HASH"}],
        )
        for name, value in {"DATA_BUCKET": "d", "ARTIFACTS_BUCKET": "a", "RUNS_TABLE": TABLE}.items():
            monkeypatch.setenv(name, value)
        yield DynamoRunStore(TABLE)
        aws.reset_clients()


def _moto_job() -> str:
    bedrock: Any = boto3.client("bedrock")
    return str(
        bedrock.create_model_customization_job(
            jobName="tailor-support-bot",
            customModelName="support-bot-model",
            roleArn="arn:aws:iam::123456789012:role/tailor-bedrock",
            baseModelIdentifier="amazon.nova-lite-v1:0:300k",
            customizationType="FINE_TUNING",
            trainingDataConfig={"s3Uri": "s3://d/snapshots/train.jsonl"},
            outputDataConfig={"s3Uri": "s3://a/output/"},
            hyperParameters={"epochCount": "1"},
        )["jobArn"]
    )


def test_stop_reaches_moto_s_bedrock(moto_env: DynamoRunStore, make_run: RunFactory) -> None:
    arn = _moto_job()
    moto_env.create(make_run(RunStatus.SUBMITTED, job_arn=arn))
    result = CliRunner().invoke(app, ["stop", RUN_ID])
    assert result.exit_code == 0, result.output
    assert f"stop requested for {arn}" in result.stdout
    job = boto3.client("bedrock").get_model_customization_job(jobIdentifier="tailor-support-bot")
    status = job["status"]  # moto finds jobs by name only
    assert status in ("Stopping", "Stopped")
    record = moto_env.get(RUN_ID)
    assert record is not None and record.status is RunStatus.SUBMITTED  # the status service moves it


def test_watch_and_metrics_read_the_runs_table(
    moto_env: DynamoRunStore, make_run: RunFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    moto_env.create(make_run(RunStatus.SUBMITTED, job_arn="arn:job"))
    steps = [
        lambda: moto_env.transition(RUN_ID, RunStatus.IN_PROGRESS, facts=RunFacts(job_status="InProgress")),
        lambda: moto_env.transition(
            RUN_ID,
            RunStatus.COMPLETED,
            facts=RunFacts(job_status="Completed", output_model_name="m", training_metrics=loss_metrics()),
        ),
    ]
    monkeypatch.setattr("time.sleep", lambda seconds: steps.pop(0)() if steps else None)
    watched = CliRunner().invoke(app, ["watch", RUN_ID, "--interval", "0.1"])
    assert watched.exit_code == 0, watched.output
    assert watched.stdout.splitlines()[-1].startswith(f"{RUN_ID} COMPLETED after")
    png = tmp_path / "loss.png"
    shown = CliRunner().invoke(app, ["metrics", RUN_ID, "--png", str(png)])
    assert shown.exit_code == 0, shown.output
    assert png.read_bytes()[:4] == b"\x89PNG"
