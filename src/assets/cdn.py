"""CloudFront's side of delivery: signed URLs (canned policy, RSA-SHA1) and invalidating deletions.

A signed URL is CloudFront's canned policy for exactly one URL and one expiry, signed with the
private key whose public half is in the distribution's trusted key group. The private key lives
in a secret; `SecretSigningKey` reads it once per process, on the first URL it signs.
"""

from __future__ import annotations

import binascii
import json
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from assets.aws import translate_aws_errors

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

CDN_ASSETS_PATH = "/assets/"
"""The distribution's behaviour for published keys: `/assets/<name>` is `processed/assets/<name>`."""
SIGNED_URL_PARAMETERS = ("Expires", "Signature", "Key-Pair-Id")
"""The query parameters of a canned-policy signed URL, in the order CloudFront documents them."""
KEY_SIZE = 2048
"""CloudFront accepts RSA keys of exactly this size for signed URLs."""

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


def load_signing_key(pem: str) -> rsa.RSAPrivateKey:
    """An unencrypted PEM private key, refused unless it is the RSA 2048 CloudFront needs."""
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        # Never the key material in a message or a log line.
        raise SigningKeyUnavailable("the signing key is not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != KEY_SIZE:
        raise SigningKeyUnavailable(f"the signing key must be RSA {KEY_SIZE}")
    return key


class SecretSigningKey:
    """The private key in a Secrets Manager secret, read once per process on first use."""

    def __init__(self, client: Callable[[], SecretsManagerClient], secret_id: str) -> None:
        self._client = client
        self._secret_id = secret_id
        self._key: rsa.RSAPrivateKey | None = None
        self._lock = threading.Lock()

    def __call__(self) -> rsa.RSAPrivateKey:
        key = self._key
        if key is None:
            with self._lock:
                key = self._key
                if key is None:
                    key = self._key = self._read()
        return key

    def _read(self) -> rsa.RSAPrivateKey:
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
        return load_signing_key(pem)


class UrlSigner:
    """Signs URLs for one CloudFront key pair with a canned policy, as CloudFront verifies them."""

    def __init__(self, key_pair_id: str, private_key: Callable[[], rsa.RSAPrivateKey]) -> None:
        self._key_pair_id = key_pair_id
        self._private_key = private_key

    @property
    def key_pair_id(self) -> str:
        return self._key_pair_id

    def sign(self, url: str, expires: int) -> str:
        """`url` with `Expires`, `Signature` and `Key-Pair-Id`: valid until `expires` (epoch s)."""
        signature = self._private_key().sign(
            canned_policy(url, expires),
            padding.PKCS1v15(),
            hashes.SHA1(),  # noqa: S303 - CloudFront's signed URLs are RSA-SHA1, nothing else
        )
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
