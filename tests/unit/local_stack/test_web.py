"""The local CDN and page: `/assets/*` from `processed/assets/` only, the page and its config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws
from starlette.testclient import TestClient

from assets.model import ImageType, processed_key, source_key
from local_stack.web import create_web_app

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = "local-asset-bucket"
ASSET_ID = "6f1c2b9e-4c3d-4b8a-9f1e-2d3c4b5a6f70"
PNG = b"\x89PNG\r\n\x1a\nprocessed"
CONFIG = {"apiBaseUrl": "http://127.0.0.1:8701", "userPoolId": "us-east-1_abc"}


@pytest.fixture
def s3() -> Iterator[S3Client]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_object(
            Bucket=BUCKET,
            Key=processed_key(ASSET_ID, ImageType.PNG),
            Body=PNG,
            ContentType="image/png",
            CacheControl="public, max-age=31536000, immutable",
        )
        client.put_object(
            Bucket=BUCKET,
            Key=source_key(ASSET_ID, ImageType.PNG),
            Body=b"original",
            ContentType="image/png",
        )
        yield client


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<h1>assets</h1>")
    (tmp_path / "secret.txt").write_text("outside the site")
    return tmp_path / "site"


@pytest.fixture
def web(s3: S3Client, site: Path) -> TestClient:
    app = create_web_app(s3=s3, bucket=BUCKET, site_dir=site, config=CONFIG)
    return TestClient(app, base_url="http://127.0.0.1:8700")


def test_a_processed_asset_is_served_with_its_stored_type(web: TestClient) -> None:
    response = web.get(f"/assets/{ASSET_ID}.png")
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_head_and_a_conditional_get(web: TestClient) -> None:
    head = web.head(f"/assets/{ASSET_ID}.png")
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(PNG))
    again = web.get(f"/assets/{ASSET_ID}.png", headers={"if-none-match": head.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.parametrize(
    "path",
    [
        f"/uploads/originals/{ASSET_ID}.png",
        f"/assets/../uploads/originals/{ASSET_ID}.png",
        f"/assets/..%2Fuploads%2Foriginals%2F{ASSET_ID}.png",
        f"/assets/%2E%2E/uploads/originals/{ASSET_ID}.png",
        f"/assets/{ASSET_ID}.jpg",
        "/assets/",
    ],
)
def test_nothing_outside_processed_assets_is_reachable(web: TestClient, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 404
    assert b"original" not in response.content


def test_the_page_and_its_generated_config(web: TestClient) -> None:
    assert web.get("/").text == "<h1>assets</h1>"
    script = web.get("/config.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["cache-control"] == "no-store"
    assert script.text.startswith("window.__APP_CONFIG__ = Object.freeze({")
    assert '"apiBaseUrl": "http://127.0.0.1:8701"' in script.text


def test_files_beside_the_site_are_not_served(web: TestClient) -> None:
    assert web.get("/../secret.txt").status_code == 404
    assert web.get("/%2E%2E/secret.txt").status_code == 404


def test_a_host_name_a_rebinding_page_would_send_is_refused(s3: S3Client, site: Path) -> None:
    app = create_web_app(s3=s3, bucket=BUCKET, site_dir=site, config=CONFIG)
    client = TestClient(app, base_url="http://rebind.example.com:8700")
    assert client.get(f"/assets/{ASSET_ID}.png").status_code == 403


def test_without_a_site_only_the_cdn_answers(s3: S3Client) -> None:
    client = TestClient(
        create_web_app(s3=s3, bucket=BUCKET, site_dir=None, config=CONFIG),
        base_url="http://localhost",
    )
    assert client.get("/").status_code == 404
    assert client.get(f"/assets/{ASSET_ID}.png").status_code == 200
