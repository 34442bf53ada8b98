"""Ingest one uploaded object: parse the spec, validate the data, write the report, record the run,
publish exactly one DatasetValidated or DatasetRejected.

Replays (the same S3 event delivered again) map to the same run id; a run whose outcome event was
already published is left alone, a run that stopped half-way is finished.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
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
from tailor.events.models import DatasetFiles, DatasetRejected, DatasetValidated, IssueSummary, RecordCounts
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
from tailor.jobs.naming import bedrock_safe_key, object_version
from tailor.jobs.naming import run_id as make_run_id
from tailor.jobs.run import RunRecord
from tailor.jobs.spec import JobSpec, SpecError, parse_spec
from tailor.jobs.state import RunStatus

logger = logging.getLogger(__name__)

EVENT_ERRORS = 10  # errors carried inside DatasetRejected; the report has up to 100


@dataclass(frozen=True, slots=True)
class IngestionDeps:
    objects: ObjectStore
    runs: RunStore
    bus: EventPublisher
    artifacts_bucket: str


class IngestOutcome(StrEnum):
    VALIDATED = "validated"
    REJECTED = "rejected"
    ALREADY_DONE = "already-done"
    OBJECT_GONE = "object-gone"


@dataclass(frozen=True, slots=True)
class IngestResult:
    outcome: IngestOutcome
    run_id: str | None = None
    report_uri: str | None = None


def _uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def _resolve_object(objects: ObjectStore, bucket: str, key: str) -> tuple[str, ObjectInfo | None]:
    """HEAD the object; try the URL-decoded key too (S3 notifications may encode keys)."""
    info = objects.head(bucket, key)
    if info is None and unquote_plus(key) != key:
        key = unquote_plus(key)
        info = objects.head(bucket, key)
    return key, info


def _object_version(detail: S3ObjectCreatedDetail, info: ObjectInfo) -> str:
    return object_version((detail.object.version_id, info.version_id), detail.object.etag or info.etag)


def _inbox_spec(trigger: InboxTrigger) -> JobSpec:
    from pydantic import ValidationError

    try:
        return JobSpec.model_validate(
            {"technique": trigger.technique, "baseModel": trigger.model, "training": trigger.file}
        )
    except ValidationError as error:
        spec_error = SpecError.from_validation(error)
        if any(item["loc"] == ("technique",) for item in error.errors()):
            spec_error.code = "unsupported_technique"
        spec_error.hint = (
            "put the file under inbox/<fine-tuning|distillation|continued-pre-training>/<model alias>/, "
            "e.g. inbox/fine-tuning/nova-lite/data.jsonl"
        )
        raise spec_error from None


def ingest_object(detail: S3ObjectCreatedDetail, deps: IngestionDeps) -> IngestResult:
    bucket = detail.bucket.name
    key, info = _resolve_object(deps.objects, bucket, detail.object.key)
    trigger = classify_key(key)  # UnrelatedObjectError: the caller decides (report or failed item)
    if info is None:
        # Deleted (or never readable) between upload and now: nothing to validate.
        logger.warning("object vanished before ingestion", extra={"uri": _uri(bucket, key)})
        return IngestResult(IngestOutcome.OBJECT_GONE)
    version = _object_version(detail, info)
    trigger_uri = _uri(bucket, key)

    spec: JobSpec | None = None
    spec_error: SpecError | None = None
    try:
        spec = _spec_for(deps.objects, bucket, key, trigger)
    except SpecError as error:
        spec_error = error
    # The object version already identifies a job.json's content; the digest tells apart specs
    # derived from the key (inbox) if catalog defaults ever change.
    run = make_run_id(
        bucket=bucket,
        key=key,
        version=version,
        spec_digest=spec.digest() if spec else "invalid-spec",
        label=trigger.label,
    )
    existing = deps.runs.get(run)
    if existing and _OUTCOME_EVENTS & set(existing.published):
        logger.info("replay of an ingested upload: nothing to do", extra={"run_id": run})
        return IngestResult(IngestOutcome.ALREADY_DONE, run, existing.attributes.get("reportUri"))
    if existing is None:
        deps.runs.create(
            RunRecord(
                run_id=run,
                label=trigger.label,
                technique=spec.technique.value if spec else None,
                base_model_id=resolve_model(spec.base_model).model_id if spec else None,
                trigger_uri=trigger_uri,
            )
        )

    if spec is not None:
        report = _validate(deps.objects, bucket, trigger, spec)
    else:
        assert spec_error is not None
        report = _spec_report(spec_error, trigger_uri)
    report_uri = _write_report(deps, run, report)
    files = _dataset_files(bucket, trigger, spec, trigger_uri, version)
    return _record_and_publish(deps, run, report, report_uri, spec, files)


_OUTCOME_EVENTS = frozenset({DetailType.DATASET_VALIDATED.value, DetailType.DATASET_REJECTED.value})


def _spec_for(objects: ObjectStore, bucket: str, key: str, trigger: Trigger) -> JobSpec:
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
        return parse_spec(objects.get_bytes(bucket, key))
    return _inbox_spec(trigger)


def _spec_report(error: SpecError, trigger_uri: str) -> ValidationReport:
    issue = ValidationIssue(
        file=trigger_uri, line=error.line, code=error.code, message=error.message, hint=error.hint
    )
    return ValidationReport.from_issues(technique=None, model=None, errors=[issue])


def _write_report(deps: IngestionDeps, run: str, report: ValidationReport) -> str:
    key = report_key(run)
    body = orjson.dumps(report.model_dump(mode="json"), option=orjson.OPT_INDENT_2)
    deps.objects.put_bytes(deps.artifacts_bucket, key, body, content_type="application/json")
    return _uri(deps.artifacts_bucket, key)


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
    attributes = {"reportUri": report_uri}
    data: DatasetValidated | DatasetRejected
    if report.valid and spec is not None:
        deps.runs.transition(run, RunStatus.VALIDATED, reason="dataset valid", attributes=attributes)
        outcome, detail_type = IngestOutcome.VALIDATED, DetailType.DATASET_VALIDATED
        data = DatasetValidated(
            run_id=run,
            spec=spec,
            base_model_id=report.model or spec.base_model,
            dataset=files,
            records=RecordCounts(training=report.training_records, validation=report.validation_records),
            token_estimate=report.token_estimate.total,
            report_uri=report_uri,
            warning_counts=report.warning_counts,
        )
    else:
        deps.runs.transition(run, RunStatus.REJECTED, reason="dataset rejected", attributes=attributes)
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
    bucket: str, trigger: Trigger, spec: JobSpec | None, trigger_uri: str, version: str
) -> DatasetFiles:
    if not isinstance(trigger, SpecTrigger):
        return DatasetFiles(training_uri=trigger_uri, trigger_uri=trigger_uri, trigger_version=version)
    training = spec.training if spec else "train.jsonl"
    validation = spec.validation if spec else None
    return DatasetFiles(
        training_uri=_uri(bucket, trigger.folder + training),
        validation_uri=_uri(bucket, trigger.folder + validation) if validation else None,
        spec_uri=trigger_uri,
        trigger_uri=trigger_uri,
        trigger_version=version,
    )


def _validate(objects: ObjectStore, bucket: str, trigger: Trigger, spec: JobSpec) -> ValidationReport:
    training_key = trigger.folder + spec.training
    validation_key = trigger.folder + spec.validation if spec.validation else None
    missing = [
        ValidationIssue(
            file=_uri(bucket, k),
            line=None,
            code="file_missing",
            message=f"{_uri(bucket, k)} does not exist",
            hint=f"upload {k.rsplit('/', 1)[-1]} before job.json (job.json starts the run)",
        )
        for k in (training_key, validation_key)
        if k is not None and objects.head(bucket, k) is None
    ]
    if missing:
        return ValidationReport.from_issues(
            technique=spec.technique.value, model=spec.base_model, errors=missing
        )
    return validate_dataset(
        DatasetSource.s3(bucket, training_key),
        technique=spec.technique,
        model=spec.base_model,
        validation=DatasetSource.s3(bucket, validation_key) if validation_key else None,
        object_store=objects,
    )
