"""Image URLs: CloudFront canned-policy signatures, their windows and TTL, the key, invalidation."""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from api.signing import RsaSha1Signer
from assets.aws import AwsClients
from assets.cdn import (
    CDN_ASSETS_PATH,
    AssetCdn,
    SigningKeySecret,
    SigningKeyUnavailable,
    UrlSigner,
    canned_policy,
    cloudfront_b64decode,
    cloudfront_b64encode,
    invalidation_path,
)
from assets.model import PROCESSED_PREFIX, ImageType, published_keys
from assets.storage import AssetUrls, signed_url_expiry, signing_window
from testbed.signing import (
    KEY_PAIR_ID,
    botocore_signer,
    check_signed_url,
    private_pem,
    rsa_signer,
    store_signing_key,
)

BASE = "https://d111111abcdef8.cloudfront.net/assets"
ASSET_ID = "307d0b55-05d1-4c0f-a0fb-4c3e1083e3df"
KEY = f"{PROCESSED_PREFIX}{ASSET_ID}.png"
NOW = datetime(2026, 6, 21, 10, 15, 7, 250000, tzinfo=UTC)
WEAK_KEY = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - refused


class CountingKey:
    """The session key's RSA step, counting how often a URL is signed with it."""

    def __init__(self) -> None:
        self.uses = 0
        self._sign = rsa_signer()

    def __call__(self, message: bytes) -> bytes:
        self.uses += 1
        return self._sign(message)


def signed_urls(ttl: int = 3600) -> tuple[AssetUrls, CountingKey]:
    key = CountingKey()
    return AssetUrls(BASE, UrlSigner(KEY_PAIR_ID, key), ttl_seconds=ttl), key


# --- the signature ---------------------------------------------------------------------------


def test_our_signed_url_is_the_one_botocore_builds() -> None:
    # GIVEN an image URL signed by us, and the same URL and expiry signed by botocore's signer
    urls, _ = signed_urls()
    delivered = urls.url_for(KEY, NOW)
    assert delivered.expires_at is not None
    theirs = botocore_signer().generate_presigned_url(
        f"{BASE}/{ASSET_ID}.png", date_less_than=delivered.expires_at
    )
    # THEN they are the same URL, byte for byte (PKCS#1 v1.5 signatures are deterministic)
    assert delivered.url == theirs
    # AND it checks out as CloudFront would check it, for exactly this object
    resource, expires = check_signed_url(delivered.url)
    assert resource == f"{BASE}/{ASSET_ID}.png"
    assert expires == delivered.expires_at


def test_the_canned_policy_is_cloudfronts_compact_json_in_its_order() -> None:
    assert canned_policy("https://d.example/assets/a.png", 1782040500) == (
        b'{"Statement":[{"Resource":"https://d.example/assets/a.png",'
        b'"Condition":{"DateLessThan":{"AWS:EpochTime":1782040500}}}]}'
    )


@given(st.binary(max_size=300))
def test_cloudfront_base64_round_trips_without_unsafe_characters(data: bytes) -> None:
    text = cloudfront_b64encode(data)
    assert not set(text) & set("+=/")
    assert cloudfront_b64decode(text) == data


@pytest.mark.parametrize("text", ["ab+c", "abc=", "ab/c", "a b", "ab~", "é"])
def test_cloudfront_base64_refuses_what_it_never_makes(text: str) -> None:
    with pytest.raises(ValueError, match="not CloudFront base64"):
        cloudfront_b64decode(text)


def test_a_url_with_a_query_keeps_it_and_signs_it() -> None:
    signer = UrlSigner(KEY_PAIR_ID, rsa_signer())
    url = signer.sign(f"{BASE}/{ASSET_ID}.png?v=2", 1782040500)
    assert url.startswith(f"{BASE}/{ASSET_ID}.png?v=2&Expires=1782040500&Signature=")
    assert check_signed_url(url)[0] == f"{BASE}/{ASSET_ID}.png?v=2"


# --- windows and the TTL bound ---------------------------------------------------------------


