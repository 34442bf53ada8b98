"""Ingest one uploaded object: read exactly the version the event names, validate it, snapshot the
validated bytes, record the run and publish exactly one DatasetValidated or DatasetRejected.

Every step is safe to repeat. The run id comes from the content (``identity.py``): a replayed
event finds its own run and finishes what a crash left undone; an identical upload joins the run
it duplicates. Transient AWS errors propagate (the message is retried); only findings about the
user's input become a rejection.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import unquote_plus

import orjson

from tailor.adapters.bus import EventPublisher
from tailor.adapters.object_store import ObjectInfo, ObjectStore
from tailor.adapters.runs import RunStore
from tailor.datasets import DatasetSource, ValidationIssue, ValidationReport, validate_dataset
from tailor.events.aws import S3ObjectCreatedDetail
from tailor.events.constants import DetailType, Source
from tailor.events.envelope import new_detail
from tailor.events.models import (
    DatasetFiles,
    DatasetRejected,
    DatasetSnapshot,
    DatasetValidated,
    IssueSummary,
    JobSpecData,
    RecordCounts,
)
from tailor.ingestion.identity import Upload, content_digest, content_run_id, upload_run_id
from tailor.ingestion.inbox import inbox_spec
from tailor.ingestion.snapshot import take_snapshot
from tailor.ingestion.triggers import (
    HOW_TO_TRIGGER,
    InboxTrigger,
    MisplacedTrigger,
    SpecTrigger,
    Trigger,
    classify_key,
    report_key,
)
from tailor.jobs.catalog import resolve_model
from tailor.jobs.naming import bedrock_safe_key
from tailor.jobs.run import RunFacts, RunRecord
from tailor.jobs.spec import JobSpec, SpecError, parse_spec
from tailor.jobs.state import RETRYABLE_ENDS, RunStatus
from tailor.runtime import Deadline

logger = logging.getLogger(__name__)

EVENT_ERRORS = 10  # errors carried inside DatasetRejected; the report has up to 100
# A conservative floor for streaming + validating from S3 in a 1-vCPU Lambda (measured far higher:
# benchmarks/README.md): a dataset that cannot finish before the deadline is not started.
MIN_BYTES_PER_SECOND = 25 * 2**20
# What one invocation (900 s timeout) reads at that floor, with the deadline's reserve left over.
MAX_DATASET_BYTES = 20 * 2**30


@dataclass(frozen=True, slots=True)
class IngestionDeps:
    objects: ObjectStore
    runs: RunStore
    bus: EventPublisher
    artifacts_bucket: str
    deadline: Deadline = field(default_factory=Deadline.unlimited)


class IngestOutcome(StrEnum):
    VALIDATED = "validated"
    REJECTED = "rejected"
    JOINED = "joined"  # identical to an existing run: no second run, no second job
    ALREADY_DONE = "already-done"
    OBJECT_GONE = "object-gone"  # the event's object version does not exist: rejected with a report


@dataclass(frozen=True, slots=True)
class IngestResult:
    outcome: IngestOutcome
    run_id: str | None = None
    report_uri: str | None = None


@dataclass(frozen=True, slots=True)
class _DataFile:
    role: str
    key: str
    info: ObjectInfo | None  # None: missing


def _uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def _real_version(version_id: str | None) -> str | None:
    return version_id if version_id and version_id != "null" else None


def _resolve_object(
    objects: ObjectStore, bucket: str, key: str, version_id: str | None
) -> tuple[str, ObjectInfo | None]:
    """HEAD the event's object version; try the URL-decoded key too (S3 notifications may encode keys)."""
    info = objects.head(bucket, key, version_id=version_id)
    if info is None and unquote_plus(key) != key:
        decoded = unquote_plus(key)
        decoded_info = objects.head(bucket, decoded, version_id=version_id)
        if decoded_info is not None:
            return decoded, decoded_info
    return key, info


