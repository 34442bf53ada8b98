"""Deployment Lambda: JobCompleted (for runs whose job.json asked) and DeploymentRequested (Tailor
bus → DeployQueue) → one on-demand deployment, followed to Active → ModelDeployed.

Thin by design: decorators, parse, one call into ``tailor``. A deployment still Creating (or a full
quota, or throttling) holds the message on its queue with a growing visibility timeout.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from tailor.deployment.service import DeploymentDeps, Trigger, deploy_run
from tailor.events.models import DeploymentRequested, JobCompleted
from tailor.events.parse import parse_event
from tailor.events.sqs import SqsRecord
from tailor.runtime import Deadline, HoldMessage

logger = Logger()
metrics = Metrics()
copy_config_to_registered_loggers(source_logger=logger, include={"tailor"})
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecord, raise_on_entire_batch_failure=False)  # type: ignore[arg-type]


@cache
def _base() -> tuple[DeploymentDeps, Any]:
    # Built on first use, not at import: boto3 clients stay off the cold-start path.
    from tailor.adapters.bus import EventBridgePublisher
    from tailor.adapters.deployments import BedrockDeployments
    from tailor.adapters.queue import SqsQueue
    from tailor.adapters.runs import DynamoRunStore
    from tailor.config import Settings

    settings = Settings.from_env()
    deps = DeploymentDeps(
        runs=DynamoRunStore(settings.runs_table),
        bus=EventBridgePublisher(settings.bus_name),
        deployments=BedrockDeployments(),
    )
    return deps, SqsQueue(os.environ["DEPLOY_QUEUE_URL"])


def _handle(record: SqsRecord, deps: DeploymentDeps, queue: Any, deadline: Deadline) -> None:
    deadline.check()
    event = parse_event(record.body)
    data = event.detail.data
    if isinstance(data, JobCompleted):
        trigger, request_id = Trigger.COMPLETED, None
    elif isinstance(data, DeploymentRequested):
        trigger, request_id = Trigger.REQUESTED, event.detail.metadata.event_id
    else:
        logger.info("not a deployment trigger: ignored", extra={"detail_type": event.detail_type})
        return
    sent = record.attributes.get("SentTimestamp")
    try:
        result = deploy_run(
            data.run_id,
            trigger,
            dataclasses.replace(deps, now=datetime.now(UTC)),
            receive_count=record.receive_count,
            sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
            request_id=request_id,
        )
    except HoldMessage as hold:
        queue.hold(record.receiptHandle, hold.seconds)
        logger.info(
            "held on the queue", extra={"run_id": data.run_id, "seconds": hold.seconds, "why": hold.reason}
        )
        metrics.add_metric(name="DeployHeld", unit=MetricUnit.Count, value=1)
        raise
    except Exception:
        logger.exception("deployment failed; the message returns to the queue", extra={"run_id": data.run_id})
        raise
    metrics.add_metric(
        name="Deploy" + result.outcome.value.title().replace("-", ""), unit=MetricUnit.Count, value=1
    )


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    deps, queue = _base()
    deadline = Deadline.of_lambda(context) if context is not None else Deadline.unlimited()
    return process_partial_response(
        event=event,
        record_handler=lambda record: _handle(record, deps, queue, deadline),
        processor=processor,
        context=context,
    )
