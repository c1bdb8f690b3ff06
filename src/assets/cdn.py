"""CloudFront's side of delivery: signed URLs (canned policy, RSA-SHA1) and invalidating deletions.

A signed URL is CloudFront's canned policy for exactly one URL and one expiry, signed with the
private key whose public half is in the distribution's trusted key group. The private key lives
in a secret (`SigningKeySecret`). The RSA step itself is given to `UrlSigner` as a function, as
botocore's `CloudFrontSigner` takes it: the API brings it (`api.signing`, with `cryptography`),
so the worker, which shares this package but signs nothing, does not bundle an RSA library.
"""

from __future__ import annotations

import binascii
import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from assets.aws import translate_aws_errors

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

CDN_ASSETS_PATH = "/assets/"
"""The distribution's behaviour for published keys: `/assets/<name>` is `processed/assets/<name>`."""
SIGNED_URL_PARAMETERS = ("Expires", "Signature", "Key-Pair-Id")
"""The query parameters of a canned-policy signed URL, in the order CloudFront documents them."""

_TO_CLOUDFRONT = bytes.maketrans(b"+=/", b"-_~")
_FROM_CLOUDFRONT = bytes.maketrans(b"-_~", b"+=/")


class SigningKeyUnavailable(RuntimeError):
    """The signing key's secret is missing, unreadable or not an RSA 2048 private key."""


def canned_policy(url: str, expires: int) -> bytes:
    """CloudFront's canned policy for one URL: compact JSON, keys in the documented order."""
    statement = {"Resource": url, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}
    return json.dumps({"Statement": [statement]}, separators=(",", ":")).encode()


def cloudfront_b64encode(data: bytes) -> str:
    """Base64 with CloudFront's URL-safe substitutions: `+` to `-`, `=` to `_`, `/` to `~`."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_CLOUDFRONT).decode("ascii")


def cloudfront_b64decode(text: str) -> bytes:
    """The inverse of `cloudfront_b64encode`; ValueError for anything it could not have made."""
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError as error:
        raise ValueError("not CloudFront base64") from error
    if any(char in raw for char in b"+=/\n\r "):
        raise ValueError("not CloudFront base64")
    try:
        return binascii.a2b_base64(raw.translate(_FROM_CLOUDFRONT), strict_mode=True)
    except binascii.Error as error:
        raise ValueError("not CloudFront base64") from error


class SigningKeySecret:
    """The secret that holds the PEM private key; the caller reads it once and keeps the key."""

    def __init__(self, client: Callable[[], SecretsManagerClient], secret_id: str) -> None:
        self._client = client
        self._secret_id = secret_id

    def read(self) -> str:
        """The PEM; `StorageUnavailable` when AWS is, `SigningKeyUnavailable` for anything else."""
        try:
            with translate_aws_errors():
                secret = self._client().get_secret_value(SecretId=self._secret_id)
        except (ClientError, BotoCoreError) as error:
            raise SigningKeyUnavailable(
                f"the signing key's secret cannot be read: {error}"
            ) from None
        pem = secret.get("SecretString")
        if not pem:
            raise SigningKeyUnavailable("the signing key's secret holds no string")
        return pem


class UrlSigner:
    """Signs URLs for one CloudFront key pair with a canned policy, as CloudFront verifies them.

    `rsa_signer` signs a message with the pair's private key, RSA PKCS#1 v1.5 over SHA-1.
    """

    def __init__(self, key_pair_id: str, rsa_signer: Callable[[bytes], bytes]) -> None:
        self._key_pair_id = key_pair_id
        self._rsa_signer = rsa_signer

    @property
    def key_pair_id(self) -> str:
        return self._key_pair_id

    def sign(self, url: str, expires: int) -> str:
        """`url` with `Expires`, `Signature` and `Key-Pair-Id`: valid until `expires` (epoch s)."""
        signature = self._rsa_signer(canned_policy(url, expires))
        separator = "&" if "?" in url else "?"
        return (
            f"{url}{separator}Expires={expires}&Signature={cloudfront_b64encode(signature)}"
            f"&Key-Pair-Id={self._key_pair_id}"
        )


def invalidation_path(asset_id: str) -> str:
    """One path that covers every key an asset publishes (`<id>.png`, `<id>/thumb.webp`, ...).

    CloudFront bills a wildcard path as one path, however many objects it matches; asset ids are
    fixed-length UUIDs, so no other asset's key starts with this one's id.
    """
    return f"{CDN_ASSETS_PATH}{asset_id}*"


class AssetCdn:
    """The distribution in front of the bucket; without one (locally) there is nothing to do."""

    def __init__(self, client: Callable[[], CloudFrontClient], distribution_id: str) -> None:
        self._client = client
        self._distribution_id = distribution_id

    @property
    def enabled(self) -> bool:
        return bool(self._distribution_id)

    def invalidate_asset(self, asset_id: str) -> None:
        """Evict everything an asset published from every edge cache (an asynchronous job)."""
        if not self._distribution_id:
            return
        with translate_aws_errors():
            self._client().create_invalidation(
                DistributionId=self._distribution_id,
                InvalidationBatch={
                    "Paths": {"Quantity": 1, "Items": [invalidation_path(asset_id)]},
                    # Unique per call: a retried DELETE asks again rather than being refused.
                    "CallerReference": f"delete-{asset_id}-{uuid.uuid4().hex}",
                },
            )
