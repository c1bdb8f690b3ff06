"""What an asset is: its record, its states and where its bytes live."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

SOURCE_PREFIX = "uploads/originals/"
PROCESSED_PREFIX = "processed/assets/"
OWNER_INDEX_NAME = "byOwnerCreatedAt"
"""The table's GSI: partition `ownerId`, sort `createdAt`; the template declares the same name."""

RECORD_TTL_SECONDS = 24 * 60 * 60

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
_ASSET_ID = re.compile(rf"\A{_UUID}\Z")
_SOURCE_KEY = re.compile(rf"\A{re.escape(SOURCE_PREFIX)}(?P<asset_id>{_UUID})\.(?P<ext>png|jpg)\Z")


class AssetStatus(StrEnum):
    """The states of an asset record; `EXPIRED` is only ever read, never stored."""

    UPLOADING = "uploading"
    PROCESSING = "processing"
    READY = "ready"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        return self in (AssetStatus.READY, AssetStatus.REJECTED)


class ImageType(StrEnum):
    """The image types the product accepts, by MIME type."""

    PNG = "image/png"
    JPEG = "image/jpeg"

    @property
    def extension(self) -> str:
        return "png" if self is ImageType.PNG else "jpg"

    @classmethod
    def from_extension(cls, extension: str) -> ImageType:
        return {"png": cls.PNG, "jpg": cls.JPEG}[extension]


def is_asset_id(value: str) -> bool:
    """True for a server-issued asset id: a lowercase canonical UUID4."""
    return _ASSET_ID.match(value) is not None


def source_key(asset_id: str, image_type: ImageType) -> str:
    """Where the browser's signed form puts the original bytes."""
    return f"{SOURCE_PREFIX}{asset_id}.{image_type.extension}"


def processed_key(asset_id: str, image_type: ImageType) -> str:
    """Where the validated bytes are published (CloudFront serves `/assets/*` from here)."""
    return f"{PROCESSED_PREFIX}{asset_id}.{image_type.extension}"


def published_keys(asset_id: str, image_type: ImageType) -> tuple[str, ...]:
    """Every key the worker may publish for an asset (what the CDN can serve of it)."""
    return (processed_key(asset_id, image_type),)


def asset_keys(asset_id: str, image_type: ImageType) -> tuple[str, ...]:
    """Every object an asset can own: the original and all it publishes."""
    return (source_key(asset_id, image_type), *published_keys(asset_id, image_type))


@dataclass(frozen=True, slots=True)
class SourceObject:
    """An upload key parsed back into the asset it belongs to."""

    asset_id: str
    image_type: ImageType


def parse_source_key(key: str) -> SourceObject | None:
    """The asset an `uploads/originals/<uuid>.<png|jpg>` key names, or None for any other key."""
    match = _SOURCE_KEY.match(key)
    if match is None:
        return None
    return SourceObject(match["asset_id"], ImageType.from_extension(match["ext"]))


