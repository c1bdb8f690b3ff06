"""The API as a hostile caller reaches it: Lambda events through the real adapter, and real HTTP
through uvicorn on 127.0.0.1 (as the local stack serves it), over moto's DynamoDB and S3."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from fastapi import FastAPI
from moto import mock_aws

from api.lambda_adapter import LambdaAdapter
from api.logs import logger as api_logger
from assets.albums import AlbumRepository
from assets.aws import AwsClients
from assets.model import ImageType, new_album, new_upload
from assets.repository import AssetRepository
from testbed.aws import create_asset_bucket, create_assets_table
from testbed.servers import serving
from testbed.tokens import TokenForge
from tests.unit.api.conftest import REGION, JwksServer, Pool, Resources, build_app, make_settings

POOL = Pool("us-east-1_Hostile1", "hostile-web-client", "hostile-other-client")
PAGE_ORIGIN = "http://127.0.0.1:8700"
UNKNOWN_ID = "307d0b55-05d1-4c0f-a0fb-4c3e1083e3df"


@dataclass(frozen=True)
class Api:
    """One app, the ways to reach it, a valid token and an asset its owner may read."""

    app: FastAPI
    handler: LambdaAdapter
    resources: Resources
    token: str
    asset_id: str
    album_id: str
    port: int
    clients: AwsClients

    def routes(self) -> list[tuple[str, str]]:
        """Every route the app serves, with a path that reaches it."""
        return [
            ("GET", "/health"),
            ("GET", "/openapi.json"),
            ("GET", "/docs"),
            ("GET", "/docs/swagger-init.js"),
            ("GET", "/docs/swagger-ui-bundle.js"),
            ("GET", "/docs/swagger-ui.css"),
            ("GET", "/docs/favicon.png"),
            ("GET", "/assets"),
            ("POST", "/assets"),
            ("GET", f"/assets/{self.asset_id}"),
            ("PATCH", f"/assets/{UNKNOWN_ID}"),
            ("DELETE", f"/assets/{UNKNOWN_ID}"),
            ("GET", "/albums"),
            ("POST", "/albums"),
            ("GET", f"/albums/{self.album_id}"),
            ("PATCH", f"/albums/{UNKNOWN_ID}"),
            ("DELETE", f"/albums/{UNKNOWN_ID}"),
        ]

    def stored(self) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
        """Every record and every object version: what a request may have written."""
        items = self.clients.dynamodb.scan(TableName=self.resources.table)["Items"]
        versions = self.clients.s3.list_object_versions(Bucket=self.resources.bucket)
        objects = [(entry["Key"], entry["VersionId"]) for entry in versions.get("Versions", [])]
        objects += [
            (entry["Key"], entry["VersionId"]) for entry in versions.get("DeleteMarkers", [])
        ]
        return sorted(items, key=lambda item: item["assetId"]["S"]), sorted(objects)


@pytest.fixture(scope="package")
def _moto() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture(scope="package")
def api(_moto: None) -> Iterator[Api]:
    suffix = uuid.uuid4().hex[:12]
    resources = Resources(table=f"hostile-{suffix}", bucket=f"hostile-{suffix}")
    create_assets_table(boto3.client("dynamodb", region_name=REGION), resources.table)
    create_asset_bucket(boto3.client("s3", region_name=REGION), resources.bucket)
    # Many POSTs succeed here; the pending-upload limit is tested elsewhere.
    settings = make_settings(
        POOL, resources, CORS_ALLOW_ORIGINS=PAGE_ORIGIN, MAX_PENDING_UPLOADS=1000
    )
    clients = AwsClients(REGION)
    app = build_app(settings, JwksServer(), clients)
    forge = TokenForge(REGION, POOL.pool_id, POOL.client_id)
    claims = forge.claims()
    asset = new_upload(str(uuid.uuid4()), claims["sub"], ImageType.PNG, datetime.now(UTC), 300)
    AssetRepository(clients.dynamodb, resources.table).create(asset)
    album = new_album(str(uuid.uuid4()), claims["sub"], "An album", datetime.now(UTC))
    AlbumRepository(clients.dynamodb, resources.table).create(album, limit=1000)
    with serving(app) as base_url:
        yield Api(
            app=app,
            handler=LambdaAdapter(app, lifespan="off"),
            resources=resources,
            token=forge.sign(claims),
            asset_id=asset.asset_id,
            album_id=album.album_id,
            port=int(base_url.rsplit(":", 1)[1]),
            clients=clients,
        )


@pytest.fixture
def api_logs(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Everything the API logs during the test (its JSON lines, from any thread)."""
    stream = io.StringIO()
    monkeypatch.setattr(api_logger.registered_handler, "stream", stream)
    return stream
