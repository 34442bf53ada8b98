"""Waiting without losing work: how long a message is held back before its next try.

A held message keeps its place on SubmitQueue with a visibility timeout that grows with its receive
count (``retry_delay``), until ``max_wait`` has passed since it was first sent. The queue's
``maxReceiveCount`` must exceed ``receives_needed(max_wait)`` or a full quota would push the message
into the DLQ early (tests/infra checks the template against these constants).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

BASE_DELAY_SECONDS = 60
MAX_DELAY_SECONDS = 3600
# ServiceQuotaExceededException: Bedrock itself said "too many jobs": wait longer from the start.
QUOTA_BASE_DELAY_SECONDS = 300
DEFAULT_MAX_WAIT_SECONDS = 24 * 3600


def retry_delay(receive_count: int, *, base: int = BASE_DELAY_SECONDS, cap: int = MAX_DELAY_SECONDS) -> int:
    """``base * 2^(n-1)`` seconds after the n-th receive, at most ``cap``."""
    exponent = max(0, receive_count - 1)
    return cap if exponent >= 32 else min(cap, base * 2**exponent)


def receives_needed(
    max_wait_seconds: int, *, base: int = BASE_DELAY_SECONDS, cap: int = MAX_DELAY_SECONDS
) -> int:
    """How many receives a message held for ``max_wait_seconds`` takes (the shortest delays: the most)."""
    waited, receives = 0, 0
    while waited < max_wait_seconds:
        receives += 1
        waited += retry_delay(receives, base=base, cap=cap)
    return receives + 1  # the last receive, which gives up


@dataclass
class QuotaGate:
    """How many customization jobs are in progress against the account's quota, counted once per
    invocation (one paginated List call) and kept current as this invocation submits."""

    limit: int
    count: Callable[[], int]
    _in_progress: int | None = None

    def in_progress(self) -> int:
        if self._in_progress is None:
            self._in_progress = self.count()
        return self._in_progress

    def full(self) -> bool:
        return self.in_progress() >= self.limit

    def took_one(self) -> None:
        self._in_progress = self.in_progress() + 1
