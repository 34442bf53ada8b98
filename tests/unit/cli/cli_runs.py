"""Runs as the status service leaves them (Bedrock's view, sub-tasks, a loss curve), for the CLI tests."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from tailor.events.models import LossMetrics, MetricPoint, SubTaskStatuses
from tailor.jobs.run import HistoryEntry, RunFacts, RunRecord
from tailor.jobs.state import RunStatus

RUN_ID = "support-bot-0f3a9c2e4b1d5a6c7e8f"
JOB_ARN = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-lite-v1:0:300k/abc123"


def loss_metrics(points: int = 120, *, start: float = 2.0, floor: float = 0.4) -> LossMetrics:
    curve = [
        MetricPoint(step=i, epoch=1 + (i - 1) * 2 // points, loss=start * math.exp(-i / 30) + floor)
        for i in range(1, points + 1)
    ]
    best = min(curve, key=lambda p: p.loss)
    return LossMetrics(
        final_loss=curve[-1].loss,
        best_loss=best.loss,
        best_step=best.step,
        steps=curve[-1].step,
        epochs=curve[-1].epoch,
        points=points,
        last=curve[-1],
        curve=curve,
    )


RunFactory = Callable[..., RunRecord]


def make_run(
    status: RunStatus = RunStatus.IN_PROGRESS,
    *,
    run_id: str = RUN_ID,
    with_job: bool = True,
    metrics: bool = True,
    **facts: Any,
) -> RunRecord:
    history = [
        HistoryEntry(status=RunStatus.RECEIVED, at="2026-12-01T12:00:00.000Z"),
        HistoryEntry(status=RunStatus.VALIDATED, at="2026-12-01T12:00:01.000Z", reason="dataset valid"),
    ]
    base: dict[str, Any] = {}
    if with_job:
        history.append(HistoryEntry(status=RunStatus.SUBMITTED, at="2026-12-01T12:00:02.000Z"))
        base.update(job_arn=JOB_ARN, job_name="tailor-support-bot", estimated_usd=3.25)
    if status not in (RunStatus.RECEIVED, RunStatus.VALIDATED, RunStatus.SUBMITTED):
        history.append(HistoryEntry(status=status, at="2026-12-01T12:05:00.000Z"))
        base.update(
            job_status="InProgress",
            sub_tasks=SubTaskStatuses(
                validation="Completed", data_processing="Completed", training="InProgress"
            ),
            last_observed_at="2026-12-01T12:09:50.000Z",
            observed_via="poll",
        )
        if metrics:
            base.update(training_metrics=loss_metrics(), validation_metrics=loss_metrics(12, start=1.5))
    base.update(facts)
    return RunRecord(
        run_id=run_id,
        label="support-bot",
        status=status,
        technique="fine-tuning",
        base_model_id="amazon.nova-lite-v1:0:300k",
        trigger_uri=f"s3://tailor-data/datasets/support-bot/job.json#{run_id}",
        created_at="2026-12-01T12:00:00.000Z",
        updated_at=history[-1].at,
        history=history,
        facts=RunFacts(**base),
    )