def isoformat(moment: datetime) -> str:
    """UTC timestamps as stored: millisecond precision, `Z` suffix, so they sort as strings."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_seconds(moment: datetime) -> int:
    return int(moment.timestamp())


@dataclass(frozen=True, slots=True)
class Asset:
    """One asset record as stored in DynamoDB."""

    asset_id: str
    owner_id: str
    status: AssetStatus
    image_type: ImageType
    created_at: str
    updated_at: str
    expires_at: int | None = None
    upload_expires_at: int | None = None
    lease_token: str | None = None
    lease_expires_at: int | None = None
    source_version_id: str | None = None
    """The version of the original the last claim took: the one the asset is decided by."""
    output_key: str | None = None
    width: int | None = None
    height: int | None = None
    bytes: int | None = None
    sha256: str | None = None
    error: str | None = None
    error_code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def source_key(self) -> str:
        return source_key(self.asset_id, self.image_type)

    @property
    def processed_key(self) -> str:
        return processed_key(self.asset_id, self.image_type)

    def status_at(self, now: datetime) -> AssetStatus:
        """The status a reader sees: an upload past its TTL reads `expired` (TTL deletes late)."""
        if (
            self.status is AssetStatus.UPLOADING
            and self.expires_at is not None
            and self.expires_at <= epoch_seconds(now)
        ):
            return AssetStatus.EXPIRED
        return self.status

    def with_changes(self, **changes: Any) -> Asset:
        return replace(self, **changes)


def new_upload(
    asset_id: str, owner_id: str, image_type: ImageType, now: datetime, form_ttl_seconds: int
) -> Asset:
    """A fresh record for an upload the API is about to sign a form for."""
    stamp = isoformat(now)
    return Asset(
        asset_id=asset_id,
        owner_id=owner_id,
        status=AssetStatus.UPLOADING,
        image_type=image_type,
        created_at=stamp,
        updated_at=stamp,
        expires_at=epoch_seconds(now) + RECORD_TTL_SECONDS,
        upload_expires_at=epoch_seconds(now) + form_ttl_seconds,
    )


_STRING_FIELDS = {
    "assetId": "asset_id",
    "ownerId": "owner_id",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "leaseToken": "lease_token",
    "sourceVersionId": "source_version_id",
    "outputKey": "output_key",
    "sha256": "sha256",
    "error": "error",
    "errorCode": "error_code",
}
_NUMBER_FIELDS = {
    "expiresAt": "expires_at",
    "uploadExpiresAt": "upload_expires_at",
    "leaseExpiresAt": "lease_expires_at",
    "width": "width",
    "height": "height",
    "bytes": "bytes",
}


def to_item(asset: Asset) -> dict[str, Any]:
    """The DynamoDB item (low-level attribute values) for a record; None is not written."""
    item: dict[str, Any] = {
        "status": {"S": asset.status.value},
        "contentType": {"S": asset.image_type.value},
        "sourceKey": {"S": asset.source_key},
    }
    for name, attr in _STRING_FIELDS.items():
        value = getattr(asset, attr)
        if value is not None:
            item[name] = {"S": value}
    for name, attr in _NUMBER_FIELDS.items():
        value = getattr(asset, attr)
        if value is not None:
            item[name] = {"N": str(value)}
    return item


def from_item(item: dict[str, Any]) -> Asset:
    """A record from its DynamoDB item; raises ValueError on an item that is not an asset."""
    try:
        values: dict[str, Any] = {
            attr: item[name]["S"] for name, attr in _STRING_FIELDS.items() if name in item
        }
        values.update(
            {attr: int(item[name]["N"]) for name, attr in _NUMBER_FIELDS.items() if name in item}
        )
        return Asset(
            status=AssetStatus(item["status"]["S"]),
            image_type=ImageType(item["contentType"]["S"]),
            **values,
        )
    except (KeyError, TypeError) as error:
        raise ValueError(f"not an asset record: missing or malformed {error}") from error


class RejectionReason(StrEnum):
    """Why the worker refused an upload: stored as `errorCode`, stable for clients to branch on."""

    EMPTY_FILE = "empty_file"
    TOO_LARGE = "too_large"
    FORMAT_MISMATCH = "format_mismatch"
    UNSUPPORTED_FORMAT = "unsupported_format"
    NOT_AN_IMAGE = "not_an_image"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    TOO_MANY_PIXELS = "too_many_pixels"
    DECOMPRESSION_BOMB = "decompression_bomb"
    ANIMATED = "animated"
    UNSUPPORTED_IMAGE = "unsupported_image"
    UPLOAD_MISSING = "upload_missing"
    TOO_COMPLEX = "too_complex"
    """Structure (chunks, segments, scans) or processing time far beyond what any encoder writes."""


@dataclass(frozen=True, slots=True)
class PublishedImage:
    """What the worker published for a ready asset: where, its displayed size, its exact bytes."""

    output_key: str
    width: int
    height: int
    bytes: int
    sha256: str
