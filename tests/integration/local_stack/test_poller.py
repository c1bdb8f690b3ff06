"""The local event source against SQS (moto over HTTP): delete successes, retry failures, DLQ."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from local_stack.aws import MotoClients
from local_stack.poller import BatchOutcome, EventSourceConfig, FunctionConfig, SqsPoller

MAX_RECEIVES = 2
FUNCTION = FunctionConfig("local-WorkerFunction", 5, 1024, "us-east-1", "123456789012")


@dataclass
class Queues:
    url: str
    arn: str
    dlq_url: str


@pytest.fixture
def queues(clients: MotoClients) -> Queues:
    dlq_url = clients.sqs.create_queue(QueueName="poller-dlq")["QueueUrl"]
    dlq_arn = clients.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    url = clients.sqs.create_queue(
        QueueName="poller-queue",
        Attributes={
            # Short, so that a failed message comes back within the test.
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES}
            ),
        },
    )["QueueUrl"]
    arn = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return Queues(url, arn, dlq_url)


class RecordingHandler:
    """A worker stand-in: fails the bodies it is told to, in the way it is told to."""

    def __init__(self, respond: Callable[[dict[str, Any]], Any]) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self._respond = respond

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        self.contexts.append(context)
        return self._respond(event)

    def bodies(self, call: int = -1) -> list[str]:
        return [record["body"] for record in self.events[call]["Records"]]


def fail_bodies(*bodies: str) -> Callable[[dict[str, Any]], Any]:
    def respond(event: dict[str, Any]) -> Any:
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] in bodies
            ]
        }

    return respond


def poller(
    clients: MotoClients, queues: Queues, handler: Any, *, batch_size: int = 5, report: bool = True
) -> SqsPoller:
    source = EventSourceConfig(queues.url, queues.arn, batch_size, report, wait_seconds=1)
    return SqsPoller(clients.sqs, handler, source, FUNCTION)


def send(clients: MotoClients, queues: Queues, *bodies: str) -> None:
    for body in bodies:
        clients.sqs.send_message(QueueUrl=queues.url, MessageBody=body)


def poll_until_received(subject: SqsPoller, timeout: float = 5.0) -> BatchOutcome:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outcome = subject.poll_once()
        if outcome is not None:
            return outcome
    raise AssertionError("nothing was received")


def queue_bodies(clients: MotoClients, url: str, wait: int = 2) -> list[str]:
    messages = clients.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait
    ).get("Messages", [])
    return sorted(message["Body"] for message in messages)


def test_only_the_reported_failure_is_retried_and_then_dead_lettered(
    clients: MotoClients, queues: Queues
) -> None:
    # GIVEN three uploads, one of which the worker cannot process
    send(clients, queues, "a", "b", "c")
    handler = RecordingHandler(fail_bodies("b"))
    subject = poller(clients, queues, handler)

    # WHEN the batch is processed
    first = poll_until_received(subject)

    # THEN the two successes are deleted and the failure stays in the queue
    assert sorted(handler.bodies()) == ["a", "b", "c"]
    assert len(first.deleted) == 2
    assert len(first.failed) == 1
    # ... it comes back after the visibility timeout, received a second time
    second = poll_until_received(subject)
    assert handler.bodies() == ["b"]
    assert handler.events[-1]["Records"][0]["attributes"]["ApproximateReceiveCount"] == str(
        MAX_RECEIVES
    )
    assert second.deleted == []
    # ... and once it has been received maxReceiveCount times, SQS moves it to the DLQ
    time.sleep(1.2)
    assert subject.poll_once() is None
    assert queue_bodies(clients, queues.dlq_url) == ["b"]
    assert len(handler.events) == 2


def test_an_exception_fails_the_whole_batch(clients: MotoClients, queues: Queues) -> None:
    send(clients, queues, "a", "b")

    def explode(event: dict[str, Any]) -> Any:
        raise RuntimeError("the worker crashed")

    subject = poller(clients, queues, RecordingHandler(explode))
    outcome = poll_until_received(subject)
    assert outcome.deleted == []
    assert outcome.error is not None
    assert "RuntimeError: the worker crashed" in outcome.error
    time.sleep(1.1)
    assert queue_bodies(clients, queues.url) == ["a", "b"]


def test_a_response_lambda_calls_invalid_fails_the_whole_batch(
    clients: MotoClients, queues: Queues
) -> None:
    send(clients, queues, "a", "b")
    subject = poller(
        clients,
        queues,
        RecordingHandler(lambda event: {"batchItemFailures": [{"itemIdentifier": ""}]}),
    )
    outcome = poll_until_received(subject)
    assert outcome.deleted == []
    assert outcome.error is not None
    assert "invalid batch response" in outcome.error


def test_without_report_batch_item_failures_a_returned_failure_is_deleted_anyway(
    clients: MotoClients, queues: Queues
) -> None:
    # GIVEN an event source that (like one missing FunctionResponseTypes) ignores the response
    send(clients, queues, "a", "b")
    subject = poller(clients, queues, RecordingHandler(fail_bodies("b")), report=False)
    outcome = poll_until_received(subject)
    # THEN Lambda would delete every message of a batch whose invocation succeeded
    assert len(outcome.deleted) == 2
    time.sleep(1.1)
    assert queue_bodies(clients, queues.url, wait=0) == []


def test_the_batch_size_and_the_event_lambda_hands_over(
    clients: MotoClients, queues: Queues
) -> None:
    send(clients, queues, *[str(n) for n in range(7)])
    handler = RecordingHandler(lambda event: None)
    subject = poller(clients, queues, handler, batch_size=3)
    poll_until_received(subject)
    event = handler.events[0]
    assert 1 <= len(event["Records"]) <= 3
    record = event["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queues.arn
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert json.loads(json.dumps(event)) == event  # plain JSON, as Lambda delivers it
    assert 0 < handler.contexts[0].get_remaining_time_in_millis() <= 5000


def test_run_processes_until_told_to_stop(clients: MotoClients, queues: Queues) -> None:
    handler = RecordingHandler(lambda event: None)
    subject = poller(clients, queues, handler)
    stop = threading.Event()
    thread = threading.Thread(target=subject.run, args=(stop,))
    thread.start()
    try:
        send(clients, queues, "late")
        deadline = time.monotonic() + 5
        while not handler.events and time.monotonic() < deadline:
            time.sleep(0.02)
        assert handler.bodies(0) == ["late"]
    finally:
        stop.set()
        thread.join(timeout=3)
    assert not thread.is_alive()
