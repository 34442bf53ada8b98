"""`tailor submit` and `tailor status` against the embedded local stack, as a user runs them
(the stack's environment, as `tailor local up` prints it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from tailor.cli.main import app
from tailor.local.stack import LocalStack

pytestmark = pytest.mark.integration


def record(i: int, *, assistant_first: bool = False) -> dict[str, object]:
    turns = [
        {"role": "user", "content": [{"text": f"How do I rotate API key number {i}?"}]},
        {"role": "assistant", "content": [{"text": f"Open Settings, Keys, then Rotate key {i}."}]},
    ]
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "messages": turns[::-1] if assistant_first else turns,
    }


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(time_scale=0.001) as local:
        yield local


@pytest.fixture
def runner(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name, value in stack.client_env().items():
        monkeypatch.setenv(name, value)
    return CliRunner()


def folder(tmp_path: Path, records: list[dict[str, object]]) -> Path:
    path = tmp_path / "keys-faq"
    path.mkdir()
    (path / "train.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n")
    (path / "job.json").write_bytes(orjson.dumps({"technique": "fine-tuning", "baseModel": "nova-lite"}))
    return path


def test_submit_then_status(stack: LocalStack, runner: CliRunner, tmp_path: Path) -> None:
    broken = [record(i) for i in range(9)] + [record(9, assistant_first=True)]
    submitted = runner.invoke(app, ["submit", str(folder(tmp_path, broken))])
    # Local validation refuses before anything is uploaded.
    assert submitted.exit_code == 1, submitted.output
    assert "role_order" in submitted.output and "train.jsonl:10" in submitted.output
    keys = stack.client("s3").list_objects_v2(
        Bucket=stack.env_value("DATA_BUCKET"), Prefix="datasets/keys-faq/"
    )
    assert "Contents" not in keys

    fixed = b"\n".join(orjson.dumps(record(i)) for i in range(10)) + b"\n"
    (tmp_path / "keys-faq" / "train.jsonl").write_bytes(fixed)
    submitted = runner.invoke(app, ["submit", str(tmp_path / "keys-faq")])
    assert submitted.exit_code == 0, submitted.output
    run_id = submitted.stdout.strip().splitlines()[-1]
    assert run_id.startswith("keys-faq-")

    stack.run_until_idle(timeout=30)
    shown = runner.invoke(app, ["status", run_id, "--json"])
    assert shown.exit_code == 0, shown.output
    body = orjson.loads(shown.stdout)
    assert body["run"]["status"] == "SUBMITTED"  # validated, then submitted to (local) Bedrock
    assert body["run"]["facts"]["jobArn"].startswith("arn:aws:bedrock:")
    assert body["report"]["valid"] is True

    listed = runner.invoke(app, ["status", "--json"])
    assert run_id in {r["runId"] for r in orjson.loads(listed.stdout)}


def _run_id_of(stack: LocalStack, key: str) -> str:
    runs = stack.client("dynamodb").scan(TableName=stack.env_value("RUNS_TABLE"))["Items"]
    (run,) = [r for r in runs if r["triggerUri"]["S"].endswith(key)]
    return str(run["runId"]["S"])


def test_status_labels_a_spec_error_as_one(stack: LocalStack, runner: CliRunner) -> None:
    # Uploaded with any S3 client (tailor submit would refuse it before uploading).
    key = "datasets/bad-spec/job.json"
    stack.upload(key, orjson.dumps({"technique": "fine-tuning", "baseModel": "nova-mega"}))
    stack.run_until_idle(timeout=30)
    shown = runner.invoke(app, ["status", _run_id_of(stack, key)], env={"COLUMNS": "100"})
    assert shown.exit_code == 0, shown.output
    assert "REJECTED  job.json rejected (spec error)" in shown.output
    assert "spec error: unsupported_model x1" in shown.output
    assert "dataset rejected" not in shown.output


def test_status_shows_the_cpt_note(stack: LocalStack, runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "handbook"
    path.mkdir()
    (path / "train.jsonl").write_bytes(
        b"".join(orjson.dumps({"text": f"Chapter {i}."}) + b"\n" for i in range(5))
    )
    (path / "job.json").write_bytes(
        orjson.dumps({"technique": "continued-pre-training", "baseModel": "nova-lite"})
    )
    submitted = runner.invoke(app, ["submit", str(path)])
    assert submitted.exit_code == 0, submitted.output
    run_id = submitted.stdout.strip().splitlines()[-1]
    stack.run_until_idle(timeout=30)
    shown = runner.invoke(app, ["status", run_id], env={"COLUMNS": "100"})
    assert shown.exit_code == 0, shown.output
    assert "note: Amazon Bedrock does not run continued pre-training for Amazon Nova" in shown.output
    assert "SageMaker HyperPod" in shown.output


def test_status_of_an_unknown_run(runner: CliRunner) -> None:
    result = runner.invoke(app, ["status", "nope-123"])
    assert result.exit_code == 1
    assert "no run 'nope-123'" in result.output


def test_no_stack_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATA_BUCKET", "ARTIFACTS_BUCKET", "RUNS_TABLE", "TAILOR_STACK"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 2
    assert "tailor local up" in result.output


def test_submitting_the_same_folder_twice_starts_one_run(
    stack: LocalStack, runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "twice"
    path.mkdir()
    (path / "train.jsonl").write_bytes(b"\n".join(orjson.dumps(record(i)) for i in range(10)) + b"\n")
    (path / "job.json").write_bytes(orjson.dumps({"technique": "fine-tuning", "baseModel": "nova-lite"}))
    first = runner.invoke(app, ["submit", str(path)])
    assert first.exit_code == 0, first.output
    run_id = first.stdout.strip().splitlines()[-1]
    stack.run_until_idle(timeout=30)
    second = runner.invoke(app, ["submit", str(path)])
    assert second.exit_code == 0, second.output
    assert second.stdout.strip().splitlines()[-1] == run_id
    assert "already submitted" in second.output and "nothing uploaded" in second.output
    versions = stack.client("s3").list_object_versions(
        Bucket=stack.env_value("DATA_BUCKET"), Prefix="datasets/twice/job.json"
    )
    assert len(versions.get("Versions", [])) == 1  # the second submit uploaded nothing
    status = runner.invoke(app, ["status", run_id])
    assert "SUBMITTED" in status.output and "snapshot  training" in status.output
    assert "job       tailor-twice-" in status.output
