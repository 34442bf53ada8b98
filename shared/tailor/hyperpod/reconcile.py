"""Follow Tailor's PyTorchJobs on the HyperPod cluster and publish what they do, as for Bedrock.

HyperPod emits no job events, so every cycle looks at every CPT run with a job (two GETs each: the
job and its pods). What a job says becomes the same ``JobObservation`` the Bedrock path builds and
goes through the same ``status.service.apply_observation``: monotonic transitions, one
``JobStatusChanged`` per change, ``JobCompleted``/``JobFailed`` once. On success the checkpoint named
by ``<output>/<job>/manifest.json`` is imported into Bedrock first (``CreateCustomModel``, by token
and tag exactly once), so ``JobCompleted`` carries a model ARN.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tailor.adapters.bedrock import JobInfo
from tailor.adapters.bus import EventPublisher
from tailor.adapters.errors import BackendCallError, ErrorKind
from tailor.adapters.kubernetes import JobsApi
from tailor.adapters.model_import import ImportedModel, ImportRequest, ModelImporter
from tailor.adapters.object_store import ObjectNotFoundError, ObjectStore
from tailor.adapters.runs import RunStore
from tailor.hyperpod.backend import MODEL_ANNOTATION, token_of
from tailor.hyperpod.conditions import JobState, job_state
from tailor.hyperpod.settings import BACKEND, HyperPodSettings, JobRef
from tailor.jobs.catalog import Technique
from tailor.jobs.naming import client_request_token, job_name, request_token
from tailor.jobs.run import RunRecord
from tailor.jobs.state import RunStatus
from tailor.runtime import Deadline, DeadlineReachedError
from tailor.status.observation import JobObservation
from tailor.status.service import StatusDeps, StatusOutcome, adopt, apply_observation

logger = logging.getLogger(__name__)

MAX_NAME_COLLISIONS = 5
# Bedrock's word for a checkpoint that never showed up: the trainer succeeded but wrote nothing.
MANIFEST_GRACE = timedelta(hours=1)
FULL_RANK_NOTE = (
    "A full-rank model from continued pre-training on SageMaker HyperPod, imported into Bedrock "
    "with CreateCustomModel (it is Creating until Bedrock has copied the weights). Bedrock serves "
    "full-rank models with Provisioned Throughput only (CreateProvisionedModelThroughput), not with "
    "an on-demand deployment."
)
_POLLED = frozenset({RunStatus.SUBMITTED, RunStatus.IN_PROGRESS, RunStatus.STOPPING})


@dataclass
class HyperPodDeps:
    runs: RunStore
    bus: EventPublisher
    jobs: JobsApi
    importer: ModelImporter
    objects: ObjectStore
    settings: HyperPodSettings
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def status_deps(self) -> StatusDeps:
        return StatusDeps(
            runs=self.runs, bus=self.bus, bedrock=_NoBedrockJobs(), objects=self.objects, now=self.now
        )


@dataclass
class HyperPodCycle:
    active: int = 0
    polled: int = 0
    kube_calls: int = 0
    changed: int = 0
    adopted: int = 0
    imported: int = 0
    throttled: bool = False
    out_of_time: bool = False
    errors: list[str] = field(default_factory=list)


class _NoBedrockJobs:
    """The status service's Bedrock gateway for HyperPod jobs: Bedrock knows none of them."""

    def create_job(self, request: Any) -> str:
        raise NotImplementedError("HyperPod jobs are not Bedrock jobs")

    def get_job(self, identifier: str) -> JobInfo | None:
        return None

    def list_jobs(self, status: str) -> Iterator[JobInfo]:
        return iter(())

    def tags_of(self, job_arn: str) -> dict[str, str]:
        return {}

    def stop_job(self, identifier: str) -> None:
        raise NotImplementedError("stop a PyTorchJob with kubectl delete pytorchjob")


def _stale(run: RunRecord, now: datetime, interval: timedelta) -> bool:
    updated = datetime.fromisoformat(run.updated_at.replace("Z", "+00:00"))
    return now - updated >= interval


def reconcile_hyperpod(
    deps: HyperPodDeps, interval: timedelta, deadline: Deadline | None = None
) -> HyperPodCycle:
    report = HyperPodCycle()
    deadline = deadline or Deadline.unlimited()
    for run in deps.runs.list_active(limit=100_000):
        if run.technique != Technique.CONTINUED_PRE_TRAINING.value:
            continue
        report.active += 1
        waiting = run.status is RunStatus.VALIDATED
        if not waiting and run.status not in _POLLED:
            continue
        if waiting and not _stale(run, deps.now, interval):
            continue  # submission is on it: only a run stuck past the interval is looked for
        try:
            deadline.check(what="the next run")
        except DeadlineReachedError:
            report.out_of_time = True
            break
        report.polled += 1
        try:
            _reconcile_one(run, deps, report)
        except BackendCallError as error:
            if error.kind in (ErrorKind.RETRY, ErrorKind.QUOTA):
                report.throttled = True
                logger.warning(
                    "the cluster or Bedrock refused for now: the rest waits", extra={"error": str(error)}
                )
                break
            report.errors.append(f"{run.run_id}: {error}")
    logger.info(
        "reconciled HyperPod jobs",
        extra={"active": report.active, "polled": report.polled, "changed": report.changed},
    )
    return report


