"""Integration fixtures: the ``tailor`` CLI run as a user runs it, in its own process.

In-process (CliRunner) the local stack's dispatcher thread swaps ``sys.stdout``/``sys.stderr``
while a function runs, so a CLI invoked while ``stack.serve`` runs in a thread can lose its output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

TailorCli = Callable[..., subprocess.CompletedProcess[str]]
_HIDDEN = (
    "AWS_ENDPOINT_URL",
    "DATA_BUCKET",
    "ARTIFACTS_BUCKET",
    "RUNS_TABLE",
    "TAILOR_STACK",
    "EXPORTS_TABLE",
)


@pytest.fixture
def tailor_cli() -> TailorCli:
    """``tailor_cli(workdir, *args, env=None)``: ``tailor ARGS`` in ``workdir``, with no stack in its
    environment but ``env`` (``--local`` finds one through ``workdir/.tailor/local.env``)."""

    def run(workdir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if k not in _HIDDEN and not k.startswith("TAILOR_")}
        return subprocess.run(
            [sys.executable, "-m", "tailor.cli.main", *args],
            cwd=workdir,
            env={**clean, **(env or {})},
            capture_output=True,
            text=True,
            timeout=180,
        )

    return run