def ingest_object(detail: S3ObjectCreatedDetail, deps: IngestionDeps) -> IngestResult:
    bucket = detail.bucket.name
    event_version = _real_version(detail.object.version_id)
    key, info = _resolve_object(deps.objects, bucket, detail.object.key, event_version)
    trigger = classify_key(key)  # UnrelatedObjectError: the caller decides (report or failed item)
    upload = Upload(
        bucket=bucket,
        key=key,
        version_id=event_version or (info.pinned_version if info else None),
        etag=detail.object.etag or (info.etag if info else ""),
    )
    if info is None:
        # Never existed, or this version was deleted for good before we read it: still an outcome.
        logger.warning("uploaded object version does not exist", extra={"upload": upload.display})
        run = upload_run_id(trigger.label, upload, None)
        result = _conclude(deps, _Claim(run, upload), trigger, upload, None, _gone_report(upload), [])
        return IngestResult(IngestOutcome.OBJECT_GONE, result.run_id, result.report_uri)

    try:
        spec = _spec_for(deps.objects, info, trigger)
    except SpecError as error:
        run = upload_run_id(trigger.label, upload, None)
        return _conclude(deps, _Claim(run, upload), trigger, upload, None, _spec_report(error, upload), [])

    data = _data_files(deps.objects, trigger, spec, info)
    missing = [d for d in data if d.info is None]
    if missing:
        report = _missing_report(bucket, spec, missing)
        run = upload_run_id(trigger.label, upload, spec.digest())
        return _conclude(deps, _Claim(run, upload), trigger, upload, spec, report, data)

    too_large = _too_large_report(bucket, spec, data)
    if too_large is not None:
        run = upload_run_id(trigger.label, upload, spec.digest())
        return _conclude(deps, _Claim(run, upload), trigger, upload, spec, too_large, data)
    report = _validate(deps, spec, data)
    digests = tuple(f.sha256 for f in report.files)
    if len(report.files) == len(data) and all(digests):
        claim = _claim_content_run(deps, trigger, upload, spec, tuple(d for d in digests if d))
    else:
        claim = _Claim(upload_run_id(trigger.label, upload, spec.digest()), upload)
    if claim.joined is not None:
        return _join(deps, claim.joined, upload, report)
    return _conclude(deps, claim, trigger, upload, spec, report, data)


@dataclass(frozen=True, slots=True)
class _Claim:
    """The run this upload owns (new, or its own on a replay), or the run it joins."""

    run_id: str
    upload: Upload
    facts: RunFacts = field(default_factory=RunFacts)
    joined: RunRecord | None = None


def _claim_content_run(
    deps: IngestionDeps, trigger: Trigger, upload: Upload, spec: JobSpec, data_sha256: tuple[str, ...]
) -> _Claim:
    digest = content_digest(
        bucket=upload.bucket,
        location=_location(trigger, upload),
        spec_digest=spec.digest(),
        data_sha256=data_sha256,
    )
    attempt, previous = 1, None
    while True:
        run = content_run_id(trigger.label, digest, attempt)
        facts = RunFacts(content_digest=digest, attempt=attempt, previous_attempt=previous)
        if deps.runs.create(_new_record(run, trigger, upload, spec, facts)):
            if previous is not None:
                deps.runs.add_facts(previous, RunFacts(next_attempt=run))
            return _Claim(run, upload, facts)
        existing = deps.runs.get(run)
        if existing is None:  # created and deleted in between: try again
            continue
        if _is_own(existing, upload):
            if previous is not None:  # a crash may have come between the create and this fact
                deps.runs.add_facts(previous, RunFacts(next_attempt=run))
            return _Claim(run, upload, facts)  # a replay: finish what is unfinished
        if existing.status not in RETRYABLE_ENDS and existing.status is not RunStatus.REJECTED:
            return _Claim(run, upload, facts, joined=existing)
        attempt, previous = attempt + 1, run  # that attempt ended without a model: a new one


