"""``tailor metrics RUN [--png FILE] [--json]``: a run's loss curves, as the status service recorded
them on the run (final and best loss, steps, epochs, the CSV's URI and a thinned curve).

Without options it prints the summary and the terminal chart (as ``tailor status RUN``); ``--json``
the metrics as recorded; ``--png FILE`` an image drawn with matplotlib, an optional extra
(``pip install 'tailor[plot]'``), imported only here and never part of the Lambda layer.
Exit codes: 0, 1 unknown run or no metrics yet, 2 usage (or matplotlib missing for ``--png``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from tailor.cli.target import LOCAL_OPTION, REGION_OPTION, STACK_OPTION

if TYPE_CHECKING:
    from tailor.events.models import LossMetrics
    from tailor.jobs.run import RunRecord

PLOT_HINT = "matplotlib is not installed: pip install 'tailor[plot]'"


class PlotUnavailableError(RuntimeError):
    pass


def metrics(
    run: Annotated[str, typer.Argument(metavar="RUN", help="The run whose loss curves to show.")],
    png: Annotated[
        Path | None,
        typer.Option(
            "--png", metavar="FILE", help="Write the loss curve(s) to FILE as a PNG (needs the plot extra)."
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the recorded metrics as JSON.")] = False,
    stack: Annotated[str | None, STACK_OPTION] = None,
    local: Annotated[bool, LOCAL_OPTION] = False,
    region: Annotated[str | None, REGION_OPTION] = None,
) -> None:
    """Show a run's training and validation loss: summary and chart, JSON, or a PNG."""
    from rich.console import Console

    from tailor.adapters.runs import DynamoRunStore
    from tailor.cli.target import target_or_exit

    target = target_or_exit(stack, region, local=local)
    record = DynamoRunStore(target.runs_table).get(run)
    if record is None:
        sys.stderr.write(f"error: no run {run!r} in {target.runs_table}\n")
        raise typer.Exit(1)
    training, validation = record.facts.training_metrics, record.facts.validation_metrics
    if json_output:
        body = {
            "runId": record.run_id,
            "status": record.status.value,
            "training": training.to_wire() if training else None,
            "validation": validation.to_wire() if validation else None,
        }
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
    if training is None and validation is None:
        sys.stderr.write(
            f"error: run {run} has no metrics yet ({record.status.value}): the status service records "
            "them when the job completes\n"
        )
        raise typer.Exit(1)
    if png is not None:
        try:
            write_png(record, png)
        except PlotUnavailableError as error:
            sys.stderr.write(f"error: {error}\n")
            raise typer.Exit(2) from None
        sys.stderr.write(f"wrote {png}\n")
    if not json_output and png is None:
        render_metrics(record, Console(highlight=False, soft_wrap=True))


def render_metrics(record: RunRecord, console: object) -> None:
    from rich.console import Console

    from tailor.cli.status import loss_chart, loss_summary

    assert isinstance(console, Console)
    console.print(f"[bold]{record.run_id}[/]  {record.status.value}")
    for label, found in (
        ("training", record.facts.training_metrics),
        ("validation", record.facts.validation_metrics),
    ):
        if found is None:
            continue
        console.print(f"  {label} loss  {loss_summary(found)}")
        if found.csv_uri:
            console.print(f"  {'':{len(label)}}       {found.csv_uri}")
        for line in loss_chart(found, min(console.width, 100)):
            console.print(line, markup=False, highlight=False)


def write_png(record: RunRecord, path: Path) -> None:
    """The training (and validation) loss against the step, as a PNG at ``path``."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:  # the optional extra is not installed
        raise PlotUnavailableError(PLOT_HINT) from None

    figure = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(figure)  # no pyplot: no global state, no display needed
    axes = figure.add_subplot()
    curves: list[tuple[str, LossMetrics | None]] = [
        ("training", record.facts.training_metrics),
        ("validation", record.facts.validation_metrics),
    ]
    for label, found in curves:
        if found is None or not found.curve:
            continue
        axes.plot([p.step for p in found.curve], [p.loss for p in found.curve], label=f"{label} loss")
        if found.best_loss is not None and found.best_step is not None:
            axes.scatter([found.best_step], [found.best_loss], s=16, zorder=3)
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_title(f"{record.run_id} ({record.status.value})", fontsize=10)
    axes.grid(alpha=0.3)
    if axes.lines:
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, format="png")
