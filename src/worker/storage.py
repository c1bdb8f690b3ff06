"""The worker's S3 operations: read an upload within bounds, publish, withdraw."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from assets.aws import error_code, translate_aws_errors
from assets.errors import StorageUnavailable, UploadRejected
from assets.model import ImageType, RejectionReason

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CopySourceTypeDef

CACHE_CONTROL = "public, max-age=31536000, immutable"
"""Published keys are named by asset id and never rewritten with other bytes: cache for good."""

_MISSING = frozenset({"NoSuchKey", "NoSuchVersion", "404"})
_SOURCE_CHANGED = frozenset({"PreconditionFailed", "412"})


class UploadMissing(Exception):
    """The object (or the exact version) named by the event is no longer in the bucket."""


class SourceChanged(Exception):
    """The original was replaced after it was validated; the copy was refused, nothing published."""


@dataclass(frozen=True, slots=True)
class Upload:
    """An uploaded object read into memory, with what identifies this exact content."""

    key: str
    data: bytes
    etag: str
    version_id: str | None


def read_upload(
    s3: S3Client, bucket: str, key: str, version_id: str | None, max_bytes: int
) -> Upload:
    """The object's bytes, refused by size before any byte is read into memory."""
    request: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        request["VersionId"] = version_id
    try:
        with translate_aws_errors():
            response = s3.get_object(**request)
    except ClientError as error:
        if error_code(error) in _MISSING:
            raise UploadMissing(f"{key} ({version_id or 'current version'})") from error
        raise
    body = response["Body"]
    try:
        length = response.get("ContentLength")
        if length == 0:
            raise UploadRejected(RejectionReason.EMPTY_FILE, "The file is empty.")
        if length is not None and length > max_bytes:
            raise _too_large(length, max_bytes)
        with translate_aws_errors():
            # Bounded even when an S3-compatible engine misreports the length.
            data = body.read(max_bytes + 1)
    finally:
        body.close()
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes)
    if length is not None and len(data) != length:
        raise StorageUnavailable(f"read {len(data)} of {length} bytes of {key}")
    if not data:
        raise UploadRejected(RejectionReason.EMPTY_FILE, "The file is empty.")
    return Upload(key, data, response.get("ETag", ""), response.get("VersionId") or version_id)


def _too_large(size: int, max_bytes: int) -> UploadRejected:
    return UploadRejected(
        RejectionReason.TOO_LARGE,
        f"The file is {size:,} bytes; at most {max_bytes:,} bytes are accepted.",
    )


def put_published(s3: S3Client, bucket: str, key: str, data: bytes, image_type: ImageType) -> None:
    """Write re-encoded bytes to their public key; S3 checks them against our SHA-256."""
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
    with translate_aws_errors():
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=data,
            ContentType=image_type.value,
            CacheControl=CACHE_CONTROL,
            ChecksumSHA256=digest,
        )


def copy_published(
    s3: S3Client, bucket: str, upload: Upload, key: str, image_type: ImageType
) -> None:
    """Copy the validated original server-side, refusing if it changed since it was read."""
    source: CopySourceTypeDef = {"Bucket": bucket, "Key": upload.key}
    if upload.version_id:
        source["VersionId"] = upload.version_id
    try:
        with translate_aws_errors():
            s3.copy_object(
                Bucket=bucket,
                Key=key,
                CopySource=source,
                CopySourceIfMatch=upload.etag,
                # The uploader's metadata and Content-Type stay behind; ours are from the bytes.
                MetadataDirective="REPLACE",
                ContentType=image_type.value,
                CacheControl=CACHE_CONTROL,
            )
    except ClientError as error:
        if error_code(error) in _SOURCE_CHANGED:
            raise SourceChanged(upload.key) from error
        raise


def delete_object(s3: S3Client, bucket: str, key: str) -> None:
    """Remove a key (a delete marker in a versioned bucket); a missing key is not an error."""
    with translate_aws_errors():
        s3.delete_object(Bucket=bucket, Key=key)
