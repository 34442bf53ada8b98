"""The ``tailor`` entry point: usage errors are one line on stderr with exit code 2."""

from __future__ import annotations

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
