"""``tailor submit DIR | FILE``: validate a dataset locally, then upload it so it starts a run.

DIR holds ``job.json`` and the data files it names. A single data FILE takes the job from the flags
(``--technique``, ``--model``, ``--teacher``, ``--validation``, ``--deploy``, ``--edge-model`` and
``--edge-targets``): they are written as job.json into a temporary folder, submitted exactly as a
folder is (same validation, estimate, upload order and run id). Validation runs before anything is
uploaded (the same engine as ingestion), so a broken dataset costs seconds on the laptop instead of
a rejected run. ``--wait`` then follows the run to its end (``tailor watch``) and, when job.json
asks for ``deploy.onDemand``, its deployment (``tailor deploy --wait``).

Exit codes: 0 uploaded (``--wait``: completed, deployed when asked), 1 invalid dataset or spec, over
budget (``--wait``: the run ended without a model, its deployment failed, or timed out), 2 usage
(one line on stderr).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from tailor.cli.target import LOCAL_OPTION, REGION_OPTION, STACK_OPTION

if TYPE_CHECKING:
    from rich.console import Console

    from tailor.cli.submit_flags import PreparedFolder
    from tailor.cli.target import StackTarget
    from tailor.ingestion.uploads import DatasetFolder

_JOB = "Job (a single data FILE only; a DIR's job.json says it)"


def _fail(message: str, code: int) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


def submit(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="DIR|FILE",
            help="Folder with job.json and the data files it names, or one training data file "
            "(then --technique and --model say the job).",
        ),
    ],
    technique: Annotated[
        str | None,
        typer.Option(
            "--technique",
            metavar="T",
            help="fine-tuning, distillation or continued-pre-training.",
            rich_help_panel=_JOB,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", metavar="M", help="Base model: nova-micro, nova-lite, nova-pro …", rich_help_panel=_JOB
        ),
    ] = None,
    teacher: Annotated[
        str | None,
        typer.Option(
            "--teacher",
            metavar="M",
            help="Teacher model for distillation (nova-premier, nova-pro).",
            rich_help_panel=_JOB,
        ),
    ] = None,
    validation: Annotated[
        Path | None,
        typer.Option("--validation", metavar="FILE", help="Validation data file.", rich_help_panel=_JOB),
    ] = None,
    deploy: Annotated[
        bool,
        typer.Option(
            "--deploy",
            help='Deploy the model on demand once trained (job.json "deploy": {"onDemand": true}).',
            rich_help_panel=_JOB,
        ),
    ] = False,
    edge_model: Annotated[
        Path | None,
        typer.Option(
            "--edge-model",
            metavar="FILE",
            help="Compact open ONNX model to ship to a device fleet once trained (docs/edge.md).",
            rich_help_panel=_JOB,
        ),
    ] = None,
    edge_targets: Annotated[
        list[str] | None,
        typer.Option(
            "--edge-targets",
            metavar="TARGET",
            help="With --edge-model: thinggroup/NAME or thing/NAME (repeat it, or separate with commas).",
            rich_help_panel=_JOB,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="NAME",
            help="Dataset name: uploads go to datasets/<name>/. Default: DIR's name, or FILE's name "
            "without its extension.",
        ),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Follow the run to its end (as tailor watch; and its deployment with deploy.onDemand): "
            "exit 0 completed, 1 not.",
        ),
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="With --wait: give up after this long (exit 1). Default: no limit.",
            min=1,
            show_default=False,
        ),
    ] = None,
    interval: Annotated[
        float,
        typer.Option(
            "--interval", metavar="SECONDS", help="With --wait: seconds between two reads.", min=0.1
        ),
    ] = 2.0,
    stack: Annotated[str | None, STACK_OPTION] = None,
    local: Annotated[bool, LOCAL_OPTION] = False,
    region: Annotated[str | None, REGION_OPTION] = None,
    skip_validation: Annotated[
        bool, typer.Option("--skip-validation", help="Upload without validating locally first.")
    ] = False,
) -> None:
    """Start a run: validate DIR (or FILE and the flags) locally, upload the data, then job.json."""
    from rich.console import Console

    from tailor.cli.submit_flags import FlagError, SpecFlags, file_folder, split_targets

    console = Console(stderr=True, highlight=False, soft_wrap=True)  # paths stay copyable
    flags = SpecFlags(
        technique=technique,
        model=model,
        teacher=teacher,
        validation=validation,
        deploy=deploy,
        edge_model=edge_model,
        edge_targets=split_targets(edge_targets or ()),
    )
    if timeout is not None and not wait:
        _fail("--timeout is for --wait: add --wait", 2)
    prepared: contextlib.AbstractContextManager[PreparedFolder]
    if path.is_dir():
        if flags.given():
            _fail(
                f"{', '.join(flags.given())}: {path / 'job.json'} already says it (edit job.json, "
                "or pass a single data FILE to take the job from the flags)",
                2,
            )
        from tailor.cli.submit_flags import PreparedFolder

        prepared = contextlib.nullcontext(PreparedFolder(path=path, name=name))
    elif path.is_file():
        prepared = file_folder(path, flags, name)
    else:
        _fail(f"DIR|FILE: no such folder or file: {path}", 2)
    try:
        with prepared as folder:
            dataset, target, run_id = _submit_folder(
                folder, console, stack=stack, local=local, region=region, skip_validation=skip_validation
            )
    except FlagError as error:
        _fail(str(error), 2)
    if not wait:
        return
    raise typer.Exit(_wait(dataset, target, run_id, console, timeout=timeout, interval=interval))


def _submit_folder(
    folder: PreparedFolder,
    console: Console,
    *,
    stack: str | None,
    local: bool,
    region: str | None,
    skip_validation: bool,
) -> tuple[DatasetFolder, StackTarget, str]:
    """Read, validate, estimate and upload one dataset folder: the dataset, target and run id."""
    from tailor.cli.target import TargetError, resolve_target
    from tailor.ingestion.uploads import UploadError, read_folder
    from tailor.jobs.spec import SpecError

    try:
        dataset = read_folder(folder.path, folder.name)
    except SpecError as error:
        where = folder.show(folder.path / "job.json") + (f":{error.line}" if error.line else "")
        _fail(
            f"job.json rejected (spec error): {where}: {error.code}: {error.message} (hint: {error.hint})", 1
        )
    except UploadError as error:
        _fail(str(error), 1)
    try:
        target = resolve_target(stack, region, local=local)
    except TargetError as error:
        _fail(str(error), 2)
    if not skip_validation:
        _validate(dataset, folder, console)
    return dataset, target, _upload(dataset, folder, target, console)


def _validate(dataset: DatasetFolder, folder: PreparedFolder, console: Console) -> None:
    """Validate locally and show the estimate; exit 1 when invalid or over budget."""
    from tailor.cli.estimate import print_estimate, spec_estimate
    from tailor.datasets import DatasetSource, validate_dataset

    spec = dataset.spec
    shown = [Path(folder.show(file)) for file in dataset.files]  # the user's files, for the messages
    report = validate_dataset(
        DatasetSource.local(shown[0]),
        technique=spec.technique,
        model=spec.base_model,
        validation=DatasetSource.local(shown[1]) if len(shown) > 1 else None,
    )
    if not report.valid:
        what = shown[0] if folder.shown else folder.path  # the file given, or the folder
        console.print(f"[red]not uploaded[/]: dataset rejected, {what} is invalid ({report.records} records)")
        for issue in report.errors[:10]:
            line = f":{issue.line}" if issue.line else ""
            console.print(f"  {issue.file}{line} {issue.code.value}: {issue.message}")
        more = f" --validation {shown[1]}" if len(shown) > 1 else ""
        console.print(
            f"  run `tailor validate {shown[0]}{more} --technique {spec.technique.value} "
            f"--model {spec.base_model}` for the full report"
        )
        raise typer.Exit(1)
    console.print(f"[green]valid[/]: {report.records} records, about {report.token_estimate.total} tokens")
    for note in report.notes:  # e.g. Nova CPT: validated, but Bedrock cannot train it
        console.print(f"[yellow]note[/]: {note}")
    # The same estimate the submission service makes: over budget, nothing is uploaded.
    estimate, verdict = spec_estimate(spec, report.token_estimate.total)
    budget = spec.budget.max_training_cost_usd if spec.budget is not None else None
    print_estimate(console, estimate, budget, verdict)
    if verdict is not None:
        console.print("[red]not uploaded[/]: over budget (nothing uploaded, no job started)")
        raise typer.Exit(1)


def _upload(dataset: DatasetFolder, folder: PreparedFolder, target: StackTarget, console: Console) -> str:
    """Upload the edge files, the data files, then job.json (the trigger); the run id."""
    from tailor.adapters.runs import DynamoRunStore
    from tailor.cli.submit_upload import ProgressObjectStore, content_type_for, edge_files
    from tailor.ingestion.uploads import plan_upload, upload_folder

    plan = plan_upload(dataset, data_bucket=target.data_bucket, runs=DynamoRunStore(target.runs_table))
    if plan.joins and plan.existing is not None:
        # Uploading again would only join that run (docs/runs.md): say so, and upload nothing.
        console.print(
            f"[yellow]already submitted[/]: this content is run [bold]{plan.run_id}[/] "
            f"({plan.existing.status.value}); nothing uploaded, no second job. To train again on "
            'purpose, change the spec (e.g. a tag "rerun": "2").'
        )
        console.print(f"follow: tailor status {plan.run_id}")
        print(plan.run_id, flush=True)
        return plan.run_id
    objects = ProgressObjectStore(console)
    for local in edge_files(dataset):  # before job.json: the export reads them once the job completes
        key = dataset.prefix + local.relative_to(dataset.path).as_posix()
        objects.put_file(target.data_bucket, key, local, content_type=content_type_for(local))
        console.print(f"uploaded s3://{target.data_bucket}/{key} ({folder.show(local)})")
    result = upload_folder(
        dataset,
        objects=objects,
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
    print(result.run_id, flush=True)  # stdout: just the run id, for scripts
    return result.run_id


def _wait(
    dataset: DatasetFolder,
    target: StackTarget,
    run_id: str,
    console: Console,
    *,
    timeout: float | None,
    interval: float,
) -> int:
    from tailor.adapters.object_store import S3ObjectStore
    from tailor.adapters.runs import DynamoRunStore
    from tailor.cli.status import _report
    from tailor.cli.submit_wait import wait_for_run

    objects = S3ObjectStore()
    deploy = dataset.spec.deploy is not None and dataset.spec.deploy.on_demand
    return wait_for_run(
        DynamoRunStore(target.runs_table),
        run_id,
        console,
        timeout=timeout,
        interval=interval,
        deploy=deploy,
        read_report=lambda uri: _report(objects, uri),
        where=target.runs_table,
    )