def _location(trigger: Trigger, upload: Upload) -> str:
    # The dataset folder for job.json runs; the file itself for inbox drops.
    return trigger.folder if isinstance(trigger, SpecTrigger) else upload.key


def _is_own(record: RunRecord, upload: Upload) -> bool:
    return record.trigger_uri == upload.uri and record.facts.trigger_version == upload.identity


def _new_record(
    run: str, trigger: Trigger, upload: Upload, spec: JobSpec | None, facts: RunFacts
) -> RunRecord:
    return RunRecord(
        run_id=run,
        label=trigger.label,
        technique=spec.technique.value if spec else None,
        base_model_id=resolve_model(spec.base_model).model_id if spec else None,
        trigger_uri=upload.uri,
        facts=facts.model_copy(
            update={
                "trigger_version": upload.identity,
                "spec_uri": upload.uri if isinstance(trigger, SpecTrigger) else None,
                # For the deployment service: JobCompleted does not carry the spec.
                "deploy_on_demand": True if spec and spec.deploy and spec.deploy.on_demand else None,
                "edge_export": True if spec and spec.edge else None,
            }
        ),
    )


def _spec_for(objects: ObjectStore, trigger_object: ObjectInfo, trigger: Trigger) -> JobSpec:
    """The run's job spec, or SpecError saying why the upload cannot start a run."""
    if isinstance(trigger, MisplacedTrigger):
        raise SpecError(trigger.problem, line=None, hint=HOW_TO_TRIGGER, code="not_a_trigger")
    if not bedrock_safe_key(trigger.folder):
        # Caught now rather than as a ValidationException from Bedrock after the run started.
        raise SpecError(
            f"{trigger.folder!r} has characters Bedrock refuses in S3 keys",
            line=None,
            hint="rename the folder using letters, digits and -!_*'(). only",
            code="key_invalid",
        )
    if isinstance(trigger, SpecTrigger):
        raw = objects.get_bytes(
            trigger_object.bucket, trigger_object.key, version_id=trigger_object.pinned_version
        )
        return parse_spec(raw)
    return inbox_spec(trigger, bucket=trigger_object.bucket)


def _data_files(
    objects: ObjectStore, trigger: Trigger, spec: JobSpec, trigger_object: ObjectInfo
) -> list[_DataFile]:
    """The data files at the exact versions that will be validated (their newest now: pinned)."""
    if isinstance(trigger, InboxTrigger):
        return [_DataFile("training", trigger_object.key, trigger_object)]
    named = [("training", spec.training), ("validation", spec.validation)]
    bucket = trigger_object.bucket
    files = []
    for role, name in named:
        if name is not None:
            key = trigger.folder + name
            files.append(_DataFile(role, key, objects.head(bucket, key)))
    return files


def _validate(deps: IngestionDeps, spec: JobSpec, data: list[_DataFile]) -> ValidationReport:
    infos = [d.info for d in data if d.info is not None]
    total = sum(i.size for i in infos)
    deps.deadline.check(total / MIN_BYTES_PER_SECOND, f"validating {total / 2**20:,.0f} MiB")

    def sources() -> dict[str, DatasetSource]:
        return {d.role: DatasetSource.s3(i.bucket, i.key, i.pinned_version) for d in data if (i := d.info)}

    picked = sources()
    return validate_dataset(
        picked["training"],
        technique=spec.technique,
        model=spec.base_model,
        validation=picked.get("validation"),
        object_store=deps.objects,
        progress=lambda _read: deps.deadline.check(what="finishing validation"),
    )


def _gone_report(upload: Upload) -> ValidationReport:
    issue = ValidationIssue(
        file=upload.uri,
        line=None,
        code="file_missing",
        message=f"{upload.display} does not exist: it was deleted (or never written) before it was read",
        hint="upload it again",
    )
    return ValidationReport.from_issues(technique=None, model=None, errors=[issue])


def _spec_report(error: SpecError, upload: Upload) -> ValidationReport:
    issue = ValidationIssue(
        file=upload.uri, line=error.line, code=error.code, message=error.message, hint=error.hint
    )
    return ValidationReport.from_issues(technique=None, model=None, errors=[issue])


