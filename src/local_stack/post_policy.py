"""S3's checks on a browser POST upload, which moto skips: signature, expiry, conditions, size.

In AWS the signed policy, not the browser, decides what may be uploaded: the exact key, the
type, the size range and the deadline. moto stores whatever it is sent, so locally a broken
policy would go unnoticed until the first deploy; the local stack runs these checks in front of
moto instead. Pure functions over the parsed form, so they are tested without a server.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_OBJECT_BYTES = 5 * 1024**3
"""S3's own ceiling for a single POST, whatever the policy says."""

_UNSIGNED_FIELDS = frozenset({"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file"})
"""Fields S3 never requires a condition for (the signature cannot sign itself)."""


class PostPolicyError(Exception):
    """The upload S3 would refuse, with the status and error code it would answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class PostForm:
    """A multipart POST as S3 reads it: the fields before the file, then the file."""

    fields: Sequence[tuple[str, str]]
    file_name: str | None
    file_size: int | None
    """None when the form has no `file` part."""

    def field(self, name: str) -> str | None:
        """The first value of a field, matched case-insensitively as S3 does."""
        wanted = name.lower()
        return next((value for key, value in self.fields if key.lower() == wanted), None)


@dataclass(frozen=True, slots=True)
class AcceptedUpload:
    """What S3 would store: the key (after `${filename}`) and the caller's access key."""

    key: str
    access_key_id: str


def verify_post(
    form: PostForm, *, bucket: str, secrets: Mapping[str, str], now: datetime
) -> AcceptedUpload:
    """Check a POST upload as S3 does; raise `PostPolicyError` with S3's answer if it would refuse.

    `secrets` maps the access key ids this endpoint knows to their secret keys.
    """
    if form.file_size is None:
        raise PostPolicyError(400, "InvalidArgument", "POST requires exactly one file upload.")
    raw_key = form.field("key")
    if raw_key is None:
        raise PostPolicyError(
            400, "InvalidArgument", "Bucket POST must contain a field named 'key'."
        )
    key = raw_key.replace("${filename}", form.file_name or "")
    policy_b64 = form.field("policy")
    if policy_b64 is None:
        # Without a policy the request is anonymous, and the bucket is private.
        raise PostPolicyError(403, "AccessDenied", "Access Denied")
    access_key_id = _verify_signature(form, policy_b64, secrets)
    policy = _decode_policy(policy_b64)
    _check_expiration(policy, now)
    values = {name.lower(): value for name, value in reversed(form.fields)}
    values["key"] = key
    values["bucket"] = bucket
    covered = _check_conditions(policy["conditions"], values, form.file_size)
    extra = sorted(
        name
        for name, _ in form.fields
        if name.lower() not in _UNSIGNED_FIELDS
        and not name.lower().startswith("x-ignore-")
        and name.lower() not in covered
    )
    if extra:
        raise PostPolicyError(
            403,
            "AccessDenied",
            "Invalid according to Policy: Extra input fields: " + ", ".join(extra),
        )
    if form.file_size > MAX_OBJECT_BYTES:
        raise PostPolicyError(
            400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
        )
    return AcceptedUpload(key=key, access_key_id=access_key_id)


def _verify_signature(form: PostForm, policy_b64: str, secrets: Mapping[str, str]) -> str:
    algorithm = form.field("x-amz-algorithm")
    if algorithm is not None:
        return _verify_sigv4(form, algorithm, policy_b64, secrets)
    access_key_id = form.field("AWSAccessKeyId")
    signature = form.field("signature")
    if access_key_id is None or signature is None:
        raise PostPolicyError(
            400, "InvalidArgument", "Bucket POST must contain a signature for its policy."
        )
    secret = _secret_for(access_key_id, secrets)
    expected = base64.b64encode(
        hmac.new(secret.encode(), policy_b64.encode(), hashlib.sha1).digest()
    ).decode()
    _compare(expected, signature)
    return access_key_id


