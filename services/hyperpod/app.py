"""HyperPod Lambda: Nova continued pre-training on the SageMaker HyperPod (EKS) cluster.

Two triggers, one function (both need the cluster's Kubernetes API, and its VPC when the endpoint
is private):
- HyperPodQueue (DatasetValidated of CPT runs) → the same ``submit_run`` as Bedrock's submission,
  with the HyperPod backend: one PyTorchJob per run, held on the queue while the cluster has
  ``HYPERPOD_MAX_CONCURRENT_JOBS`` in flight;
- the reconcile schedule (``{"reconcile": true}``) → poll the jobs (HyperPod emits no job events),
  import the checkpoint into Bedrock on success, publish the same catalog events.

Thin by design: decorators, parse, one call into ``tailor``. The Kubernetes client is imported on
first use, never at INIT.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

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
def _wiring() -> Any:
    from tailor.hyperpod.wiring import HyperPodWiring

    return HyperPodWiring.from_env()


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
        result = submit_run(data, _delivery(record), deps)
    except HoldMessage as hold:
        queue.hold(record.receiptHandle, hold.seconds)
        logger.info(
            "held on the queue", extra={"run_id": data.run_id, "seconds": hold.seconds, "why": hold.reason}
        )
        metrics.add_metric(name="HyperPodHeld", unit=MetricUnit.Count, value=1)
        raise
    except Exception:
        logger.exception(
            "HyperPod submission failed; the message returns to the queue", extra={"run_id": data.run_id}
        )
        raise
    metrics.add_metric(
        name="HyperPod" + result.outcome.value.title().replace("-", ""), unit=MetricUnit.Count, value=1
    )


def _interval() -> timedelta:
    return timedelta(minutes=float(os.environ.get("RECONCILE_INTERVAL_MINUTES") or 5))


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    deadline = Deadline.of_lambda(context) if context is not None else Deadline.unlimited()
    wiring = _wiring()
    now = datetime.now(UTC)
    if event.get("reconcile"):
        from tailor.hyperpod.reconcile import reconcile_hyperpod

        report = reconcile_hyperpod(dataclasses.replace(wiring.status, now=now), _interval(), deadline)
        metrics.add_metric(name="HyperPodReconcileChanged", unit=MetricUnit.Count, value=report.changed)
        metrics.add_metric(name="HyperPodImported", unit=MetricUnit.Count, value=report.imported)
        return dataclasses.asdict(report)
    backend = wiring.submission.backends[0]
    deps = dataclasses.replace(
        wiring.submission, now=now, quota=QuotaGate(wiring.settings.max_concurrent_jobs, backend.in_progress)
    )
    response: dict[str, Any] = dict(
        process_partial_response(
            event=event,
            record_handler=lambda record: _handle(record, deps, wiring.queue, deadline),
            processor=processor,
            context=context,
        )
    )
    return response
