"""The Lambda SQS event source, locally: long-poll the queue, invoke the handler, delete successes.

It keeps the contract the worker is written against. Records are shaped and serialised as Lambda
delivers them; with `ReportBatchItemFailures` only the messages the handler did not name in
`batchItemFailures` are deleted, and a response Lambda would call invalid fails the whole batch;
a raised exception fails the whole batch. Nothing is retried here: a failed message stays in the
queue, comes back after the visibility timeout, and SQS's redrive moves it to the dead-letter
queue after `maxReceiveCount` receives, exactly as behind the Lambda service.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

LOG = logging.getLogger("local_stack.poller")

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True, slots=True)
class FunctionConfig:
    """The function the event source invokes, as its context describes it."""

    name: str
    timeout_seconds: int
    memory_mb: int
    region: str
    account_id: str

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"


@dataclass(frozen=True, slots=True)
class EventSourceConfig:
    """The SQS event source mapping: which queue, how many messages, how failures are reported."""

    queue_url: str
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool
    wait_seconds: int = 1
    """Long-poll length: a message wakes the poll at once, so this only bounds shutdown time."""


class LambdaContext:
    """The attributes and method of the Python runtime's context object that handlers use."""

    def __init__(self, function: FunctionConfig, deadline: float) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        # The Python runtime hands this over as the string it reads from its environment.
        self.memory_limit_in_mb = str(function.memory_mb)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = f"local/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What one invocation did to the messages it was given."""

    received: list[str]
    deleted: list[str]
    failed: list[str]
    error: str | None = None
    duration_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def lambda_record(
    message: MessageTypeDef, source: EventSourceConfig, region: str
) -> dict[str, Any]:
    """An SQS message as the Lambda event source puts it in `event["Records"]`."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": source.queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


class InvalidBatchResponse(ValueError):
    """A response Lambda treats as the failure of the whole batch."""


def failed_message_ids(
    response: Any, batch_ids: Sequence[str], *, report_batch_item_failures: bool
) -> set[str]:
    """The messages to leave in the queue, as Lambda reads a handler's response.

    Without `ReportBatchItemFailures` the response is ignored. With it, a null or empty response
    or list means success; an entry without a non-empty `itemIdentifier` from this batch makes
    the response invalid (`InvalidBatchResponse`: every message is retried).
    """
    if not report_batch_item_failures or response is None:
        return set()
    if not isinstance(response, Mapping):
        raise InvalidBatchResponse(f"the response is not an object: {response!r}")
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        raise InvalidBatchResponse(f"batchItemFailures is not a list: {failures!r}")
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or not identifier:
            raise InvalidBatchResponse(
                f"batchItemFailures has an entry without itemIdentifier: {failure!r}"
            )
        if identifier not in batch_ids:
            raise InvalidBatchResponse(
                f"batchItemFailures names a message not in the batch: {identifier}"
            )
        failed.add(identifier)
    return failed


class SqsPoller:
    """One poller of the event source: receive a batch, invoke, delete what succeeded; repeat."""

    def __init__(
        self,
        sqs: SQSClient,
        handler: Handler,
        source: EventSourceConfig,
        function: FunctionConfig,
    ) -> None:
        self._sqs = sqs
        self._handler = handler
        self._source = source
        self._function = function

    def poll_once(self) -> BatchOutcome | None:
        """Receive at most one batch and process it; None when the long poll found nothing."""
        response = self._sqs.receive_message(
            QueueUrl=self._source.queue_url,
            MaxNumberOfMessages=self._source.batch_size,
            WaitTimeSeconds=self._source.wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return None
        return self.invoke(messages)

    def invoke(self, messages: Sequence[MessageTypeDef]) -> BatchOutcome:
        """Invoke the handler with these messages as one event; delete the ones that succeeded."""
        ids = [message["MessageId"] for message in messages]
        # Lambda hands the handler JSON, not the SDK's objects: round-trip to hand over the same.
        event = json.loads(
            json.dumps(
                {
                    "Records": [
                        lambda_record(m, self._source, self._function.region) for m in messages
                    ]
                }
            )
        )
        started = time.monotonic()
        context = LambdaContext(self._function, started + self._function.timeout_seconds)
        error: str | None = None
        notes: list[str] = []
        try:
            result = self._handler(event, context)
            result = json.loads(json.dumps(result))
            failed = failed_message_ids(
                result, ids, report_batch_item_failures=self._source.report_batch_item_failures
            )
        except InvalidBatchResponse as invalid:
            error = f"invalid batch response, every message will be retried: {invalid}"
            failed = set(ids)
        except Exception as exception:  # noqa: BLE001 - Lambda turns any exception into a failed batch
            error = "".join(traceback.format_exception_only(exception)).strip()
            LOG.error("handler raised; the whole batch will be retried\n%s", traceback.format_exc())
            failed = set(ids)
        duration = time.monotonic() - started
        if duration > self._function.timeout_seconds:
            # Lambda would have stopped the handler; locally the result stands, but say so.
            notes.append(
                f"the batch took {duration:.1f}s, over the function's {self._function.timeout_seconds}s timeout"
            )
        succeeded = [message for message in messages if message["MessageId"] not in failed]
        deleted = self._delete(succeeded)
        outcome = BatchOutcome(
            received=ids,
            deleted=deleted,
            failed=[i for i in ids if i in failed],
            error=error,
            duration_seconds=duration,
            notes=notes,
        )
        self._log(outcome)
        return outcome

    def _delete(self, messages: Sequence[MessageTypeDef]) -> list[str]:
        deleted: list[str] = []
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            response = self._sqs.delete_message_batch(
                QueueUrl=self._source.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(chunk)
                ],
            )
            for entry in response.get("Successful", []):
                deleted.append(chunk[int(entry["Id"])]["MessageId"])
            for failure in response.get("Failed", []):
                LOG.warning(
                    "could not delete message %s: %s %s",
                    chunk[int(failure["Id"])]["MessageId"],
                    failure.get("Code"),
                    failure.get("Message"),
                )
        return deleted

    def _log(self, outcome: BatchOutcome) -> None:
        summary = (
            f"batch of {len(outcome.received)}: {len(outcome.deleted)} done, "
            f"{len(outcome.failed)} left for retry ({outcome.duration_seconds * 1000:.0f} ms)"
        )
        if outcome.error:
            summary += f"; {outcome.error}"
        for note in outcome.notes:
            summary += f"; {note}"
        (LOG.warning if outcome.failed or outcome.notes else LOG.info)(summary)

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set; a batch already received is processed before returning."""
        backoff = 0.5
        while not stop.is_set():
            try:
                self.poll_once()
                backoff = 0.5
            except (BotoCoreError, ClientError) as error:
                if stop.is_set():
                    return
                LOG.warning(
                    "polling %s failed: %s; retrying in %.1fs",
                    self._source.queue_url,
                    error,
                    backoff,
                )
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
