"""``tailor export``: ship a compact open ONNX model to a device fleet (Nova weights never leave AWS).

The CLI is a user: it checks the request, pins the model's exact S3 version, puts
``EdgeExportRequested`` (source ``tailor.user``) on the Tailor bus and prints the export id. The
edge export function does the rest (docs/edge.md). ``--wait`` reads the export's record until it is
published or failed. Exit codes: 0 requested (``--wait``: published), 1 the model is missing, the
put failed, the export failed or ``--wait`` timed out; 2 usage, no bus or no stack.
"""

from __future__ import annotations

import sys
import time
import uuid
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tailor.cli.target import LOCAL_OPTION, REGION_OPTION, STACK_OPTION

if TYPE_CHECKING:
    from tailor.adapters.exports import ExportStore

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def export(
    model: Annotated[
        str | None,
        typer.Option(
            "--model", metavar="S3_URI", help="The ONNX model: s3://BUCKET/KEY.onnx.", show_default=False
        ),
    ] = None,
    run: Annotated[
        str | None,
        typer.Option(
            "--run",
            metavar="RUN",
            help="Export the model named in this run's job.json (edge.model).",
            show_default=False,
        ),
    ] = None,
    targets: Annotated[
        list[str] | None,
        typer.Option(
            "--targets",
            metavar="TARGET",
            help="thinggroup/NAME, thing/NAME or an IoT ARN; repeat or comma-separate.",
            show_default=False,
        ),
    ] = None,
    profiles: Annotated[
        list[str] | None,
        typer.Option(
            "--profile", metavar="PROFILE", help="Device profile; repeat for several.", show_default=False
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Package name (default: the model's folder).", show_default=False),
    ] = None,
    golden: Annotated[
        str | None,
        typer.Option(
            "--golden",
            metavar="S3_URI",
            help="Golden inputs (JSON; default: golden.json beside the model, else generated).",
            show_default=False,
        ),
    ] = None,
    no_quantize: Annotated[bool, typer.Option("--no-quantize", help="Ship the fp32 model as it is.")] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait until the package is published (exit 0) or failed (exit 1).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome event's data as JSON.")] = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", metavar="SECONDS", help="With --wait: give up after this long.", min=1),
    ] = 1800.0,
    interval: Annotated[
        float,
        typer.Option("--interval", metavar="SECONDS", help="With --wait: seconds between reads.", min=0.1),
    ] = 3.0,
    stack: Annotated[str | None, STACK_OPTION] = None,
    local: Annotated[bool, LOCAL_OPTION] = False,
    region: Annotated[str | None, REGION_OPTION] = None,
) -> None:
    """Quantize, check, sign and roll out a compact ONNX model to devices (an IoT Job; docs/edge.md)."""
    import orjson

    from tailor.adapters.bus import EventBridgePublisher, PublishError
    from tailor.adapters.exports import DynamoExportStore
    from tailor.cli.target import bus_or_exit, target_or_exit
    from tailor.events.envelope import new_detail

    request = _request(model, run, _split(targets), _split(profiles), name, golden, no_quantize)
    target = target_or_exit(stack, region, local=local)
    bus_name = bus_or_exit(target, "to put the export request on")
    if request.model_uri:
        request = request.model_copy(update={"model_version": _pinned_version(request.model_uri)})
    detail = new_detail(request, producer="tailor.user", event_id=str(uuid.uuid4()))
    try:
        EventBridgePublisher(bus_name).publish([detail])
    except PublishError as error:
        sys.stderr.write(f"error: the export request was not put on the bus: {error}\n")
        raise typer.Exit(EXIT_FAILED) from None
    export_id = f"ex-{request.export_id}"
    what = request.model_uri or f"run {request.run_id}"
    line = f"export {export_id} requested: {what} → {', '.join(request.targets)}"
    if not wait:
        if as_json:
            sys.stdout.write(orjson.dumps({"exportId": export_id, **request.to_wire()}).decode() + "\n")
        else:
            sys.stdout.write(
                line + f"\n  follow it: tailor events | grep {export_id}, or tailor export … --wait\n"
            )
        return
    sys.stderr.write(line + "\n")
    if not target.exports_table:
        sys.stderr.write("error: no exports table to wait on: set EXPORTS_TABLE or pass --stack NAME\n")
        raise typer.Exit(EXIT_USAGE)
    code = wait_for_export(
        DynamoExportStore(target.exports_table),
        export_id,
        timeout=timeout,
        interval=interval,
        as_json=as_json,
    )
    raise typer.Exit(code)


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _usage(message: str) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(EXIT_USAGE)


def _request(
    model: str | None,
    run: str | None,
    targets: list[str],
    profiles: list[str],
    name: str | None,
    golden: str | None,
    no_quantize: bool,
) -> Any:
    from tailor.edge.profiles import PROFILES
    from tailor.edge.targets import target_problem
    from tailor.events.models import EdgeExportRequested

    if not model and not run:
        raise _usage("name the model: --model s3://BUCKET/KEY.onnx (or --run RUN for a run's edge.model)")
    if model and not (model.startswith("s3://") and model.endswith(".onnx")):
        raise _usage(f"--model {model!r} is not an s3:// URI of an .onnx file")
    if not targets:
        raise _usage("name the fleet: --targets thinggroup/NAME (or thing/NAME)")
    problems = [p for p in (target_problem(t) for t in targets) if p]
    unknown = [p for p in profiles if p not in PROFILES]
    if unknown:
        problems.append(f"unknown --profile {', '.join(unknown)}: use {', '.join(sorted(PROFILES))}")
    if problems:
        raise _usage("; ".join(problems))
    fields: dict[str, Any] = {
        "export_id": uuid.uuid4().hex[:20],
        "run_id": run,
        "model_uri": model,
        "golden_uri": golden,
        "name": name,
        "targets": targets,
        # Unset: the run's job.json decides (else int8); --no-quantize ships fp32.
        "quantize": "none" if no_quantize else None,
    }
    if profiles:
        fields["profiles"] = profiles
    return EdgeExportRequested(**fields)


def _pinned_version(uri: str) -> str | None:
    """The model's version now: the export reads exactly this one, even if the key is overwritten."""
    from tailor.adapters.object_store import ObjectUnreadableError, S3ObjectStore

    bucket, _, key = uri[5:].partition("/")
    try:
        info = S3ObjectStore().head(bucket, key)
    except ObjectUnreadableError as error:
        sys.stderr.write(f"error: {error} ({error.hint})\n")
        raise typer.Exit(EXIT_FAILED) from None
    if info is None:
        sys.stderr.write(f"error: {uri} does not exist: upload the model first\n")
        raise typer.Exit(EXIT_FAILED)
    return info.pinned_version


def wait_for_export(
    store: ExportStore,
    export_id: str,
    *,
    timeout: float,
    interval: float,
    as_json: bool = False,
    clock: Any = time.monotonic,
    sleep: Any = time.sleep,
) -> int:
    """Read the export until its outcome is known; print it; 0 published, 1 failed or timed out."""
    import orjson

    from tailor.edge.record import ExportStatus
    from tailor.edge.service import outcome_event

    deadline = clock() + timeout
    shown = None
    while True:
        record = store.get(export_id)
        if record is not None and record.status.value != shown:
            shown = record.status.value
            sys.stderr.write(f"  {export_id}: {shown}\n")
        event = outcome_event(record) if record is not None else None
        if record is not None and event is not None:
            data: dict[str, Any] = event.to_wire()
            if as_json:
                sys.stdout.write(orjson.dumps(data).decode() + "\n")
            elif record.status is ExportStatus.PUBLISHED:
                sizes = data.get("sizes", {})
                fidelity = data.get("fidelity", {})
                sys.stdout.write(
                    f"published {record.name} {record.version}: {data.get('bundleUri')}\n"
                    f"  model {sizes.get('modelBytes', 0):,} bytes (source {sizes.get('sourceBytes', 0):,}); "
                    f"fidelity {fidelity.get('metric')} {fidelity.get('value', 0):.4f} "
                    f"(≥ {fidelity.get('threshold')})\n"
                    f"  IoT job {', '.join(data.get('iotJobIds', []))}"
                    + (
                        f"; cancelled {', '.join(data['cancelledJobIds'])}"
                        if data.get("cancelledJobIds")
                        else ""
                    )
                    + "\n"
                )
            else:
                sys.stdout.write(
                    f"failed at {data.get('stage')}: [{data.get('errorCode')}] {data.get('error')}\n"
                    + (f"  fix: {data['hint']}\n" if data.get("hint") else "")
                    + (
                        f"  measured: {orjson.dumps(data['details']).decode()}\n"
                        if data.get("details")
                        else ""
                    )
                )
            return EXIT_OK if record.status is ExportStatus.PUBLISHED else EXIT_FAILED
        if clock() >= deadline:
            sys.stderr.write(f"error: export {export_id} had no outcome after {timeout:.0f} s\n")
            return EXIT_FAILED
        sleep(interval)
