"""One sighting of a Bedrock job's state, from its state-change event or from a poll."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from tailor.adapters.bedrock import JobInfo
from tailor.events.aws import BedrockJobStateChangeDetail
from tailor.jobs.state import RunStatus

ObservedVia = Literal["event", "poll"]

# Bedrock's job status → the run's state (aws-facts §1).
RUN_STATUS: dict[str, RunStatus] = {
    "InProgress": RunStatus.IN_PROGRESS,
    "Stopping": RunStatus.STOPPING,
    "Completed": RunStatus.COMPLETED,
    "Failed": RunStatus.FAILED,
    "Stopped": RunStatus.STOPPED,
}
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})


@dataclass(frozen=True, slots=True)
class JobObservation:
    job_arn: str
    status: str  # Bedrock's word: InProgress | Completed | Failed | Stopping | Stopped (or a newer one)
    observed_via: ObservedVia
    job_name: str | None = None
    last_modified: datetime | None = None
    end_time: datetime | None = None
    failure_message: str | None = None
    output_model_arn: str | None = None
    output_model_name: str | None = None
    sub_tasks: dict[str, str] = field(default_factory=dict)
    # Set by the HyperPod reconciler: the job ran there and its model is full-rank.
    backend: str | None = None
    requires_provisioned_throughput: bool = False
    note: str | None = None

    @property
    def run_status(self) -> RunStatus | None:
        """None for a status this Tailor does not know (a newer Bedrock): nothing moves."""
        return RUN_STATUS.get(self.status)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def from_event(cls, detail: BedrockJobStateChangeDetail) -> JobObservation:
        return cls(
            job_arn=detail.job_arn,
            status=detail.job_status,
            observed_via="event",
            job_name=detail.job_name,
            last_modified=detail.last_modified_time,
            end_time=detail.end_time,
            failure_message=detail.failure_message,
            output_model_arn=detail.output_model_arn,
            output_model_name=detail.output_model_name,
        )

    @classmethod
    def from_job(cls, job: JobInfo) -> JobObservation:
        return cls(
            job_arn=job.arn,
            status=job.status,
            observed_via="poll",
            job_name=job.name,
            last_modified=job.last_modified_time,
            end_time=job.end_time,
            failure_message=job.failure_message,
            output_model_arn=job.output_model_arn,
            output_model_name=job.output_model_name,
            sub_tasks=dict(job.sub_tasks),
        )
