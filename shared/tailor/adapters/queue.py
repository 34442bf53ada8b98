"""The function's own SQS queue: hold a message back for a while (a growing visibility timeout)
instead of letting it return at once — how submission waits for quota without losing work."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from tailor.adapters import aws

MAX_VISIBILITY_SECONDS = 12 * 3600  # SQS's ceiling


class MessageQueue(Protocol):
    def hold(self, receipt_handle: str, seconds: int) -> None:
        """Make the received message visible again only after ``seconds`` (≤ 12 h)."""
        ...


class SqsQueue:
    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("sqs")
        return self._client

    def hold(self, receipt_handle: str, seconds: int) -> None:
        self.client.change_message_visibility(
            QueueUrl=self.queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=max(0, min(int(seconds), MAX_VISIBILITY_SECONDS)),
        )


@dataclass
class InMemoryQueue:
    held: list[tuple[str, int]] = field(default_factory=list)

    def hold(self, receipt_handle: str, seconds: int) -> None:
        self.held.append((receipt_handle, max(0, min(int(seconds), MAX_VISIBILITY_SECONDS))))