def _verify_sigv4(
    form: PostForm, algorithm: str, policy_b64: str, secrets: Mapping[str, str]
) -> str:
    if algorithm != "AWS4-HMAC-SHA256":
        raise PostPolicyError(400, "InvalidArgument", f"Unsupported x-amz-algorithm: {algorithm}")
    credential = form.field("x-amz-credential")
    signature = form.field("x-amz-signature")
    if credential is None or signature is None or form.field("x-amz-date") is None:
        raise PostPolicyError(
            400,
            "InvalidArgument",
            "Bucket POST must contain x-amz-credential, x-amz-date and x-amz-signature.",
        )
    parts = credential.split("/")
    if len(parts) != 5 or parts[3] != "s3" or parts[4] != "aws4_request":
        raise PostPolicyError(400, "InvalidArgument", f"Malformed x-amz-credential: {credential}")
    access_key_id, date, region, service, terminator = parts
    secret = _secret_for(access_key_id, secrets)
    signing_key = f"AWS4{secret}".encode()
    for part in (date, region, service, terminator):
        signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(signing_key, policy_b64.encode(), hashlib.sha256).hexdigest()
    _compare(expected, signature)
    return access_key_id


def _secret_for(access_key_id: str, secrets: Mapping[str, str]) -> str:
    secret = secrets.get(access_key_id)
    if secret is None:
        raise PostPolicyError(
            403,
            "InvalidAccessKeyId",
            f"The AWS Access Key Id you provided does not exist in our records: {access_key_id}",
        )
    return secret


def _compare(expected: str, given: str) -> None:
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise PostPolicyError(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )


def _decode_policy(policy_b64: str) -> dict[str, Any]:
    try:
        document = json.loads(base64.b64decode(policy_b64, validate=True))
    except (binascii.Error, ValueError) as error:
        raise PostPolicyError(
            400, "InvalidPolicyDocument", f"Invalid Policy: not base64-encoded JSON ({error})"
        ) from error
    if (
        not isinstance(document, dict)
        or not isinstance(document.get("expiration"), str)
        or not isinstance(document.get("conditions"), list)
    ):
        raise PostPolicyError(
            400,
            "InvalidPolicyDocument",
            "Invalid Policy: it must be an object with an expiration and a list of conditions.",
        )
    return document


def _check_expiration(policy: Mapping[str, Any], now: datetime) -> None:
    try:
        expiration = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
    except ValueError as error:
        raise PostPolicyError(
            400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value."
        ) from error
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    if now >= expiration:
        raise PostPolicyError(403, "AccessDenied", "Invalid according to Policy: Policy expired.")


def _check_conditions(
    conditions: Sequence[Any], values: Mapping[str, str], file_size: int
) -> set[str]:
    """Every condition must hold; returns the (lowercase) field names the conditions cover."""
    covered: set[str] = set()
    for condition in conditions:
        operator, name, expected = _normalise(condition)
        if operator == "content-length-range":
            low, high = expected
            if file_size < low:
                raise PostPolicyError(
                    400,
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed size",
                )
            if file_size > high:
                raise PostPolicyError(
                    400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
                )
            continue
        covered.add(name)
        actual = values.get(name)
        holds = actual is not None and (
            actual == expected if operator == "eq" else actual.startswith(expected)
        )
        if not holds:
            raise PostPolicyError(
                403,
                "AccessDenied",
                f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}",
            )
    return covered


def _normalise(condition: Any) -> tuple[str, str, Any]:
    """A condition as (operator, lowercase field name, expected value)."""
    if isinstance(condition, dict) and len(condition) == 1:
        ((name, expected),) = condition.items()
        return "eq", str(name).lower(), str(expected)
    if isinstance(condition, list) and len(condition) == 3:
        operator = str(condition[0]).lower()
        if operator == "content-length-range":
            try:
                low, high = int(condition[1]), int(condition[2])
            except (TypeError, ValueError):
                pass
            else:
                return operator, "", (low, high)
        elif operator in ("eq", "starts-with") and str(condition[1]).startswith("$"):
            return operator, str(condition[1])[1:].lower(), str(condition[2])
    raise PostPolicyError(
        400,
        "InvalidPolicyDocument",
        f"Invalid Policy: Invalid Condition: {json.dumps(condition)}",
    )
