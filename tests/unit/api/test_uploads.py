"""`POST /assets`: a record first, then a signed form that allows exactly one constrained upload."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from assets.aws import AwsClients
from assets.model import is_asset_id
from testbed.aws import asset_records
from tests.unit.api.conftest import (
    REGION,
    JwksServer,
    Pool,
    Resources,
    User,
    build_app,
    make_settings,
)


def _policy(fields: dict[str, str]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
    return document


def _record(resources: Resources, asset_id: str) -> dict[str, Any] | None:
    item = (
        boto3.client("dynamodb", region_name=REGION)
        .get_item(TableName=resources.table, Key={"assetId": {"S": asset_id}})
        .get("Item")
    )
    return item


@pytest.mark.parametrize(
    ("content_type", "extension"), [("image/png", "png"), ("image/jpeg", "jpg")]
)
def test_create_returns_a_record_and_an_exactly_constrained_form(
    client: TestClient, alice: User, aws: Resources, content_type: str, extension: str
) -> None:
    # WHEN alice asks to upload an image
    before = datetime.now(UTC).replace(microsecond=0)
    response = client.post("/assets", json={"contentType": content_type}, headers=alice.auth())
    after = datetime.now(UTC)

    # THEN the asset is recorded as uploading, owned by her
    assert response.status_code == 201, response.text
    body = response.json()
    asset = body["asset"]
    assert is_asset_id(asset["assetId"])
    assert asset["status"] == "uploading"
    assert asset["contentType"] == content_type
    assert set(asset) == {"assetId", "status", "contentType", "createdAt", "updatedAt"}
    assert response.headers["location"] == f"/assets/{asset['assetId']}"
    item = _record(aws, asset["assetId"])
    assert item is not None
    key = f"uploads/originals/{asset['assetId']}.{extension}"
    assert item["ownerId"]["S"] == alice.sub
    assert item["status"]["S"] == "uploading"
    assert item["sourceKey"]["S"] == key
    ttl = int(item["expiresAt"]["N"])
    assert before.timestamp() + 24 * 3600 - 1 <= ttl <= after.timestamp() + 24 * 3600

    # AND the form targets the regional endpoint of exactly this bucket and key
    upload = body["upload"]
    fields = upload["fields"]
    assert upload["url"] == f"https://{aws.bucket}.s3.{REGION}.amazonaws.com/"
    assert fields["key"] == key
    assert fields["Content-Type"] == content_type
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    credentials = boto3.session.Session().get_credentials()
    assert credentials is not None
    frozen = credentials.get_frozen_credentials()
    assert frozen.token  # the tests run with temporary credentials, as Lambda does
    assert fields["x-amz-security-token"] == frozen.token
    date = fields["x-amz-date"]
    assert fields["x-amz-credential"] == f"{frozen.access_key}/{date[:8]}/{REGION}/s3/aws4_request"
    assert upload["maxBytes"] == 10 * 1024 * 1024

    # AND its signed policy says exactly that, for five minutes
    policy = _policy(fields)
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert before + timedelta(seconds=299) <= expiration <= after + timedelta(seconds=300)
    assert datetime.fromisoformat(upload["expiresAt"].replace("Z", "+00:00")) == expiration
    assert sorted(policy["conditions"], key=json.dumps) == sorted(
        [
            {"bucket": aws.bucket},
            {"key": key},
            ["eq", "$Content-Type", content_type],
            ["content-length-range", 1, 10 * 1024 * 1024],
            {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
            {"x-amz-credential": fields["x-amz-credential"]},
            {"x-amz-date": date},
            {"x-amz-security-token": frozen.token},
        ],
        key=json.dumps,
    )


def test_limits_come_from_settings(
    pool: Pool, aws: Resources, jwks_server: JwksServer, clients: AwsClients, alice: User
) -> None:
    settings = make_settings(pool, aws, MAX_UPLOAD_BYTES=1234, UPLOAD_FORM_TTL_SECONDS=60)
    with TestClient(build_app(settings, jwks_server, clients)) as client:
        response = client.post("/assets", json={"contentType": "image/png"}, headers=alice.auth())
    assert response.status_code == 201
    policy = _policy(response.json()["upload"]["fields"])
    assert ["content-length-range", 1, 1234] in policy["conditions"]
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert expiration <= datetime.now(UTC) + timedelta(seconds=60)
    assert expiration > datetime.now(UTC) + timedelta(seconds=50)


@pytest.mark.parametrize(
    "body",
    [
        {"contentType": "image/gif"},
        {"contentType": "image/svg+xml"},
        {"contentType": "text/html"},
        {"contentType": "IMAGE/PNG"},
        {"contentType": None},
        {"contentType": 7},
        {},
        {"contentType": "image/png", "key": "uploads/originals/mine.png"},
        {"contentType": "image/png", "assetId": "307d0b55-05d1-4c0f-a0fb-4c3e1083e3df"},
        {"contentType": "image/png", "filename": "../../etc/passwd"},
        [],
        "image/png",
    ],
)
def test_bad_requests_are_400_and_write_nothing(
    client: TestClient, alice: User, aws: Resources, body: Any
) -> None:
    response = client.post("/assets", json=body, headers=alice.auth())
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request"
    assert response.json()["error"].startswith("invalid request")
    assert boto3.client("dynamodb", region_name=REGION).scan(TableName=aws.table)["Count"] == 0


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b'{"contentType": "image/png"'])
def test_unparseable_bodies_are_400(client: TestClient, alice: User, raw: bytes) -> None:
    headers = {**alice.auth(), "Content-Type": "application/json"}
    response = client.post("/assets", content=raw, headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


def test_oversized_body_is_413(client: TestClient, alice: User, aws: Resources) -> None:
    body = json.dumps({"contentType": "image/png", "pad": "x" * 20000})
    headers = {**alice.auth(), "Content-Type": "application/json"}
    response = client.post("/assets", content=body, headers=headers)
    assert response.status_code == 413
    assert response.json() == {"error": "request body too large", "code": "payload_too_large"}
    assert boto3.client("dynamodb", region_name=REGION).scan(TableName=aws.table)["Count"] == 0


def test_keys_are_never_chosen_by_the_client(client: TestClient, alice: User) -> None:
    keys = set()
    for _ in range(5):
        response = client.post(
            "/assets",
            json={"contentType": "image/png"},
            headers={**alice.auth(), "X-Amz-Meta-Key": "uploads/originals/evil.png"},
            params={"key": "uploads/originals/evil.png"},
        )
        fields = response.json()["upload"]["fields"]
        assert fields["key"].startswith("uploads/originals/")
        assert is_asset_id(fields["key"].removeprefix("uploads/originals/").removesuffix(".png"))
        keys.add(fields["key"])
    assert len(keys) == 5


def test_too_many_open_uploads_is_429(
    pool: Pool, aws: Resources, jwks_server: JwksServer, clients: AwsClients, alice: User, bob: User
) -> None:
    settings = make_settings(pool, aws, MAX_PENDING_UPLOADS=3)
    with TestClient(build_app(settings, jwks_server, clients)) as client:
        for _ in range(3):
            ok = client.post("/assets", json={"contentType": "image/png"}, headers=alice.auth())
            assert ok.status_code == 201
        refused = client.post("/assets", json={"contentType": "image/jpeg"}, headers=alice.auth())
        # another user is not affected by alice's open uploads
        other = client.post("/assets", json={"contentType": "image/png"}, headers=bob.auth())
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_pending_uploads"
    assert refused.headers["retry-after"]
    assert other.status_code == 201
    table = boto3.client("dynamodb", region_name=REGION).scan(TableName=aws.table)
    assert len(asset_records(table["Items"])) == 4


def test_uploads_stop_counting_once_their_form_has_expired(
    pool: Pool, aws: Resources, jwks_server: JwksServer, clients: AwsClients, alice: User
) -> None:
    from api.service import AssetService

    now = [datetime(2026, 6, 21, 10, 0, tzinfo=UTC)]
    settings = make_settings(pool, aws, MAX_PENDING_UPLOADS=2)
    service = AssetService(settings, clients, clock=lambda: now[0])
    with TestClient(build_app(settings, jwks_server, clients, service=service)) as client:
        for _ in range(2):
            assert (
                client.post(
                    "/assets", json={"contentType": "image/png"}, headers=alice.auth()
                ).status_code
                == 201
            )
        assert (
            client.post(
                "/assets", json={"contentType": "image/png"}, headers=alice.auth()
            ).status_code
            == 429
        )
        now[0] += timedelta(seconds=301)
        assert (
            client.post(
                "/assets", json={"contentType": "image/png"}, headers=alice.auth()
            ).status_code
            == 201
        )


def test_create_app_builds_its_own_collaborators_from_settings(pool: Pool, aws: Resources) -> None:
    app = create_app(make_settings(pool, aws))
    assert app.state.verifier.jwks is not None
    assert app.state.service.repository.table_name == aws.table
