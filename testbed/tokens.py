"""Tokens for tests: moto's Cognito signs with a fixed RSA key; these helpers sign with it too."""

from __future__ import annotations

import time
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt
from moto.utilities.utils import load_resource

MOTO_KID = "dummy"


def moto_public_jwks() -> dict[str, Any]:
    """The JWKS moto's Cognito serves at `/<pool>/.well-known/jwks.json`."""
    document: dict[str, Any] = load_resource("cognitoidp/resources/jwks-public.json")
    return document


def moto_private_jwk() -> dict[str, Any]:
    document: dict[str, Any] = load_resource("cognitoidp/resources/jwks-private.json")
    return document


def foreign_private_pem() -> bytes:
    """An RSA key that no JWKS publishes."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class TokenForge:
    """Signs Cognito-shaped tokens with moto's key, so each claim can be bent in one test."""

    def __init__(self, region: str, pool_id: str, client_id: str) -> None:
        self.issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"
        self.client_id = client_id

    def claims(self, token_use: str = "id", **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": "8f1c6c1e-0000-4000-8000-000000000001",
            "iss": self.issuer,
            "token_use": token_use,
            "iat": now,
            "auth_time": now,
            "exp": now + 3600,
        }
        claims["aud" if token_use == "id" else "client_id"] = self.client_id
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not _DROP}

    def sign(
        self,
        claims: dict[str, Any],
        *,
        key: Any = None,
        algorithm: str = "RS256",
        headers: dict[str, Any] | None = None,
    ) -> str:
        token: str = jwt.encode(
            claims,
            key if key is not None else moto_private_jwk(),
            algorithm=algorithm,
            headers={"kid": MOTO_KID} if headers is None else headers,
        )
        return token


_DROP = object()
DROP: Any = _DROP
"""Pass as a claim's value to leave the claim out."""
