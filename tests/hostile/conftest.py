"""Hostile inputs: every case runs under a generous hang guard, so a hang fails instead of blocking CI."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from types import FrameType

import pytest

HANG_GUARD_SECONDS = 30  # far above any case's real time: this catches hangs, it measures nothing


class HangError(Exception):
    """A hostile case ran for HANG_GUARD_SECONDS: the product hangs on this input."""


def _hang(_signum: int, _frame: FrameType | None) -> None:
    raise HangError(f"no result after {HANG_GUARD_SECONDS} s: the product hangs on this input")


@pytest.fixture(autouse=True)
def hang_guard() -> Iterator[None]:
    previous = signal.signal(signal.SIGALRM, _hang)
    signal.alarm(HANG_GUARD_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
