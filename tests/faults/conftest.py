"""The local stack's AWS side, in this process: moto behind the stack's gateway on 127.0.0.1,
provisioned from the real template.yaml, with uploads made the way the API and the browser make
them (the API's service signs the form, httpx posts it, S3 notifies the queue)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.service import AssetService
from assets.model import Asset, ImageType
from assets.settings import ApiSettings, WorkerSettings
from local_stack.aws import MotoClients
from local_stack.blueprint import Blueprint, derive_blueprint
from local_stack.environment import (
    Timings,
    base_environment,
    function_environment,
    local_timings,
    worker_overrides,
)
from local_stack.provision import Provisioned, provision
from local_stack.state import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY
from local_stack.template import TEMPLATE_PATH, load_template
from testbed.moto_server import MotoServer

REGION = "us-east-1"
OWNER = "8f1c6c1e-0000-4000-8000-00000000f4a7"
PROJECT = TEMPLATE_PATH.parent


@dataclass
class Deployment:
    """One provisioned copy of the template's resources in moto, and what talks to it."""

    endpoint: str
    clients: MotoClients
    blueprint: Blueprint
    provisioned: Provisioned
    timings: Timings

    def worker_settings(self, **overrides: Any) -> WorkerSettings:
        """The worker's settings, as the local stack's environment gives them."""
        values: dict[str, Any] = {
            "AWS_REGION": REGION,
            "ASSETS_TABLE_NAME": self.provisioned.table_name,
            "ASSET_BUCKET_NAME": self.provisioned.bucket_name,
            "LEASE_SECONDS": self.timings.lease_seconds,
        }
        return WorkerSettings(**{**values, **overrides})

    def worker_environment(self) -> dict[str, str]:
        """What the local stack gives its worker process, plus this checkout on the path."""
        environment = base_environment(os.environ, region=REGION, endpoint_url=self.endpoint)
        variables, _ = function_environment(
            self.blueprint.worker,
            self.blueprint,
            region=REGION,
            overrides=worker_overrides(self.provisioned, self.timings),
        )
        environment.update(variables)
        environment["PYTHONPATH"] = os.pathsep.join([str(PROJECT), environment["PYTHONPATH"]])
        return environment

    def upload(self, data: bytes, image_type: ImageType, http: httpx.Client) -> Asset:
        """`POST /assets` (the API's own service), then the browser's form POST to the bucket."""
        settings = ApiSettings(
            AWS_REGION=REGION,
            ASSETS_TABLE_NAME=self.provisioned.table_name,
            ASSET_BUCKET_NAME=self.provisioned.bucket_name,
            ASSET_BASE_URL="http://127.0.0.1/assets",
            COGNITO_USER_POOL_ID=self.provisioned.user_pool_id,
            COGNITO_CLIENT_ID=(self.provisioned.user_pool_client_id,),
            MAX_PENDING_UPLOADS=1000,
        )
        started = AssetService(settings, self.clients).start_upload(OWNER, image_type)
        form = started.form
        sent = http.post(
            form.url, data=form.fields, files={"file": ("upload", data, image_type.value)}
        )
        assert sent.status_code == 204, sent.text
        return started.asset

    def queue_depth(self, url: str) -> int:
        """Messages waiting or in flight."""
        attributes = self.clients.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def published_versions(self, asset: Asset) -> list[dict[str, Any]]:
        listing = self.clients.s3.list_object_versions(
            Bucket=self.provisioned.bucket_name, Prefix=asset.processed_key
        )
        return [dict(version) for version in listing.get("Versions", [])]


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = MotoServer(
        "127.0.0.1", 0, secrets={LOCAL_ACCESS_KEY_ID: LOCAL_SECRET_ACCESS_KEY}, quiet=True
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def blueprint() -> Blueprint:
    return derive_blueprint(load_template(TEMPLATE_PATH))


def deploy(moto: MotoServer, blueprint: Blueprint, visibility_timeout: int) -> Deployment:
    """An empty moto, provisioned as the local stack does with this visibility timeout."""
    httpx.post(f"{moto.url}/moto-api/reset", timeout=10).raise_for_status()
    clients = MotoClients(moto.url, REGION)
    timings = local_timings(blueprint, REGION, visibility_timeout)
    provisioned = provision(clients, blueprint, visibility_timeout=timings.visibility_timeout)
    return Deployment(moto.url, clients, blueprint, provisioned, timings)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture
def output() -> io.StringIO:
    """What the processes a test starts print, for the assertion messages."""
    return io.StringIO()
