"""A worker wired to moto, and the helpers its tests share: uploads, events, call counts, output."""

from __future__ import annotations

import io
import json
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from PIL import Image

import worker.main
from assets.aws import AwsClients
from assets.model import Asset, ImageType, new_upload, source_key
from assets.repository import AssetRepository
from assets.settings import WorkerSettings
from assets.storage import AssetBucket
from worker.runtime import Worker

BUCKET = "test-asset-bucket"
TABLE = "test-assets"
OWNER = "owner-sub-1"
EVENTS = Path(__file__).resolve().parents[2] / "events"


def load_event(name: str, **values: str) -> dict[str, Any]:
    """A Lambda-shaped event from tests/events, with `__NAME__` placeholders filled in."""
    text = (EVENTS / name).read_text()
    for placeholder, value in values.items():
        text = text.replace(f"__{placeholder.upper()}__", value)
    event: dict[str, Any] = json.loads(text)
    return event


class FakeClock:
    """The worker's clock, moved by the test; it starts at the real time, as records expire by it."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass(frozen=True)
class StoredUpload:
    """An object the browser uploaded with its form, and the record the API created for it."""

    asset_id: str
    key: str
    image_type: ImageType
    version_id: str
    etag: str

    @property
    def processed_key(self) -> str:
        return f"processed/assets/{self.asset_id}.{self.image_type.extension}"


@dataclass
class CallCounter:
    """Successful calls per operation on one client, seen from botocore's after-call hook."""

    counts: dict[str, int] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    """URLs of successful writes of an asset's image under `processed/`: each one a publish."""
    variants: list[str] = field(default_factory=list)
    """URLs of successful writes of variants (`processed/assets/<id>/<name>.webp`)."""

    def __call__(self, http_response: Any, model: Any, **_: Any) -> None:
        if http_response.status_code < 300:
            self.counts[model.name] = self.counts.get(model.name, 0) + 1
            if model.name in ("PutObject", "CopyObject") and "/processed/" in http_response.url:
                path = http_response.url.split("/processed/assets/", 1)[-1].split("?", 1)[0]
                (self.variants if "/" in path else self.published).append(http_response.url)

    def __getitem__(self, operation: str) -> int:
        return self.counts.get(operation, 0)

    @property
    def publishes(self) -> int:
        return len(self.published)


Hook = Callable[..., Any]


