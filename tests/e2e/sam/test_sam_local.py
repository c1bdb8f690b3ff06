"""The product in Lambda containers under `sam local`, driven as a tester drives it.

The API answers through `sam local start-api` on port 3000 (API Gateway's event format, the real
`api.main.handler`, the built bundle in a container); the local stack provides moto, the worker
poller and the CDN. The worker runs in its own container through `sam local invoke` with an SQS
event for a real upload, while the stack's poller is paused so that only the container sees it.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy import lambda_deps
from PIL import Image

from local_stack.aws import MotoClients
from local_stack.client import LocalStackClient
from local_stack.poller import EventSourceConfig, lambda_record
from testbed.stack import RunningStack, add_user

from .conftest import (
    CONTAINER_HOST,
    SamApi,
    SamBuild,
    host_architecture,
    invoke_worker,
)

pytestmark = pytest.mark.sam

PASSWORD = "Sam-Local-Passw0rd!"


class HostsFile(httpx.BaseTransport):
    """Resolves host.docker.internal to 127.0.0.1, as the docs tell testers to do on the host.

    The API signs upload forms for the endpoint it was given, the one containers use, so the
    form's URL names host.docker.internal; the request still carries that name as its Host.
    """

    def __init__(self) -> None:
        self._transport = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == CONTAINER_HOST:
            request.url = request.url.copy_with(host="127.0.0.1")
        return self._transport.handle_request(request)

    def close(self) -> None:
        self._transport.close()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, transport=HostsFile()) as client:
        yield client


@pytest.fixture(scope="module")
def client(sam_api: SamApi, sam_stack: RunningStack, http: httpx.Client) -> LocalStackClient:
    return LocalStackClient(sam_stack.info, http)


@pytest.fixture(scope="module")
def token(client: LocalStackClient, sam_stack: RunningStack) -> str:
    return client.sign_in(sam_stack.info.demoUser.email, sam_stack.info.demoUser.password)


def image_bytes(kind: str, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(buffer, kind)
    return buffer.getvalue()


def upload(client: LocalStackClient, token: str, data: bytes, content_type: str) -> str:
    form = client.create_upload(token, content_type)
    assert form.url.startswith(f"http://{CONTAINER_HOST}:"), "signed for the containers' endpoint"
    sent = client.send_file(form, data, "picture", content_type)
    assert sent.status_code == 204, sent.text
    return form.asset_id


# --- the build -------------------------------------------------------------------------------


def test_the_bundles_are_built_for_this_machine_with_python313_bytecode(
    sam_build: SamBuild,
) -> None:
    architecture = host_architecture()
    # sam build chose the architecture from the parameter override alone ...
    assert f"architecture: {architecture}" in sam_build.output
    assert f"for {architecture}, as sam build resolved the template" in sam_build.output
    # ... and shipped bytecode, from the host's python3.13 or the local image's
    assert "bytecode compiled by" in sam_build.output
    assert (
        lambda_deps.main(
            [
                "verify",
                str(sam_build.build_dir),
                "--architecture",
                architecture,
                "--require-bytecode",
            ]
        )
        == 0
    )
    # A pyc compiled for the container's path, not the build directory's
    pyc = sam_build.build_dir / "ApiFunction" / "api" / "__pycache__" / "main.cpython-313.pyc"
    assert b"/var/task/api/main.py" in pyc.read_bytes()


# --- the API through sam local start-api -----------------------------------------------------


def test_health_answers_from_the_lambda_container(sam_api: SamApi, http: httpx.Client) -> None:
    before = sam_api.output().count("REPORT RequestId")
    response = http.get(f"{sam_api.url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    # Lambda's own REPORT line for the invocation: the answer came out of the container.
    deadline = time.monotonic() + 10
    while sam_api.output().count("REPORT RequestId") == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sam_api.output().count("REPORT RequestId") > before


def test_an_upload_goes_from_the_form_to_the_local_cdn(
    sam_api: SamApi, client: LocalStackClient, token: str, http: httpx.Client
) -> None:
    # GIVEN a signed-in user's upload through the API's form
    data = image_bytes("PNG", (64, 48))
    asset_id = upload(client, token, data, "image/png")
    # WHEN the worker has validated it
    asset = client.wait_until_final(token, asset_id, timeout=60)
    # THEN it is ready, and the URL the API gives serves the image
    assert asset["status"] == "ready", asset
    assert (asset["width"], asset["height"]) == (64, 48)
    served = http.get(asset["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).size == (64, 48)
    # AND the user's list has it
    listed = http.get(f"{sam_api.url}/assets", headers={"authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    assert asset_id in {item["assetId"] for item in listed.json()["assets"]}


def test_without_a_token_the_api_refuses_with_401(sam_api: SamApi, http: httpx.Client) -> None:
    # sam local runs no API Gateway authorizer: the answer is the API's own
    for method, path in (("GET", "/assets"), ("POST", "/assets")):
        response = http.request(method, f"{sam_api.url}{path}", json={"contentType": "image/png"})
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    forged = http.get(f"{sam_api.url}/assets", headers={"authorization": "Bearer not.a.token"})
    assert forged.status_code == 401
    assert forged.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_another_users_asset_is_404_for_them(
    sam_stack: RunningStack, client: LocalStackClient, token: str, http: httpx.Client
) -> None:
    # GIVEN the demo user's asset and a second user
    asset_id = upload(client, token, image_bytes("PNG", (10, 10)), "image/png")
    added = add_user(sam_stack, "second@example.com", PASSWORD)
    assert added.returncode == 0, added.stderr
    other = client.sign_in("second@example.com", PASSWORD)
    # THEN for the second user it does not exist, to read or to delete
    for method in ("GET", "DELETE"):
        response = http.request(
            method,
            f"{sam_stack.info.apiUrl}/assets/{asset_id}",
            headers={"authorization": f"Bearer {other}"},
        )
        assert response.status_code == 404, (method, response.text)
        assert response.json()["code"] == "not_found"
    # AND its owner still has it
    assert client.get_asset(token, asset_id)["assetId"] == asset_id


# --- the worker through sam local invoke -----------------------------------------------------


@contextlib.contextmanager
def poller_paused(stack: RunningStack, source: EventSourceConfig) -> Iterator[None]:
    """The stack's worker pollers stopped (SIGSTOP), so that only the test receives messages.

    The first poller starts the others in its own process group: stopping the group stops all.
    """
    pid = int(stack.info.extra["processes"]["worker"])
    os.killpg(pid, signal.SIGSTOP)
    try:
        # A receive already in flight ends within its long-poll wait with nothing, since no
        # message is sent before it has.
        time.sleep(source.wait_seconds + 1)
        yield
    finally:
        os.killpg(pid, signal.SIGCONT)


def queue_url(stack: RunningStack) -> str:
    assert stack.info.queueUrl, "the stack's state names its queue"
    return stack.info.queueUrl


def event_source(stack: RunningStack) -> EventSourceConfig:
    """The template's SQS event source (batches of 5, partial failures reported)."""
    sqs = MotoClients(stack.info.awsEndpointUrl, stack.info.region).sqs
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url(stack), AttributeNames=["QueueArn"])
    return EventSourceConfig(queue_url(stack), attributes["Attributes"]["QueueArn"], 5, True)


