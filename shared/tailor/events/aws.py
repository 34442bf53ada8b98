"""Models of AWS's own events that Tailor consumes (S3 via EventBridge, Bedrock job changes).

Parsed defensively: unknown fields are ignored, optional ones may be missing.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, Json

from tailor.events.envelope import EventBridgeEvent
from tailor.events.sqs import SqsRecord


class _AwsModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class S3Bucket(_AwsModel):
    name: str


class S3Object(_AwsModel):
    key: str
    size: int | None = None
    etag: str | None = None
    version_id: str | None = Field(default=None, alias="version-id")
    sequencer: str | None = None


class S3ObjectCreatedDetail(_AwsModel):
    """``detail`` of an S3 "Object Created" event (S3 → EventBridge)."""

    version: str | None = None
    bucket: S3Bucket
    object: S3Object
    reason: str | None = None
    request_id: str | None = Field(default=None, alias="request-id")


S3ObjectCreatedEvent = EventBridgeEvent[S3ObjectCreatedDetail]


class S3ObjectCreatedRecord(SqsRecord):
    """An SQS record whose body is an S3 Object Created event delivered by an EventBridge rule."""

    body: Json[S3ObjectCreatedEvent]


class BedrockJobStateChangeDetail(_AwsModel):
    """``detail`` of Bedrock's "Model Customization Job State Change" (default bus, best effort)."""

    job_name: str | None = Field(default=None, alias="jobName")
    job_arn: str = Field(alias="jobArn")
    job_status: str = Field(alias="jobStatus")
    output_model_name: str | None = Field(default=None, alias="outputModelName")
    output_model_arn: str | None = Field(default=None, alias="outputModelArn")
    failure_message: str | None = Field(default=None, alias="failureMessage")
    creation_time: datetime | None = Field(default=None, alias="creationTime")
    last_modified_time: datetime | None = Field(default=None, alias="lastModifiedTime")
    end_time: datetime | None = Field(default=None, alias="endTime")
    base_model_arn: str | None = Field(default=None, alias="baseModelArn")


BedrockJobStateChangeEvent = EventBridgeEvent[BedrockJobStateChangeDetail]
