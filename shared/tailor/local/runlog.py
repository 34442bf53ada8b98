"""One human line per run transition, for ``tailor local up``: the runs table, watched.

The runs table is the source of truth for a run's state (every transition is appended to its
``history``), so the watcher reads it rather than the bus: it also sees transitions that publish
no event. A scan every ``interval`` seconds is cheap at local scale.

    12:00:01 run support-bot-0f3a9c2e4b1d5a6c7e8f VALIDATED (dataset valid)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["RunWatcher", "Transition"]

RECEIVED = "RECEIVED"


@dataclass(frozen=True, slots=True)
class Transition:
    at: str  # ISO 8601, as recorded in the run's history
    run_id: str
    status: str
    reason: str | None = None

    def line(self) -> str:
        """``HH:MM:SS run <run id> <STATUS> (<reason>)``; the run id is never shortened (it is what
        ``tailor status`` takes), the time is this machine's local time."""
        try:
            clock = datetime.fromisoformat(self.at).astimezone().strftime("%H:%M:%S")
        except ValueError:
            clock = self.at
        return f"{clock} run {self.run_id} {self.status}" + (f" ({self.reason})" if self.reason else "")


class RunWatcher:
    """Polls a runs table and returns the transitions it has not reported yet."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        *,
        interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.interval = interval
        self.clock = clock
        self._seen: dict[str, int] = {}  # run id → history entries already reported
        self._next = 0.0

    def poll(self, *, force: bool = False) -> list[Transition]:
        """New transitions since the previous poll, oldest first; ``[]`` if polled less than
        ``interval`` ago (unless ``force``)."""
        now = self.clock()
        if not force and now < self._next:
            return []
        self._next = now + self.interval
        fresh: list[Transition] = []
        for run in self._scan():
            run_id = str(run.get("runId", ""))
            history = [h for h in run.get("history") or [] if isinstance(h, Mapping)]
            if not history or history[0].get("status") != RECEIVED:
                # Every run is created RECEIVED; the history records only the moves after that.
                history.insert(0, {"status": RECEIVED, "at": run.get("createdAt", ""), "reason": None})
            seen = self._seen.get(run_id, 0)
            for entry in history[seen:]:
                reason = entry.get("reason")
                fresh.append(
                    Transition(str(entry.get("at", "")), run_id, str(entry.get("status")), reason or None)
                )
            self._seen[run_id] = max(seen, len(history))
        return sorted(fresh, key=lambda t: (t.at, t.run_id))

    def _scan(self) -> Iterator[dict[str, Any]]:
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "ProjectionExpression": "runId, #status, createdAt, history",
            "ExpressionAttributeNames": {"#status": "status"},
        }
        while True:
            page = self.dynamodb.scan(**kwargs)
            for item in page.get("Items", []):
                yield {k: deserializer.deserialize(v) for k, v in item.items()}
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