@dataclass
class Harness:
    """One moto account with the asset table and bucket, and a worker wired to them."""

    clients: AwsClients
    settings: WorkerSettings
    clock: FakeClock = field(default_factory=FakeClock)
    sleeps: list[float] = field(default_factory=list)
    hooks: list[tuple[Any, str, Hook]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.repository = AssetRepository(self.clients.dynamodb, TABLE)
        self.worker = self.new_worker()
        self.calls = self.count_calls(self.clients)

    def new_worker(self, clients: AwsClients | None = None, **settings: Any) -> Worker:
        """A worker process of its own (own clients if given), sharing this clock."""
        clients = clients or self.clients
        return Worker(
            settings=self.settings.model_copy(update=settings),
            repository=AssetRepository(clients.dynamodb, TABLE),
            bucket=AssetBucket(clients.s3, BUCKET),
            clock=self.clock,
            sleep=self.sleeps.append,
        )

    def configure(self, **settings: Any) -> None:
        self.worker = self.new_worker(**settings)

    def hook(self, client: Any, event_name: str, handler: Hook) -> None:
        """A botocore event handler on a client, removed when the test ends."""
        client.meta.events.register(event_name, handler)
        self.hooks.append((client, event_name, handler))

    def close(self) -> None:
        for client, event_name, handler in self.hooks:
            client.meta.events.unregister(event_name, handler)
        self.hooks.clear()

    def count_calls(self, clients: AwsClients) -> CallCounter:
        counter = CallCounter()
        self.hook(clients.s3, "after-call.s3.*", counter)
        self.hook(clients.dynamodb, "after-call.dynamodb.*", counter)
        return counter

    def fail(
        self,
        client: Any,
        operation: str,
        *,
        times: int = 1,
        when: Callable[[dict[str, Any]], bool] = lambda params: True,
        error: Callable[[], BaseException] = lambda: EndpointConnectionError(
            endpoint_url="https://aws.invalid"
        ),
    ) -> list[str]:
        """Fail the next `times` calls of `operation` that match `when`, before they are sent."""
        injected: list[str] = []
        service = client.meta.service_model.service_id.hyphenize()

        def inject(params: dict[str, Any], **_: Any) -> None:
            if len(injected) < times and when(params):
                injected.append(operation)
                raise error()

        self.hook(client, f"before-parameter-build.{service}.{operation}", inject)
        return injected

    def create_record(
        self, image_type: ImageType = ImageType.PNG, asset_id: str | None = None
    ) -> Asset:
        """What the API does on POST /assets: a fresh `uploading` record."""
        asset = new_upload(asset_id or str(uuid.uuid4()), OWNER, image_type, self.clock(), 300)
        self.repository.create(asset)
        return asset

    def put_object(self, key: str, data: bytes) -> tuple[str, str]:
        response = self.clients.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        return response["VersionId"], response["ETag"].strip('"')

    def upload(
        self, data: bytes, image_type: ImageType = ImageType.PNG, *, record: bool = True
    ) -> StoredUpload:
        """A record (unless `record=False`) and the bytes the browser posted for it."""
        asset_id = self.create_record(image_type).asset_id if record else str(uuid.uuid4())
        key = source_key(asset_id, image_type)
        version_id, etag = self.put_object(key, data)
        return StoredUpload(asset_id, key, image_type, version_id, etag)

    def event(self, upload: StoredUpload, *, encode_key: bool = True) -> dict[str, Any]:
        """The SQS event Lambda delivers for the S3 notification of `upload`."""
        return load_event(
            "sqs_s3_object_created.json",
            bucket=BUCKET,
            key=quote_plus(upload.key, safe="/") if encode_key else upload.key,
            version_id=upload.version_id,
            etag=upload.etag,
        )

    def handle(self, event: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
        """`worker.main.handler`, run with this harness's worker."""
        monkeypatch.setattr(worker.main, "current_worker", lambda: self.worker)
        # The log handler keeps the stdout of import time; give it this test's, as Lambda's is.
        monkeypatch.setattr(worker.main.logger.registered_handler, "stream", sys.stdout)
        return dict(worker.main.handler(event, LambdaContextStub()))

    def record(self, asset_id: str) -> Asset | None:
        return self.repository.get(asset_id)

    def objects(self, prefix: str = "") -> dict[str, bytes]:
        """The current version of every object under `prefix`."""
        listing = self.clients.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return {
            item["Key"]: self.clients.s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
            for item in listing.get("Contents", [])
        }

    def published(self, upload: StoredUpload) -> bytes:
        body: bytes = self.clients.s3.get_object(Bucket=BUCKET, Key=upload.processed_key)[
            "Body"
        ].read()
        return body

    def head(self, key: str) -> dict[str, Any]:
        return dict(self.clients.s3.head_object(Bucket=BUCKET, Key=key))


class LambdaContextStub:
    """The few context attributes a handler may read; the local poller passes one like it."""

    function_name = "asset-worker"
    memory_limit_in_mb = "1024"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:asset-worker"
    aws_request_id = "6f3b1a2e-0000-4000-8000-000000000000"


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def failures(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def emitted(captured: str) -> list[dict[str, Any]]:
    """The JSON lines (logs and EMF metrics) the handler printed."""
    lines = []
    for line in captured.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def metric_counts(captured: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    for line in emitted(captured):
        if "_aws" not in line:
            continue
        for definition in line["_aws"]["CloudWatchMetrics"]:
            assert definition["Namespace"] == "PrivateAssetUploads"
            for metric in definition["Metrics"]:
                value = line[metric["Name"]]
                counts[metric["Name"]] = counts.get(metric["Name"], 0) + (
                    sum(value) if isinstance(value, list) else value
                )
    return counts


def missing(harness: Harness, key: str) -> bool:
    try:
        harness.head(key)
    except ClientError as error:
        return error.response["Error"]["Code"] in ("404", "NoSuchKey")
    return False
