"""The asset bucket: every S3 operation on an asset's objects, and the URLs they are served at.

The twin of `repository.py`: the API signs upload forms and deletes through it, the worker reads
uploads, publishes and withdraws through it, and nothing else calls S3's object methods. Which
keys an asset owns is decided once, in `assets.model`; this module only acts on them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from assets.aws import error_code, translate_aws_errors
from assets.errors import StorageUnavailable, UploadRejected
from assets.model import PROCESSED_PREFIX, Asset, ImageType, RejectionReason, asset_keys

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CopySourceTypeDef

CACHE_CONTROL = "public, max-age=31536000, immutable"
"""Published keys are named by asset id and never rewritten with other bytes: cache for good."""

_MISSING = frozenset({"NoSuchKey", "NoSuchVersion", "404"})
_SOURCE_CHANGED = frozenset({"PreconditionFailed", "412"})
_DELETE_BATCH = 1000
"""S3's limit of keys per DeleteObjects request."""


class UploadMissing(Exception):
    """The object (or the exact version) named by the event is no longer in the bucket."""


class SourceChanged(Exception):
    """The original was replaced after it was validated; the copy was refused, nothing published."""


@dataclass(frozen=True, slots=True)
class SignedForm:
    """A SigV4 POST form that lets a browser put exactly one object, and its limits."""

    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int


@dataclass(frozen=True, slots=True)
class Upload:
    """An uploaded object read into memory, with what identifies this exact content."""

    key: str
    data: bytes
    etag: str
    version_id: str | None


class AssetBucket:
    """The private bucket's asset objects: upload forms, uploads, published output, deletion."""

    def __init__(self, client: S3Client, name: str) -> None:
        self._client = client
        self._name = name

    @property
    def client(self) -> S3Client:
        return self._client

    @property
    def name(self) -> str:
        return self._name

    def sign_upload_form(self, asset: Asset, *, max_bytes: int, ttl_seconds: int) -> SignedForm:
        """A SigV4 POST policy for exactly this bucket, key and type, 1..max_bytes, for ttl_seconds.

        botocore adds the `bucket`, exact `key`, algorithm, credential, date and (with temporary
        credentials) security-token conditions itself; this adds the type and the size range.
        Signing is local: no request is sent.
        """
        content_type = asset.image_type.value
        form = self._client.generate_presigned_post(
            Bucket=self._name,
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

    def read_upload(self, key: str, version_id: str | None, max_bytes: int) -> Upload:
        """The object's bytes, refused by size before any byte is read into memory."""
        request: dict[str, Any] = {"Bucket": self._name, "Key": key}
        if version_id:
            request["VersionId"] = version_id
        try:
            with translate_aws_errors():
                response = self._client.get_object(**request)
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

    def publish(self, key: str, data: bytes, content_type: str) -> None:
        """Write validated bytes to their published key; S3 checks them against our SHA-256."""
        _check_published(key)
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
        with translate_aws_errors():
            self._client.put_object(
                Bucket=self._name,
                Key=key,
                Body=data,
                ContentType=content_type,
                CacheControl=CACHE_CONTROL,
                ChecksumSHA256=digest,
            )

    def publish_copy(self, upload: Upload, key: str, image_type: ImageType) -> None:
        """Copy the validated original server-side, refusing if it changed since it was read."""
        _check_published(key)
        source: CopySourceTypeDef = {"Bucket": self._name, "Key": upload.key}
        if upload.version_id:
            source["VersionId"] = upload.version_id
        try:
            with translate_aws_errors():
                self._client.copy_object(
                    Bucket=self._name,
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

    def delete_asset(self, asset_id: str, image_type: ImageType) -> None:
        """Remove every object of an asset: its original and all it published. Idempotent."""
        self.delete_keys(asset_keys(asset_id, image_type))

    def delete_version(self, key: str, version_id: str) -> None:
        """Remove one version of a key for good (no delete marker); a missing one is no error."""
        with translate_aws_errors():
            self._client.delete_object(Bucket=self._name, Key=key, VersionId=version_id)

    def delete_keys(self, keys: Iterable[str]) -> None:
        """Remove these keys (delete markers in a versioned bucket); missing keys are no error.

        Raises `StorageUnavailable` if S3 could not delete one of them: a retry can finish.
        """
        pending = list(dict.fromkeys(keys))
        for start in range(0, len(pending), _DELETE_BATCH):
            batch = pending[start : start + _DELETE_BATCH]
            with translate_aws_errors():
                response = self._client.delete_objects(
                    Bucket=self._name,
                    Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                )
            failed = response.get("Errors") or []
            if failed:
                names = ", ".join(str(item.get("Key")) for item in failed[:3])
                raise StorageUnavailable(f"S3 did not delete {len(failed)} object(s): {names}")


class AssetUrls:
    """Where the CDN serves published keys: `/assets/<name>` is `processed/assets/<name>`."""

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url.rstrip("/")

    def url_for(self, key: str) -> str:
        """The CDN URL of a published key."""
        _check_published(key)
        return f"{self._base_url}/{key[len(PROCESSED_PREFIX) :]}"


def policy_expiration(policy: str) -> datetime:
    """The moment S3 stops accepting a form, read from its own signed policy."""
    document = json.loads(base64.b64decode(policy))
    return datetime.fromisoformat(document["expiration"].replace("Z", "+00:00"))


def _check_published(key: str) -> None:
    # Only validated output lives under processed/: nothing else may be written or linked there.
    if not key.startswith(PROCESSED_PREFIX):
        raise ValueError(f"{key!r} is not a published key")


def _too_large(size: int, max_bytes: int) -> UploadRejected:
    return UploadRejected(
        RejectionReason.TOO_LARGE,
        f"The file is {size:,} bytes; at most {max_bytes:,} bytes are accepted.",
    )
