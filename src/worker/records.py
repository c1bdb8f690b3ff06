"""One SQS record in, per-object outcomes out: their log lines and metrics, and whether to retry."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from assets.errors import StorageUnavailable
from assets.model import parse_source_key
from worker.events import MalformedMessage, parse_notification
from worker.processing import Budget, Outcome, Result, RetryLater, process_object

if TYPE_CHECKING:
    from worker.runtime import Worker

RETRIED = "retried"
MALFORMED = "malformed"
FAILED = "failed"
PROCESSING_TIME = "processingTime"
_WARN = frozenset({Outcome.ORPHANED, Outcome.WITHDRAWN, Outcome.SUPERSEDED, Outcome.IGNORED})


MetricSink = Metrics | EphemeralMetrics


def handle_record(
    record: SQSRecord,
    worker: Worker,
    logger: Logger,
    metrics: MetricSink,
    remaining_ms: Callable[[], int] | None = None,
) -> None:
    """Process every object a message names; raise (so SQS retries) if any must be tried again.

    `remaining_ms` is the invocation's time left (the Lambda context's), which bounds each
    object's processing budget.
    """
    started = time.perf_counter()
    with logger.append_context_keys(messageId=record.message_id):
        try:
            _handle(record, worker, logger, metrics, remaining_ms)
        finally:
            metrics.add_metric(
                name=PROCESSING_TIME,
                unit=MetricUnit.Milliseconds,
                value=round((time.perf_counter() - started) * 1000, 3),
            )


def _handle(
    record: SQSRecord,
    worker: Worker,
    logger: Logger,
    metrics: MetricSink,
    remaining_ms: Callable[[], int] | None,
) -> None:
    try:
        notification = parse_notification(record.body)
    except MalformedMessage as error:
        _count(metrics, MALFORMED)
        logger.error(
            "malformed message; it will reach the dead-letter queue",
            extra={"reason": str(error)},
        )
        raise
    if notification.is_test_event:
        _count(metrics, Outcome.IGNORED.value)
        logger.info("s3:TestEvent acknowledged")
        return
    failure: Exception | None = None
    for object_event in notification.records:
        source = parse_source_key(object_event.key)
        with logger.append_context_keys(assetId=source.asset_id if source else None):
            try:
                budget = Budget.for_object(
                    worker.settings.MAX_PROCESSING_SECONDS, remaining_ms() if remaining_ms else None
                )
                result = process_object(object_event, worker, budget)
            except (RetryLater, StorageUnavailable) as error:
                _count(metrics, RETRIED)
                logger.warning("will retry", extra={"key": object_event.key, "reason": str(error)})
                failure = failure or error
                continue
            except Exception as error:
                _count(metrics, FAILED)
                logger.exception("processing failed", extra={"key": object_event.key})
                failure = failure or error
                continue
        _report(result, object_event.key, logger, metrics)
    if failure is not None:
        raise failure


def _count(metrics: MetricSink, name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def _report(result: Result, key: str, logger: Logger, metrics: MetricSink) -> None:
    _count(metrics, result.outcome.value)
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
        logger.warning(f"upload {result.outcome.value}", extra=fields)
    else:
        logger.info(f"upload {result.outcome.value}", extra=fields)
