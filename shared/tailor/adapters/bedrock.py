"""Bedrock model customization: create, get and list jobs (aws-facts §1).

Errors are sorted once, here: ``BedrockError.kind`` says what the caller does with it —
``retry`` (throttling, 5xx: the SDK already retried), ``quota`` (ServiceQuotaExceeded: the SDK does
not retry; wait longer), ``conflict`` (the job name is taken) or ``fatal`` (fix the input).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from tailor.adapters import aws
from tailor.adapters.errors import BackendCallError
from tailor.adapters.errors import ErrorKind as ErrorKind  # re-exported: callers import it from here

_RETRY = frozenset(
    {
        "ThrottlingException",
        "InternalServerException",
        "ServiceUnavailableException",
        "TooManyRequestsException",
    }
)
# moto answers a repeated name with ResourceInUseException; Bedrock with ConflictException or a
# ValidationException "The provided job name is currently in use."
_CONFLICT = frozenset({"ConflictException", "ResourceInUseException"})


class BedrockError(BackendCallError):
    """A classified Bedrock ClientError."""

    @classmethod
    def classify(cls, code: str, message: str) -> BedrockError:
        if code in _RETRY:
            return cls(code, message, ErrorKind.RETRY)
        if code == "ServiceQuotaExceededException":
            return cls(code, message, ErrorKind.QUOTA)
        if code in _CONFLICT or (code == "ValidationException" and "currently in use" in message):
            return cls(code, message, ErrorKind.CONFLICT)
        return cls(code, message, ErrorKind.FATAL)


@dataclass(frozen=True, slots=True)
class JobInfo:
    """A job as Bedrock describes it (GetModelCustomizationJob; List gives the first five fields)."""

    arn: str
    name: str
    status: str
    client_request_token: str | None = None
    creation_time: datetime | None = None
    last_modified_time: datetime | None = None
    end_time: datetime | None = None
    failure_message: str | None = None
    output_model_arn: str | None = None
    output_model_name: str | None = None
    # statusDetails per sub-task: validation, dataProcessing, training → NotStarted|InProgress|…
    sub_tasks: dict[str, str] = field(default_factory=dict)
    output_uri: str | None = None


def _sub_tasks(details: Mapping[str, Any] | None) -> dict[str, str]:
    names = {
        "validationDetails": "validation",
        "dataProcessingDetails": "dataProcessing",
        "trainingDetails": "training",
    }
    found = {}
    for key, name in names.items():
        status = ((details or {}).get(key) or {}).get("status")
        if status:
            found[name] = str(status)
    return found


def job_info(job: Mapping[str, Any]) -> JobInfo:
    """A GetModelCustomizationJob response (or a moto/fake one) as JobInfo."""
    return JobInfo(
        arn=job["jobArn"],
        name=job["jobName"],
        status=job["status"],
        client_request_token=job.get("clientRequestToken"),
        creation_time=job.get("creationTime"),
        last_modified_time=job.get("lastModifiedTime"),
        end_time=job.get("endTime"),
        failure_message=job.get("failureMessage") or None,
        output_model_arn=job.get("outputModelArn") or None,
        output_model_name=job.get("outputModelName") or None,
        sub_tasks=_sub_tasks(job.get("statusDetails")),
        output_uri=(job.get("outputDataConfig") or {}).get("s3Uri"),
    )


class BedrockGateway(Protocol):
    def create_job(self, request: Mapping[str, Any]) -> str:
        """CreateModelCustomizationJob with exactly ``request``; the job ARN. Raises BedrockError."""
        ...

    def get_job(self, identifier: str) -> JobInfo | None:
        """The job by name or ARN; None if there is none."""
        ...

    def list_jobs(self, status: str) -> Iterator[JobInfo]:
        """Every job in ``status`` (all pages)."""
        ...

    def tags_of(self, job_arn: str) -> dict[str, str]:
        """The job's tags (ListTagsForResource): ``tailor-run-id`` names the run."""
        ...

    def stop_job(self, identifier: str) -> None:
        """StopModelCustomizationJob (InProgress → Stopping → Stopped)."""
        ...


