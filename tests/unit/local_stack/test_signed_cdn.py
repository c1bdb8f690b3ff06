"""The local CDN with signed delivery: it checks signed URLs exactly as CloudFront does."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws
from starlette.testclient import TestClient

from assets.cdn import UrlSigner
from assets.model import PROCESSED_PREFIX, ImageType, processed_key
from local_stack.blueprint import derive_blueprint
from local_stack.cloudfront import (
    SignatureRefused,
    SignedUrlVerifier,
    api_delivery_environment,
    delivery_settings,
    provision_signing_key,
)
from local_stack.environment import local_timings
from local_stack.options import StackOptions
from local_stack.plan import Urls, WebConfig, plan_stack
from local_stack.state import DemoUser
from local_stack.template import load_template
from local_stack.web import create_web_app
from signing_key.resource import ensure_signing_key
from testbed.signing import (
    KEY_PAIR_ID,
    botocore_signer,
    other_signing_key,
    rsa_signer,
    signing_key,
)
from tests.unit.local_stack.test_environment import PROVISIONED
from tests.unit.local_stack.test_plan import FIXTURE

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = "local-asset-bucket"
ORIGIN = "http://127.0.0.1:8700"
ASSET_ID = "6f1c2b9e-4c3d-4b8a-9f1e-2d3c4b5a6f70"
OTHER_ID = "0b7d2a8e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
PNG = b"\x89PNG\r\n\x1a\nprocessed"


@pytest.fixture
def s3() -> Iterator[S3Client]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        for asset_id in (ASSET_ID, OTHER_ID):
            client.put_object(
                Bucket=BUCKET,
                Key=processed_key(asset_id, ImageType.PNG),
                Body=PNG,
                ContentType="image/png",
            )
        client.put_object(
            Bucket=BUCKET,
            Key=f"{PROCESSED_PREFIX}{ASSET_ID}/thumb.webp",
            Body=b"RIFF....WEBP",
            ContentType="image/webp",
        )
        yield client


def _verifier(clock: float | None = None) -> SignedUrlVerifier:
    return SignedUrlVerifier(
        {KEY_PAIR_ID: signing_key().public_key()},
        clock=(lambda: clock) if clock is not None else time.time,
    )


@pytest.fixture
def cdn(s3: S3Client) -> TestClient:
    app = create_web_app(s3=s3, bucket=BUCKET, site_dir=None, config={}, signed_urls=_verifier())
    return TestClient(app, base_url=ORIGIN)


def sign(name: str, expires: int | None = None) -> str:
    signer = UrlSigner(KEY_PAIR_ID, rsa_signer())
    return signer.sign(f"{ORIGIN}/assets/{name}", expires or int(time.time()) + 300)


def _path(url: str) -> str:
    return url.removeprefix(ORIGIN)


def test_the_owners_url_serves_the_image(cdn: TestClient) -> None:
    response = cdn.get(_path(sign(f"{ASSET_ID}.png")))
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"


def test_a_url_botocore_signed_is_accepted_too(cdn: TestClient) -> None:
    url = botocore_signer().generate_presigned_url(
        f"{ORIGIN}/assets/{ASSET_ID}.png", date_less_than=datetime.now(UTC) + timedelta(minutes=5)
    )
    assert cdn.get(_path(url)).status_code == 200


def test_a_variant_one_level_down_is_served_and_checked(cdn: TestClient) -> None:
    name = f"{ASSET_ID}/thumb.webp"
    assert cdn.get(_path(sign(name))).status_code == 200
    assert cdn.get(f"/assets/{name}").status_code == 403
    for deeper in (f"{ASSET_ID}/a/b.webp", f"{ASSET_ID}/.x", f"{ASSET_ID}/"):
        assert cdn.get(_path(sign(deeper))).status_code == 404, deeper
    # A client normalises `..` away: what arrives is another object than the one signed for.
    climbing = cdn.get(_path(sign(f"{ASSET_ID}/../{OTHER_ID}.png")))
    assert climbing.status_code == 403


def _tampered(url: str, name: str, value: str) -> str:
    return re.sub(rf"([?&]{name}=)[^&]*", lambda m: m[1] + value, url)


def test_unsigned_tampered_foreign_and_expired_urls_are_403(cdn: TestClient) -> None:
    good = sign(f"{ASSET_ID}.png")
    expires = int(good.split("Expires=")[1].split("&")[0])
    signature = good.split("Signature=")[1].split("&")[0]
    flipped = ("A" if signature[10] != "A" else "B").join([signature[:10], signature[11:]])
    other = sign(f"{OTHER_ID}.png", expires)
    foreign = UrlSigner(KEY_PAIR_ID, rsa_signer(other_signing_key())).sign(
        f"{ORIGIN}/assets/{ASSET_ID}.png", expires
    )
    refused = {
        "unsigned": f"/assets/{ASSET_ID}.png",
        "another asset's signature": f"/assets/{ASSET_ID}.png?" + other.split("?", 1)[1],
        "Expires moved": _tampered(good, "Expires", str(expires + 3600)),
        "Signature altered": _tampered(good, "Signature", flipped),
        "Signature not CloudFront base64": _tampered(good, "Signature", signature + "="),
        "Key-Pair-Id altered": _tampered(good, "Key-Pair-Id", "KOTHERKEY12345"),
        "signed by a key not in the group": foreign,
        "expired": sign(f"{ASSET_ID}.png", int(time.time()) - 1),
        "Signature missing": good.split("&Signature=")[0],
        "parameters given twice": good + "&Expires=" + str(expires),
        "a custom policy": good + "&Policy=e30_",
        "Expires not a number": _tampered(good, "Expires", "1e12"),
        "a query parameter added": good + "&download=1",
    }
    for case, url in refused.items():
        response = cdn.get(_path(url))
        assert response.status_code == 403, case
        assert response.text.startswith("Access denied"), case
        assert response.content != PNG
    # HEAD is checked the same way
    assert cdn.head(f"/assets/{ASSET_ID}.png").status_code == 403
    assert cdn.head(_path(good)).status_code == 200


def test_a_signature_for_another_host_or_scheme_is_refused(s3: S3Client) -> None:
    url = UrlSigner(KEY_PAIR_ID, rsa_signer()).sign(
        f"https://d111111abcdef8.cloudfront.net/assets/{ASSET_ID}.png", int(time.time()) + 300
    )
    app = create_web_app(s3=s3, bucket=BUCKET, site_dir=None, config={}, signed_urls=_verifier())
    response = TestClient(app, base_url=ORIGIN).get(f"/assets/{ASSET_ID}.png?" + url.split("?")[1])
    assert response.status_code == 403


def test_expiry_is_checked_against_the_clock() -> None:
    verifier = _verifier(clock=2_000_000_000)
    url = f"{ORIGIN}/assets/{ASSET_ID}.png"
    query = UrlSigner(KEY_PAIR_ID, rsa_signer()).sign(url, 2_000_000_001).split("?")[1].split("&")
    verifier.verify(url, query)
    late = _verifier(clock=2_000_000_001)
    with pytest.raises(SignatureRefused, match="expired"):
        late.verify(url, query)


def test_public_delivery_serves_plain_urls(s3: S3Client) -> None:
    app = create_web_app(s3=s3, bucket=BUCKET, site_dir=None, config={})
    assert TestClient(app, base_url=ORIGIN).get(f"/assets/{ASSET_ID}.png").status_code == 200


# --- the local key and the settings that reach the API and the CDN ---------------------------


def test_the_local_key_is_made_as_the_custom_resource_makes_it() -> None:
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        key = provision_signing_key(secrets)
        # The secret holds the private key (PEM), and the custom resource keeps it on a rerun
        stored = secrets.get_secret_value(SecretId=key.secret_arn)["SecretString"]
        assert stored.startswith("-----BEGIN PRIVATE KEY-----")
        assert ensure_signing_key(secrets, key.secret_arn).public_key_pem == key.public_key_pem
        assert re.fullmatch(r"K[0-9A-F]{13}", key.key_pair_id)
    # The API gets the key by ARN, never its value; the CDN gets the public half only
    api = api_delivery_environment(key, {"SIGNED_URL_TTL_SECONDS": "60"})
    assert api == {
        "CLOUDFRONT_KEY_SECRET_ARN": key.secret_arn,
        "CLOUDFRONT_KEY_PAIR_ID": key.key_pair_id,
        "CDN_DISTRIBUTION_ID": "",
        "SIGNED_URL_TTL_SECONDS": "60",
    }
    assert "PRIVATE" not in " ".join(api.values())


def test_the_plan_gives_the_cdn_the_public_key_only_and_the_mode_to_both() -> None:
    blueprint = derive_blueprint(load_template(FIXTURE))
    options = StackOptions()
    for delivery, mode in (
        (delivery_settings({}), "signed"),
        (delivery_settings({"ASSET_DELIVERY": "public"}), "public"),
    ):
        planned = plan_stack(
            options,
            blueprint,
            PROVISIONED,
            Urls.of(options, {"moto": 9702, "web": 9700, "api": 9701}),
            local_timings(blueprint, options.region, options.visibility),
            DemoUser("demo@example.com", "pw"),
            {},
            delivery,
        )
        web = planned.children[-1].config
        assert isinstance(web, WebConfig)
        assert web.asset_delivery == mode
        assert web.trusted_key_pair_id == PROVISIONED.signing_key.key_pair_id
        assert "PRIVATE" not in web.model_dump_json()
        assert web.trusted_public_key == PROVISIONED.signing_key.public_key_pem
        api_env = planned.children[1].env
        assert api_env["ASSET_DELIVERY"] == planned.info.extra["assetDelivery"] == mode
        assert api_env["CLOUDFRONT_KEY_SECRET_ARN"] == PROVISIONED.signing_key.secret_arn


def test_delivery_settings_come_from_the_environment_and_are_checked() -> None:
    # Unset: the settings' own defaults, which the API would use anyway
    assert delivery_settings({"PATH": "/bin"}) == {
        "ASSET_DELIVERY": "signed",
        "SIGNED_URL_TTL_SECONDS": "3600",
    }
    assert delivery_settings({"ASSET_DELIVERY": "public", "SIGNED_URL_TTL_SECONDS": " 5 "}) == {
        "ASSET_DELIVERY": "public",
        "SIGNED_URL_TTL_SECONDS": "5",
    }
    with pytest.raises(ValueError, match="ASSET_DELIVERY='private' in the environment"):
        delivery_settings({"ASSET_DELIVERY": "private"})
    with pytest.raises(ValueError, match="SIGNED_URL_TTL_SECONDS='0' in the environment"):
        delivery_settings({"SIGNED_URL_TTL_SECONDS": "0"})
