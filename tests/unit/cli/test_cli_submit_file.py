"""`tailor submit FILE --technique … --model …`: the flags become job.json, laid out as a folder and
submitted exactly as `tailor submit DIR` (same keys, same run id, job.json last); usage errors name
what to add; a DIR refuses the flags. Also: `--local` (the env file `tailor local up` writes), the
multipart upload with its progress bar, and `--wait`'s loop on an in-memory runs table."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from cli_runs import RUN_ID, RunFactory
from moto import mock_aws
from rich.console import Console
from typer.testing import CliRunner

from tailor.adapters import aws
from tailor.adapters.runs import DynamoRunStore, InMemoryRunStore
from tailor.cli.main import app
from tailor.cli.submit_flags import FlagError, SpecFlags, spec_bytes, spec_document, split_targets
from tailor.cli.submit_upload import ProgressObjectStore
from tailor.cli.submit_wait import rejection_lines, wait_for_run
from tailor.cli.target import TargetError, resolve_target
from tailor.ingestion.uploads import plan_upload, read_folder
from tailor.jobs.run import RunFacts
from tailor.jobs.state import RunStatus

TABLE, DATA, ARTIFACTS = "tailor-runs", "tailor-data", "tailor-artifacts"


def _record(i: int) -> bytes:
    turns = [
        {"role": "user", "content": [{"text": f"How do I reset password number {i}?"}]},
        {"role": "assistant", "content": [{"text": f"Open Settings, then Reset {i}."}]},
    ]
    return orjson.dumps({"schemaVersion": "bedrock-conversation-2024", "messages": turns})


def _data(path: Path, n: int = 10) -> Path:
    path.write_bytes(b"\n".join(_record(i) for i in range(n)) + b"\n")
    return path


# -- the flags → job.json ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            SpecFlags(technique="fine-tuning", model="nova-lite"),
            {
                "specVersion": "1",
                "technique": "fine-tuning",
                "baseModel": "nova-lite",
                "training": "train.jsonl",
            },
        ),
        (
            SpecFlags(
                technique="distillation",
                model="nova-lite",
                teacher="nova-premier",
                validation=Path("v.jsonl"),
            ),
            {
                "specVersion": "1",
                "technique": "distillation",
                "baseModel": "nova-lite",
                "teacherModel": "nova-premier",
                "training": "train.jsonl",
                "validation": "validation.jsonl",
            },
        ),
        (
            SpecFlags(
                technique="fine-tuning",
                model="nova-micro",
                deploy=True,
                edge_model=Path("student.onnx"),
                edge_targets=("thinggroup/kiosks", "thing/lobby-1"),
            ),
            {
                "specVersion": "1",
                "technique": "fine-tuning",
                "baseModel": "nova-micro",
                "training": "train.jsonl",
                "edge": {"model": "model.onnx", "targets": ["thinggroup/kiosks", "thing/lobby-1"]},
                "deploy": {"onDemand": True},
            },
        ),
    ],
)
def test_the_flags_say_the_job(flags: SpecFlags, expected: dict[str, Any]) -> None:
    assert spec_document(flags) == expected
    assert orjson.loads(spec_bytes(flags)) == expected  # and ingestion's parser accepts it


def test_edge_targets_repeat_or_split_on_commas() -> None:
    assert split_targets(["thinggroup/a", "thinggroup/b, thing/c", ""]) == (
        "thinggroup/a",
        "thinggroup/b",
        "thing/c",
    )


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (SpecFlags(), "needs --technique (fine-tuning | distillation | continued-pre-training), --model"),
        (SpecFlags(technique="fine-tuning"), "needs --model (e.g. nova-lite)"),
        (
            SpecFlags(technique="distillation", model="nova-lite"),
            "--teacher (e.g. nova-premier) for distillation",
        ),
        (
            SpecFlags(technique="fine-tuning", model="nova-lite", edge_model=Path("m.onnx")),
            "--edge-targets thinggroup/NAME for --edge-model",
        ),
        (
            SpecFlags(technique="fine-tuning", model="nova-lite", edge_targets=("thinggroup/k",)),
            "--edge-model FILE",
        ),
        (SpecFlags(technique="tuning", model="nova-lite"), "--technique 'tuning': use one of"),
        (
            SpecFlags(technique="fine-tuning", model="nova-lite", teacher="nova-pro"),
            "--teacher is only for --technique distillation",
        ),
        (SpecFlags(technique="fine-tuning", model="nova-giant"), "the flags make an invalid job.json"),
        (
            SpecFlags(technique="distillation", model="nova-lite", teacher="nova-micro"),
            "cannot teach nova-lite",
        ),
    ],
)
def test_incomplete_or_wrong_flags_are_flag_errors(flags: SpecFlags, says: str) -> None:
    with pytest.raises(FlagError, match=None) as raised:
        spec_bytes(flags)
    assert says in str(raised.value)


def _invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, ["submit", *args], env=env)


def test_a_file_without_technique_and_model_is_a_usage_error(tmp_path: Path) -> None:
    result = _invoke(str(_data(tmp_path / "support.jsonl")))
    assert result.exit_code == 2
    assert "a single data file needs --technique" in result.stderr and "--model" in result.stderr
    assert result.stdout == ""


def test_a_missing_validation_file_is_a_usage_error(tmp_path: Path) -> None:
    train = _data(tmp_path / "support.jsonl")
    result = _invoke(str(train), "--technique", "fine-tuning", "--model", "nova-lite", "--validation", "nope")
    assert result.exit_code == 2 and "--validation: no such file: nope" in result.stderr


def test_a_folder_refuses_the_flags(tmp_path: Path) -> None:
    folder = tmp_path / "support"
    folder.mkdir()
    _data(folder / "train.jsonl")
    (folder / "job.json").write_bytes(orjson.dumps({"technique": "fine-tuning", "baseModel": "nova-lite"}))
    result = _invoke(str(folder), "--model", "nova-pro", "--deploy")
    assert result.exit_code == 2
    assert "--model, --deploy" in result.stderr and "job.json already says it" in result.stderr


def test_nothing_there_and_timeout_without_wait_are_usage_errors(tmp_path: Path) -> None:
    missing = _invoke(str(tmp_path / "nope"))
    assert missing.exit_code == 2 and "no such folder or file" in missing.stderr
    train = _data(tmp_path / "support.jsonl")
    early = _invoke(str(train), "--technique", "fine-tuning", "--model", "nova-lite", "--timeout", "5")
    assert early.exit_code == 2 and "--timeout is for --wait" in early.stderr


# -- against moto: the file is submitted as a folder would be ----------------------------------------


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
        for bucket in (DATA, ARTIFACTS):
            boto3.client("s3").create_bucket(Bucket=bucket)
        for name, value in {"DATA_BUCKET": DATA, "ARTIFACTS_BUCKET": ARTIFACTS, "RUNS_TABLE": TABLE}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("TAILOR_STACK", raising=False)
        yield DynamoRunStore(TABLE)
        aws.reset_clients()


def _uploads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys put, in order."""
    order: list[str] = []
    put_file, put_bytes = ProgressObjectStore.put_file, ProgressObjectStore.put_bytes

    def spy_file(self: ProgressObjectStore, bucket: str, key: str, path: Path, **kwargs: Any) -> None:
        order.append(key)
        put_file(self, bucket, key, path, **kwargs)

    def spy_bytes(self: ProgressObjectStore, bucket: str, key: str, body: bytes, **kwargs: Any) -> Any:
        order.append(key)
        return put_bytes(self, bucket, key, body, **kwargs)

    monkeypatch.setattr(ProgressObjectStore, "put_file", spy_file)
    monkeypatch.setattr(ProgressObjectStore, "put_bytes", spy_bytes)
    return order


