"""Reading, listing and deleting assets: owners see theirs, everyone else sees 404."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from api.service import AssetService
from assets.aws import AwsClients
from assets.model import AssetStatus, ImageType, new_upload
from assets.repository import AssetRepository
from tests.unit.api.conftest import (
    BASE_URL,
    REGION,
    JwksServer,
    Pool,
    Resources,
    User,
    build_app,
    make_settings,
)


def _create(client: TestClient, user: User, content_type: str = "image/png") -> str:
    response = client.post("/assets", json={"contentType": content_type}, headers=user.auth())
    assert response.status_code == 201, response.text
    asset_id: str = response.json()["asset"]["assetId"]
    return asset_id


def _repository(resources: Resources) -> AssetRepository:
    return AssetRepository(boto3.client("dynamodb", region_name=REGION), resources.table)


def _set(resources: Resources, asset_id: str, **changes: Any) -> None:
    repository = _repository(resources)
    asset = repository.get(asset_id)
    assert asset is not None
    boto3.client("dynamodb", region_name=REGION).delete_item(
        TableName=resources.table, Key={"assetId": {"S": asset_id}}
    )
    repository.create(asset.with_changes(**changes))


def test_owner_reads_an_uploading_asset(client: TestClient, alice: User) -> None:
    asset_id = _create(client, alice, "image/jpeg")
    response = client.get(f"/assets/{asset_id}", headers=alice.auth("access"))
    assert response.status_code == 200
    asset = response.json()["asset"]
    assert asset["assetId"] == asset_id
    assert asset["status"] == "uploading"
    assert asset["contentType"] == "image/jpeg"
    assert "url" not in asset
    assert "error" not in asset


def test_ready_asset_has_its_cdn_url_and_metadata(
    client: TestClient, alice: User, aws: Resources
) -> None:
    asset_id = _create(client, alice)
    _set(
        aws,
        asset_id,
        status=AssetStatus.READY,
        output_key=f"processed/assets/{asset_id}.png",
        width=640,
        height=480,
        bytes=1234,
        sha256="ab" * 32,
        expires_at=None,
    )
    asset = client.get(f"/assets/{asset_id}", headers=alice.auth()).json()["asset"]
    assert asset["status"] == "ready"
    assert asset["url"] == f"{BASE_URL}/{asset_id}.png"
    assert (asset["width"], asset["height"], asset["bytes"]) == (640, 480, 1234)
    assert "error" not in asset


def test_rejected_asset_has_the_workers_reason_and_no_url(
    client: TestClient, alice: User, aws: Resources
) -> None:
    asset_id = _create(client, alice)
    _set(
        aws,
        asset_id,
        status=AssetStatus.REJECTED,
        error="the file is not a PNG image",
        error_code="format_mismatch",
    )
    asset = client.get(f"/assets/{asset_id}", headers=alice.auth()).json()["asset"]
    assert asset["status"] == "rejected"
    assert asset["error"] == "the file is not a PNG image"
    assert asset["errorCode"] == "format_mismatch"
    assert "url" not in asset


def test_uploading_past_its_ttl_reads_expired(
    client: TestClient, alice: User, aws: Resources
) -> None:
    asset_id = _create(client, alice)
    _set(aws, asset_id, expires_at=int(datetime.now(UTC).timestamp()) - 1)
    asset = client.get(f"/assets/{asset_id}", headers=alice.auth()).json()["asset"]
    assert asset["status"] == "expired"


@pytest.mark.parametrize(
    "asset_id",
    [
        "307d0b55-05d1-4c0f-a0fb-4c3e1083e3df",  # well-formed, unknown
        "not-a-uuid",
        "307D0B55-05D1-4C0F-A0FB-4C3E1083E3DF",  # not the canonical form the API issues
        "..%2F..%2Fetc",
        "x" * 300,
        "307d0b55-05d1-4c0f-a0fb-4c3e1083e3df.png",
    ],
)
def test_unknown_and_malformed_ids_are_the_same_404(
    client: TestClient, alice: User, asset_id: str
) -> None:
    for method in ("GET", "DELETE"):
        response = client.request(method, f"/assets/{asset_id}", headers=alice.auth())
        assert response.status_code == 404
        assert response.json() == {"error": "asset not found", "code": "not_found"}


def test_other_users_get_the_same_404_and_cannot_delete(
    client: TestClient, alice: User, bob: User, aws: Resources
) -> None:
    asset_id = _create(client, alice)
    unknown = client.get("/assets/307d0b55-05d1-4c0f-a0fb-4c3e1083e3df", headers=bob.auth())
    for method in ("GET", "DELETE"):
        response = client.request(method, f"/assets/{asset_id}", headers=bob.auth())
        assert response.status_code == 404
        assert response.json() == unknown.json()
    assert client.get(f"/assets/{asset_id}", headers=alice.auth()).status_code == 200
    assert _repository(aws).get(asset_id) is not None


def test_lists_are_the_callers_own_newest_first_and_paged(
    pool: Pool, aws: Resources, jwks_server: JwksServer, clients: AwsClients, alice: User, bob: User
) -> None:
    clock = [datetime(2026, 6, 21, 10, 0, tzinfo=UTC)]

    def now() -> datetime:
        clock[0] += timedelta(seconds=1)
        return clock[0]

    settings = make_settings(pool, aws)
    service = AssetService(settings, clients, clock=now)
    with TestClient(build_app(settings, jwks_server, clients, service=service)) as client:
        mine = [_create(client, alice) for _ in range(5)]
        theirs = [_create(client, bob) for _ in range(2)]

        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            response = client.get("/assets", params=params, headers=alice.auth())
            assert response.status_code == 200
            body = response.json()
            assert len(body["assets"]) <= 2
            seen += [asset["assetId"] for asset in body["assets"]]
            pages += 1
            cursor = body.get("nextCursor")
            if not cursor:
                break
        assert seen == list(reversed(mine))
        assert pages in (3, 4)
        bobs = client.get("/assets", headers=bob.auth()).json()["assets"]
        assert [asset["assetId"] for asset in bobs] == list(reversed(theirs))


def test_a_cursor_cannot_reach_another_users_assets(
    client: TestClient, alice: User, bob: User
) -> None:
    for _ in range(3):
        _create(client, alice)
    page = client.get("/assets", params={"limit": 1}, headers=alice.auth()).json()
    # bob replays alice's cursor: it only ever pages through bob's own (empty) list
    replay = client.get("/assets", params={"cursor": page["nextCursor"]}, headers=bob.auth())
    assert replay.status_code == 200
    assert replay.json() == {"assets": []}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("cursor", "code"),
    [
        ("garbage!", "invalid_request"),  # outside the documented alphabet
        ("e30", "invalid_cursor"),  # {}
        (_b64(b'["x","y"]'), "invalid_cursor"),
        (
            _b64(
                json.dumps(
                    {"ownerId": "someone", "createdAt": "2026-01-01T00:00:00.000Z", "assetId": "x"}
                ).encode()
            ),
            "invalid_cursor",
        ),
        (_b64(b'["2026-01-01T00:00:00.000Z", 5]'), "invalid_cursor"),
        ("A", "invalid_cursor"),
    ],
)
def test_forged_cursors_are_400(client: TestClient, alice: User, cursor: str, code: str) -> None:
    response = client.get("/assets", params={"cursor": cursor}, headers=alice.auth())
    assert response.status_code == 400
    assert response.json()["code"] == code


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5"])
def test_bad_limits_are_400(client: TestClient, alice: User, limit: str) -> None:
    response = client.get("/assets", params={"limit": limit}, headers=alice.auth())
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


def test_delete_removes_the_record_and_both_objects(
    client: TestClient, alice: User, aws: Resources
) -> None:
    # GIVEN a ready asset with its original and its published copy
    asset_id = _create(client, alice)
    s3 = boto3.client("s3", region_name=REGION)
    for key in (f"uploads/originals/{asset_id}.png", f"processed/assets/{asset_id}.png"):
        s3.put_object(Bucket=aws.bucket, Key=key, Body=b"bytes")
    _set(aws, asset_id, status=AssetStatus.READY, expires_at=None)

    # WHEN its owner deletes it
    response = client.delete(f"/assets/{asset_id}", headers=alice.auth())

    # THEN it is gone everywhere
    assert response.status_code == 204
    assert response.content == b""
    assert _repository(aws).get(asset_id) is None
    assert s3.list_objects_v2(Bucket=aws.bucket).get("KeyCount", 0) == 0
    assert client.get(f"/assets/{asset_id}", headers=alice.auth()).status_code == 404
    assert client.delete(f"/assets/{asset_id}", headers=alice.auth()).status_code == 404


def test_delete_of_an_upload_without_objects_succeeds(
    client: TestClient, alice: User, aws: Resources
) -> None:
    asset_id = _create(client, alice)
    assert client.delete(f"/assets/{asset_id}", headers=alice.auth()).status_code == 204
    assert _repository(aws).get(asset_id) is None


def test_health_needs_no_token_and_touches_nothing(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"]


def test_unknown_routes_and_methods_answer_json(client: TestClient, alice: User) -> None:
    missing = client.get("/nope", headers=alice.auth())
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    wrong_method = client.put("/assets", headers=alice.auth())
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"


def test_new_upload_record_has_the_form_window(aws: Resources) -> None:
    now = datetime(2026, 6, 21, 10, 15, tzinfo=UTC)
    asset = new_upload("307d0b55-05d1-4c0f-a0fb-4c3e1083e3df", "me", ImageType.PNG, now, 300)
    assert asset.created_at == "2026-06-21T10:15:00.000Z"
    assert asset.upload_expires_at == int(now.timestamp()) + 300
    assert asset.expires_at == int(now.timestamp()) + 86400
    assert asset.source_key == "uploads/originals/307d0b55-05d1-4c0f-a0fb-4c3e1083e3df.png"
