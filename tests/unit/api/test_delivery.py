"""Owner-only delivery through the API: signed URLs in reads and lists, DELETE invalidates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from assets.aws import AwsClients
from assets.model import AssetStatus, VariantImage, VariantName
from assets.repository import AssetRepository
from assets.settings import ApiSettings
from testbed.signing import KEY_PAIR_ID, check_signed_url, store_signing_key
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
from tests.unit.assets.test_signed_urls import _distribution, count_calls

TTL = 600


@pytest.fixture
def signed_settings(pool: Pool, aws: Resources) -> ApiSettings:
    secrets = boto3.client("secretsmanager", region_name=REGION)
    arn = store_signing_key(secrets, f"url-signing-key-{aws.table}")
    return make_settings(
        pool,
        aws,
        ASSET_DELIVERY="signed",
        SIGNED_URL_TTL_SECONDS=TTL,
        CLOUDFRONT_KEY_SECRET_ARN=arn,
        CLOUDFRONT_KEY_PAIR_ID=KEY_PAIR_ID,
    )


@pytest.fixture
def signed(
    signed_settings: ApiSettings, jwks_server: JwksServer, clients: AwsClients
) -> Iterator[TestClient]:
    app = build_app(signed_settings, jwks_server, AwsClients(REGION))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _ready_asset(client: TestClient, user: User, resources: Resources) -> str:
    response = client.post("/assets", json={"contentType": "image/png"}, headers=user.auth())
    assert response.status_code == 201, response.text
    asset_id: str = response.json()["asset"]["assetId"]
    repository = AssetRepository(boto3.client("dynamodb", region_name=REGION), resources.table)
    asset = repository.get(asset_id)
    assert asset is not None
    boto3.client("dynamodb", region_name=REGION).delete_item(
        TableName=resources.table, Key={"assetId": {"S": asset_id}}
    )
    repository.create(
        asset.with_changes(
            status=AssetStatus.READY,
            output_key=asset.processed_key,
            width=8,
            height=8,
            bytes=100,
            sha256="ab" * 32,
            expires_at=None,
        )
    )
    return asset_id


def test_a_ready_asset_has_a_signed_url_for_exactly_its_image(
    signed: TestClient, alice: User, aws: Resources
) -> None:
    asset_id = _ready_asset(signed, alice, aws)
    before = datetime.now(UTC)
    asset = signed.get(f"/assets/{asset_id}", headers=alice.auth()).json()["asset"]
    resource, expires = check_signed_url(asset["url"])
    assert resource == f"{BASE_URL}/{asset_id}.png"
    assert datetime.fromisoformat(asset["urlExpiresAt"]) == expires
    assert before < expires <= datetime.now(UTC) + timedelta(seconds=TTL)
    # The same URL on the next read: the browser's cached copy is used.
    again = signed.get(f"/assets/{asset_id}", headers=alice.auth()).json()["asset"]
    assert again["url"] == asset["url"]


def test_variant_urls_are_signed_for_their_own_files_and_the_view_expires_with_the_first(
    signed: TestClient, alice: User, aws: Resources
) -> None:
    asset_id = _ready_asset(signed, alice, aws)
    repository = AssetRepository(boto3.client("dynamodb", region_name=REGION), aws.table)
    asset = repository.get(asset_id)
    assert asset is not None
    boto3.client("dynamodb", region_name=REGION).delete_item(
        TableName=aws.table, Key={"assetId": {"S": asset_id}}
    )
    repository.create(
        asset.with_changes(
            variants=(
                VariantImage(VariantName.THUMB, 8, 8, 10),
                VariantImage(VariantName.DISPLAY, 8, 8, 20),
            ),
            placeholder="L00000fQfQfQfQfQfQfQfQfQfQfQ",
        )
    )
    view = signed.get(f"/assets/{asset_id}", headers=alice.auth()).json()["asset"]
    expiries = [check_signed_url(view["url"])[1]]
    for name in ("thumb", "display"):
        resource, expires = check_signed_url(view["variants"][name]["url"])
        assert resource == f"{BASE_URL}/{asset_id}/{name}.webp"
        expiries.append(expires)
    assert datetime.fromisoformat(view["urlExpiresAt"]) == min(expiries)


def test_every_listed_url_is_signed_for_its_own_image(
    signed: TestClient, alice: User, aws: Resources
) -> None:
    ids = {_ready_asset(signed, alice, aws) for _ in range(3)}
    pending = signed.post("/assets", json={"contentType": "image/jpeg"}, headers=alice.auth())
    listed = signed.get("/assets", headers=alice.auth()).json()["assets"]
    assert len(listed) == 4
    for asset in listed:
        if asset["assetId"] == pending.json()["asset"]["assetId"]:
            assert "url" not in asset
            assert "urlExpiresAt" not in asset
            continue
        assert asset["assetId"] in ids
        resource, expires = check_signed_url(asset["url"])
        assert resource == f"{BASE_URL}/{asset['assetId']}.png"
        assert datetime.fromisoformat(asset["urlExpiresAt"]) == expires


def test_another_user_never_gets_a_url(
    signed: TestClient, alice: User, bob: User, aws: Resources
) -> None:
    asset_id = _ready_asset(signed, alice, aws)
    response = signed.get(f"/assets/{asset_id}", headers=bob.auth())
    assert response.status_code == 404
    assert response.json() == {"error": "asset not found", "code": "not_found"}
    assert signed.get("/assets", headers=bob.auth()).json() == {"assets": []}


def test_the_key_is_read_once_per_process(
    signed_settings: ApiSettings, jwks_server: JwksServer, alice: User, aws: Resources
) -> None:
    # GIVEN a fresh process's clients, counting reads of the key's secret
    clients = AwsClients(REGION)
    reads = count_calls(clients.secretsmanager, "GetSecretValue")
    with TestClient(build_app(signed_settings, jwks_server, clients)) as client:
        ids = [_ready_asset(client, alice, aws) for _ in range(3)]
        assert reads == [], "nothing is read before a URL is signed"
        # WHEN it serves many reads and lists with URLs
        for asset_id in ids * 3:
            assert client.get(f"/assets/{asset_id}", headers=alice.auth()).status_code == 200
        for _ in range(3):
            assert len(client.get("/assets", headers=alice.auth()).json()["assets"]) == 3
    # THEN the key was read from its secret once
    assert reads == ["GetSecretValue"]


def test_a_key_that_cannot_be_read_is_a_500_that_shows_nothing(
    pool: Pool, aws: Resources, jwks_server: JwksServer, alice: User
) -> None:
    settings = make_settings(
        pool,
        aws,
        ASSET_DELIVERY="signed",
        CLOUDFRONT_KEY_SECRET_ARN=f"arn:aws:secretsmanager:{REGION}:123456789012:secret:gone-AbC",
        CLOUDFRONT_KEY_PAIR_ID=KEY_PAIR_ID,
    )
    with TestClient(
        build_app(settings, jwks_server, AwsClients(REGION)), raise_server_exceptions=False
    ) as client:
        asset_id = _ready_asset(client, alice, aws)
        response = client.get(f"/assets/{asset_id}", headers=alice.auth())
    assert response.status_code == 500
    assert response.json() == {"error": "internal error", "code": "internal_error"}


# --- DELETE and the CDN ----------------------------------------------------------------------


def _invalidated_paths(distribution_id: str) -> list[str]:
    cloudfront: Any = boto3.client("cloudfront", region_name=REGION)
    items = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"]
    paths: list[str] = []
    for item in items.get("Items", []):
        detail = cloudfront.get_invalidation(DistributionId=distribution_id, Id=item["Id"])
        paths += detail["Invalidation"]["InvalidationBatch"]["Paths"]["Items"]
    return paths


@pytest.mark.parametrize("delivery", ["signed", "public"])
def test_delete_invalidates_the_assets_cdn_paths_in_either_mode(
    delivery: str,
    signed_settings: ApiSettings,
    jwks_server: JwksServer,
    alice: User,
    aws: Resources,
) -> None:
    # GIVEN an API in front of a distribution, and a ready asset and one still uploading
    clients = AwsClients(REGION)
    distribution_id = _distribution(clients)
    settings = signed_settings.model_copy(
        update={"ASSET_DELIVERY": delivery, "CDN_DISTRIBUTION_ID": distribution_id}
    )
    with TestClient(build_app(settings, jwks_server, clients)) as client:
        ready = _ready_asset(client, alice, aws)
        uploading = client.post(
            "/assets", json={"contentType": "image/png"}, headers=alice.auth()
        ).json()["asset"]["assetId"]
        # WHEN the owner deletes both
        assert client.delete(f"/assets/{ready}", headers=alice.auth()).status_code == 204
        assert client.delete(f"/assets/{uploading}", headers=alice.auth()).status_code == 204
        assert client.get(f"/assets/{ready}", headers=alice.auth()).status_code == 404
    # THEN the edge caches are told to drop every path of the ready one; the upload had none
    assert _invalidated_paths(distribution_id) == [f"/assets/{ready}*"]


def test_an_invalidation_that_fails_keeps_the_record_so_the_retry_finishes(
    signed_settings: ApiSettings, jwks_server: JwksServer, alice: User, aws: Resources
) -> None:
    # GIVEN a distribution id CloudFront does not know
    settings = signed_settings.model_copy(update={"CDN_DISTRIBUTION_ID": "E" + "X" * 13})
    with TestClient(
        build_app(settings, jwks_server, AwsClients(REGION)), raise_server_exceptions=False
    ) as client:
        asset_id = _ready_asset(client, alice, aws)
        # WHEN the owner deletes the asset
        response = client.delete(f"/assets/{asset_id}", headers=alice.auth())
        # THEN the answer is an error, and the record is still there to delete again
        assert response.status_code == 500
        assert client.get(f"/assets/{asset_id}", headers=alice.auth()).status_code == 200


def test_public_mode_has_plain_urls_and_no_expiry(
    client: TestClient, alice: User, aws: Resources
) -> None:
    asset_id = _ready_asset(client, alice, aws)
    asset = client.get(f"/assets/{asset_id}", headers=alice.auth()).json()["asset"]
    assert asset["url"] == f"{BASE_URL}/{asset_id}.png"
    assert "urlExpiresAt" not in asset


def test_signed_delivery_needs_its_key_settings(pool: Pool, aws: Resources) -> None:
    with pytest.raises(ValueError, match="CLOUDFRONT_KEY_SECRET_ARN is required"):
        make_settings(pool, aws, ASSET_DELIVERY="signed", CLOUDFRONT_KEY_PAIR_ID=KEY_PAIR_ID)
    with pytest.raises(ValueError, match="CLOUDFRONT_KEY_PAIR_ID is required"):
        make_settings(pool, aws, ASSET_DELIVERY="signed", CLOUDFRONT_KEY_SECRET_ARN="arn:x")