def _missing_report(bucket: str, spec: JobSpec, missing: list[_DataFile]) -> ValidationReport:
    errors = [
        ValidationIssue(
            file=_uri(bucket, d.key),
            line=None,
            code="file_missing",
            message=f"{_uri(bucket, d.key)} does not exist",
            hint=f"upload {d.key.rsplit('/', 1)[-1]} before job.json (job.json starts the run)",
        )
        for d in missing
    ]
    return ValidationReport.from_issues(technique=spec.technique.value, model=spec.base_model, errors=errors)


def _too_large_report(bucket: str, spec: JobSpec, data: list[_DataFile]) -> ValidationReport | None:
    total = sum(d.info.size for d in data if d.info is not None)
    if total <= MAX_DATASET_BYTES:
        return None
    issue = ValidationIssue(
        file=_uri(bucket, data[0].key),
        line=None,
        code="dataset_too_large",
        message=f"the dataset is {total / 2**30:,.1f} GiB; ingestion validates at most "
        f"{MAX_DATASET_BYTES / 2**30:,.0f} GiB per dataset (training + validation)",
        hint="split it into several datasets under the limit",
    )
    return ValidationReport.from_issues(technique=spec.technique.value, model=spec.base_model, errors=[issue])


def _write_json(deps: IngestionDeps, key: str, document: object) -> str:
    body = orjson.dumps(document, option=orjson.OPT_INDENT_2)
    deps.objects.put_bytes(deps.artifacts_bucket, key, body, content_type="application/json")
    return _uri(deps.artifacts_bucket, key)


def _join(deps: IngestionDeps, run: RunRecord, upload: Upload, report: ValidationReport) -> IngestResult:
    """An identical upload: tell the run and the uploader, start nothing."""
    # Version ids may hold characters that do not belong in a key: name the receipt by a digest.
    upload_digest = hashlib.sha256(f"{upload.uri}\n{upload.identity}".encode()).hexdigest()[:20]
    receipt_key = f"reports/{run.run_id}/joined/{upload_digest}.json"
    receipt = {
        "upload": upload.uri,
        "version": upload.identity,
        "joinedRun": run.run_id,
        "runStatus": run.status.value,
        "reason": "the spec and every data file are byte-for-byte this run's: no second job is started",
        "runReport": run.facts.report_uri,
        "rerun": 'to train again on purpose, change the spec (e.g. a tag "rerun": "2"); see docs/runs.md',
        "report": report.model_dump(mode="json"),
    }
    receipt_uri = _write_json(deps, receipt_key, receipt)
    deps.runs.record_join(run.run_id, upload.display)
    logger.info(
        "identical upload joined an existing run", extra={"run_id": run.run_id, "upload": upload.display}
    )
    return IngestResult(IngestOutcome.JOINED, run.run_id, receipt_uri)


def _conclude(
    deps: IngestionDeps,
    claim: _Claim,
    trigger: Trigger,
    upload: Upload,
    spec: JobSpec | None,
    report: ValidationReport,
    data: list[_DataFile],
) -> IngestResult:
    """Create the run (if new), snapshot, write the report, move the run, publish its one outcome."""
    run = claim.run_id
    deps.runs.create(_new_record(run, trigger, upload, spec, claim.facts))  # False on a replay: fine
    existing = deps.runs.get(run)
    if existing is not None and _OUTCOME_EVENTS & set(existing.published):
        logger.info("replay of an ingested upload: nothing to do", extra={"run_id": run})
        return IngestResult(IngestOutcome.ALREADY_DONE, run, existing.facts.report_uri)
    snapshot = _snapshots(deps, report, data) if report.valid and spec is not None else None
    report_uri = _write_json(deps, report_key(run), report.model_dump(mode="json"))
    files = _dataset_files(upload, trigger, spec, data, snapshot)
    return _record_and_publish(deps, run, report, report_uri, spec, files)


