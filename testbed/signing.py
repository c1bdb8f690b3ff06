"""CloudFront signing keys for tests, and a check of signed URLs that shares no code with ours."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

KEY_PAIR_ID = "K2JCJMDEHXQW5F"


@cache
def signing_key() -> rsa.RSAPrivateKey:
    """One RSA 2048 key per test session (generating one takes a good fraction of a second)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def other_signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def store_signing_key(
    secretsmanager: SecretsManagerClient, name: str, key: rsa.RSAPrivateKey | None = None
) -> str:
    """A secret holding the key's PEM, as the deployed custom resource leaves it; its ARN."""
    created = secretsmanager.create_secret(
        Name=name, SecretString=private_pem(key or signing_key())
    )
    return created["ARN"]


def rsa_signer(key: rsa.RSAPrivateKey | None = None) -> Callable[[bytes], bytes]:
    """RSA PKCS#1 v1.5 over SHA-1 with the key, straight from `cryptography`."""
    chosen = key or signing_key()

    def sign(message: bytes) -> bytes:
        return chosen.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront's

    return sign


def botocore_signer(key: rsa.RSAPrivateKey | None = None) -> CloudFrontSigner:
    """botocore's own CloudFront signer: its policy, its encoding, its URL layout."""
    return CloudFrontSigner(KEY_PAIR_ID, rsa_signer(key))


def check_signed_url(url: str, key: rsa.RSAPrivateKey | None = None) -> tuple[str, datetime]:
    """The resource and expiry a signed URL was signed for, after checking its signature.

    Rebuilt the way CloudFront documents it (botocore's canned policy over the URL without the
    three signature parameters; CloudFront's base64 alphabet decoded by hand), so a mistake in
    our signer cannot be mirrored here.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    names = [name for name, _ in query]
    assert names[-3:] == ["Expires", "Signature", "Key-Pair-Id"], names
    values = dict(query)
    assert values["Key-Pair-Id"] == KEY_PAIR_ID
    rest = "&".join(f"{name}={value}" for name, value in query[:-3])
    resource = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, ""))
    expires = datetime.fromtimestamp(int(values["Expires"]), UTC)
    policy = botocore_signer(key).build_policy(resource, expires).encode()
    signature = base64.b64decode(
        values["Signature"].replace("-", "+").replace("_", "=").replace("~", "/"), validate=True
    )
    (key or signing_key()).public_key().verify(
        signature,
        policy,
        padding.PKCS1v15(),
        hashes.SHA1(),  # noqa: S303 - CloudFront's
    )
    return resource, expires
