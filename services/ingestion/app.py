"""Ingestion Lambda: S3 "Object Created" events (via EventBridge → IngestQueue) → validated runs.

Thin by design: decorators, parse, one call into ``tailor``. A record whose body is not an S3 event,
or whose object is not a trigger, is reported as a failed batch item (redriven to the DLQ, alarmed);
the rest of the batch goes on.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from tailor.events.aws import S3ObjectCreatedRecord
from tailor.ingestion import IngestionDeps, ingest_object
from tailor.runtime import Deadline

logger = Logger()
metrics = Metrics()
# The library logs through stdlib loggers named tailor.*: give them this Logger's JSON format.
copy_config_to_registered_loggers(source_logger=logger, include={"tailor"})
# Our own light record model (see tailor.events.sqs): Powertools only needs ``messageId`` on it.
# raise_on_entire_batch_failure=False: when every item fails, report them all as failed items
# rather than crash the invocation; the failure metric below is still emitted.
processor = BatchProcessor(
    event_type=EventType.SQS,
    model=S3ObjectCreatedRecord,  # type: ignore[arg-type]
    raise_on_entire_batch_failure=False,
)


@cache
def _deps() -> IngestionDeps:
    # Built on first use, not at import: boto3 clients stay off the cold-start path.
    from tailor.adapters.bus import EventBridgePublisher
    from tailor.adapters.object_store import S3ObjectStore
    from tailor.adapters.runs import DynamoRunStore
    from tailor.config import Settings

    settings = Settings.from_env()
    return IngestionDeps(
        objects=S3ObjectStore(),
        runs=DynamoRunStore(settings.runs_table),
        bus=EventBridgePublisher(settings.bus_name),
        artifacts_bucket=settings.artifacts_bucket,
    )


def record_handler(record: S3ObjectCreatedRecord, lambda_context: Any = None) -> None:
    # Stop taking records before the timeout: the rest are failed items, retried later.
    deadline = Deadline.of_lambda(lambda_context) if lambda_context is not None else Deadline.unlimited()
    deadline.check()
    try:
        result = ingest_object(record.body.detail, dataclasses.replace(_deps(), deadline=deadline))
    except Exception:
        # BatchProcessor turns this into a failed item without logging it: say why, here.
        logger.exception(
            "ingestion failed; the message returns to the queue",
            extra={"message_id": record.messageId, "key": record.body.detail.object.key},
        )
        raise
    # IngestValidated, IngestRejected, IngestJoined, IngestAlreadyDone, IngestObjectGone
    metric = "Ingest" + result.outcome.value.title().replace("-", "")
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    response = process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=processor,
        context=context,
    )
    # Failed items go back to the queue (and after 5 receives to the DLQ, which is alarmed).
    failed = len(response.get("batchItemFailures", []))
    metrics.add_metric(name="IngestFailedItems", unit=MetricUnit.Count, value=failed)
    return response
