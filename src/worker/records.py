"""SQS records in, per-object outcomes out: logging, metrics, and which records to retry."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from assets.errors import StorageUnavailable
from assets.model import parse_source_key
from worker.events import MalformedMessage, parse_notification
from worker.processing import Outcome, Result, RetryLater, process_object

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

    from worker.runtime import Worker

RETRIED = "retried"
MALFORMED = "malformed"
FAILED = "failed"
PROCESSING_TIME = "processingTime"
_WARN = frozenset({Outcome.ORPHANED, Outcome.WITHDRAWN, Outcome.SUPERSEDED, Outcome.IGNORED})


@dataclass(slots=True)
class Telemetry:
    """Where the worker reports: structured logs and EMF metrics."""

    logger: Logger
    metrics: Metrics | EphemeralMetrics
    _pending: int = field(default=0)

    def count(self, name: str) -> None:
        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        self._pending += 1

    def duration(self, seconds: float) -> None:
        self.metrics.add_metric(
            name=PROCESSING_TIME, unit=MetricUnit.Milliseconds, value=round(seconds * 1000, 3)
        )
        self._pending += 1

    def flush(self) -> None:
        if self._pending:
            self.metrics.flush_metrics()
            self._pending = 0


def process_batch(
    event: dict[str, Any],
    context: Any,
    *,
    worker: Callable[[], Worker],
    telemetry: Telemetry,
    processor: BatchProcessor,
) -> PartialItemFailureResponse:
    """Process an SQS batch; the response names the messages SQS must deliver again."""
    request_id = getattr(context, "aws_request_id", None)
    if request_id:
        telemetry.logger.append_keys(requestId=request_id)
    try:
        return process_partial_response(
            event=event,
            record_handler=lambda record: handle_record(record, worker(), telemetry),
            processor=processor,
            context=context,
        )
    finally:
        telemetry.logger.remove_keys(["requestId"])
        telemetry.flush()


def handle_record(record: SQSRecord, worker: Worker, telemetry: Telemetry) -> None:
    """Process every object a message names; raise (so SQS retries) if any must be tried again."""
    logger = telemetry.logger
    started = time.perf_counter()
    logger.append_keys(messageId=record.message_id)
    try:
        try:
            notification = parse_notification(record.body)
        except MalformedMessage as error:
            telemetry.count(MALFORMED)
            logger.error(
                "malformed message; it will reach the dead-letter queue",
                extra={"reason": str(error)},
            )
            raise
        if notification.is_test_event:
            telemetry.count(Outcome.IGNORED.value)
            logger.info("s3:TestEvent acknowledged")
            return
        failure: Exception | None = None
        for object_event in notification.records:
            source = parse_source_key(object_event.key)
            logger.append_keys(assetId=source.asset_id if source else None)
            try:
                result = process_object(object_event, worker)
            except (RetryLater, StorageUnavailable) as error:
                telemetry.count(RETRIED)
                logger.warning("will retry", extra={"key": object_event.key, "reason": str(error)})
                failure = failure or error
                continue
            except Exception as error:
                telemetry.count(FAILED)
                logger.exception("processing failed", extra={"key": object_event.key})
                failure = failure or error
                continue
            finally:
                logger.remove_keys(["assetId"])
            _report(result, object_event.key, telemetry)
        if failure is not None:
            raise failure
    finally:
        telemetry.duration(time.perf_counter() - started)
        logger.remove_keys(["messageId"])


def _report(result: Result, key: str, telemetry: Telemetry) -> None:
    telemetry.count(result.outcome.value)
    fields: dict[str, Any] = {
        "outcome": result.outcome.value,
        "key": key,
        "assetId": result.asset_id,
    }
    if result.reason:
        fields["errorCode"] = result.reason.value
    if result.detail:
        fields["detail"] = result.detail
    if result.outcome in _WARN:
        telemetry.logger.warning(f"upload {result.outcome.value}", extra=fields)
    else:
        telemetry.logger.info(f"upload {result.outcome.value}", extra=fields)
