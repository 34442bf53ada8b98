"""The Lambda SQS record, as Powertools' BatchProcessor expects a record model to look.

Field names follow the wire (``messageId``…): BatchProcessor reads ``record.messageId`` to report a
failed item. A lighter twin of Powertools' ``SqsRecordModel`` (whose import pulls in every parser
model: cold start is a feature).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SqsRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    messageId: str  # noqa: N815
    receiptHandle: str = ""  # noqa: N815
    body: Any
    attributes: dict[str, Any] = Field(default_factory=dict)
    messageAttributes: dict[str, Any] = Field(default_factory=dict)  # noqa: N815
    md5OfBody: str | None = None  # noqa: N815
    eventSource: str = "aws:sqs"  # noqa: N815
    eventSourceARN: str | None = None  # noqa: N815
    awsRegion: str | None = None  # noqa: N815

    @property
    def receive_count(self) -> int:
        return int(self.attributes.get("ApproximateReceiveCount", 1))
