"""Fixtures for the worker: moto with a table and a versioned bucket shaped as the template declares."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from moto import mock_aws

from assets.aws import AwsClients
from assets.settings import WorkerSettings, load_settings
from testbed.aws import create_asset_bucket, create_assets_table
from tests.unit.worker.harness import BUCKET, TABLE, Harness


@pytest.fixture
def worker_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's environment as the template sets it."""
    monkeypatch.setenv("ASSETS_TABLE_NAME", TABLE)
    monkeypatch.setenv("ASSET_BUCKET_NAME", BUCKET)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "asset-worker")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "PrivateAssetUploads")
    for name in ("MAX_UPLOAD_BYTES", "MAX_IMAGE_PIXELS", "PUBLISH_MODE", "LEASE_SECONDS"):
        monkeypatch.delenv(name, raising=False)


def _aws_clients() -> AwsClients:
    """Clients bound to AWS's own endpoints, which moto intercepts whenever a mock is active."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL")]:
            patch.delenv(name)
        clients = AwsClients("us-east-1")
        # Built now, while no endpoint is configured.
        built = {
            clients.s3.meta.service_model.service_name,
            clients.dynamodb.meta.service_model.service_name,
        }
        assert built == {"s3", "dynamodb"}
    return clients


@pytest.fixture(scope="session")
def shared_clients() -> AwsClients:
    """Built once: loading botocore's models per test would cost more than the tests."""
    return _aws_clients()


@pytest.fixture(scope="session")
def other_clients() -> AwsClients:
    """The clients of a second worker process."""
    return _aws_clients()


@pytest.fixture
def aws(worker_env: None, shared_clients: AwsClients) -> Iterator[AwsClients]:
    with mock_aws():
        create_assets_table(shared_clients.dynamodb, TABLE)
        create_asset_bucket(shared_clients.s3, BUCKET)
        yield shared_clients


@pytest.fixture
def harness(aws: AwsClients) -> Iterator[Harness]:
    harness = Harness(aws, load_settings(WorkerSettings))
    yield harness
    harness.close()