def test_a_file_and_its_flags_are_submitted_as_a_folder(
    moto_env: DynamoRunStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    train, val = _data(tmp_path / "support.jsonl"), _data(tmp_path / "held-out.jsonl", 3)
    model = tmp_path / "student.onnx"
    model.write_bytes(b"onnx bytes")
    order = _uploads(monkeypatch)
    args = [str(train), "--technique", "fine-tuning", "--model", "nova-lite", "--validation", str(val)]
    args += ["--deploy", "--edge-model", str(model), "--edge-targets", "thinggroup/kiosks"]
    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    run_id = result.stdout.strip()
    assert run_id.startswith("support-")
    prefix = "datasets/support/"
    assert order == [prefix + name for name in ("model.onnx", "train.jsonl", "validation.jsonl", "job.json")]
    s3 = boto3.client("s3")
    spec = orjson.loads(s3.get_object(Bucket=DATA, Key=prefix + "job.json")["Body"].read())
    assert spec["deploy"] == {"onDemand": True} and spec["validation"] == "validation.jsonl"
    assert spec["edge"] == {"model": "model.onnx", "targets": ["thinggroup/kiosks"]}
    assert s3.get_object(Bucket=DATA, Key=prefix + "train.jsonl")["Body"].read() == train.read_bytes()
    assert s3.get_object(Bucket=DATA, Key=prefix + "model.onnx")["Body"].read() == b"onnx bytes"
    # The run id a folder with the same job.json and data gets (ingestion's content identity).
    folder = tmp_path / "support"
    folder.mkdir()
    (folder / "job.json").write_bytes(s3.get_object(Bucket=DATA, Key=prefix + "job.json")["Body"].read())
    (folder / "train.jsonl").write_bytes(train.read_bytes())
    (folder / "validation.jsonl").write_bytes(val.read_bytes())
    assert plan_upload(read_folder(folder), data_bucket=DATA).run_id == run_id
    assert "valid" in result.stderr and f"run {run_id} started" in result.stderr


def test_a_broken_file_is_refused_with_its_own_path(moto_env: DynamoRunStore, tmp_path: Path) -> None:
    train = _data(tmp_path / "support.jsonl")
    train.write_bytes(train.read_bytes() + b"{not json\n")
    result = _invoke(str(train), "--technique", "fine-tuning", "--model", "nova-lite")
    assert result.exit_code == 1
    assert f"{train}:11" in result.stderr and "tailor-submit-" not in result.stderr
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=DATA)