def test_public_urls_are_plain_and_never_expire() -> None:
    delivered = AssetUrls(BASE + "/").url_for(KEY, NOW)
    assert delivered.url == f"{BASE}/{ASSET_ID}.png"
    assert delivered.expires_at is None


def test_only_published_keys_get_a_url() -> None:
    urls, key = signed_urls()
    for key_name in (f"uploads/originals/{ASSET_ID}.png", "processed/other.png", ""):
        with pytest.raises(ValueError, match="not a published key"):
            urls.url_for(key_name, NOW)
    assert key.uses == 0


def test_repeated_reads_in_a_window_get_the_same_url_signed_once() -> None:
    # GIVEN a page polling the same ready image every 5 seconds for three minutes
    urls, key = signed_urls(ttl=3600)
    seen = {urls.url_for(KEY, NOW + timedelta(seconds=5 * i)).url for i in range(36)}
    # THEN it got one URL (a browser cache hit each time), signed once
    assert len(seen) == 1
    assert key.uses == 1


def test_a_new_window_brings_a_new_url_and_no_url_outlives_the_ttl() -> None:
    urls, key = signed_urls(ttl=3600)
    window = signing_window(3600)
    moments = [NOW + timedelta(seconds=37 * i) for i in range(200)]  # two hours
    delivered = [urls.url_for(KEY, moment) for moment in moments]
    for moment, url in zip(moments, delivered, strict=True):
        assert url.expires_at is not None
        lifetime = (url.expires_at - moment).total_seconds()
        assert 3600 - window < lifetime <= 3600
    distinct = {url.url for url in delivered}
    assert 7200 / window - 1 <= len(distinct) <= 7200 / window + 1
    assert key.uses == len(distinct)


@given(
    moment=st.floats(min_value=1.6e9, max_value=2.5e9),
    ttl=st.integers(min_value=1, max_value=86400),
    key=st.text(min_size=1, max_size=80),
)
def test_every_expiry_is_in_the_future_within_the_ttl_and_a_window(
    moment: float, ttl: int, key: str
) -> None:
    now = datetime.fromtimestamp(moment, UTC)
    moment = now.timestamp()  # what the datetime holds, to the microsecond
    window = signing_window(ttl)
    expires = signed_url_expiry(key, now, ttl, window)
    assert moment < expires <= moment + ttl
    assert expires > moment + ttl - window
    assert 1 <= window <= ttl


def test_each_key_has_its_own_windows_so_a_page_is_resigned_a_few_urls_at_a_time() -> None:
    keys = [f"{PROCESSED_PREFIX}{uuid.uuid4()}.png" for _ in range(100)]
    expiries = {signed_url_expiry(key, NOW, 3600, signing_window(3600)) for key in keys}
    assert len(expiries) > 50


def test_the_same_moment_gives_the_same_url_in_every_process() -> None:
    first, _ = signed_urls()
    second, _ = signed_urls()
    assert first.url_for(KEY, NOW) == second.url_for(KEY, NOW)


# --- the key ---------------------------------------------------------------------------------


@pytest.fixture
def moto_clients() -> Iterator[AwsClients]:
    with mock_aws():
        yield AwsClients("us-east-1")


def count_calls(client: Any, operation: str) -> list[str]:
    calls: list[str] = []
    client.meta.events.register(
        f"before-call.*.{operation}", lambda **kwargs: calls.append(operation)
    )
    return calls


