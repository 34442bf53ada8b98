"""The Lambda deadline: stop taking work before the timeout instead of being killed mid-record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Left for what follows a record's work (report, DynamoDB, PutEvents) and for the batch response.
DEFAULT_RESERVE_SECONDS = 20.0


class DeadlineReachedError(RuntimeError):
    """Not enough time is left: the item is reported failed untouched and retried later."""


@dataclass(frozen=True, slots=True)
class Deadline:
    remaining: Callable[[], float]  # seconds left in this invocation
    reserve: float = DEFAULT_RESERVE_SECONDS

    @classmethod
    def of_lambda(cls, context: Any, reserve: float = DEFAULT_RESERVE_SECONDS) -> Deadline:
        return cls(lambda: float(context.get_remaining_time_in_millis()) / 1000.0, reserve)

    @classmethod
    def unlimited(cls) -> Deadline:
        return cls(lambda: float("inf"), 0.0)

    def check(self, needed: float = 0.0, what: str = "the next record") -> None:
        """Raise DeadlineReachedError unless ``needed`` seconds (plus the reserve) are left."""
        left = self.remaining()
        if left < needed + self.reserve:
            raise DeadlineReachedError(
                f"{left:.0f} s left in this invocation, {needed + self.reserve:.0f} s needed for {what}: "
                "left for a later invocation"
            )


class HoldMessage(Exception):  # noqa: N818 - an instruction to the handler, not an error
    """Not now: put the message back for ``seconds`` (a quota is full, a resource is still being
    created, throttled). The handler sets the message's visibility and reports it as failed."""

    def __init__(self, seconds: int, reason: str) -> None:
        super().__init__(f"{reason}: retry in {seconds} s")
        self.seconds = seconds
        self.reason = reason
