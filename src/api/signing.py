"""The RSA half of CloudFront URL signing: the private key, parsed once, and RSA-SHA1 with it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from assets.cdn import SigningKeyUnavailable

KEY_SIZE = 2048
"""CloudFront accepts RSA keys of exactly this size for signed URLs."""


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


class RsaSha1Signer:
    """`assets.cdn.UrlSigner`'s RSA step, with the key read on first use, once per process."""

    def __init__(self, read_pem: Callable[[], str]) -> None:
        self._read_pem = read_pem
        self._key: rsa.RSAPrivateKey | None = None
        self._lock = threading.Lock()

    def key(self) -> rsa.RSAPrivateKey:
        key = self._key
        if key is None:
            with self._lock:
                key = self._key
                if key is None:
                    # A failed read is not kept: the next request tries again.
                    key = self._key = load_signing_key(self._read_pem())
        return key

    def __call__(self, message: bytes) -> bytes:
        return self.key().sign(
            message,
            padding.PKCS1v15(),
            hashes.SHA1(),  # noqa: S303 - CloudFront's signed URLs are RSA-SHA1, nothing else
        )
