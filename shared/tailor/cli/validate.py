"""``tailor validate``: the ingestion Lambda's validation engine, on a laptop or in CI.

Exit codes: 0 valid, 1 invalid, 2 usage error (one line on stderr). ``--json`` prints only the
report on stdout: exact counts, and the first ``--max-errors`` errors and warnings in detail
(``--all-errors``: every one). rich is imported only for human output and the progress bar
(cold start).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from tailor.datasets import DatasetSource, ValidationIssue, ValidationReport

TECHNIQUES = "fine-tuning, distillation, continued-pre-training"
PROGRESS_MIN_BYTES = 16 << 20  # show a progress bar for files at least this large
HUMAN_ERRORS = 20
HUMAN_WARNINGS = 10
DEFAULT_MAX_ERRORS = 100  # tailor.datasets.report.MAX_DETAILS (not imported here: startup time)


def validate(
    train: Annotated[
        str | None,
        typer.Argument(
            metavar="TRAIN", help="Training file: a local .jsonl path or s3://bucket/key.", show_default=False
        ),
    ] = None,
    validation: Annotated[
        str | None,
        typer.Option(
            "--validation",
            metavar="VAL",
            help="Validation file (local path or s3:// URI).",
            show_default=False,
        ),
    ] = None,
    technique: Annotated[
        str | None,
        typer.Option(
            "--technique",
            metavar="{fine-tuning,distillation,continued-pre-training}",
            help="Customization technique.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            metavar="MODEL",
            help="nova-micro, nova-lite, nova-pro, nova-2-lite, or a Bedrock model id.",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print only the report, as JSON, on stdout: exact counts per code, and the first "
            f"{DEFAULT_MAX_ERRORS} errors and first {DEFAULT_MAX_ERRORS} warnings in detail "
            "('truncated' says whether more were found; see --max-errors, --all-errors).",
        ),
    ] = False,
    max_errors: Annotated[
        int | None,
        typer.Option(
            "--max-errors",
            metavar="N",
            help=f"List at most N errors and N warnings in detail (default {DEFAULT_MAX_ERRORS}); "
            "human output then prints all of them.",
            show_default=False,
        ),
    ] = None,
    all_errors: Annotated[
        bool,
        typer.Option(
            "--all-errors",
            help="List every error and warning in detail (memory grows with their number).",
        ),
    ] = False,
) -> None:
    """Validate a dataset for Amazon Nova customization: every rule, every line, one report."""
    from tailor.jobs.catalog import Technique, UnknownModelError, UnknownTechniqueError, resolve_model

    if max_errors is not None and all_errors:
        _usage("--max-errors and --all-errors exclude each other: give one")
    if max_errors is not None and max_errors < 1:
        _usage(f"--max-errors must be at least 1, got {max_errors} (--all-errors lists every issue)")
    if train is None:
        _usage("missing TRAIN: give a .jsonl path or an s3://bucket/key URI")
    if technique is None:
        _usage(f"missing --technique: one of {TECHNIQUES}")
    if model is None:
        _usage("missing --model: e.g. nova-lite (or a Bedrock model id)")
    try:
        chosen = Technique.parse(technique)
        resolve_model(model)
    except (UnknownTechniqueError, UnknownModelError) as error:
        _usage(str(error))

    from tailor.datasets import validate_dataset

    sources = [_source(train, "TRAIN")]
    if validation is not None:
        sources.append(_source(validation, "--validation"))
    store = _store_for(sources)
    sizes = [
        _require(source, store, label)
        for source, label in zip(sources, ("TRAIN", "--validation"), strict=False)
    ]

    with _progress(sum(sizes), enabled=sys.stderr.isatty()) as advance:
        report = validate_dataset(
            sources[0],
            technique=chosen,
            model=model,
            validation=sources[1] if len(sources) > 1 else None,
            object_store=store,
            progress=advance,
            max_details=None if all_errors else (max_errors or DEFAULT_MAX_ERRORS),
        )
    if json_output:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        # Asked for a number of issues: print them all; otherwise a screenful.
        chosen_limit = all_errors or max_errors is not None
        _print_human(
            report,
            errors=None if chosen_limit else HUMAN_ERRORS,
            warnings=None if chosen_limit else HUMAN_WARNINGS,
        )
    raise typer.Exit(0 if report.valid else 1)


# --- usage checks ---------------------------------------------------------------------------------


def _usage(message: str) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(2)


def _source(value: str, label: str) -> DatasetSource:
    from tailor.datasets import DatasetSource

    try:
        return DatasetSource.parse(value)
    except ValueError:
        _usage(f"{label}: {value!r} is not an s3://bucket/key URI")


def _store_for(sources: list[DatasetSource]) -> Any:
    if not any(source.is_s3 for source in sources):
        return None
    from tailor.adapters.object_store import S3ObjectStore

    return S3ObjectStore()


def _require(source: DatasetSource, store: Any, label: str) -> int:
    """The file's size; a missing or unreadable file is a usage error."""
    if not source.is_s3:
        path = Path(str(source.path))
        if path.is_dir():
            _usage(
                f"{label}: {source.display} is a directory: pass the .jsonl file(s) in it, or use "
                f"`tailor submit {source.display}` for a dataset folder with job.json"
            )
        if not path.is_file():
            _usage(f"{label}: no such file: {source.display}")
        return path.stat().st_size
    if str(source.key).endswith("/"):  # S3's "folder": a prefix, never an object to validate
        _usage(
            f"{label}: {source.display} is an S3 folder (a prefix): pass the .jsonl object(s) in it, "
            "or use `tailor submit DIR` for a local dataset folder with job.json"
        )
    try:
        info = store.head(source.bucket, source.key)
    except Exception as error:  # credentials, permissions, network: say it in one line
        _usage(f"{label}: cannot read {source.display}: {_one_line(error)}")
    if info is None:
        _usage(f"{label}: no such object: {source.display}")
    return int(info.size)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


