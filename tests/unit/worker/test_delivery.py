"""At-least-once delivery: duplicates, races, crashes and AWS failures have one effect."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from botocore.exceptions import ClientError, ReadTimeoutError

from assets.aws import AwsClients
from assets.model import AssetStatus, ImageType
from testbed.aws import make_dynamodb_atomic
from tests.unit.worker import corpus
from tests.unit.worker.harness import (
    BUCKET,
    Harness,
    StoredUpload,
    failures,
    load_event,
    metric_counts,
)
from worker.processing import FINISH_ATTEMPTS
from worker.records import handle_record
from worker.runtime import Worker

PNG = corpus.encode(corpus.pattern(), "PNG")


class Killed(BaseException):
    """The Lambda runtime stopping a worker mid-flight: no handler, no cleanup runs."""


def is_finish_ready(params: dict[str, Any]) -> bool:
    return ":ready" in params.get("ExpressionAttributeValues", {})


def is_claim(params: dict[str, Any]) -> bool:
    return ":uploading" in params.get("ExpressionAttributeValues", {})


def is_publish(params: dict[str, Any]) -> bool:
    return str(params.get("Key", "")).startswith("processed/")


def throttled(
    operation: str, code: str = "ThrottlingException", status: int = 400
) -> Callable[[], ClientError]:
    response: Any = {
        "Error": {"Code": code, "Message": "injected"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return lambda: ClientError(response, operation)


def ready(harness: Harness, upload: StoredUpload) -> bool:
    record = harness.record(upload.asset_id)
    return record is not None and record.status is AssetStatus.READY


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each moto DynamoDB write applied atomically, as DynamoDB applies a conditional write."""
    make_dynamodb_atomic(monkeypatch)


