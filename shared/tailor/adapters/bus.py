"""Event publisher: PutEvents in chunks of 10; failed entries are retried, never dropped."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import orjson

from tailor.adapters import aws
from tailor.events.constants import PUT_EVENTS_MAX_BYTES, PUT_EVENTS_MAX_ENTRIES
from tailor.events.entries import to_put_events_entry
from tailor.events.envelope import TailorDetail


class EventPublisher(Protocol):
    def publish(self, details: Sequence[TailorDetail[Any]]) -> None: ...


class PublishError(RuntimeError):
    """Some entries still failed after every retry: the caller must not treat them as sent."""

    def __init__(self, failures: list[tuple[dict[str, Any], str]]) -> None:
        lines = [f"{entry['DetailType']} ({entry['Source']}): {reason}" for entry, reason in failures]
        super().__init__(f"{len(failures)} event(s) were not published: " + "; ".join(lines))
        self.failures = failures


def _entry_size(entry: dict[str, Any]) -> int:
    # EventBridge counts the UTF-8 bytes of Source, DetailType, Detail and Resources.
    return sum(len(str(entry.get(k, "")).encode()) for k in ("Source", "DetailType", "Detail")) + sum(
        len(r.encode()) for r in entry.get("Resources", [])
    )


class EventBridgePublisher:
    def __init__(
        self,
        bus_name: str,
        events_client: Any | None = None,
        *,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bus_name = bus_name
        self._client = events_client
        self.max_attempts = max_attempts
        self._sleep = sleep

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("events")
        return self._client

    def publish(self, details: Sequence[TailorDetail[Any]]) -> None:
        entries = [to_put_events_entry(d, bus_name=self.bus_name) for d in details]
        for entry in entries:
            size = _entry_size(entry)
            if size > PUT_EVENTS_MAX_BYTES:
                raise ValueError(
                    f"{entry['DetailType']} is {size} bytes; EventBridge accepts at most "
                    f"{PUT_EVENTS_MAX_BYTES}: put large content in S3 and send its URI"
                )
        failures: list[tuple[dict[str, Any], str]] = []
        for start in range(0, len(entries), PUT_EVENTS_MAX_ENTRIES):
            failures.extend(self._put_chunk(entries[start : start + PUT_EVENTS_MAX_ENTRIES]))
        if failures:
            raise PublishError(failures)

    def _put_chunk(self, chunk: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
        pending = chunk
        reasons: list[str] = []
        for attempt in range(self.max_attempts):
            if attempt:
                self._sleep(min(0.2 * 2**attempt, 2.0))
            response = self.client.put_events(Entries=pending)
            if not response.get("FailedEntryCount"):
                return []
            # Results are positional: keep only the entries that failed, retry those.
            results = response["Entries"]
            failed = [(e, r) for e, r in zip(pending, results, strict=True) if r.get("ErrorCode")]
            pending = [e for e, _ in failed]
            reasons = [f"{r['ErrorCode']}: {r.get('ErrorMessage', '')}" for _, r in failed]
        return list(zip(pending, reasons, strict=True))


class InMemoryPublisher:
    """Fake publisher for unit tests: records the PutEvents entries it would send."""

    def __init__(self, bus_name: str = "tailor-test-bus") -> None:
        self.bus_name = bus_name
        self.entries: list[dict[str, Any]] = []
        self.fail_next: int = 0

    def publish(self, details: Sequence[TailorDetail[Any]]) -> None:
        entries = [to_put_events_entry(d, bus_name=self.bus_name) for d in details]
        if self.fail_next:
            self.fail_next -= 1
            raise PublishError([(e, "InternalFailure: injected") for e in entries])
        self.entries.extend(entries)

    def details(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        return [orjson.loads(e["Detail"]) for e in self.entries if detail_type in (None, e["DetailType"])]
