"""The ``tailor`` entry point: usage errors are one line on stderr with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailor.cli.main import main


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["validate", "x.jsonl", "--bogus"], "No such option: --bogus"),
        (["nope"], "No such command"),
        (["validate", "x.jsonl", "--technique", "fine-tuning", "--model"], "requires an argument"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert needle in err
    assert err.count("\n") == 1 and err.startswith("error: ")


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert "validate" in capsys.readouterr().out


# -- first-run polish ---------------------------------------------------------------------------------

HELP_PATHS = [
    [],
    ["validate"],
    ["submit"],
    ["estimate"],
    ["status"],
    ["watch"],
    ["events"],
    ["stop"],
    ["metrics"],
    ["deploy"],
    ["invoke"],
    ["undeploy"],
    ["local"],
    ["local", "up"],
    ["local", "demo"],
]


@pytest.mark.parametrize("path", HELP_PATHS, ids=lambda p: " ".join(p) or "tailor")
def test_help_shows_clean_flags(
    path: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "--help" in out
    assert "<bool>" not in out  # a flag takes no value: no type shown
    # One flag per boolean, no --x/--no-x pairs (a --no-x flag alone turns a default off).
    assert "--no-" not in out or "--no-schedules" in out or "--no-hyperpod" in out
    assert " / --no-" not in out


def _no_aws_setup(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, region: bool, credentials: bool
) -> None:
    """A new user's machine: no ~/.aws, maybe no region, maybe no credentials."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "TAILOR_STACK",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    if not region:
        monkeypatch.delenv("AWS_REGION", raising=False)
        monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    if not credentials:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("command", ["status", "submit"])
@pytest.mark.parametrize(
    ("region", "credentials", "needle"),
    [
        (False, True, "no AWS region: pass --region or set AWS_REGION"),
        (True, False, "no AWS credentials found: run `aws configure`"),
        (False, False, "no AWS region: pass --region or set AWS_REGION"),
    ],
)
def test_stack_without_aws_setup_is_one_line_with_the_fix(
    command: str,
    region: bool,
    credentials: bool,
    needle: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _no_aws_setup(monkeypatch, tmp_path, region=region, credentials=credentials)
    argv = ["status", "--stack", "tailor"]
    if command == "submit":
        folder = tmp_path / "ds"
        folder.mkdir()
        (folder / "job.json").write_text('{"technique": "fine-tuning", "baseModel": "nova-lite"}')
        (folder / "train.jsonl").write_text("{}\n")
        argv = ["submit", str(folder), "--stack", "tailor", "--skip-validation"]
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert needle in err and "Traceback" not in err


def test_region_option_is_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_aws_setup(monkeypatch, tmp_path, region=False, credentials=False)
    with pytest.raises(SystemExit) as exited:
        main(["status", "--stack", "tailor", "--region", "eu-west-1"])
    assert exited.value.code == 2
    assert "no AWS credentials found" in capsys.readouterr().err  # the region was taken


def test_environment_target_without_region_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_aws_setup(monkeypatch, tmp_path, region=False, credentials=True)
    for name, value in {"DATA_BUCKET": "d", "ARTIFACTS_BUCKET": "a", "RUNS_TABLE": "r"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(["status"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err == "error: no AWS region: pass --region or set AWS_REGION\n"