def _own_job(run_id: str, deps: HyperPodDeps, report: HyperPodCycle) -> dict[str, Any] | None:
    for collisions in range(MAX_NAME_COLLISIONS):
        name = job_name(run_id, collisions)
        report.kube_calls += 1
        job = deps.jobs.get_job(name)
        if job is None:
            return None
        if token_of(job) == request_token(name):
            return job
    return None


def _reconcile_one(run: RunRecord, deps: HyperPodDeps, report: HyperPodCycle) -> None:
    status_deps = deps.status_deps()
    if run.status is RunStatus.VALIDATED:
        job = _own_job(run.run_id, deps, report)
        if job is None:
            return  # still waiting for submission (e.g. held while the cluster is busy)
        adopted_name = str(job["metadata"]["name"])
        ref = str(JobRef(deps.settings.cluster_name, deps.settings.namespace, adopted_name))
        run = adopt(run, JobObservation(ref, "InProgress", "poll", job_name=adopted_name), status_deps)
        report.adopted += 1
    name = run.facts.job_name or _name_of(run.facts.job_arn)
    if not name:
        report.errors.append(f"{run.run_id}: no job name recorded")
        return
    ref = run.facts.job_arn or str(JobRef(deps.settings.cluster_name, deps.settings.namespace, name))
    report.kube_calls += 1
    job = deps.jobs.get_job(name)
    if job is None:
        state = JobState("Failed", "Deleted", f"the PyTorchJob {name} no longer exists on the cluster")
    else:
        report.kube_calls += 1
        state = job_state(job, deps.jobs.job_pods(name))
    observation = JobObservation(
        job_arn=ref,
        status=state.status,
        observed_via="poll",
        job_name=name,
        last_modified=state.last_modified,
        end_time=state.end_time,
        failure_message=state.failure_message,
        backend=BACKEND,
    )
    if state.status == "Completed":
        assert job is not None
        imported = _import(run, job, state, deps, report)
        if imported is None:
            return
        observation = JobObservation(
            job_arn=ref,
            status=state.status,
            observed_via="poll",
            job_name=name,
            last_modified=state.last_modified,
            end_time=state.end_time,
            output_model_arn=imported.arn,
            output_model_name=imported.name,
            backend=BACKEND,
            requires_provisioned_throughput=True,
            note=FULL_RANK_NOTE,
        )
    if apply_observation(observation, status_deps, run) is StatusOutcome.CHANGED:
        report.changed += 1


def _name_of(job_arn: str | None) -> str | None:
    ref = JobRef.parse(job_arn or "")
    return ref.name if ref else None


def manifest_uri(output_uri: str, name: str) -> str:
    return f"{output_uri.rstrip('/')}/{name}/manifest.json"


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _import(
    run: RunRecord, job: dict[str, Any], state: JobState, deps: HyperPodDeps, report: HyperPodCycle
) -> ImportedModel | None:
    """The run's model in Bedrock, or None when the checkpoint is not there yet (next cycle)."""
    name = str(job["metadata"]["name"])
    output = run.facts.output_uri or f"s3://{deps.settings.artifacts_bucket}/jobs/{run.run_id}/"
    uri = manifest_uri(output, name)
    try:
        manifest = json.loads(deps.objects.get_bytes(*_split(uri)))
        checkpoint = str(manifest["checkpoint_s3_bucket"])
        if not checkpoint.startswith("s3://"):
            raise ValueError(f"checkpoint_s3_bucket {checkpoint!r} is not an s3:// URI")
    except ObjectNotFoundError:
        finished = state.end_time or state.last_modified or deps.now
        if deps.now - finished < MANIFEST_GRACE:
            report.errors.append(f"{run.run_id}: {uri} not written yet")
            return None
        _fail(run, deps, f"the job succeeded but wrote no {uri} within {MANIFEST_GRACE}", report)
        return None
    except (ValueError, KeyError, TypeError) as error:
        _fail(run, deps, f"{uri} is not a HyperPod manifest ({error}): nothing to import", report)
        return None
    model_name = run.facts.custom_model_name or _annotation(job, MODEL_ANNOTATION) or name
    imported = deps.importer.import_model(
        ImportRequest(
            model_name=model_name,
            checkpoint_uri=checkpoint,
            role_arn=deps.settings.import_role_arn,
            run_id=run.run_id,
            token=client_request_token(f"import-{run.run_id}"),
        )
    )
    report.imported += 0 if imported.adopted else 1
    logger.info("checkpoint imported into Bedrock", extra={"run_id": run.run_id, "model_arn": imported.arn})
    return imported


def _fail(run: RunRecord, deps: HyperPodDeps, message: str, report: HyperPodCycle) -> None:
    observation = JobObservation(
        job_arn=run.facts.job_arn or "",
        status="Failed",
        observed_via="poll",
        job_name=run.facts.job_name,
        end_time=deps.now,
        failure_message=message,
        backend=BACKEND,
    )
    if apply_observation(observation, deps.status_deps(), run) is StatusOutcome.CHANGED:
        report.changed += 1


def _annotation(job: dict[str, Any], key: str) -> str | None:
    value = ((job.get("metadata") or {}).get("annotations") or {}).get(key)
    return str(value) if value else None
