"""The worker Lambda: S3 upload notifications from SQS in, a partial batch response out."""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

from assets.settings import WorkerSettings, load_settings
from worker.records import Telemetry, process_batch
from worker.runtime import Worker, build_worker

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

DEFAULT_METRICS_NAMESPACE = "PrivateAssetUploads"

logger = Logger()
metrics = Metrics()
if metrics.namespace is None:
    # The template sets POWERTOOLS_METRICS_NAMESPACE; a local run without it still flushes.
    metrics.namespace = DEFAULT_METRICS_NAMESPACE
telemetry = Telemetry(logger, metrics)
# A batch that fails entirely still gets a response naming every message, never an exception.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# The processor, logger keys and metric set are per process; Lambda runs one batch at a time,
# and so does a local poller that calls in from several threads.
_one_batch_at_a_time = threading.Lock()


@functools.cache
def current_worker() -> Worker:
    """Settings and AWS clients, read and built on the first record, then reused."""
    return build_worker(load_settings(WorkerSettings))


def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """Validate and publish each uploaded object; name the messages that must be retried."""
    with _one_batch_at_a_time:
        return process_batch(
            event, context, worker=current_worker, telemetry=telemetry, processor=processor
        )
