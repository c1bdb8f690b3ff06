"""What the local stack does in CloudFront's place for signed delivery.

At start it makes the URL-signing key pair the way `sam deploy` does (the same
`signing_key.resource.ensure_signing_key`, against moto's Secrets Manager), so the API reads its
key from a secret by ARN exactly as in AWS. The local CDN then checks every `/assets/*` request
as a distribution with a trusted key group does: a canned policy (`Expires`, `Signature`,
`Key-Pair-Id`) for exactly the requested URL, RSA-SHA1 over the policy's JSON, CloudFront's
URL-safe base64, a known key pair id and an `Expires` still in the future; anything else is 403.
Custom policies (`Policy=`) are refused too: the API never issues them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from assets.cdn import SIGNED_URL_PARAMETERS, canned_policy, cloudfront_b64decode
from assets.settings import ApiSettings
from signing_key.resource import ensure_signing_key

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

SIGNING_KEY_SECRET = "local-cloudfront-signing-key"  # noqa: S105 - a name, not a value
DELIVERY_SETTINGS = ("ASSET_DELIVERY", "SIGNED_URL_TTL_SECONDS")
"""Settings a developer may set in the environment of `make dev`; they reach the API and CDN."""
_MAX_EXPIRES_DIGITS = 12


@dataclass(frozen=True, slots=True)
class LocalSigningKey:
    """The local key pair: where the API finds the private key, and what the CDN trusts."""

    secret_arn: str
    key_pair_id: str
    public_key_pem: str


def provision_signing_key(
    secretsmanager: SecretsManagerClient, name: str = SIGNING_KEY_SECRET
) -> LocalSigningKey:
    """A secret like the template's (no key yet), filled as the custom resource fills it."""
    arn = secretsmanager.create_secret(
        Name=name, Description="The private key local signed image URLs are signed with."
    )["ARN"]
    public = ensure_signing_key(secretsmanager, arn)
    # CloudFront's ids look like this (K + 13 capitals and digits); derived from the key.
    key_pair_id = "K" + public.fingerprint[:13].upper()
    return LocalSigningKey(arn, key_pair_id, public.public_key_pem)


def delivery_settings(parent: Mapping[str, str]) -> dict[str, str]:
    """`ASSET_DELIVERY` and `SIGNED_URL_TTL_SECONDS` as the developer's environment sets them
    (the settings' defaults otherwise), checked by the settings' own rules; ValueError naming the
    variable when a value would not load."""
    chosen = {
        name: parent[name].strip() for name in DELIVERY_SETTINGS if parent.get(name, "").strip()
    }
    try:
        settings = ApiSettings.model_validate({**_CHECK_ONLY, **chosen})
    except ValidationError as error:
        detail = error.errors()[0]
        name = ".".join(str(part) for part in detail["loc"])
        raise ValueError(
            f"{name}={chosen.get(name)!r} in the environment: {detail['msg']}"
        ) from None
    return {name: str(getattr(settings, name)) for name in DELIVERY_SETTINGS}


_CHECK_ONLY = {
    "AWS_REGION": "us-east-1",
    "ASSETS_TABLE_NAME": "t",
    "ASSET_BUCKET_NAME": "b",
    "ASSET_BASE_URL": "http://127.0.0.1/assets",
    "COGNITO_USER_POOL_ID": "us-east-1_x",
    "COGNITO_CLIENT_ID": "c",
    "CLOUDFRONT_KEY_SECRET_ARN": "arn",
    "CLOUDFRONT_KEY_PAIR_ID": "K",
}
"""The other settings, only so that the delivery ones are checked by ApiSettings itself."""


def api_delivery_environment(key: LocalSigningKey, delivery: Mapping[str, str]) -> dict[str, str]:
    """The API's delivery variables locally: the key by ARN as in AWS, and no CDN to invalidate."""
    return {
        "CLOUDFRONT_KEY_SECRET_ARN": key.secret_arn,
        "CLOUDFRONT_KEY_PAIR_ID": key.key_pair_id,
        "CDN_DISTRIBUTION_ID": "",
        **delivery,
    }


# --- the check -------------------------------------------------------------------------------


class SignatureRefused(Exception):
    """The request does not carry a valid signature for its own URL; the reason, for the log."""


class SignedUrlVerifier:
    """CloudFront's check of a canned-policy signed URL, against the trusted public keys."""

    def __init__(
        self,
        trusted_keys: Mapping[str, rsa.RSAPublicKey],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = dict(trusted_keys)
        self._clock = clock

    @classmethod
    def from_pem(cls, key_pair_id: str, public_key_pem: str) -> SignedUrlVerifier:
        key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("the trusted key must be an RSA public key")
        return cls({key_pair_id: key})

    def verify(self, url: str, query: Sequence[str]) -> None:
        """Raise SignatureRefused unless `query` (raw `name=value` parts) signs `url` + the rest.

        The signed resource is the URL as requested with the three signature parameters taken
        out and every other parameter kept in place, as CloudFront rebuilds it.
        """
        found: dict[str, str] = {}
        rest: list[str] = []
        for part in query:
            name, _, value = part.partition("=")
            name = unquote(name)
            if name == "Policy":
                raise SignatureRefused("custom policies are not accepted")
            if name in SIGNED_URL_PARAMETERS:
                if name in found:
                    raise SignatureRefused(f"{name} is given twice")
                found[name] = unquote(value)
            else:
                rest.append(part)
        missing = [name for name in SIGNED_URL_PARAMETERS if name not in found]
        if missing:
            raise SignatureRefused(f"missing {', '.join(missing)}")
        key = self._keys.get(found["Key-Pair-Id"])
        if key is None:
            raise SignatureRefused("unknown Key-Pair-Id")
        expires_text = found["Expires"]
        if not (expires_text.isascii() and expires_text.isdigit()) or len(expires_text) > (
            _MAX_EXPIRES_DIGITS
        ):
            raise SignatureRefused("Expires is not an epoch time")
        try:
            signature = cloudfront_b64decode(found["Signature"])
        except ValueError:
            raise SignatureRefused("Signature is not CloudFront base64") from None
        resource = url + ("?" + "&".join(rest) if rest else "")
        try:
            key.verify(
                signature,
                canned_policy(resource, int(expires_text)),
                padding.PKCS1v15(),
                hashes.SHA1(),  # noqa: S303 - CloudFront's signed URLs are RSA-SHA1
            )
        except InvalidSignature:
            raise SignatureRefused("the signature does not match this URL and expiry") from None
        if int(expires_text) <= self._clock():
            raise SignatureRefused("the URL has expired")


def refused_signature(request: Request, verifier: SignedUrlVerifier) -> Response | None:
    """The CDN route's hook: a 403 like CloudFront's for a request without a valid signature."""
    # The URL as the client asked for it, without the query: Host header, raw path.
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    host = request.headers.get("host", "")
    url = f"{request.url.scheme}://{host}{raw_path.decode('latin-1')}"
    query = request.scope.get("query_string", b"").decode("latin-1")
    try:
        verifier.verify(url, [part for part in query.split("&") if part])
    except SignatureRefused as refused:
        return PlainTextResponse(f"Access denied: {refused}", status_code=403)
    return None
