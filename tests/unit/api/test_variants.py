"""Variants in the asset view: `thumb` and `display` with their URLs, and the placeholder, only when ready."""

from __future__ import annotations

import boto3
from fastapi.testclient import TestClient

from assets.model import AssetStatus, VariantImage, VariantName, variant_key
from tests.unit.api.conftest import BASE_URL, REGION, Resources, User
from tests.unit.api.test_assets import _create, _set

VARIANTS = (
    VariantImage(VariantName.THUMB, 320, 240, 9000),
    VariantImage(VariantName.DISPLAY, 1600, 1200, 120000),
)


def test_a_ready_asset_lists_its_variants_and_placeholder(
    client: TestClient, alice: User, aws: Resources
) -> None:
    asset_id = _create(client, alice)
    _set(
        aws,
        asset_id,
        status=AssetStatus.READY,
        output_key=f"processed/assets/{asset_id}.png",
        width=2000,
        height=1500,
        bytes=1234,
        sha256="ab" * 32,
        expires_at=None,
        variants=VARIANTS,
        placeholder="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
    )
    for body in (
        client.get(f"/assets/{asset_id}", headers=alice.auth()).json()["asset"],
        client.get("/assets", headers=alice.auth()).json()["assets"][0],
    ):
        assert body["placeholder"] == "LEHV6nWB2yk8pyo0adR*.7kCMdnj"
        assert body["variants"] == {
            "thumb": {
                "url": f"{BASE_URL}/{asset_id}/thumb.webp",
                "width": 320,
                "height": 240,
                "contentType": "image/webp",
                "bytes": 9000,
            },
            "display": {
                "url": f"{BASE_URL}/{asset_id}/display.webp",
                "width": 1600,
                "height": 1200,
                "contentType": "image/webp",
                "bytes": 120000,
            },
        }


def test_other_statuses_have_neither(client: TestClient, alice: User, aws: Resources) -> None:
    uploading = _create(client, alice)
    rejected = _create(client, alice)
    # A record that somehow kept variants while rejected must not show them.
    _set(
        aws,
        rejected,
        status=AssetStatus.REJECTED,
        error="no",
        error_code="corrupt",
        variants=VARIANTS,
        placeholder="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
    )
    for asset_id in (uploading, rejected):
        asset = client.get(f"/assets/{asset_id}", headers=alice.auth()).json()["asset"]
        assert "variants" not in asset
        assert "placeholder" not in asset


def test_delete_removes_the_variants_too(client: TestClient, alice: User, aws: Resources) -> None:
    asset_id = _create(client, alice)
    s3 = boto3.client("s3", region_name=REGION)
    keys = [f"uploads/originals/{asset_id}.png", f"processed/assets/{asset_id}.png"]
    keys += [variant_key(asset_id, name) for name in VariantName]
    for key in keys:
        s3.put_object(Bucket=aws.bucket, Key=key, Body=b"bytes")
    _set(aws, asset_id, status=AssetStatus.READY, expires_at=None, variants=VARIANTS)

    assert client.delete(f"/assets/{asset_id}", headers=alice.auth()).status_code == 204

    assert s3.list_objects_v2(Bucket=aws.bucket).get("KeyCount", 0) == 0
