"""What an asset is: its record, its states, its album, and where its bytes live."""

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
COLLECTION_INDEX_NAME = "byCollectionCreatedAt"
"""The table's second GSI: partition `collection`, sort `createdAt`, newest first either way.

One index serves two lists (a stack update may add only one GSI at a time): an album's assets,
whose `collection` is the album's key, and an owner's albums, whose `collection` is the key of the
owner's album tally. Only items that belong to a list carry `collection`.
"""

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


is_album_id = is_asset_id
"""Album ids are issued the same way: a lowercase canonical UUID4."""
ID_PATTERN = _ASSET_ID.pattern.replace(r"\A", "^").replace(r"\Z", "$")
"""The id format as a JSON Schema pattern."""

# The table holds other items beside asset records, each under a key no asset id can take (asset
# ids have no `#`); the partition key is called `assetId` because asset records came first.


def album_key(album_id: str) -> str:
    """The album's item key, and the `collection` of the assets in it."""
    return f"album#{album_id}"


def owner_albums_key(owner_id: str) -> str:
    """The key of the owner's album tally, and the `collection` of the owner's albums."""
    return f"owner#{owner_id}#albums"


def owner_uploads_key(owner_id: str) -> str:
    """The key of the item that holds the owner's open upload forms."""
    return f"owner#{owner_id}#uploads"


def source_key(asset_id: str, image_type: ImageType) -> str:
    """Where the browser's signed form puts the original bytes."""
    return f"{SOURCE_PREFIX}{asset_id}.{image_type.extension}"


def processed_key(asset_id: str, image_type: ImageType) -> str:
    """Where the validated bytes are published (CloudFront serves `/assets/*` from here)."""
    return f"{PROCESSED_PREFIX}{asset_id}.{image_type.extension}"


class VariantName(StrEnum):
    """The sizes the worker publishes besides the image itself; clients rely on the names."""

    THUMB = "thumb"
    DISPLAY = "display"


VARIANT_CONTENT_TYPE = "image/webp"


def variant_key(asset_id: str, name: VariantName) -> str:
    """Where a variant is published: beside the image, under the asset's own id."""
    return f"{PROCESSED_PREFIX}{asset_id}/{name.value}.webp"


def published_keys(asset_id: str, image_type: ImageType) -> tuple[str, ...]:
    """Every key the worker may publish for an asset (what the CDN can serve of it)."""
    return (
        processed_key(asset_id, image_type),
        *(variant_key(asset_id, name) for name in VariantName),
    )


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


@dataclass(frozen=True, slots=True)
class VariantImage:
    """A published variant of a ready asset: its name, pixel size and byte size (WebP)."""

    name: VariantName
    width: int
    height: int
    bytes: int

    def key(self, asset_id: str) -> str:
        return variant_key(asset_id, self.name)


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
    variants: tuple[VariantImage, ...] = ()
    """`thumb` and `display` once ready (none for assets published before variants existed)."""
    placeholder: str | None = None
    """A BlurHash of the image, for clients to paint before any image arrives."""
    error: str | None = None
    error_code: str | None = None
    file_name: str | None = None
    title: str | None = None
    description: str | None = None
    album_id: str | None = None
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


@dataclass(frozen=True, slots=True)
class AssetDetails:
    """What the owner says about an asset: shown back to them, never used for keys or paths."""

    file_name: str | None = None
    title: str | None = None
    description: str | None = None
    album_id: str | None = None


@dataclass(frozen=True, slots=True)
class AssetChanges:
    """What the owner changes: each field named in `given` takes its value here (None clears)."""

    title: str | None = None
    description: str | None = None
    album_id: str | None = None
    given: frozenset[str] = frozenset()

    def target_album(self, asset: Asset) -> str | None:
        """The album the asset is in once the change is made."""
        return self.album_id if "album_id" in self.given else asset.album_id


