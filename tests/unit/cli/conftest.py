"""Fixtures of the CLI tests: a run factory and an 80-column console."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from cli_runs import RunFactory, make_run
from rich.console import Console


@pytest.fixture(name="make_run")
def make_run_fixture() -> RunFactory:
    return make_run


@pytest.fixture
def console() -> Console:
    return Console(file=io.StringIO(), width=80, color_system=None, highlight=False, soft_wrap=True)


@pytest.fixture
def printed(console: Console) -> Callable[[], str]:
    """What ``console`` has printed so far."""

    def read() -> str:
        out = console.file
        assert isinstance(out, io.StringIO)
        return out.getvalue()

    return read
