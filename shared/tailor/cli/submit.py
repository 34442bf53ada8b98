"""``tailor submit DIR``: validate a dataset folder locally, then upload it so it starts a run.

Validation runs before anything is uploaded (the same engine as ingestion), so a broken dataset
costs seconds on the laptop instead of a rejected run. Exit codes: 0 uploaded, 1 invalid dataset
or spec, 2 usage error (one line on stderr).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from tailor.cli.target import REGION_OPTION, STACK_OPTION


def _fail(message: str, code: int) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


def submit(
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="Folder with job.json and the data files it names.")
    ],
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="NAME",
            help="Dataset name: uploads go to datasets/<name>/. Default: DIR's name.",
        ),
    ] = None,
    stack: Annotated[str | None, STACK_OPTION] = None,
    region: Annotated[str | None, REGION_OPTION] = None,
    skip_validation: Annotated[
        bool, typer.Option("--skip-validation", help="Upload without validating locally first.")
    ] = False,
) -> None:
    """Start a run: validate DIR locally, upload its data files, then job.json (the trigger)."""
    from rich.console import Console

    from tailor.cli.target import TargetError, resolve_target
    from tailor.ingestion.uploads import UploadError, plan_upload, read_folder, upload_folder
    from tailor.jobs.spec import SpecError

    console = Console(stderr=True, highlight=False, soft_wrap=True)  # paths stay copyable
    if not folder.is_dir():
        _fail(f"DIR: no such folder: {folder}", 2)
    try:
        dataset = read_folder(folder, name)
    except SpecError as error:
        where = f"{folder / 'job.json'}" + (f":{error.line}" if error.line else "")
        _fail(
            f"job.json rejected (spec error): {where}: {error.code}: {error.message} (hint: {error.hint})", 1
        )
    except UploadError as error:
        _fail(str(error), 1)
    try:
        target = resolve_target(stack, region)
    except TargetError as error:
        _fail(str(error), 2)

    if not skip_validation:
        from tailor.datasets import DatasetSource, validate_dataset

        spec = dataset.spec
        report = validate_dataset(
            DatasetSource.local(dataset.files[0]),
            technique=spec.technique,
            model=spec.base_model,
            validation=DatasetSource.local(dataset.files[1]) if len(dataset.files) > 1 else None,
        )
        if not report.valid:
            console.print(
                f"[red]not uploaded[/]: dataset rejected, {folder} is invalid ({report.records} records)"
            )
            for issue in report.errors[:10]:
                line = f":{issue.line}" if issue.line else ""
                console.print(f"  {issue.file}{line} {issue.code.value}: {issue.message}")
            console.print(
                f"  run `tailor validate {dataset.files[0]} --technique {spec.technique.value} "
                f"--model {spec.base_model}` for the full report"
            )
            raise typer.Exit(1)
        console.print(
            f"[green]valid[/]: {report.records} records, about {report.token_estimate.total} tokens"
        )
        for note in report.notes:  # e.g. Nova CPT: validated, but Bedrock cannot train it
            console.print(f"[yellow]note[/]: {note}")
        from tailor.cli.estimate import print_estimate, spec_estimate

        # The same estimate the submission service makes: over budget, nothing is uploaded.
        estimate, verdict = spec_estimate(spec, report.token_estimate.total)
        budget = spec.budget.max_training_cost_usd if spec.budget is not None else None
        print_estimate(console, estimate, budget, verdict)
        if verdict is not None:
            console.print("[red]not uploaded[/]: over budget (nothing uploaded, no job started)")
            raise typer.Exit(1)

    from tailor.adapters.object_store import S3ObjectStore
    from tailor.adapters.runs import DynamoRunStore

    plan = plan_upload(dataset, data_bucket=target.data_bucket, runs=DynamoRunStore(target.runs_table))
    if plan.joins and plan.existing is not None:
        # Uploading again would only join that run (docs/runs.md): say so, and upload nothing.
        console.print(
            f"[yellow]already submitted[/]: this content is run [bold]{plan.run_id}[/] "
            f"({plan.existing.status.value}); nothing uploaded, no second job. To train again on "
            'purpose, change the spec (e.g. a tag "rerun": "2").'
        )
        console.print(f"follow: tailor status {plan.run_id}")
        print(plan.run_id)
        return
    result = upload_folder(
        dataset,
        objects=S3ObjectStore(),
        data_bucket=target.data_bucket,
        artifacts_bucket=target.artifacts_bucket,
        on_upload=lambda uri: console.print(f"uploaded {uri}"),
        plan=plan,
    )
    if plan.existing is not None:
        console.print(f"run {plan.existing.run_id} ended {plan.existing.status.value}: this is a new attempt")
    console.print(f"run [bold]{result.run_id}[/] started ({target.description})")
    console.print(f"report: {result.report_uri}")
    console.print(f"follow: tailor status {result.run_id}")
    print(result.run_id)  # stdout: just the run id, for scripts