_OUTCOME_EVENTS = frozenset({DetailType.DATASET_VALIDATED.value, DetailType.DATASET_REJECTED.value})


def _snapshots(deps: IngestionDeps, report: ValidationReport, data: list[_DataFile]) -> DatasetSnapshot:
    taken = {}
    for data_file, counted in zip(data, report.files, strict=True):
        assert data_file.info is not None and counted.sha256 is not None
        if counted.bytes != data_file.info.size:  # the stream must have been the whole object
            raise RuntimeError(f"{data_file.info.uri}: read {counted.bytes} of {data_file.info.size} bytes")
        taken[data_file.role] = take_snapshot(deps.objects, data_file.info, counted.sha256)
    return DatasetSnapshot(training=taken["training"], validation=taken.get("validation"))


def _record_and_publish(
    deps: IngestionDeps,
    run: str,
    report: ValidationReport,
    report_uri: str,
    spec: JobSpec | None,
    files: DatasetFiles,
) -> IngestResult:
    """Move the run to VALIDATED or REJECTED, then publish its one outcome event. A transition
    already applied (a replay that stopped before publishing) is a no-op; publishing is recorded
    on the run so that later replays stop early."""
    facts = RunFacts(report_uri=report_uri, snapshot=files.snapshot)
    data: DatasetValidated | DatasetRejected
    if report.valid and spec is not None:
        deps.runs.transition(run, RunStatus.VALIDATED, reason="dataset valid", facts=facts)
        outcome, detail_type = IngestOutcome.VALIDATED, DetailType.DATASET_VALIDATED
        data = DatasetValidated(
            run_id=run,
            spec=JobSpecData.model_validate(spec.model_dump(mode="json", by_alias=True)),
            base_model_id=report.model or spec.base_model,
            dataset=files,
            records=RecordCounts(training=report.training_records, validation=report.validation_records),
            token_estimate=report.token_estimate.total,
            report_uri=report_uri,
            warning_counts=report.warning_counts,
        )
    else:
        reason = "job.json rejected" if spec is None else "dataset rejected"
        deps.runs.transition(run, RunStatus.REJECTED, reason=reason, facts=facts)
        outcome, detail_type = IngestOutcome.REJECTED, DetailType.DATASET_REJECTED
        data = DatasetRejected(
            run_id=run,
            dataset=files,
            error_counts=report.error_counts,
            errors=[IssueSummary.model_validate(e.model_dump()) for e in report.errors[:EVENT_ERRORS]],
            truncated=report.truncated or len(report.errors) > EVENT_ERRORS,
            report_uri=report_uri,
        )
    deps.bus.publish([new_detail(data, producer=Source.INGESTION.value)])
    deps.runs.mark_published(run, detail_type.value)
    logger.info("dataset %s", outcome.value, extra={"run_id": run, "report_uri": report_uri})
    return IngestResult(outcome, run, report_uri)


def _dataset_files(
    upload: Upload,
    trigger: Trigger,
    spec: JobSpec | None,
    data: list[_DataFile],
    snapshot: DatasetSnapshot | None,
) -> DatasetFiles:
    versions = {d.role: d.info.pinned_version for d in data if d.info is not None}
    if not isinstance(trigger, SpecTrigger):
        return DatasetFiles(
            training_uri=upload.uri,
            trigger_uri=upload.uri,
            trigger_version=upload.identity,
            training_version=versions.get("training"),
            snapshot=snapshot,
        )
    training = spec.training if spec else "train.jsonl"
    validation = spec.validation if spec else None
    return DatasetFiles(
        training_uri=_uri(upload.bucket, trigger.folder + training),
        validation_uri=_uri(upload.bucket, trigger.folder + validation) if validation else None,
        spec_uri=upload.uri,
        trigger_uri=upload.uri,
        trigger_version=upload.identity,
        training_version=versions.get("training"),
        validation_version=versions.get("validation"),
        snapshot=snapshot,
    )
