"""At-least-once delivery end to end: uploads through signed forms, S3's notifications through the
template's queue, the local event source (`local_stack.poller`) invoking `worker.main.handler`.

Every batch delivered three times still publishes each valid asset once and decides each asset
once; a poison message goes to the dead-letter queue after `maxReceiveCount` receives while the
messages around it succeed on their first.
"""

from __future__ import annotations

import copy
import io
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from PIL import Image

import worker.main
from assets.model import Asset, AssetStatus, ImageType
from assets.repository import AssetRepository
from local_stack.blueprint import Blueprint
from local_stack.poller import EventSourceConfig, FunctionConfig, SqsPoller
from testbed.moto_server import MotoServer
from tests.faults.conftest import REGION, Deployment, deploy
from tests.unit.worker.harness import metric_counts
from worker.runtime import build_worker

DEADLINE = 45.0


def image(fmt: str, size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


PNG = image("PNG", (40, 30), (10, 120, 200))
JPEG = image("JPEG", (64, 48), (200, 90, 20))
UPLOADS: list[tuple[str, bytes, ImageType, AssetStatus]] = [
    ("png", PNG, ImageType.PNG, AssetStatus.READY),
    ("jpeg", JPEG, ImageType.JPEG, AssetStatus.READY),
    ("another png", image("PNG", (8, 8), (0, 0, 0)), ImageType.PNG, AssetStatus.READY),
    ("fake jpeg", b"\xff\xd8\xff\xe0" + b"not a JPEG" * 30, ImageType.JPEG, AssetStatus.REJECTED),
    ("truncated png", PNG[: len(PNG) // 2], ImageType.PNG, AssetStatus.REJECTED),
    ("text as png", b"hello, I am a text file\n" * 10, ImageType.PNG, AssetStatus.REJECTED),
    ("png as jpeg", PNG, ImageType.JPEG, AssetStatus.REJECTED),
]


class EventSource:
    """The template's SQS event source, with the worker handler behind it."""

    def __init__(self, deployment: Deployment, times: int = 1) -> None:
        self.times = times
        self.receives: dict[str, list[int]] = {}
        """ApproximateReceiveCount of every delivery, by message id."""
        event = deployment.blueprint.worker_event
        provisioned = deployment.provisioned
        source = EventSourceConfig(
            queue_url=provisioned.queue_url,
            queue_arn=provisioned.queue_arn,
            batch_size=event.batch_size,
            report_batch_item_failures=event.report_batch_item_failures,
        )
        function = FunctionConfig(
            "local-WorkerFunction",
            deployment.timings.worker_timeout,
            deployment.blueprint.worker.memory_size,
            REGION,
            "123456789012",
        )
        self.poller = SqsPoller(deployment.clients.sqs, self._invoke, source, function)

    def _invoke(self, event: dict[str, Any], context: Any) -> Any:
        """Lambda's invocation, `times` times over: the same batch, as at-least-once allows."""
        for record in event["Records"]:
            receives = self.receives.setdefault(record["messageId"], [])
            receives.append(int(record["attributes"]["ApproximateReceiveCount"]))
        responses = [worker.main.handler(copy.deepcopy(event), context) for _ in range(self.times)]
        return responses[-1]

    def run_until(self, done: Any, what: str) -> None:
        deadline = time.monotonic() + DEADLINE
        while not done():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            self.poller.poll_once()


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Point `worker.main.handler` at a deployment, as its environment would in the stack."""
    # The handler's logger keeps the stdout of import time; give it this test's.
    monkeypatch.setattr(worker.main.logger.registered_handler, "stream", sys.stdout)

    def serve(deployment: Deployment, **settings: Any) -> None:
        built = build_worker(deployment.worker_settings(**settings), deployment.clients)
        monkeypatch.setattr(worker.main, "current_worker", lambda: built)

    return serve


def _records(deployment: Deployment, assets: list[Asset]) -> dict[str, Any]:
    repository = AssetRepository(deployment.clients.dynamodb, deployment.provisioned.table_name)
    return {asset.asset_id: repository.get(asset.asset_id) for asset in assets}


def test_every_batch_delivered_three_times_publishes_once_and_decides_once(
    moto: MotoServer,
    blueprint: Blueprint,
    http: httpx.Client,
    serve: Callable[..., None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    deployment = deploy(moto, blueprint, 30)
    serve(deployment)
    source = EventSource(deployment, times=3)
    provisioned = deployment.provisioned

    # GIVEN uploads of every kind, posted through their signed forms
    assets = [deployment.upload(data, kind, http) for _, data, kind, _ in UPLOADS]
    expected = {asset.asset_id: final for asset, (*_, final) in zip(assets, UPLOADS, strict=True)}

    # WHEN the event source hands every batch to the worker three times
    source.run_until(lambda: deployment.queue_depth(provisioned.queue_url) == 0, "the queue")

    # THEN every asset reached the one final state its bytes call for
    records = _records(deployment, assets)
    assert {asset_id: record.status for asset_id, record in records.items()} == expected
    # ... each valid one published exactly once, each rejected one never, its original deleted
    for asset in assets:
        versions = deployment.published_versions(asset)
        if expected[asset.asset_id] is AssetStatus.READY:
            assert len(versions) == 1, asset.asset_id
            assert records[asset.asset_id].bytes == versions[0]["Size"]
        else:
            assert versions == [], asset.asset_id
    # ... each asset was decided once: the other two deliveries found it final and did nothing
    counts = metric_counts(capsys.readouterr().out)
    ready = sum(1 for final in expected.values() if final is AssetStatus.READY)
    assert counts["accepted"] == ready
    assert counts["rejected"] == len(assets) - ready
    assert counts["duplicate"] == 2 * len(assets)
    assert sum(len(receives) for receives in source.receives.values()) >= len(assets)
    assert _records(deployment, assets) == records
    assert deployment.queue_depth(provisioned.dead_letter_queue_url) == 0


def test_a_poison_message_reaches_the_dead_letter_queue_while_the_others_succeed(
    moto: MotoServer,
    blueprint: Blueprint,
    http: httpx.Client,
    serve: Callable[..., None],
) -> None:
    # A queue that turns failures around in two seconds, so maxReceiveCount receives take ten,
    # yet a batch never outlasts it; the lease keeps the settings' floor: only the poison fails
    # here, so no lease ever blocks a retry.
    deployment = deploy(moto, blueprint, 2)
    serve(deployment, LEASE_SECONDS=5)
    source = EventSource(deployment)
    provisioned = deployment.provisioned
    max_receives = blueprint.queue.max_receive_count
    sqs = deployment.clients.sqs

    # GIVEN valid uploads, and among their notifications a message that is no S3 event at all
    assets = [deployment.upload(data, kind, http) for _, data, kind, _ in UPLOADS[:2]]
    poison = json.dumps({"Records": [{"eventName": "ObjectCreated:Post", "s3": "poison"}]})
    poison_id = sqs.send_message(QueueUrl=provisioned.queue_url, MessageBody=poison)["MessageId"]
    assets += [deployment.upload(data, kind, http) for _, data, kind, _ in UPLOADS[2:3]]

    # WHEN the event source runs until the queue is empty
    source.run_until(lambda: deployment.queue_depth(provisioned.queue_url) == 0, "the queue")

    # THEN the poison was received maxReceiveCount times, then moved to the dead-letter queue
    assert source.receives[poison_id] == list(range(1, max_receives + 1))
    dead = sqs.receive_message(
        QueueUrl=provisioned.dead_letter_queue_url,
        MaxNumberOfMessages=10,
        MessageSystemAttributeNames=["All"],
    ).get("Messages", [])
    assert [(m["MessageId"], m["Body"]) for m in dead] == [(poison_id, poison)]
    # ... while every other message succeeded on its first delivery
    others = {i: r for i, r in source.receives.items() if i != poison_id}
    assert Counter(len(receives) for receives in others.values()) == {1: len(others)}
    records = _records(deployment, assets)
    assert all(record.status is AssetStatus.READY for record in records.values()), records
