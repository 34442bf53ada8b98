"""Fleet adapter: AWS IoT Jobs (control plane) — create, describe and cancel one rollout job.

Errors are sorted once: ``FleetError`` with ``transient`` True for throttling, 5xx and timeouts
(the message is retried) and False for a finding (bad target, limit exceeded: the export fails with
the service's message). moto accepts a second ``CreateJob`` with the same id and overwrites the job;
AWS answers ``ResourceAlreadyExistsException`` — the service describes before it creates, so both
behave the same here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from tailor.adapters import aws

# Statuses in which a job can still reach devices (CancelJob applies to them).
LIVE_JOB_STATUSES = frozenset({"IN_PROGRESS", "SCHEDULED", "QUEUED"})
_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "InternalFailureException",
        "InternalServerException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


class FleetError(Exception):
    def __init__(self, code: str, message: str, *, transient: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.transient = transient


@dataclass(frozen=True, slots=True)
class FleetJob:
    job_id: str
    arn: str
    status: str
    targets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class JobRequest:
    """Everything ``CreateJob`` needs (already validated: tailor.jobs.spec.RolloutSpec)."""

    job_id: str
    targets: tuple[str, ...]
    document: str
    description: str
    presign_role_arn: str
    url_expiry_seconds: int
    maximum_per_minute: int
    base_rate_per_minute: int
    increment_factor: float
    rate_increase_after_succeeded: int
    abort_threshold_percentage: float
    abort_min_executed_things: int
    in_progress_timeout_minutes: int
    retry_attempts: int
    tags: tuple[tuple[str, str], ...] = ()

    def create_job_args(self) -> dict[str, Any]:
        """The exact ``CreateJob`` arguments (aws-facts §5)."""
        args: dict[str, Any] = {
            "jobId": self.job_id,
            "targets": list(self.targets),
            "document": self.document,
            "description": self.description[:2028],
            # Continuous: a device that joins the group later still gets the current version.
            "targetSelection": "CONTINUOUS",
            "presignedUrlConfig": {"roleArn": self.presign_role_arn, "expiresInSec": self.url_expiry_seconds},
            "jobExecutionsRolloutConfig": {
                "maximumPerMinute": self.maximum_per_minute,
                "exponentialRate": {
                    "baseRatePerMinute": min(self.base_rate_per_minute, self.maximum_per_minute),
                    "incrementFactor": self.increment_factor,
                    "rateIncreaseCriteria": {"numberOfSucceededThings": self.rate_increase_after_succeeded},
                },
            },
            "abortConfig": {
                "criteriaList": [
                    {
                        "failureType": "FAILED",
                        "action": "CANCEL",
                        "thresholdPercentage": self.abort_threshold_percentage,
                        "minNumberOfExecutedThings": self.abort_min_executed_things,
                    }
                ]
            },
            "timeoutConfig": {"inProgressTimeoutInMinutes": self.in_progress_timeout_minutes},
            "tags": [{"Key": key, "Value": value} for key, value in self.tags],
        }
        if self.retry_attempts:
            args["jobExecutionsRetryConfig"] = {
                "criteriaList": [
                    {"failureType": "FAILED", "numberOfRetries": self.retry_attempts},
                    {"failureType": "TIMED_OUT", "numberOfRetries": self.retry_attempts},
                ]
            }
        return args


class Fleet(Protocol):
    def describe_job(self, job_id: str) -> FleetJob | None: ...

    def create_job(self, request: JobRequest) -> FleetJob: ...

    def cancel_job(self, job_id: str, reason: str) -> None:
        """Cancel a live job (no-op for one already cancelled, completed or deleted)."""
        ...


def _code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__))


def _status(error: Exception) -> int:
    return int(getattr(error, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _fleet_error(error: Exception) -> FleetError:
    code = _code(error)
    message = str(getattr(error, "response", {}).get("Error", {}).get("Message", error))
    transient = code in _TRANSIENT_CODES or _status(error) >= 500 or not hasattr(error, "response")
    return FleetError(code, message, transient=transient)


class IotFleet:
    def __init__(self, iot_client: Any | None = None) -> None:
        self._client = iot_client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("iot")
        return self._client

    def describe_job(self, job_id: str) -> FleetJob | None:
        try:
            job = self.client.describe_job(jobId=job_id)["job"]
        except Exception as error:
            if _code(error) == "ResourceNotFoundException":
                return None
            raise _fleet_error(error) from error
        return FleetJob(job["jobId"], job["jobArn"], job["status"], tuple(job.get("targets", ())))

    def create_job(self, request: JobRequest) -> FleetJob:
        try:
            answer = self.client.create_job(**request.create_job_args())
        except Exception as error:
            raise _fleet_error(error) from error
        return FleetJob(answer["jobId"], answer["jobArn"], "IN_PROGRESS", request.targets)

    def cancel_job(self, job_id: str, reason: str) -> None:
        current = self.describe_job(job_id)
        if current is None or current.status not in LIVE_JOB_STATUSES:
            return
        try:
            self.client.cancel_job(jobId=job_id, reasonCode="SUPERSEDED", comment=reason[:2028])
        except Exception as error:
            if _code(error) in {"ResourceNotFoundException", "InvalidStateTransitionException"}:
                return  # gone or finished meanwhile: nothing left to cancel
            raise _fleet_error(error) from error


class InMemoryFleet:
    """The same contract in a dict (unit tests); ``requests`` records every CreateJob argument set."""

    def __init__(self, account_id: str = "123456789012", region: str = "us-east-1") -> None:
        self.jobs: dict[str, FleetJob] = {}
        self.requests: dict[str, dict[str, Any]] = {}
        self.cancelled: list[str] = []
        self.account_id = account_id
        self.region = region
        self.fail_next: list[FleetError] = []

    def _maybe_fail(self) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)

    def describe_job(self, job_id: str) -> FleetJob | None:
        self._maybe_fail()
        return self.jobs.get(job_id)

    def create_job(self, request: JobRequest) -> FleetJob:
        self._maybe_fail()
        if request.job_id in self.jobs:
            raise FleetError("ResourceAlreadyExistsException", request.job_id, transient=False)
        arn = f"arn:aws:iot:{self.region}:{self.account_id}:job/{request.job_id}"
        job = FleetJob(request.job_id, arn, "IN_PROGRESS", request.targets)
        self.jobs[request.job_id] = job
        self.requests[request.job_id] = request.create_job_args()
        return job

    def cancel_job(self, job_id: str, reason: str) -> None:
        self._maybe_fail()
        job = self.jobs.get(job_id)
        if job is None or job.status not in LIVE_JOB_STATUSES:
            return
        self.jobs[job_id] = FleetJob(job.job_id, job.arn, "CANCELED", job.targets)
        self.cancelled.append(job_id)
