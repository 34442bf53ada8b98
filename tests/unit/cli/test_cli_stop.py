"""`tailor stop RUN`: StopModelCustomizationJob on the run's job; the run itself is left to the
status service. Nothing to stop is one line and exit 1."""

from __future__ import annotations

import pytest
from cli_runs import JOB_ARN, RUN_ID, RunFactory
from typer.testing import CliRunner

from tailor.adapters.bedrock import BedrockError, InMemoryBedrock, JobInfo
from tailor.adapters.runs import InMemoryRunStore
from tailor.cli.main import app
from tailor.cli.stop import StopRefusedError, request_stop
from tailor.jobs.state import RunStatus


class Recorder:
    def __init__(self, error: BedrockError | None = None) -> None:
        self.stopped: list[str] = []
        self.error = error

    def stop_job(self, identifier: str) -> None:
        if self.error:
            raise self.error
        self.stopped.append(identifier)


def _store(*records: object) -> InMemoryRunStore:
    store = InMemoryRunStore()
    for record in records:
        store.create(record)  # type: ignore[arg-type]
    return store


def test_stop_calls_bedrock_and_leaves_the_run_to_the_status_service(make_run: RunFactory) -> None:
    store, bedrock = _store(make_run(RunStatus.IN_PROGRESS)), Recorder()
    said = request_stop(store, bedrock, RUN_ID)
    assert bedrock.stopped == ["tailor-support-bot"]  # the job's name: Bedrock takes name or ARN
    assert "stop requested" in said and "becomes STOPPED when Bedrock reports" in said
    record = store.get(RUN_ID)
    assert record is not None and record.status is RunStatus.IN_PROGRESS  # not moved here


def test_a_submitted_run_can_be_stopped_with_the_fake_bedrock(make_run: RunFactory) -> None:
    bedrock = InMemoryBedrock()
    bedrock.jobs["tailor-support-bot"] = (
        JobInfo(arn=JOB_ARN, name="tailor-support-bot", status="InProgress"),
        {},
    )
    request_stop(_store(make_run(RunStatus.SUBMITTED)), bedrock, RUN_ID)
    job = bedrock.get_job(JOB_ARN)
    assert job is not None and job.status == "Stopping"


@pytest.mark.parametrize(
    ("status", "with_job", "needle"),
    [
        (RunStatus.VALIDATED, False, "has no Bedrock job yet (VALIDATED): nothing to stop"),
        (RunStatus.COMPLETED, True, "has already ended (COMPLETED): nothing to stop"),
        (RunStatus.STOPPED, True, "has already ended (STOPPED)"),
        (RunStatus.REJECTED, False, "has already ended (REJECTED)"),
    ],
)
def test_nothing_to_stop_is_refused(
    status: RunStatus, with_job: bool, needle: str, make_run: RunFactory
) -> None:
    bedrock = Recorder()
    with pytest.raises(StopRefusedError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        request_stop(_store(make_run(status, with_job=with_job)), bedrock, RUN_ID)
    assert bedrock.stopped == []


def test_an_unknown_run_and_a_refusal_are_one_line(make_run: RunFactory) -> None:
    with pytest.raises(StopRefusedError, match="no run 'nope'"):
        request_stop(_store(), Recorder(), "nope")
    refused = Recorder(BedrockError.classify("ValidationException", "job is Completed"))
    with pytest.raises(
        StopRefusedError, match=r"Bedrock refused to stop .*: ValidationException: job is Completed"
    ):
        request_stop(_store(make_run()), refused, RUN_ID)


def test_already_stopping_is_not_an_error(make_run: RunFactory) -> None:
    bedrock = Recorder()
    said = request_stop(_store(make_run(RunStatus.STOPPING)), bedrock, RUN_ID)
    assert "already stopping" in said and bedrock.stopped == []


def test_the_command(make_run: RunFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"DATA_BUCKET": "d", "ARTIFACTS_BUCKET": "a", "RUNS_TABLE": "runs"}.items():
        monkeypatch.setenv(name, value)
    store, bedrock = _store(make_run()), Recorder()
    monkeypatch.setattr("tailor.adapters.runs.DynamoRunStore", lambda table: store)
    monkeypatch.setattr("tailor.adapters.bedrock.BedrockClient", lambda: bedrock)
    result = CliRunner().invoke(app, ["stop", RUN_ID])
    assert result.exit_code == 0, result.output
    assert bedrock.stopped == ["tailor-support-bot"] and f"stop requested for {JOB_ARN}" in result.stdout
    unknown = CliRunner().invoke(app, ["stop", "nope"])
    assert unknown.exit_code == 1
    assert unknown.output == "error: no run 'nope' in runs\n"


def test_without_a_recorded_name_the_arn_is_used(make_run: RunFactory) -> None:
    bedrock = Recorder()
    request_stop(_store(make_run(job_name=None)), bedrock, RUN_ID)
    assert bedrock.stopped == [JOB_ARN]
