"""The worker Lambda: S3 upload notifications from SQS in, a partial batch response out."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from assets.settings import WorkerSettings, load_settings
from worker.records import handle_record
from worker.runtime import Worker, build_worker

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

DEFAULT_METRICS_NAMESPACE = "PrivateAssetUploads"

logger = Logger()
# The template sets POWERTOOLS_METRICS_NAMESPACE; a local run without it still flushes.
metrics = Metrics()
if metrics.namespace is None:
    metrics.namespace = DEFAULT_METRICS_NAMESPACE
# A batch that fails entirely still gets a response naming every message, never an exception.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@functools.cache
def current_worker() -> Worker:
    """Settings and AWS clients, read and built on the first record, then reused."""
    return build_worker(load_settings(WorkerSettings))


def record_handler(record: SQSRecord, lambda_context: Any) -> None:
    """One message of the batch (Powertools passes the context to a handler that names it)."""
    remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
    handle_record(record, current_worker(), logger, metrics, remaining)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """Validate and publish each uploaded object; name the messages that must be retried."""
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