def test_the_same_message_twice_has_one_effect(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = harness.upload(PNG)
    event = harness.event(upload)
    assert failures(harness.handle(event, monkeypatch)) == []
    first = harness.record(upload.asset_id)
    harness.clock.advance(5)

    assert failures(harness.handle(event, monkeypatch)) == []

    assert harness.calls.publishes == 1
    assert harness.record(upload.asset_id) == first


def test_the_same_s3_event_in_two_messages_has_one_effect(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN one batch holding two messages with the same S3 event (S3 delivered it twice)
    upload = harness.upload(PNG)
    event = harness.event(upload)
    twin = dict(event["Records"][0], messageId="9b2cfa4e-0000-4000-8000-000000000002")
    event["Records"].append(twin)

    # WHEN the batch is handled
    response = harness.handle(event, monkeypatch)

    # THEN both are acknowledged, and the asset was published once
    assert failures(response) == []
    assert harness.calls.publishes == 1
    assert ready(harness, upload)
    counts = metric_counts(capsys.readouterr().out)
    assert counts["accepted"] == 1
    assert counts["duplicate"] == 1


def run_worker(event: dict[str, Any], worker: Worker, name: str, barrier: threading.Barrier) -> Any:
    """One Lambda instance: its own processor, logger and metrics; starts with the other."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    logger, metrics = Logger(service=name), EphemeralMetrics(namespace="Test")
    barrier.wait()
    return process_partial_response(
        event=event,
        record_handler=lambda record: handle_record(record, worker, logger, metrics),
        processor=processor,
    )


@pytest.mark.usefixtures("atomic_dynamodb")
def test_two_workers_racing_for_one_asset_publish_it_once(
    harness: Harness, other_clients: AwsClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two worker processes, each with its own AWS clients, handed the same notification
    workers = {"worker-a": harness.worker, "worker-b": harness.new_worker(other_clients)}
    other_calls = harness.count_calls(other_clients)
    uploads = [harness.upload(PNG) for _ in range(6)]

    for upload in uploads:
        event = harness.event(upload)
        barrier = threading.Barrier(len(workers))
        responses: dict[str, Any] = {}

        def race(name: str, worker: Worker, event: dict[str, Any] = event) -> None:
            responses[name] = run_worker(event, worker, name, barrier)  # noqa: B023

        threads = [threading.Thread(target=race, args=item) for item in workers.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        # THEN one of them did the work; the other saw it done, or saw the lease and asked
        # for a retry, which then finds the asset ready and does nothing
        assert ready(harness, upload)
        retried = [name for name, response in responses.items() if failures(response)]
        assert len(retried) <= 1
        for _ in retried:
            assert failures(harness.handle(event, monkeypatch)) == []

    # AND across both processes, each asset was published exactly once
    assert harness.calls.publishes + other_calls.publishes == len(uploads)
    for upload in uploads:
        record = harness.record(upload.asset_id)
        assert record is not None
        assert record.status is AssetStatus.READY
        assert record.lease_token is None


def test_worker_that_dies_after_claiming_is_taken_over_when_its_lease_expires(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a worker killed after claiming the asset, before it published anything
    upload = harness.upload(PNG)
    event = harness.event(upload)
    harness.fail(harness.clients.s3, "PutObject", when=is_publish, error=Killed)
    with pytest.raises(Killed):
        harness.handle(event, monkeypatch)
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.PROCESSING
    assert record.lease_token is not None

    # WHEN the message comes back while the dead worker's lease still runs
    # THEN it is retried later, and nothing is published
    assert failures(harness.handle(event, monkeypatch)) == [event["Records"][0]["messageId"]]
    assert harness.calls.publishes == 0

    # WHEN it comes back after the lease expired
    harness.clock.advance(harness.settings.LEASE_SECONDS)
    response = harness.handle(event, monkeypatch)

    # THEN another worker takes over and finishes, publishing once
    assert failures(response) == []
    assert ready(harness, upload)
    assert harness.calls.publishes == 1


def test_worker_that_dies_between_publishing_and_finishing_is_succeeded_with_the_same_bytes(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = harness.upload(PNG)
    event = harness.event(upload)
    harness.fail(harness.clients.dynamodb, "UpdateItem", when=is_finish_ready, error=Killed)
    with pytest.raises(Killed):
        harness.handle(event, monkeypatch)
    published = harness.published(upload)

    harness.clock.advance(harness.settings.LEASE_SECONDS)
    assert failures(harness.handle(event, monkeypatch)) == []

    # The key is the asset's own: the successor overwrote it with identical bytes.
    assert ready(harness, upload)
    assert harness.published(upload) == published
    assert harness.calls.published == [harness.calls.published[0]] * 2


def test_live_lease_of_another_worker_is_a_batch_item_failure(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    upload = harness.upload(PNG)
    harness.repository.claim_for_processing(
        upload.asset_id, upload.key, "other-worker", harness.clock(), harness.settings.LEASE_SECONDS
    )
    event = harness.event(upload)

    assert failures(harness.handle(event, monkeypatch)) == [event["Records"][0]["messageId"]]

    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.lease_token == "other-worker"
    assert harness.calls.publishes == 0
    assert metric_counts(capsys.readouterr().out)["retried"] == 1


@pytest.mark.parametrize(
    "error",
    [
        lambda: ReadTimeoutError(endpoint_url="https://dynamodb.invalid"),
        throttled("UpdateItem"),
        throttled("UpdateItem", "ProvisionedThroughputExceededException"),
        throttled("UpdateItem", "InternalServerError", 500),
    ],
    ids=["timeout", "throttling", "throughput", "5xx"],
)
def test_dynamodb_failure_at_claim_is_retried_and_then_publishes_once(
    error: Callable[[], BaseException],
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upload = harness.upload(PNG)
    event = harness.event(upload)
    injected = harness.fail(harness.clients.dynamodb, "UpdateItem", when=is_claim, error=error)

    assert failures(harness.handle(event, monkeypatch)) == [event["Records"][0]["messageId"]]
    assert injected == ["UpdateItem"]
    assert metric_counts(capsys.readouterr().out)["retried"] == 1
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.UPLOADING  # never `rejected` for AWS's failure

    assert failures(harness.handle(event, monkeypatch)) == []
    assert ready(harness, upload)
    assert harness.calls.publishes == 1


def test_dynamodb_failure_at_finish_is_retried_in_place_without_a_second_publish(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN DynamoDB throttles the write that marks the asset ready, twice
    upload = harness.upload(PNG)
    harness.fail(
        harness.clients.dynamodb,
        "UpdateItem",
        when=is_finish_ready,
        times=2,
        error=throttled("UpdateItem"),
    )

    # WHEN the notification is handled
    response = harness.handle(harness.event(upload), monkeypatch)

    # THEN the finish is retried with backoff, in the same invocation, and nothing is redone
    assert failures(response) == []
    assert ready(harness, upload)
    assert harness.calls.publishes == 1
    assert harness.sleeps == [0.1, 0.2]


def test_finish_whose_answer_was_lost_is_recognised_as_done(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the ready write lands, but its response times out on the way back
    upload = harness.upload(PNG)
    pending: list[bool] = []
    harness.hook(
        harness.clients.dynamodb,
        "before-parameter-build.dynamodb.UpdateItem",
        lambda params, **_: pending.append(is_finish_ready(params)),
    )

    def lose_first_answer(**_: Any) -> None:
        if pending and pending[-1] and pending.count(True) == 1:
            pending.append(False)
            raise ReadTimeoutError(endpoint_url="https://dynamodb.invalid")

    harness.hook(harness.clients.dynamodb, "after-call.dynamodb.UpdateItem", lose_first_answer)

    # WHEN it is handled: the retried write finds the lease already spent
    response = harness.handle(harness.event(upload), monkeypatch)

    # THEN the worker sees the record carries its own result, and acknowledges
    assert failures(response) == []
    assert ready(harness, upload)
    assert harness.calls.publishes == 1
    assert harness.objects("processed/")


def test_finish_that_keeps_failing_goes_back_to_sqs_and_the_retry_publishes_identical_bytes(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the ready write fails every time this invocation tries it
    upload = harness.upload(PNG)
    event = harness.event(upload)
    harness.fail(
        harness.clients.dynamodb,
        "UpdateItem",
        when=is_finish_ready,
        times=FINISH_ATTEMPTS,
        error=throttled("UpdateItem"),
    )

    # WHEN it is handled, THEN the message is retried and the lease released for the retry
    assert failures(harness.handle(event, monkeypatch)) == [event["Records"][0]["messageId"]]
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.PROCESSING
    assert record.lease_token is None

    # WHEN SQS delivers it again, THEN it finishes; the re-publish wrote the very same bytes
    assert failures(harness.handle(event, monkeypatch)) == []
    assert ready(harness, upload)
    record = harness.record(upload.asset_id)
    assert record is not None
    assert len(set(harness.calls.published)) == 1
    assert harness.calls.publishes == 2
    assert record.sha256 == hashlib.sha256(harness.published(upload)).hexdigest()


@pytest.mark.parametrize(
    ("operation", "when"),
    [("GetObject", lambda params: True), ("PutObject", is_publish)],
    ids=["read-original", "publish"],
)
@pytest.mark.parametrize(
    "error",
    [
        lambda: ReadTimeoutError(endpoint_url="https://s3.invalid"),
        throttled("S3", "SlowDown", 503),
        throttled("S3", "InternalError", 500),
    ],
    ids=["timeout", "slowdown", "5xx"],
)
def test_s3_failure_mid_record_is_retried_and_finishes_with_one_publish(
    operation: str,
    when: Callable[[dict[str, Any]], bool],
    error: Callable[[], BaseException],
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN S3 fails once, after the asset was claimed
    upload = harness.upload(PNG)
    event = harness.event(upload)
    injected = harness.fail(harness.clients.s3, operation, when=when, error=error)

    # WHEN it is handled, THEN it is a retry: not a verdict, and the lease is given back
    assert failures(harness.handle(event, monkeypatch)) == [event["Records"][0]["messageId"]]
    assert injected == [operation]
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.PROCESSING
    assert record.lease_token is None
    assert harness.objects("processed/") == {}

    # WHEN SQS delivers it again, THEN it finishes, with one publish in all
    assert failures(harness.handle(event, monkeypatch)) == []
    assert ready(harness, upload)
    assert harness.calls.publishes == 1


def test_aws_refusal_that_is_not_transient_fails_the_record_without_a_verdict(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the worker is not allowed to read the original (a broken deployment)
    upload = harness.upload(PNG)
    event = harness.event(upload)
    harness.fail(
        harness.clients.s3, "GetObject", times=99, error=throttled("S3", "AccessDenied", 403)
    )

    # WHEN it is handled, THEN the message fails (and will reach the DLQ), the asset is not
    # blamed for it, and the lease is given back
    assert failures(harness.handle(event, monkeypatch)) == [event["Records"][0]["messageId"]]
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.PROCESSING
    assert record.lease_token is None
    assert metric_counts(capsys.readouterr().out)["failed"] == 1


def test_batch_of_five_with_one_poison_message_reports_exactly_that_one(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploads = [harness.upload(PNG), harness.upload(PNG), harness.upload(b"x", ImageType.JPEG)]
    uploads.append(harness.upload(corpus.encode(corpus.pattern(), "JPEG"), ImageType.JPEG))
    values: dict[str, str] = {"bucket": BUCKET}
    for number, upload in zip((1, 2, 4, 5), uploads, strict=True):
        values |= {
            f"key_{number}": upload.key,
            f"version_id_{number}": upload.version_id,
            f"etag_{number}": upload.etag,
        }

    response = harness.handle(
        load_event("sqs_batch_of_five_one_poison.json", **values), monkeypatch
    )

    assert failures(response) == ["00000000-0000-4000-8000-000000000003"]
    statuses = []
    for upload in uploads:
        record = harness.record(upload.asset_id)
        statuses.append(record.status if record else None)
    assert statuses == [
        AssetStatus.READY,
        AssetStatus.READY,
        AssetStatus.REJECTED,
        AssetStatus.READY,
    ]
