"""Status Lambda: Bedrock's job state-change events (default bus → StatusQueue) and the reconcile
schedule (``{"reconcile": true}``) → one Tailor event per real transition of each run.

Thin by design: decorators, parse, one call into ``tailor``.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import orjson
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from tailor.events.aws import BedrockJobStateChangeDetail
from tailor.events.sqs import SqsRecord
from tailor.runtime import Deadline
from tailor.status.observation import JobObservation
from tailor.status.reconcile import reconcile
from tailor.status.service import StatusDeps, apply_observation

logger = Logger()
metrics = Metrics()
copy_config_to_registered_loggers(source_logger=logger, include={"tailor"})
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecord, raise_on_entire_batch_failure=False)  # type: ignore[arg-type]
STATE_CHANGE = "Model Customization Job State Change"


@cache
def _deps() -> StatusDeps:
    # Built on first use, not at import: boto3 clients stay off the cold-start path.
    from tailor.adapters.bedrock import BedrockClient
    from tailor.adapters.bus import EventBridgePublisher
    from tailor.adapters.object_store import S3ObjectStore
    from tailor.adapters.runs import DynamoRunStore
    from tailor.config import Settings

    settings = Settings.from_env()
    return StatusDeps(
        runs=DynamoRunStore(settings.runs_table),
        bus=EventBridgePublisher(settings.bus_name),
        bedrock=BedrockClient(),
        objects=S3ObjectStore(),
    )


def _interval() -> timedelta:
    return timedelta(minutes=float(os.environ.get("RECONCILE_INTERVAL_MINUTES") or 5))


def _handle(record: SqsRecord, deps: StatusDeps, deadline: Deadline) -> None:
    deadline.check()
    # Read tolerantly: only detail-type and detail matter (moto's copies even lack "account").
    event = orjson.loads(record.body)
    detail_type = event.get("detail-type") if isinstance(event, dict) else None
    if detail_type != STATE_CHANGE:
        logger.info("not a job state change: ignored", extra={"detail_type": detail_type})
        return
    detail = BedrockJobStateChangeDetail.model_validate(event.get("detail") or {})
    try:
        outcome = apply_observation(JobObservation.from_event(detail), deps)
    except Exception:
        # BatchProcessor turns this into a failed item without logging it: say why, here.
        logger.exception(
            "status update failed; the message returns to the queue", extra={"job": detail.job_arn}
        )
        raise
    metrics.add_metric(name="Status" + outcome.value.title().replace("-", ""), unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    deadline = Deadline.of_lambda(context) if context is not None else Deadline.unlimited()
    deps = dataclasses.replace(_deps(), now=datetime.now(UTC))
    if event.get("reconcile"):
        report = reconcile(deps, _interval(), deadline)
        metrics.add_metric(name="ReconcileBedrockCalls", unit=MetricUnit.Count, value=report.bedrock_calls)
        metrics.add_metric(name="ReconcileChanged", unit=MetricUnit.Count, value=report.changed)
        metrics.add_metric(name="ReconcileAdopted", unit=MetricUnit.Count, value=report.adopted)
        return dataclasses.asdict(report)
    response: dict[str, Any] = dict(
        process_partial_response(
            event=event,
            record_handler=lambda record: _handle(record, deps, deadline),
            processor=processor,
            context=context,
        )
    )
    return response