def new_upload(
    asset_id: str,
    owner_id: str,
    image_type: ImageType,
    now: datetime,
    form_ttl_seconds: int,
    details: AssetDetails | None = None,
) -> Asset:
    """A fresh record for an upload the API is about to sign a form for."""
    stamp = isoformat(now)
    details = details or AssetDetails()
    return Asset(
        asset_id=asset_id,
        owner_id=owner_id,
        status=AssetStatus.UPLOADING,
        image_type=image_type,
        created_at=stamp,
        updated_at=stamp,
        expires_at=epoch_seconds(now) + RECORD_TTL_SECONDS,
        upload_expires_at=epoch_seconds(now) + form_ttl_seconds,
        file_name=details.file_name,
        title=details.title,
        description=details.description,
        album_id=details.album_id,
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
    "placeholder": "placeholder",
    "fileName": "file_name",
    "title": "title",
    "description": "description",
    "albumId": "album_id",
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
    if asset.album_id is not None:
        item["collection"] = {"S": album_key(asset.album_id)}
    if asset.variants:
        item["variants"] = variants_attribute(asset.variants)
    return item


def variants_attribute(variants: tuple[VariantImage, ...]) -> dict[str, Any]:
    """Variants as one DynamoDB map attribute: name -> {width, height, bytes}."""
    return {
        "M": {
            variant.name.value: {
                "M": {
                    "width": {"N": str(variant.width)},
                    "height": {"N": str(variant.height)},
                    "bytes": {"N": str(variant.bytes)},
                }
            }
            for variant in variants
        }
    }


def _variants(attribute: dict[str, Any] | None) -> tuple[VariantImage, ...]:
    if not attribute:
        return ()
    found = {VariantName(name): value["M"] for name, value in attribute["M"].items()}
    return tuple(
        VariantImage(
            name,
            int(found[name]["width"]["N"]),
            int(found[name]["height"]["N"]),
            int(found[name]["bytes"]["N"]),
        )
        for name in VariantName
        if name in found
    )


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
            variants=_variants(item.get("variants")),
            **values,
        )
    except (KeyError, TypeError, ValueError) as error:
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
class Album:
    """One album record: a name its owner groups assets under, and how many are ready in it.

    `asset_count` counts the album's `ready` assets only: uploads still in progress, rejected or
    expired ones are listed in it but not counted, since their records expire and a count cannot
    follow a TTL deletion.
    """

    album_id: str
    owner_id: str
    name: str
    created_at: str
    updated_at: str
    asset_count: int = 0


def new_album(album_id: str, owner_id: str, name: str, now: datetime) -> Album:
    stamp = isoformat(now)
    return Album(album_id, owner_id, name, stamp, stamp)


def album_to_item(album: Album) -> dict[str, Any]:
    return {
        "assetId": {"S": album_key(album.album_id)},
        "collection": {"S": owner_albums_key(album.owner_id)},
        "albumId": {"S": album.album_id},
        "albumOwnerId": {"S": album.owner_id},
        "name": {"S": album.name},
        "createdAt": {"S": album.created_at},
        "updatedAt": {"S": album.updated_at},
        "assetCount": {"N": str(album.asset_count)},
    }


def album_from_item(item: dict[str, Any]) -> Album:
    """An album from its item; raises ValueError on an item that is not an album."""
    try:
        return Album(
            album_id=item["albumId"]["S"],
            owner_id=item["albumOwnerId"]["S"],
            name=item["name"]["S"],
            created_at=item["createdAt"]["S"],
            updated_at=item["updatedAt"]["S"],
            asset_count=int(item.get("assetCount", {"N": "0"})["N"]),
        )
    except (KeyError, TypeError) as error:
        raise ValueError(f"not an album record: missing or malformed {error}") from error


@dataclass(frozen=True, slots=True)
class PublishedImage:
    """What the worker published for a ready asset: where, its displayed size, its exact bytes."""

    output_key: str
    width: int
    height: int
    bytes: int
    sha256: str
    variants: tuple[VariantImage, ...] = ()
    placeholder: str | None = None
