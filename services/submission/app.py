"""Submission Lambda: DatasetValidated (Tailor bus → SubmitQueue) → one Bedrock customization job.

Thin by design: decorators, parse, one call into ``tailor``. A message that must wait (quota full,
throttled) is held on its queue with a growing visibility timeout and reported as a failed item;
a run that cannot be submitted ends with JobSubmissionFailed and its message is consumed.
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

from tailor.events.models import DatasetValidated
from tailor.events.parse import parse_event
from tailor.events.sqs import SqsRecord
from tailor.runtime import Deadline
from tailor.submission.quota import QuotaGate
from tailor.submission.service import Delivery, HoldMessage, SubmissionDeps, submit_run

logger = Logger()
metrics = Metrics()
copy_config_to_registered_loggers(source_logger=logger, include={"tailor"})
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecord, raise_on_entire_batch_failure=False)  # type: ignore[arg-type]


@cache
def _base_deps() -> tuple[SubmissionDeps, Any]:
    # Built on first use, not at import: boto3 clients stay off the cold-start path.
    from tailor.adapters.bedrock import BedrockClient
    from tailor.adapters.bus import EventBridgePublisher
    from tailor.adapters.pricing import AwsPriceList
    from tailor.adapters.queue import SqsQueue
    from tailor.adapters.runs import DynamoRunStore
    from tailor.config import Settings
    from tailor.jobs.pricing import price_table
    from tailor.submission.backends import BedrockBackend
    from tailor.submission.request import SubmissionSettings

    settings = Settings.from_env()
    submission = SubmissionSettings.from_env()
    deps = SubmissionDeps(
        runs=DynamoRunStore(settings.runs_table),
        bus=EventBridgePublisher(settings.bus_name),
        backends=(BedrockBackend(BedrockClient()),),
        settings=submission,
        # Catalog prices, overridden by TRAINING_PRICES_JSON, then by the Price List when enabled.
        prices=price_table(submission.prices_json, AwsPriceList() if _price_list_enabled() else None),
    )
    return deps, SqsQueue(os.environ["SUBMIT_QUEUE_URL"])


def _price_list_enabled() -> bool:
    return os.environ.get("USE_PRICE_LIST", "").strip().lower() == "true"


def _delivery(record: SqsRecord) -> Delivery:
    sent = record.attributes.get("SentTimestamp")
    sent_at = datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None
    return Delivery(receive_count=record.receive_count, sent_at=sent_at)


def _handle(record: SqsRecord, deps: SubmissionDeps, queue: Any, deadline: Deadline) -> None:
    deadline.check()  # stop taking records before the timeout: the rest are failed items
    event = parse_event(record.body)
    data = event.detail.data
    if not isinstance(data, DatasetValidated):
        logger.info("not a DatasetValidated event: ignored", extra={"detail_type": event.detail_type})
        return
    try:
        result = submit_run(data, _delivery(record), dataclasses.replace(deps, now=datetime.now(UTC)))
    except HoldMessage as hold:
        queue.hold(record.receiptHandle, hold.seconds)
        logger.info(
            "held on the queue", extra={"run_id": data.run_id, "seconds": hold.seconds, "why": hold.reason}
        )
        metrics.add_metric(name="SubmitHeld", unit=MetricUnit.Count, value=1)
        raise
    except Exception:
        logger.exception("submission failed; the message returns to the queue", extra={"run_id": data.run_id})
        raise
    metric = "Submit" + result.outcome.value.title().replace("-", "")
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    base, queue = _base_deps()
    # One quota count per invocation: a fresh gate, counted on first need.
    backend = base.backends[0]
    deps = dataclasses.replace(base, quota=QuotaGate(base.settings.job_quota, backend.in_progress))
    deadline = Deadline.of_lambda(context) if context is not None else Deadline.unlimited()
    response = process_partial_response(
        event=event,
        record_handler=lambda record: _handle(record, deps, queue, deadline),
        processor=processor,
        context=context,
    )
    metrics.add_metric(
        name="SubmitFailedItems", unit=MetricUnit.Count, value=len(response.get("batchItemFailures", []))
    )
    return response
