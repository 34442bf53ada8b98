"""Where a run trains: one ``CustomizationBackend`` protocol, one implementation per service.

Bedrock runs Nova fine-tuning and distillation. Nova continued pre-training runs on SageMaker
HyperPod only (aws-facts §2): ``tailor.hyperpod.backend.HyperPodBackend`` when a cluster is
configured; without one no backend accepts it, and the run is refused with that reason before any
AWS call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tailor.adapters.bedrock import BedrockError, BedrockGateway, ErrorKind
from tailor.events.models import CostEstimate
from tailor.jobs.catalog import NovaModel, Technique, bedrock_supports

MAX_NAME_COLLISIONS = 5


@dataclass(frozen=True, slots=True)
class StartedJob:
    job_arn: str
    job_name: str
    custom_model_name: str
    adopted: bool  # the job existed already (a retry after a crash): recorded, not created


class CustomizationBackend(Protocol):
    name: str

    def accepts(self, technique: Technique, model: NovaModel) -> bool: ...

    def in_progress(self) -> int:
        """Jobs of this account now in progress (what the quota counts)."""
        ...

    def preflight(self, request: Mapping[str, Any]) -> None:
        """Raise ``RequestError`` for a finding about the run this backend alone can make."""
        ...

    def refine_estimate(self, estimate: CostEstimate, model: NovaModel) -> CostEstimate:
        """The cost estimate as this backend bills (Bedrock: per token, as given)."""
        ...

    def submit(self, build: Callable[[int], Mapping[str, Any]]) -> StartedJob:
        """Start the job ``build(collisions)`` describes, exactly once. ``build`` is called again
        with a higher count when the job name is taken by a job that is not ours."""
        ...

    def find_own(self, build: Callable[[int], Mapping[str, Any]]) -> StartedJob | None:
        """The job an earlier try created for this run (it died before recording it), if any."""
        ...


class BedrockBackend:
    name = "bedrock"

    def __init__(self, gateway: BedrockGateway) -> None:
        self.gateway = gateway

    def accepts(self, technique: Technique, model: NovaModel) -> bool:
        return bedrock_supports(technique, model)

    def in_progress(self) -> int:
        return sum(1 for _ in self.gateway.list_jobs("InProgress"))

    def preflight(self, request: Mapping[str, Any]) -> None:
        return None  # build_request already holds Bedrock's rules

    def refine_estimate(self, estimate: CostEstimate, model: NovaModel) -> CostEstimate:
        return estimate

    def find_own(self, build: Callable[[int], Mapping[str, Any]]) -> StartedJob | None:
        # Names are tried in order, so the first free name ends the search: no later one is ours.
        for collisions in range(MAX_NAME_COLLISIONS):
            request = build(collisions)
            job = self.gateway.get_job(str(request["jobName"]))
            if job is None:
                return None
            if job.client_request_token == request.get("clientRequestToken"):
                return StartedJob(job.arn, job.name, str(request["customModelName"]), adopted=True)
        return None

    def submit(self, build: Callable[[int], Mapping[str, Any]]) -> StartedJob:
        for collisions in range(MAX_NAME_COLLISIONS):
            request = build(collisions)
            name, token = str(request["jobName"]), request.get("clientRequestToken")
            try:
                arn = self.gateway.create_job(request)
            except BedrockError as error:
                if error.kind is not ErrorKind.CONFLICT:
                    raise
                existing = self.gateway.get_job(name)
                if existing is not None and existing.client_request_token == token:
                    # Ours: created by an earlier try that died before recording it.
                    return StartedJob(existing.arn, name, str(request["customModelName"]), adopted=True)
                continue  # a job that is not ours holds the name: the next name
            return StartedJob(arn, name, str(request["customModelName"]), adopted=False)
        raise BedrockError(
            "NameCollision",
            f"{MAX_NAME_COLLISIONS} job names for this run are taken by jobs that are not Tailor's",
            ErrorKind.FATAL,
        )


def backend_for(
    technique: Technique, model: NovaModel, backends: Sequence[CustomizationBackend]
) -> CustomizationBackend | None:
    return next((b for b in backends if b.accepts(technique, model)), None)