# --- progress -------------------------------------------------------------------------------------


class _progress:  # noqa: N801 - used like a function in a with-statement
    """A rich progress bar on stderr for large inputs; a no-op otherwise. No refresh thread: the
    bar redraws from the callback, so the parallel scan never forks a multi-threaded process."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled and total >= PROGRESS_MIN_BYTES
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._bar = Progress(
            "validating",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            auto_refresh=False,
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task("validate", total=self.total)
        return self._advance

    def _advance(self, count: int) -> None:
        self._bar.advance(self._task, count)
        self._bar.refresh()

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


# --- human output ---------------------------------------------------------------------------------


def _print_human(report: ValidationReport, *, errors: int | None, warnings: int | None) -> None:
    """The verdict, counts, and the first ``errors`` / ``warnings`` issues (None: all listed)."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    verdict = "[bold green]VALID[/]" if report.valid else "[bold red]INVALID[/]"
    files = (
        ", ".join(f"{escape(f.file)} ({f.role}, {f.records:,} records)" for f in report.files)
        or "no data read"
    )
    console.print(f"{verdict}  {escape(report.technique or '?')} for {escape(report.model or '?')}: {files}")
    tokens = report.token_estimate
    console.print(
        f"  {report.records:,} records, about {tokens.total:,} tokens "
        f"(largest record about {tokens.max_per_record:,}; estimate, see docs/datasets.md)"
    )
    if report.error_counts:
        console.print("  errors:   " + _counts(report.error_counts))
    if report.warning_counts:
        console.print("  warnings: " + _counts(report.warning_counts))
    shown_errors, shown_warnings = report.errors[:errors], report.warnings[:warnings]
    _print_issues(console, "error", "red", shown_errors)
    _print_issues(console, "warning", "yellow", shown_warnings)
    hidden = len(report.errors) - len(shown_errors) + len(report.warnings) - len(shown_warnings)
    # Say exactly what each way of looking holds: --json alone is not every issue.
    if report.truncated:
        console.print(
            f"  [dim]more issues were found than listed (the report keeps the first "
            f"{report.detail_limit} errors and {report.detail_limit} warnings; the counts are exact): "
            "--all-errors lists every one, with --json as JSON[/]"
        )
    elif hidden > 0:
        console.print(f"  [dim]{hidden:,} more listed issues: --json or --all-errors prints them all[/]")
    for note in report.notes if report.valid else []:
        console.print(f"  [yellow]note:[/] {escape(note)}")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{code} {count:,}" for code, count in sorted(counts.items(), key=lambda kv: -kv[1]))


def _print_issues(console: Any, kind: str, colour: str, issues: list[ValidationIssue]) -> None:
    from rich.markup import escape

    for issue in issues:
        where = escape(issue.file or "")
        if issue.line is not None:
            where += f":{issue.line}"
        console.print(f"  [{colour}]{kind}[/] {where} [bold]{issue.code.value}[/] {escape(issue.message)}")
        if issue.hint:
            console.print(f"      [dim]hint: {escape(issue.hint)}[/]")


if __name__ == "__main__":  # python -m tailor.cli.validate (no other sub-command imported)
    _app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    _app.command()(validate)
    _app()
