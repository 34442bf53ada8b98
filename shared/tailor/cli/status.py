"""``tailor status [RUN]``: where runs stand, with the validation report's errors."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from tailor.cli.target import STACK_OPTION

if TYPE_CHECKING:
    from tailor.jobs.run import RunRecord


def status(
    run: Annotated[
        str | None, typer.Argument(metavar="RUN", help="A run id; omit to list recent runs.")
    ] = None,
    stack: Annotated[str | None, STACK_OPTION] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many recent runs to list.", min=1)] = 20,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Show one run (status, history, report errors) or list the most recent runs."""
    from tailor.adapters.object_store import S3ObjectStore
    from tailor.adapters.runs import DynamoRunStore
    from tailor.cli.target import TargetError, resolve_target

    try:
        target = resolve_target(stack)
    except TargetError as error:
        sys.stderr.write(f"error: {error}\n")
        raise typer.Exit(2) from None
    runs = DynamoRunStore(target.runs_table)
    if run is None:
        _list(runs.list_recent(limit), json_output)
        return
    record = runs.get(run)
    if record is None:
        sys.stderr.write(f"error: no run {run!r} in {target.runs_table}\n")
        raise typer.Exit(1)
    report = _report(S3ObjectStore(), record.attributes.get("reportUri"))
    if json_output:
        body = {"run": record.model_dump(mode="json", by_alias=True), "report": report}
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    _show(record, report)


def _report(objects: Any, uri: str | None) -> dict[str, Any] | None:
    if not uri:
        return None
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    loaded: dict[str, Any] = orjson.loads(objects.get_bytes(bucket, key))
    return loaded


def _list(records: list[RunRecord], json_output: bool) -> None:
    if json_output:
        rows = [r.model_dump(mode="json", by_alias=True) for r in records]
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("run", "status", "technique", "model", "updated")
    for r in records:
        table.add_row(r.run_id, r.status.value, r.technique or "-", r.base_model_id or "-", r.updated_at)
    Console().print(table if records else "no runs yet")


def _show(record: RunRecord, report: dict[str, Any] | None) -> None:
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)  # paths and URIs stay copyable
    console.print(f"[bold]{record.run_id}[/]  {record.status.value}")
    console.print(f"  dataset   {record.trigger_uri}")
    console.print(f"  technique {record.technique or '-'}   model {record.base_model_id or '-'}")
    for entry in record.history:
        console.print(
            f"  {entry.at}  → {entry.status.value}" + (f"  ({entry.reason})" if entry.reason else "")
        )
    for key, value in sorted(record.attributes.items()):
        console.print(f"  {key}: {value}")
    if report and not report.get("valid"):
        counts = ", ".join(f"{code} x{n}" for code, n in report.get("error_counts", {}).items())
        console.print(f"  [red]errors[/]: {counts}")
        for issue in report.get("errors", [])[:10]:
            line = f":{issue['line']}" if issue.get("line") else ""
            console.print(f"    {issue.get('file')}{line} {issue['code']}: {issue['message']}")
            if issue.get("hint"):
                console.print(f"      hint: {issue['hint']}")