# -- --local ------------------------------------------------------------------------------------------

_LOCAL = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:5999",
    "DATA_BUCKET": "local-data",
    "ARTIFACTS_BUCKET": "local-artifacts",
    "RUNS_TABLE": "local-runs",
    "TAILOR_BUS_NAME": "local-bus",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No stack in the environment; whatever --local sets is undone after the test."""
    for name in _LOCAL:
        monkeypatch.setenv(name, "")
    monkeypatch.delenv("TAILOR_STACK", raising=False)
    monkeypatch.delenv("TAILOR_LOCAL_ENV_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_local_reads_the_env_file_local_up_writes(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tailor.cli.local import write_env_file

    write_env_file(clean_env / ".tailor" / "local.env", _LOCAL)  # `tailor local up`'s default
    target = resolve_target(None, local=True)
    assert (target.data_bucket, target.artifacts_bucket, target.runs_table, target.bus_name) == (
        "local-data",
        "local-artifacts",
        "local-runs",
        "local-bus",
    )
    assert "local stack (.tailor/local.env)" in target.description

    other = clean_env / "elsewhere.env"
    write_env_file(other, {**_LOCAL, "DATA_BUCKET": "other-data"})
    monkeypatch.setenv("TAILOR_LOCAL_ENV_FILE", str(other))
    assert resolve_target(None, local=True).data_bucket == "other-data"


def test_local_without_a_local_stack_says_how_to_start_one(clean_env: Path) -> None:
    with pytest.raises(TargetError, match=r"no local stack environment at \.tailor/local\.env: start one"):
        resolve_target(None, local=True)
    with pytest.raises(TargetError, match="--local and --stack"):
        resolve_target("tailor", local=True)
    train = _data(clean_env / "support.jsonl")
    result = _invoke(str(train), "--technique", "fine-tuning", "--model", "nova-lite", "--local")
    assert result.exit_code == 2 and "tailor local up" in result.stderr


class _FakeStack:
    """What `tailor local up` uses of a LocalStack; serving stops at once (as Ctrl-C would)."""

    startup_seconds = 0.1
    seen_env_file: bool | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.dispatcher = type("D", (), {"stats": {}})()

    def __enter__(self) -> _FakeStack:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def summary(self) -> Any:
        return type("S", (), {"short": lambda self: []})()

    def client_env(self) -> dict[str, str]:
        return dict(_LOCAL)

    def env_value(self, name: str) -> str:
        from tailor.local.stack import LocalStackError

        raise LocalStackError(name)

    def serve(self, **kwargs: Any) -> None:
        _FakeStack.seen_env_file = (Path(".tailor") / "local.env").is_file()
        raise KeyboardInterrupt


def test_local_up_writes_the_default_env_file_while_it_runs(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    monkeypatch.setattr("tailor.local.stack.LocalStack", _FakeStack)
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # keep pytest's SIGTERM handler
    result = CliRunner().invoke(app, ["local", "up", "--quiet"])
    assert result.exit_code == 0, result.output
    assert _FakeStack.seen_env_file is True  # `--local` finds it while the stack runs
    assert not (clean_env / ".tailor" / "local.env").exists()  # and no stale file after it stopped

    kept = clean_env / "mine.env"
    result = CliRunner().invoke(app, ["local", "up", "--quiet", "--env-file", str(kept)])
    assert result.exit_code == 0, result.output
    assert _FakeStack.seen_env_file is False and kept.is_file()  # an explicit --env-file stays


# -- uploads: multipart, a bar on a terminal only -----------------------------------------------------


def test_large_files_go_multipart_with_a_bar_on_a_terminal_only(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    big.write_bytes(b"x" * (6 << 20))
    with mock_aws():
        aws.reset_clients()
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=DATA)
        out = io.StringIO()
        terminal = Console(file=out, force_terminal=True, width=100)
        store = ProgressObjectStore(terminal, s3_client=s3, threshold=5 << 20, chunk=5 << 20)
        store.put_file(DATA, "datasets/big/train.jsonl", big)
        etag = s3.head_object(Bucket=DATA, Key="datasets/big/train.jsonl")["ETag"]
        assert etag.strip('"').endswith("-2")  # two parts
        assert "train.jsonl" in out.getvalue()  # the bar (transient: drawn, then cleared)

        piped = io.StringIO()
        quiet = ProgressObjectStore(Console(file=piped, force_terminal=False), s3_client=s3)
        quiet.put_file(DATA, "datasets/big/again.jsonl", big)
        assert piped.getvalue() == ""
    aws.reset_clients()


# -- --wait on an in-memory runs table ----------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _sleeper(clock: _Clock, steps: list[Callable[[], None]]) -> Callable[[float], None]:
    def sleep(seconds: float) -> None:
        clock.now += seconds
        if steps:
            steps.pop(0)()

    return sleep


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=100, color_system=None, force_terminal=False), out


def test_wait_follows_a_run_ingestion_records_later_to_completed(make_run: RunFactory) -> None:
    store, clock = InMemoryRunStore(), _Clock()
    steps = [
        lambda: store.create(make_run(RunStatus.IN_PROGRESS)),
        lambda: store.transition(RUN_ID, RunStatus.COMPLETED, facts=RunFacts(output_model_name="m")),
    ]
    console, out = _console()
    code = wait_for_run(
        store,
        RUN_ID,
        console,
        timeout=None,
        interval=1,
        deploy=False,
        sleep=_sleeper(clock, steps),
        clock=clock,
    )
    assert code == 0
    assert f"waiting for ingestion to record run {RUN_ID}" in out.getvalue()
    assert f"{RUN_ID} COMPLETED" in out.getvalue()


def test_wait_then_waits_for_the_deployment(make_run: RunFactory, capsys: pytest.CaptureFixture[str]) -> None:
    store, clock = InMemoryRunStore(), _Clock()
    store.create(make_run(RunStatus.COMPLETED, output_model_arn="arn:model"))
    arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc"
    steps = [lambda: store.add_facts(RUN_ID, RunFacts(deployment_status="Active", deployment_arn=arn))]
    console, _ = _console()
    code = wait_for_run(
        store, RUN_ID, console, timeout=60, interval=1, deploy=True, sleep=_sleeper(clock, steps), clock=clock
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == arn


def test_wait_times_out(make_run: RunFactory) -> None:
    store, clock = InMemoryRunStore(), _Clock()
    store.create(make_run(RunStatus.IN_PROGRESS))
    console, out = _console()
    code = wait_for_run(
        store, RUN_ID, console, timeout=5, interval=2, deploy=False, sleep=_sleeper(clock, []), clock=clock
    )
    assert code == 1
    assert f"timed out after 5s: run {RUN_ID} is still IN_PROGRESS" in out.getvalue()


def test_a_rejected_run_shows_the_report_s_first_errors(make_run: RunFactory) -> None:
    store, clock = InMemoryRunStore(), _Clock()
    store.create(make_run(RunStatus.REJECTED, with_job=False, report_uri="s3://a/reports/r/validation.json"))
    report = {
        "valid": False,
        "error_counts": {"role_order": 7},
        "errors": [
            {"file": "train.jsonl", "line": 10 + i, "code": "role_order", "message": "assistant first"}
            for i in range(7)
        ],
    }
    seen: list[str | None] = []

    def read(uri: str | None) -> dict[str, Any]:
        seen.append(uri)
        return report

    console, out = _console()
    code = wait_for_run(
        store, RUN_ID, console, timeout=None, interval=1, deploy=False, read_report=read, clock=clock
    )
    assert code == 1 and seen == ["s3://a/reports/r/validation.json"]
    text = out.getvalue()
    assert "train.jsonl:10 role_order: assistant first" in text and "train.jsonl:15" not in text
    assert f"2 more: tailor status {RUN_ID}" in text
    record = store.get(RUN_ID)
    assert (
        record is not None
        and rejection_lines(record.model_copy(update={"status": RunStatus.FAILED}), read) == []
    )
