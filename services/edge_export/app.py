"""Edge export Lambda: JobCompleted (for runs whose job.json has an ``edge`` section) and
EdgeExportRequested (``tailor export``) on the Tailor bus → ExportQueue → one signed bundle and
one IoT Job per export → EdgePackagePublished or EdgeExportFailed.

Thin by design: decorators, parse, one call into ``tailor``. onnx/onnxruntime are imported by
``tailor.edge.package`` on the first export, not at cold start.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from tailor.edge.service import ExportDeps, export_for_run, export_requested
from tailor.events.models import EdgeExportRequested, JobCompleted
from tailor.events.parse import parse_event
from tailor.events.sqs import SqsRecord
from tailor.runtime import Deadline

logger = Logger()
metrics = Metrics()
copy_config_to_registered_loggers(source_logger=logger, include={"tailor"})
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecord, raise_on_entire_batch_failure=False)  # type: ignore[arg-type]


@cache
def _base() -> ExportDeps:
    # Built on first use, not at import: boto3 clients stay off the cold-start path.
    from tailor.adapters.bus import EventBridgePublisher
    from tailor.adapters.exports import DynamoExportStore
    from tailor.adapters.fleet import IotFleet
    from tailor.adapters.object_store import S3ObjectStore
    from tailor.adapters.runs import DynamoRunStore
    from tailor.adapters.signer import KmsSigner
    from tailor.config import Settings

    settings = Settings.from_env()
    key_arn = os.environ["EDGE_SIGNING_KEY_ARN"]
    # arn:aws:kms:<region>:<account>:key/<id>: the stack's region and account.
    _, _, _, region, account, _ = key_arn.split(":", 5)
    return ExportDeps(
        exports=DynamoExportStore(os.environ["EXPORTS_TABLE"]),
        runs=DynamoRunStore(settings.runs_table),
        objects=S3ObjectStore(),
        bus=EventBridgePublisher(settings.bus_name),
        fleet=IotFleet(),
        signer=KmsSigner(key_arn),
        bucket=settings.artifacts_bucket,
        presign_role_arn=os.environ["EDGE_PRESIGN_ROLE_ARN"],
        region=region,
        account_id=account,
        # Per process: the local stack runs several test workers on one machine.
        workdir=Path(os.environ.get("TAILOR_EDGE_WORKDIR") or tempfile.gettempdir())
        / f"tailor-edge-{os.getpid()}",
    )


def _handle(record: SqsRecord, deps: ExportDeps) -> None:
    event = parse_event(record.body)
    data = event.detail.data
    deps = dataclasses.replace(deps, now=datetime.now(UTC))
    if isinstance(data, JobCompleted):
        result = export_for_run(data.run_id, deps)
    elif isinstance(data, EdgeExportRequested):
        result = export_requested(data, event.detail.metadata.event_id, deps)
    else:
        logger.info("not an export trigger: ignored", extra={"detail_type": event.detail_type})
        return
    logger.info(
        "export handled",
        extra={"outcome": result.outcome.value, "export_id": result.export_id, "version": result.version},
    )
    metrics.add_metric(
        name="Export" + result.outcome.value.title().replace("-", ""), unit=MetricUnit.Count, value=1
    )


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    deps = _base()
    deadline = Deadline.of_lambda(context) if context is not None else Deadline.unlimited()
    deps = dataclasses.replace(deps, deadline=deadline)

    def record_handler(record: SqsRecord) -> None:
        deadline.check(what="an export")
        try:
            _handle(record, deps)
        except Exception:
            logger.exception("export failed; the message returns to the queue")
            raise

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