def classify_client_error(error: Exception) -> BedrockError | None:
    """The BedrockError a botocore ClientError stands for; None for anything else (transient)."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    details = response.get("Error", {})
    return BedrockError.classify(str(details.get("Code", "")), str(details.get("Message", "")))


def call_bedrock(function: Any, **kwargs: Any) -> Any:
    """Call boto3; a Bedrock ClientError becomes a classified BedrockError, anything else (a timeout,
    a connection error) propagates unchanged: transient, the message is retried."""
    try:
        return function(**kwargs)
    except Exception as error:
        classified = classify_client_error(error)
        if classified is None:
            raise
        raise classified from error


class BedrockClient:
    """BedrockGateway on boto3 (adaptive retry mode: throttling and 5xx are retried first)."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("bedrock")
        return self._client

    def create_job(self, request: Mapping[str, Any]) -> str:
        response = call_bedrock(self.client.create_model_customization_job, **request)
        return str(response["jobArn"])

    def get_job(self, identifier: str) -> JobInfo | None:
        try:
            job = call_bedrock(self.client.get_model_customization_job, jobIdentifier=identifier)
        except BedrockError as error:
            if error.code == "ResourceNotFoundException":
                return None
            raise
        return job_info(job)

    def list_jobs(self, status: str) -> Iterator[JobInfo]:
        paginator = self.client.get_paginator("list_model_customization_jobs")
        pages = call_bedrock(lambda: list(paginator.paginate(statusEquals=status)))
        for page in pages:
            for job in page.get("modelCustomizationJobSummaries", []):
                yield JobInfo(arn=job["jobArn"], name=job["jobName"], status=job["status"])

    def tags_of(self, job_arn: str) -> dict[str, str]:
        try:
            response = call_bedrock(self.client.list_tags_for_resource, resourceARN=job_arn)
        except BedrockError as error:
            if error.code == "ResourceNotFoundException":
                return {}
            raise
        return {str(t["key"]): str(t["value"]) for t in response.get("tags", [])}

    def stop_job(self, identifier: str) -> None:
        call_bedrock(self.client.stop_model_customization_job, jobIdentifier=identifier)


@dataclass
class InMemoryBedrock:
    """Fake BedrockGateway with AWS's semantics (not moto's): a repeat with the same name and
    token is the same job; the same name with another token is a conflict; get works by name or
    ARN. ``fail_next`` injects errors (``BedrockError``s, or any exception) into the next creates."""

    region: str = "us-east-1"
    account: str = "123456789012"
    jobs: dict[str, tuple[JobInfo, dict[str, Any]]] = field(default_factory=dict)  # name → job, request
    fail_next: list[Exception] = field(default_factory=list)
    create_calls: int = 0

    def _maybe_fail(self) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)

    def create_job(self, request: Mapping[str, Any]) -> str:
        self.create_calls += 1
        self._maybe_fail()
        name = str(request["jobName"])
        token = request.get("clientRequestToken")
        if name in self.jobs:
            job, _ = self.jobs[name]
            if token is not None and job.client_request_token == token:
                return job.arn  # Bedrock ignores a repeat with the same token
            raise BedrockError.classify("ConflictException", f"job name {name} is already in use")
        job_id = secrets.token_hex(6)  # Bedrock's job id: 12 characters [a-z0-9]
        base = str(request["baseModelIdentifier"])
        arn = f"arn:aws:bedrock:{self.region}:{self.account}:model-customization-job/{base}/{job_id}"
        info = JobInfo(
            arn=arn,
            name=name,
            status="InProgress",
            client_request_token=token,
            creation_time=datetime.now(UTC),
        )
        self.jobs[name] = (info, dict(request))
        return arn

    def get_job(self, identifier: str) -> JobInfo | None:
        for job, _ in self.jobs.values():
            if identifier in (job.name, job.arn):
                return job
        return None

    def list_jobs(self, status: str) -> Iterator[JobInfo]:
        yield from (job for job, _ in self.jobs.values() if job.status == status)

    def tags_of(self, job_arn: str) -> dict[str, str]:
        for job, request in self.jobs.values():
            if job.arn == job_arn:
                return {str(t["key"]): str(t["value"]) for t in request.get("jobTags", [])}
        return {}

    def stop_job(self, identifier: str) -> None:
        job = self.get_job(identifier)
        if job is None:
            raise BedrockError.classify("ResourceNotFoundException", f"no job {identifier}")
        if job.status != "InProgress":
            raise BedrockError.classify("ValidationException", f"job {identifier} is {job.status}")
        self.set_status(job.name, "Stopping")

    def request_of(self, name: str) -> dict[str, Any]:
        return self.jobs[name][1]

    def set_status(self, name: str, status: str, **changes: Any) -> None:
        """Move a job on, as Bedrock would (``changes``: failure_message, output_model_arn, …)."""
        job, request = self.jobs[name]
        moved = replace(job, status=status, last_modified_time=datetime.now(UTC), **changes)
        self.jobs[name] = (moved, request)