def test_the_key_is_read_from_its_secret_once_and_only_when_a_url_is_signed(
    moto_clients: AwsClients,
) -> None:
    # GIVEN the key in a secret, and a signer that reads it through the process's clients
    arn = store_signing_key(moto_clients.secretsmanager, "url-signing-key")
    reads = count_calls(moto_clients.secretsmanager, "GetSecretValue")
    secret = SigningKeySecret(lambda: moto_clients.secretsmanager, arn)
    urls = AssetUrls(BASE, UrlSigner(KEY_PAIR_ID, RsaSha1Signer(secret.read)))
    assert reads == []
    # WHEN URLs for many images and many windows are signed
    for i in range(50):
        urls.url_for(f"{PROCESSED_PREFIX}{uuid.uuid4()}.png", NOW + timedelta(minutes=i))
    # THEN the secret was read once
    assert reads == ["GetSecretValue"]
    check_signed_url(urls.url_for(KEY, NOW).url)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not a key", "not a PEM private key"),
        (private_pem(WEAK_KEY), "RSA 2048"),
    ],
)
def test_a_secret_that_holds_no_usable_key_is_refused_without_showing_it(
    moto_clients: AwsClients, value: str, message: str
) -> None:
    arn = moto_clients.secretsmanager.create_secret(Name="bad-key", SecretString=value)["ARN"]
    signer = RsaSha1Signer(SigningKeySecret(lambda: moto_clients.secretsmanager, arn).read)
    for _ in range(2):  # a failure is not remembered: each try reads again, and fails again
        with pytest.raises(SigningKeyUnavailable, match=message) as raised:
            signer(b"policy")
        assert value not in str(raised.value)


def test_a_missing_secret_is_a_clear_error(moto_clients: AwsClients) -> None:
    secret = SigningKeySecret(lambda: moto_clients.secretsmanager, "arn:aws:secretsmanager:x")
    with pytest.raises(SigningKeyUnavailable, match="cannot be read"):
        secret.read()


# --- invalidation ----------------------------------------------------------------------------


def _distribution(moto_clients: AwsClients) -> str:
    created = moto_clients.cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": uuid.uuid4().hex,
            "Comment": "assets",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "assets",
                        "DomainName": "bucket.s3.us-east-1.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "assets",
                "ViewerProtocolPolicy": "https-only",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )
    return created["Distribution"]["Id"]


def test_a_deleted_asset_is_invalidated_on_its_distribution(moto_clients: AwsClients) -> None:
    distribution_id = _distribution(moto_clients)
    AssetCdn(lambda: moto_clients.cloudfront, distribution_id).invalidate_asset(ASSET_ID)
    AssetCdn(lambda: moto_clients.cloudfront, distribution_id).invalidate_asset(ASSET_ID)
    listing = moto_clients.cloudfront.list_invalidations(DistributionId=distribution_id)
    invalidations = listing["InvalidationList"].get("Items", [])
    assert len(invalidations) == 2, "a retried DELETE invalidates again"
    detail = moto_clients.cloudfront.get_invalidation(
        DistributionId=distribution_id, Id=invalidations[0]["Id"]
    )
    assert detail["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == [f"/assets/{ASSET_ID}*"]


def test_without_a_distribution_nothing_is_called(moto_clients: AwsClients) -> None:
    calls = count_calls(moto_clients.cloudfront, "CreateInvalidation")
    cdn = AssetCdn(lambda: moto_clients.cloudfront, "")
    cdn.invalidate_asset(ASSET_ID)
    assert not cdn.enabled
    assert calls == []


@pytest.mark.parametrize("image_type", list(ImageType))
def test_one_invalidation_path_covers_every_key_an_asset_publishes(image_type: ImageType) -> None:
    # Today's image and the variants to come (`processed/assets/<id>/thumb.webp`).
    keys = [
        *published_keys(ASSET_ID, image_type),
        f"{PROCESSED_PREFIX}{ASSET_ID}/thumb.webp",
        f"{PROCESSED_PREFIX}{ASSET_ID}/display.webp",
    ]
    path = invalidation_path(ASSET_ID)
    urls = AssetUrls(BASE)
    for key in keys:
        cdn_path = CDN_ASSETS_PATH + key[len(PROCESSED_PREFIX) :]
        assert urls.url_for(key, NOW).url == BASE.removesuffix("/assets") + cdn_path
        assert fnmatch.fnmatchcase(cdn_path, path)
    other = f"{CDN_ASSETS_PATH}{uuid.uuid4()}.png"
    assert not fnmatch.fnmatchcase(other, path)
