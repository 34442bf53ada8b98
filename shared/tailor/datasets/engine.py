"""``validate_dataset``: the one validation engine behind the ingestion Lambda and the CLI."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from tailor.datasets.codes import IssueCode
from tailor.datasets.conversation import ConversationChecker
from tailor.datasets.lines import LineBatcher
from tailor.datasets.plan import Checker, CheckerSpec
from tailor.datasets.report import (
    MAX_DETAILS,
    FileCount,
    FileRole,
    IssueCollector,
    TokenEstimate,
    ValidationReport,
)
from tailor.datasets.scan import FileScan, hygiene_warnings
from tailor.datasets.source import DatasetSource
from tailor.jobs.catalog import (
    NovaModel,
    Technique,
    TechniqueLimits,
    UnknownModelError,
    UnknownTechniqueError,
    models_supporting,
    resolve_model,
)

if TYPE_CHECKING:
    from tailor.adapters.object_store import ObjectStore


def validate_dataset(
    training: DatasetSource,
    *,
    technique: Technique | str,
    model: str,
    validation: DatasetSource | None = None,
    object_store: ObjectStore | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    max_details: int | None = MAX_DETAILS,
) -> ValidationReport:
    """Validate a dataset (training and optional validation file) for ``model`` and ``technique``.

    Never raises for bad data or names: every problem is an issue in the report. ``progress`` is
    called with the number of bytes read since its previous call. ``workers``: processes for a
    large local file (None: the usable cores; 1: sequential). S3 objects are read sequentially.
    ``max_details``: per-line errors and warnings listed, each (None: all); counts are exact.
    """
    issues = IssueCollector(max_details)
    nova, chosen = _resolve(training.display, technique, model, issues)
    if nova is None or chosen is None or issues.has_errors:
        return issues.build(
            technique=chosen.value if chosen else str(technique),
            model=nova.model_id if nova else model,
            files=[],
            token_estimate=TokenEstimate(),
        )
    limits = nova.limits_for(chosen)
    sources: list[tuple[DatasetSource, FileRole]] = [(training, "training")]
    if validation is not None:
        if limits.validation_allowed:
            sources.append((validation, "validation"))
        else:
            issues.error(
                IssueCode.VALIDATION_NOT_ALLOWED,
                validation.display,
                None,
                f"{nova.alias} {chosen.value} does not accept a validation file",
                "drop the validation file (or merge its records into the training file)",
            )
    if object_store is None and any(source.is_s3 for source, _ in sources):
        from tailor.adapters.object_store import S3ObjectStore

        object_store = S3ObjectStore()

    spec = CheckerSpec(
        model=nova.alias,
        technique=chosen,
        dataset_bucket=training.bucket if training.is_s3 else None,
        files=tuple(source.display for source, _ in sources),
    )
    checker = spec.build(issues)
    files: list[FileCount] = []
    for source, role in sources:
        scanned = _scan_file(source, spec, checker, issues, object_store, progress, workers)
        if scanned is not None:
            scan, sha256 = scanned
            files.append(
                FileCount(file=scan.file, role=role, records=scan.records, bytes=scan.bytes, sha256=sha256)
            )

    checker.finish(training.display)
    if isinstance(checker, ConversationChecker) and training.is_s3:
        _check_media_in_s3(checker, limits, issues, object_store)
    _check_record_count(files, nova, chosen, limits, issues, training.display)
    return issues.build(
        technique=chosen.value,
        model=nova.model_id,
        files=files,
        token_estimate=TokenEstimate(total=checker.tokens_total, max_per_record=checker.tokens_max),
    )


def _resolve(
    file: str, technique: Technique | str, model: str, issues: IssueCollector
) -> tuple[NovaModel | None, Technique | None]:
    chosen: Technique | None = None
    nova: NovaModel | None = None
    try:
        chosen = Technique.parse(technique)
    except UnknownTechniqueError as error:
        issues.error(IssueCode.UNSUPPORTED_TECHNIQUE, file, None, str(error))
    try:
        nova = resolve_model(model)
    except UnknownModelError as error:
        issues.error(IssueCode.UNSUPPORTED_MODEL, file, None, str(error))
    if nova is not None and chosen is not None and not nova.supports(chosen):
        able = ", ".join(m.alias for m in models_supporting(chosen)) or "none"
        supported = ", ".join(sorted(t.value for t in nova.techniques)) or "none (teacher only)"
        issues.error(
            IssueCode.UNSUPPORTED_TECHNIQUE,
            file,
            None,
            f"{nova.alias} does not support {chosen.value}; it supports: {supported}",
            f"models that support {chosen.value}: {able}",
        )
    return nova, chosen


def _scan_file(
    source: DatasetSource,
    spec: CheckerSpec,
    checker: Checker,
    issues: IssueCollector,
    store: ObjectStore | None,
    progress: Callable[[int], None] | None,
    workers: int | None,
) -> tuple[FileScan, str | None] | None:
    """The file's tallies and the sha256 of its bytes (None after a parallel scan), or None when it
    could not be read (reported)."""
    from tailor.adapters.object_store import ObjectNotFoundError, ObjectUnreadableError

    file = source.display
    if not source.name.endswith(".jsonl"):
        issues.warning(IssueCode.FILE_EXTENSION, file, None, f"{source.name!r} does not end in .jsonl")
    digest: hashlib._Hash | None = None
    try:
        scan = _parallel_scan(source, spec, checker, issues, progress, workers)
        if scan is None:
            # The sha256 of what was validated comes from the same stream: no second read. Only
            # for S3 (what a snapshot is taken of): ~2 GB/s of hashing would cost a local
            # sequential scan a third of its speed for a digest nobody reads.
            chunks = source.iter_chunks(store)
            if source.is_s3:
                digest = hashlib.sha256()
                chunks = _hashed(chunks, digest)
            scan = checker.scan(file, LineBatcher(chunks, progress=progress))
    except (FileNotFoundError, NotADirectoryError, ObjectNotFoundError) as error:
        if source.is_s3 and not isinstance(error, ObjectNotFoundError):
            raise
        issues.error(IssueCode.FILE_MISSING, file, None, f"{file} does not exist")
        return None
    except ObjectUnreadableError as error:
        issues.error(IssueCode.FILE_UNREADABLE, file, None, str(error), error.hint)
        return None
    except OSError as error:
        # Only a local file's I/O error is a finding. botocore's timeouts and connection errors are
        # OSErrors too (through requests' exceptions): from S3 they are transient and must fail the
        # message so that it is retried, never reject the dataset.
        if source.is_s3 or _is_aws_error(error):
            raise
        issues.error(IssueCode.FILE_UNREADABLE, file, None, f"{file} could not be read: {error}")
        return None
    hygiene_warnings(scan, issues)
    return scan, digest.hexdigest() if digest is not None else None


def _hashed(chunks: Iterable[bytes], digest: hashlib._Hash) -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        yield chunk


def _parallel_scan(
    source: DatasetSource,
    spec: CheckerSpec,
    checker: Checker,
    issues: IssueCollector,
    progress: Callable[[int], None] | None,
    workers: int | None,
) -> FileScan | None:
    """A parallel scan when the file is local and large enough to gain from one, else None."""
    if source.is_s3 or workers == 1:
        return None
    size = source.size()
    from tailor.datasets import parallel

    if size is None or size < parallel.PARALLEL_MIN_BYTES:
        return None
    count = workers or parallel.default_workers()
    if count < 2:
        return None
    return parallel.scan_parallel(source, spec, checker, issues, progress, count)


def _is_aws_error(error: Exception) -> bool:
    # botocore is not imported here (cold start): recognise its errors by module.
    return type(error).__module__.startswith(("botocore", "urllib3", "s3transfer"))


def _check_media_in_s3(
    checker: ConversationChecker, limits: TechniqueLimits, issues: IssueCollector, store: ObjectStore | None
) -> None:
    tally = checker.media
    if not tally.refs or store is None or limits.media is None:
        return
    from tailor.datasets.media import check_media

    check_media(tally.refs, store, limits.media, issues)
    if tally.refs_dropped:
        issues.warning(
            IssueCode.MEDIA_LOCATION,
            tally.refs[0].file,
            None,
            f"{tally.refs_dropped:,} media references beyond the first {len(tally.refs):,} "
            "were not checked in S3",
        )


def _check_record_count(
    files: list[FileCount],
    nova: NovaModel,
    technique: Technique,
    limits: TechniqueLimits,
    issues: IssueCollector,
    training_file: str,
) -> None:
    if not files or IssueCode.FILE_COMPRESSED in issues.error_counts:
        return  # a file was missing or compressed (not read): already reported, count unknown
    total = sum(f.records for f in files)
    scope = "training + validation" if len(files) > 1 else "training"
    what = f"{nova.alias} {technique.value}"
    if total < limits.min_records:
        issues.error(
            IssueCode.RECORD_COUNT,
            training_file,
            None,
            f"{total:,} records ({scope}); {what} needs at least {limits.min_records:,}",
        )
    elif limits.max_records is not None and total > limits.max_records:
        issues.error(
            IssueCode.RECORD_COUNT,
            training_file,
            None,
            f"{total:,} records ({scope}); {what} accepts at most {limits.max_records:,}",
        )
    elif limits.recommended_min_records and total < limits.recommended_min_records:
        issues.warning(
            IssueCode.RECORD_COUNT,
            training_file,
            None,
            f"{total:,} records; at least {limits.recommended_min_records:,} are recommended for {what}",
            "more varied prompts give the teacher more to distil",
        )
