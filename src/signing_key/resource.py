"""The custom resource behind `AssetsSigningKey`: an RSA key pair whose private half never leaves
Secrets Manager, and whose public half CloudFormation hands to `AWS::CloudFront::PublicKey`.

Create and Update keep the key already in the secret when there is one (an Update, or a retried
Create, must not replace a key CloudFront trusts), and otherwise generate one and store it.
Delete does nothing: the secret is the template's own resource and goes with it. The local
stack calls `ensure_signing_key` too, against moto, so both get their key the same way.
"""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

KEY_SIZE = 2048
"""CloudFront accepts RSA keys of exactly this size for signed URLs."""
RESPONSE_TIMEOUT_SECONDS = 10

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)


@dataclass(frozen=True, slots=True)
class PublicSigningKey:
    """What CloudFront may know of the key: the public PEM and a fingerprint of it."""

    public_key_pem: str
    fingerprint: str
    """SHA-256 of the DER public key, hex: stable for a key, new for a new key."""


def ensure_signing_key(secretsmanager: SecretsManagerClient, secret_id: str) -> PublicSigningKey:
    """The public half of the key in `secret_id`, generating and storing a key if it has none."""
    key = _stored_key(secretsmanager, secret_id)
    if key is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
        secretsmanager.put_secret_value(SecretId=secret_id, SecretString=pem)
    return public_signing_key(key)


def public_signing_key(key: rsa.RSAPrivateKey) -> PublicSigningKey:
    public = key.public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    return PublicSigningKey(public_key_pem=pem, fingerprint=hashlib.sha256(der).hexdigest())


def _stored_key(secretsmanager: SecretsManagerClient, secret_id: str) -> rsa.RSAPrivateKey | None:
    """The secret's key; None when it has no value yet or a placeholder instead of a key.

    Any other failure to read propagates: a key must never be replaced because of a throttled
    or refused read.
    """
    try:
        value = secretsmanager.get_secret_value(SecretId=secret_id).get("SecretString", "")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    try:
        key = serialization.load_pem_private_key(value.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        return None
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size == KEY_SIZE:
        return key
    return None


# --- the Lambda handler ----------------------------------------------------------------------

_client: SecretsManagerClient | None = None


def _secretsmanager() -> SecretsManagerClient:
    global _client  # one client per process, built on first use
    if _client is None:
        import boto3

        _client = boto3.client("secretsmanager")
    return _client


def handler(event: dict[str, Any], context: Any) -> None:
    """CloudFormation's request in, its answer PUT to the pre-signed ResponseURL; never raises."""
    request_type = str(event.get("RequestType"))
    logical_id = str(event.get("LogicalResourceId"))
    # The event's ResponseURL is a credential of sorts: log what it is about, not the event.
    logger.info("signing key %s for %s", request_type, logical_id)
    physical_id = str(event.get("PhysicalResourceId") or f"{logical_id}-not-created")
    data: dict[str, str] = {}
    try:
        if request_type in ("Create", "Update"):
            key = ensure_signing_key(
                _secretsmanager(), str(event["ResourceProperties"]["SecretId"])
            )
            physical_id = f"signing-key-{key.fingerprint[:32]}"
            data = {"PublicKeyPem": key.public_key_pem, "Fingerprint": key.fingerprint}
        status, reason = "SUCCESS", "ok"
    except Exception as error:  # any failure must still answer, or the stack waits an hour
        logger.exception("signing key %s failed", request_type)
        status, reason = "FAILED", f"{type(error).__name__}: {error}"[:500]
    respond(event, status, reason, physical_id, data)


def respond(
    event: dict[str, Any], status: str, reason: str, physical_id: str, data: dict[str, str]
) -> None:
    url = str(event["ResponseURL"])
    if not url.startswith("https://"):
        raise ValueError("CloudFormation's ResponseURL must be https")
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason,
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": False,
            "Data": data,
        }
    ).encode()
    # The pre-signed URL was signed without a content type: send none.
    request = urllib.request.Request(  # noqa: S310 - https only, checked above
        url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=RESPONSE_TIMEOUT_SECONDS) as response:  # noqa: S310
        response.read()
