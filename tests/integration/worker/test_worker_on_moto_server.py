"""The worker handler over HTTP against moto server: real S3 notifications through a real queue."""

from __future__ import annotations

import hashlib
import io
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

import worker.main
from assets.aws import AwsClients
from assets.model import AssetStatus, ImageType, new_upload
from assets.repository import AssetRepository
from testbed.aws import create_asset_bucket, create_assets_table
from tests.unit.worker.harness import LambdaContextStub

TABLE = "it-assets"
BUCKET = "it-asset-bucket"
QUEUE = "it-assets-queue"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def stack(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Table, versioned bucket and queue, with the bucket notifying the queue of uploads."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("ASSETS_TABLE_NAME", TABLE)
    monkeypatch.setenv("ASSET_BUCKET_NAME", BUCKET)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "asset-worker")
    httpx.post(f"{endpoint}/moto-api/reset")
    clients = AwsClients("us-east-1")
    create_assets_table(clients.dynamodb, TABLE)
    create_asset_bucket(clients.s3, BUCKET)
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    clients.s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/originals/"}]}
                    },
                }
            ]
        },
    )
    worker.main.current_worker.cache_clear()
    yield {"clients": clients, "sqs": sqs, "queue_url": queue_url, "queue_arn": queue_arn}
    worker.main.current_worker.cache_clear()


def upload_with_form(stack: dict[str, Any], data: bytes, image_type: ImageType) -> str:
    """What the API and the browser do: a record, a signed POST form, the POST."""
    clients: AwsClients = stack["clients"]
    asset = new_upload(str(uuid.uuid4()), "owner-1", image_type, datetime.now(UTC), 300)
    AssetRepository(clients.dynamodb, TABLE).create(asset)
    form = clients.s3.generate_presigned_post(
        Bucket=BUCKET,
        Key=asset.source_key,
        Fields={"Content-Type": image_type.value},
        Conditions=[{"Content-Type": image_type.value}, ["content-length-range", 1, 10 << 20]],
        ExpiresIn=300,
    )
    response = httpx.post(
        form["url"], data=form["fields"], files={"file": ("upload", data, image_type.value)}
    )
    assert response.status_code in (200, 204), response.text
    return asset.asset_id


def deliver(stack: dict[str, Any]) -> dict[str, Any]:
    """Receive what the queue holds and hand it to the handler as Lambda's SQS source does."""
    sqs = stack["sqs"]
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        received = sqs.receive_message(
            QueueUrl=stack["queue_url"], MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not received and messages:
            break
        messages += received
        time.sleep(0.05)
    event = {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": stack["queue_arn"],
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
    }
    response = dict(worker.main.handler(event, LambdaContextStub()))
    response["bodies"] = [json.loads(message["Body"]) for message in messages]
    return response


def test_posted_upload_is_validated_and_published(stack: dict[str, Any]) -> None:
    # GIVEN a PNG posted with a signed form, and S3's notification waiting in the queue
    image = Image.linear_gradient("L").resize((40, 30)).convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG")
    asset_id = upload_with_form(stack, out.getvalue(), ImageType.PNG)

    # WHEN the handler is given what the queue delivered
    response = deliver(stack)

    # THEN the notification S3 sent was understood, and the asset is ready and published
    assert response["batchItemFailures"] == []
    assert any("Records" in body for body in response["bodies"])
    clients: AwsClients = stack["clients"]
    record = AssetRepository(clients.dynamodb, TABLE).get(asset_id)
    assert record is not None
    assert record.status is AssetStatus.READY
    published = clients.s3.get_object(Bucket=BUCKET, Key=f"processed/assets/{asset_id}.png")
    body = published["Body"].read()
    assert published["ContentType"] == "image/png"
    assert record.sha256 == hashlib.sha256(body).hexdigest()


def test_posted_impostor_is_rejected_and_its_original_removed(stack: dict[str, Any]) -> None:
    asset_id = upload_with_form(stack, b"<html><script>alert(1)</script></html>", ImageType.JPEG)

    response = deliver(stack)

    assert response["batchItemFailures"] == []
    clients: AwsClients = stack["clients"]
    record = AssetRepository(clients.dynamodb, TABLE).get(asset_id)
    assert record is not None
    assert record.status is AssetStatus.REJECTED
    assert record.error_code == "not_an_image"
    listing = clients.s3.list_objects_v2(Bucket=BUCKET)
    assert [item["Key"] for item in listing.get("Contents", [])] == []
