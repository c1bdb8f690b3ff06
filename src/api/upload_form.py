"""The signed S3 POST form: the only way bytes reach the bucket, constrained by its policy."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from assets.model import Asset

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True, slots=True)
class SignedForm:
    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int


def sign_upload_form(
    s3: S3Client, *, bucket: str, asset: Asset, max_bytes: int, ttl_seconds: int
) -> SignedForm:
    """A SigV4 POST policy for exactly this bucket, key and type, 1..max_bytes, for ttl_seconds.

    botocore adds the `bucket`, exact `key`, algorithm, credential, date and (with temporary
    credentials) security-token conditions itself; this adds the type and the size range.
    """
    content_type = asset.image_type.value
    form = s3.generate_presigned_post(
        Bucket=bucket,
        Key=asset.source_key,
        Fields={"Content-Type": content_type},
        Conditions=[
            ["eq", "$Content-Type", content_type],
            ["content-length-range", 1, max_bytes],
        ],
        ExpiresIn=ttl_seconds,
    )
    fields = {name: str(value) for name, value in form["fields"].items()}
    return SignedForm(
        url=form["url"],
        fields=fields,
        expires_at=policy_expiration(fields["policy"]),
        max_bytes=max_bytes,
    )


def policy_expiration(policy: str) -> datetime:
    """The moment S3 stops accepting a form, read from its own signed policy."""
    document = json.loads(base64.b64decode(policy))
    return datetime.fromisoformat(document["expiration"].replace("Z", "+00:00"))
