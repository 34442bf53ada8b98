"""``tailor estimate DIR``: what training a dataset folder will cost, before anything is uploaded.

Reads the folder as ``tailor submit`` does, validates it locally for the token estimate, and
prices it from the catalog and ``TRAINING_PRICES_JSON`` (no AWS call: the Price List is the
deployed service's business). Exit codes: 0 estimated (within the budget, if any), 1 invalid
dataset/spec or over budget, 2 usage error (one line on stderr).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from tailor.events.models import CostEstimate
    from tailor.jobs.spec import JobSpec


def _fail(message: str, code: int) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


def spec_estimate(spec: JobSpec, training_tokens: int) -> tuple[CostEstimate, str | None]:
    """The estimate for ``spec`` and its budget verdict (None: fine), priced from the catalog and
    ``TRAINING_PRICES_JSON``. A broken variable is a usage error (exit 2)."""
    from tailor.jobs.pricing import PRICES_ENV, budget_verdict, estimate_for_spec, price_table

    try:
        prices = price_table(os.environ.get(PRICES_ENV))
    except ValueError as error:
        _fail(str(error), 2)
    estimate = estimate_for_spec(
        technique=spec.technique.value,
        base_model=spec.base_model,
        teacher_model=spec.teacher_model,
        hyper_parameters=spec.hyper_parameters,
        training_tokens=training_tokens,
        prices=prices,
    )
    return estimate, budget_verdict(estimate, _budget(spec))


def _budget(spec: JobSpec) -> float | None:
    return spec.budget.max_training_cost_usd if spec.budget is not None else None


def print_estimate(
    console: Console, estimate: CostEstimate, budget: float | None, verdict: str | None
) -> None:
    """The estimate as a person reads it (``tailor estimate`` and ``tailor submit``)."""
    price = (
        f"${estimate.price_per_1k_tokens:g} per 1K tokens ({estimate.price_source}, {estimate.price_as_of})"
        if estimate.price_per_1k_tokens is not None
        else "no price known"
    )
    total = f"${estimate.estimated_usd:,.2f}" if estimate.estimated_usd is not None else "unknown"
    console.print(
        f"estimate: {estimate.training_tokens:,} tokens x {estimate.epochs} epochs at {price} = "
        f"[bold]{total}[/] for training"
    )
    for note in estimate.notes:
        console.print(f"  [yellow]note[/]: {note}")
    if verdict is not None:
        console.print(f"[red]over budget[/]: {verdict}")
    elif budget is not None:
        console.print(f"[green]within budget[/]: ${budget:,.2f} (maxTrainingCostUsd)")


def estimate(
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="Folder with job.json and the data files it names.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print only the estimate as JSON.")] = False,
) -> None:
    """What training DIR would cost: tokens x epochs x the model's price. Nothing is uploaded."""
    from rich.console import Console

    from tailor.datasets import DatasetSource, validate_dataset
    from tailor.ingestion.uploads import UploadError, read_folder
    from tailor.jobs.spec import SpecError

    console = Console(stderr=as_json, highlight=False, soft_wrap=True)
    if not folder.is_dir():
        _fail(f"DIR: no such folder: {folder}", 2)
    try:
        dataset = read_folder(folder)
    except SpecError as error:
        where = f"{folder / 'job.json'}" + (f":{error.line}" if error.line else "")
        _fail(
            f"job.json rejected (spec error): {where}: {error.code}: {error.message} (hint: {error.hint})", 1
        )
    except UploadError as error:
        _fail(str(error), 1)
    spec = dataset.spec
    report = validate_dataset(
        DatasetSource.local(dataset.files[0]),
        technique=spec.technique,
        model=spec.base_model,
        validation=DatasetSource.local(dataset.files[1]) if len(dataset.files) > 1 else None,
    )
    if not report.valid:
        errors = Console(stderr=True, highlight=False, soft_wrap=True)
        errors.print(f"[red]no estimate[/]: dataset rejected, {folder} is invalid ({report.records} records)")
        for issue in report.errors[:10]:
            line = f":{issue.line}" if issue.line else ""
            errors.print(f"  {issue.file}{line} {issue.code.value}: {issue.message}")
        raise typer.Exit(1)
    result, verdict = spec_estimate(spec, report.token_estimate.total)
    budget = _budget(spec)
    if as_json:
        document = {
            # The wire names of CostEstimate (the same as JobSubmitted.estimate), plus the budget.
            "trainingTokens": result.training_tokens,
            "epochs": result.epochs,
            "pricePer1kTokens": result.price_per_1k_tokens,
            "estimatedUsd": result.estimated_usd,
            "priceSource": result.price_source,
            "priceAsOf": result.price_as_of,
            "teacherUsd": result.teacher_usd,
            "notes": result.notes,
            "budgetUsd": budget,
            "withinBudget": None if budget is None else verdict is None,
            "budgetVerdict": verdict,
        }
        print(json.dumps(document, indent=2))
    else:
        console.print(
            f"[green]valid[/]: {report.records} records, about {report.token_estimate.total} tokens"
        )
        print_estimate(console, result, budget, verdict)
    if verdict is not None:
        raise typer.Exit(1)
