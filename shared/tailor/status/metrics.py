"""Loss curves from the metrics CSVs Bedrock writes under a job's output prefix (aws-facts §1).

``training_artifacts/step_wise_training_metrics.csv`` (``step_number, epoch_number, training_loss,
perplexity``) and, with a validation set, a ``validation_metrics.csv`` (``validation_loss``) one or
two folder levels under ``validation_artifacts/`` — the docs and AWS's samples disagree, so the
files are found by listing the prefix, never by a hard-coded path.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from tailor.adapters.object_store import ObjectStore
from tailor.events.models import LossMetrics, MetricPoint

TRAINING_CSV = "step_wise_training_metrics.csv"
VALIDATION_CSV = "validation_metrics.csv"
MAX_CURVE_POINTS = 200


def _number(row: dict[str, str], *names: str) -> float | None:
    for name in names:
        value = (row.get(name) or "").strip()
        if value:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def parse_metrics_csv(text: str, loss_column: str, csv_uri: str | None = None) -> LossMetrics:
    """A LossMetrics from one CSV's text. Rows without a numeric loss are skipped."""
    reader = csv.DictReader(io.StringIO(text), skipinitialspace=True)
    reader.fieldnames = [name.strip() for name in reader.fieldnames or []]
    points = []
    for row in reader:
        loss = _number(row, loss_column, "loss")
        step = _number(row, "step_number", "step")
        if loss is None or step is None:
            continue
        epoch = _number(row, "epoch_number", "epoch")
        perplexity = _number(row, "perplexity")
        points.append(
            MetricPoint(
                step=int(step),
                epoch=int(epoch) if epoch is not None else None,
                loss=loss,
                perplexity=perplexity,
            )
        )
    if not points:
        return LossMetrics(csv_uri=csv_uri)
    best = min(points, key=lambda p: p.loss)
    return LossMetrics(
        final_loss=points[-1].loss,
        best_loss=best.loss,
        best_step=best.step,
        steps=max(p.step for p in points),
        epochs=max((p.epoch for p in points if p.epoch is not None), default=None),
        points=len(points),
        last=points[-1],
        csv_uri=csv_uri,
        curve=_thin(points),
    )


def _thin(points: list[MetricPoint]) -> list[MetricPoint]:
    if len(points) <= MAX_CURVE_POINTS:
        return points
    stride = len(points) / (MAX_CURVE_POINTS - 1)
    picked = [points[int(i * stride)] for i in range(MAX_CURVE_POINTS - 1)]
    return [*picked, points[-1]]


def _find(keys: Iterable[str], name: str) -> str | None:
    matches = sorted(k for k in keys if k.rsplit("/", 1)[-1] == name)
    return matches[0] if matches else None


def read_job_metrics(objects: ObjectStore, output_uri: str) -> tuple[LossMetrics | None, LossMetrics | None]:
    """(training, validation) metrics found under ``output_uri``; None where no CSV exists."""
    bucket, _, prefix = output_uri.removeprefix("s3://").partition("/")
    keys = list(objects.list_keys(bucket, prefix))
    found: list[LossMetrics | None] = []
    for name, column in ((TRAINING_CSV, "training_loss"), (VALIDATION_CSV, "validation_loss")):
        key = _find(keys, name)
        if key is None:
            found.append(None)
            continue
        text = objects.get_bytes(bucket, key).decode("utf-8", errors="replace")
        found.append(parse_metrics_csv(text, column, f"s3://{bucket}/{key}"))
    return found[0], found[1]