def receive(stack: RunningStack, count: int) -> list[Any]:
    """`count` messages from the assets queue, as the event source receives them."""
    sqs = MotoClients(stack.info.awsEndpointUrl, stack.info.region).sqs
    messages: list[Any] = []
    deadline = time.monotonic() + 30
    while len(messages) < count and time.monotonic() < deadline:
        messages += sqs.receive_message(
            QueueUrl=queue_url(stack),
            MaxNumberOfMessages=10,
            WaitTimeSeconds=2,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
    assert len(messages) == count, f"expected {count} messages, got {len(messages)}"
    return messages


def test_the_worker_container_validates_real_uploads(
    sam_cli: Path,
    sam_build: SamBuild,
    sam_stack: RunningStack,
    client: LocalStackClient,
    token: str,
    http: httpx.Client,
    tmp_path: Path,
) -> None:
    sqs = MotoClients(sam_stack.info.awsEndpointUrl, sam_stack.info.region).sqs
    source = event_source(sam_stack)
    with poller_paused(sam_stack, source):
        # GIVEN two real uploads the poller does not see: a JPEG, and a "PNG" that is not one
        good = upload(client, token, image_bytes("JPEG", (30, 20)), "image/jpeg")
        bad = upload(client, token, b"\x89PNG\r\n\x1a\n" + b"not really" * 50, "image/png")
        messages = receive(sam_stack, 2)
        assert {client.get_asset(token, asset)["status"] for asset in (good, bad)} == {"uploading"}
        event = {"Records": [lambda_record(m, source, sam_stack.info.region) for m in messages]}
        # WHEN the worker function runs them in its Lambda container
        invocation = invoke_worker(sam_cli, sam_build, sam_stack, event, tmp_path)
        # THEN neither failed (a rejection is a verdict, not a retry) ...
        assert invocation.returncode == 0, invocation.output[-3000:]
        assert invocation.response == {"batchItemFailures": []}, invocation.output[-3000:]
        assert "REPORT RequestId" in invocation.output
        assert not invocation.leftovers, f"sam local invoke left {invocation.leftovers}"
        # ... as Lambda's event source does after a successful batch, the messages go
        for message in messages:
            sqs.delete_message(
                QueueUrl=queue_url(sam_stack), ReceiptHandle=message["ReceiptHandle"]
            )
    # AND the JPEG is published and served, the fake PNG rejected with a reason
    ready = client.get_asset(token, good)
    assert ready["status"] == "ready", ready
    served = http.get(ready["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    rejected = client.get_asset(token, bad)
    assert rejected["status"] == "rejected", rejected
    assert rejected.get("error")
    assert rejected.get("errorCode")
    assert rejected.get("url") is None
