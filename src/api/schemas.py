"""The API's request and response bodies, as the OpenAPI document shows them to frontends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from api.errors import ErrorCode
from assets.model import (
    ID_PATTERN,
    AssetChanges,
    AssetDetails,
    AssetStatus,
    ImageType,
    RejectionReason,
    VariantName,
)
from assets.text import ALBUM_NAME, DESCRIPTION, FILE_NAME, TITLE, TextRejected, TextRule


class ApiModel(BaseModel):
    # Built on first use, not at import: a cold start builds only the models its request needs.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, defer_build=True
    )


class RequestModel(ApiModel):
    """A body the API accepts: its documented (camelCase) fields and nothing else."""

    # By alias only: `file_name` is not a field of the API, so it is an unknown one, a 400.
    model_config = ConfigDict(extra="forbid", populate_by_name=False, validate_by_name=False)


class ResponseModel(ApiModel):
    """A body the API answers with: a field it leaves out is optional, never `null`.

    The routes drop fields that are None (`response_model_exclude_none`), so the document lists
    such a field as not required, with its own type rather than "its type or null".
    """

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        resolved = handler.resolve_ref_schema(schema)
        required = set(resolved.get("required", ()))
        for name, prop in resolved.get("properties", {}).items():
            if name not in required:
                drop_null(prop)
        return schema


def drop_null(prop: dict[str, Any]) -> None:
    """Make a property (or parameter) schema of "T or null" plain T, without a null default."""
    choices = prop.get("anyOf")
    if isinstance(choices, list) and {"type": "null"} in choices:
        rest = [choice for choice in choices if choice != {"type": "null"}]
        del prop["anyOf"]
        if len(rest) == 1:
            prop.update(rest[0])
        else:
            prop["anyOf"] = rest
    if prop.get("default", ...) is None:
        del prop["default"]


@dataclass(frozen=True, slots=True)
class Text:
    """`Annotated` metadata: a string under one of the text rules (`assets.text`), documented."""

    rule: TextRule
    description: str

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._clean, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        document: dict[str, Any] = {
            "type": "string",
            "maxLength": self.rule.max_length,
            "pattern": self.rule.pattern,
            "description": self.description
            + _TEXT_RULES.format(" except newline and tab" if self.rule.multiline else ""),
        }
        if self.rule.min_length:
            document["minLength"] = self.rule.min_length
        return document

    def _clean(self, value: str) -> str:
        try:
            return self.rule.clean(value)
        except TextRejected as error:
            raise PydanticCustomError("text_rule", str(error)) from None


_TEXT_RULES = (
    " NFC-normalised and trimmed; no control characters{}; stored and returned verbatim (markup"
    " is data)."
)
FileName = Annotated[
    str,
    Text(
        FILE_NAME,
        "What the file was called, 1..255 characters, for display only: never part of a key,"
        " a header or a path.",
    ),
]
Title = Annotated[str, Text(TITLE, "Up to 200 characters; empty means none.")]
Description = Annotated[str, Text(DESCRIPTION, "Up to 2000 characters; empty means none.")]
AlbumName = Annotated[str, Text(ALBUM_NAME, "1..100 characters.")]
AlbumId = Annotated[
    str,
    StringConstraints(pattern=ID_PATTERN),
    Field(description="One of the caller's albums (`albumId` from `POST /albums`)."),
]


class ErrorBody(ResponseModel):
    """Every error the API answers: a human message and a stable machine code."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"error": "asset not found", "code": "not_found"}}
    )

    error: str = Field(description="What went wrong, for a person.")
    code: ErrorCode = Field(description="A stable code for programs to branch on.")


class CreateUploadRequest(RequestModel):
    """What the browser may choose about an upload: its type, and what it says about the image.

    Nothing here names a key: the server chooses it.
    """

    model_config = ConfigDict(
        json_schema_extra={
            # The least a client sends; every other field is optional.
            "example": {"contentType": "image/png"},
            "examples": [
                {"contentType": "image/png"},
                {
                    "contentType": "image/jpeg",
                    "fileName": "cat.jpg",
                    "title": "Our cat",
                    "description": "Asleep on the radiator,\nas usual.",
                    "albumId": "6f1c1f9e-2d7a-4b7e-9a53-3f0c2f1b8e11",
                },
            ],
        },
    )

    content_type: ImageType = Field(description="The image type the file must have.")
    file_name: FileName | None = None
    title: Title | None = None
    description: Description | None = None
    album_id: AlbumId | None = None

    def details(self) -> AssetDetails:
        return AssetDetails(
            file_name=self.file_name,
            title=self.title or None,
            description=self.description or None,
            album_id=self.album_id,
        )


class UpdateAssetRequest(RequestModel):
    """What the owner may change about an asset: any of these; `null` (or empty text) clears."""

    model_config = ConfigDict(
        json_schema_extra={
            "minProperties": 1,
            "example": {
                "title": "Our cat, again",
                "albumId": "6f1c1f9e-2d7a-4b7e-9a53-3f0c2f1b8e11",
            },
        },
    )

    title: Title | None = None
    description: Description | None = None
    album_id: AlbumId | None = Field(
        default=None, description="Move it into one of the caller's albums; `null` takes it out."
    )

    @model_validator(mode="after")
    def _changes_something(self) -> UpdateAssetRequest:
        if not self.model_fields_set:
            raise ValueError("give at least one of title, description, albumId")
        return self

    def changes(self) -> AssetChanges:
        return AssetChanges(
            title=self.title or None,
            description=self.description or None,
            album_id=self.album_id,
            given=frozenset(self.model_fields_set),
        )


class VariantView(ResponseModel):
    """One published size of a ready image."""

    url: str = Field(description="Where the CDN serves this size.")
    width: int = Field(description="Pixels.")
    height: int = Field(description="Pixels.")
    content_type: str = Field(description="Always `image/webp`.")
    bytes: int = Field(description="Size of the file.")


class AssetView(ResponseModel):
    """An asset as its owner sees it."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "assetId": "307d0b55-05d1-4c0f-a0fb-4c3e1083e3df",
                "status": "ready",
                "contentType": "image/png",
                "createdAt": "2026-06-21T10:15:00.000Z",
                "updatedAt": "2026-06-21T10:15:04.312Z",
                "url": "https://d123.cloudfront.net/assets/307d0b55-05d1-4c0f-a0fb-4c3e1083e3df.png"
                "?Expires=1782040500&Signature=Tm9...0~&Key-Pair-Id=K2JCJMDEHXQW5F",
                "urlExpiresAt": "2026-06-21T11:15:00Z",
                "width": 1024,
                "height": 768,
                "bytes": 482113,
                "variants": {
                    "thumb": {
                        "url": "https://d123.cloudfront.net/assets/307d0b55-05d1-4c0f-a0fb-4c3e1083e3df/thumb.webp",
                        "width": 320,
                        "height": 240,
                        "contentType": "image/webp",
                        "bytes": 14210,
                    },
                    "display": {
                        "url": "https://d123.cloudfront.net/assets/307d0b55-05d1-4c0f-a0fb-4c3e1083e3df/display.webp",
                        "width": 1024,
                        "height": 768,
                        "contentType": "image/webp",
                        "bytes": 98113,
                    },
                },
                "placeholder": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
            }
        }
    )

    asset_id: str
    status: AssetStatus = Field(
        description="`uploading` until the bytes arrive, `processing` while validated, then "
        "`ready` or `rejected`; `expired` for an upload never completed."
    )
    content_type: ImageType
    created_at: str = Field(description="ISO 8601 UTC, millisecond precision.")
    updated_at: str
    url: str | None = Field(
        default=None,
        description="Where to load the image from; only when `ready`. With signed delivery (the "
        "default) a CloudFront signed URL for this image and its owner, valid until "
        "`urlExpiresAt`; fetch the asset again for a fresh one. Use it as given: never build, "
        "edit or store one.",
    )
    url_expires_at: datetime | None = Field(
        default=None,
        description="When `url` (and the first of the variants' URLs) stops working (ISO 8601 "
        "UTC); only with signed URLs. Read the asset again before then for fresh ones; never "
        "build or edit a URL. Reads within a few minutes return the same URLs, so a browser's "
        "cache keeps working.",
    )
    width: int | None = Field(default=None, description="Pixels; only when `ready`.")
    height: int | None = Field(default=None, description="Pixels; only when `ready`.")
    bytes: int | None = Field(default=None, description="Published size; only when `ready`.")
    variants: dict[VariantName, VariantView] | None = Field(
        default=None,
        description="Smaller WebP copies, `thumb` (longest side at most 320) and `display` (at "
        "most 1600), never larger than the image; only when `ready`. Use `thumb` for lists and "
        "`display` for a viewer rather than the full image.",
    )
    placeholder: str | None = Field(
        default=None,
        max_length=100,
        description="A BlurHash (https://blurha.sh) of the image to paint while it loads; only "
        "when `ready`.",
    )
    error: str | None = Field(default=None, description="Why it was refused; only when `rejected`.")
    error_code: RejectionReason | None = Field(
        default=None, description="Stable reason code; only when `rejected`."
    )
    file_name: str | None = Field(default=None, description="As given at upload; only when set.")
    title: str | None = Field(default=None, description="Only when set.")
    description: str | None = Field(default=None, description="Only when set.")
    album_id: str | None = Field(
        default=None, description="The album it is in; only when it is in one that exists."
    )


class UploadForm(ResponseModel):
    """A signed S3 POST form: send `fields` first and the file last, as multipart/form-data."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "url": "https://assets-bucket.s3.eu-west-1.amazonaws.com/",
                "fields": {
                    "Content-Type": "image/png",
                    "key": "uploads/originals/307d0b55-05d1-4c0f-a0fb-4c3e1083e3df.png",
                    "x-amz-algorithm": "AWS4-HMAC-SHA256",
                    "x-amz-credential": "ASIA.../20260621/eu-west-1/s3/aws4_request",
                    "x-amz-date": "20260621T101500Z",
                    "x-amz-security-token": "IQoJb3JpZ2luX2VjE...",
                    "policy": "eyJleHBpcmF0aW9uIjogIjIwMjYtMDYtMjFUMTA6MjA6MDBaIiwgLi4ufQ==",
                    "x-amz-signature": "8b1c...",
                },
                "expiresAt": "2026-06-21T10:20:00Z",
                "maxBytes": 10485760,
            }
        }
    )

    url: str
    fields: dict[str, str]
    expires_at: datetime = Field(description="The form is refused by S3 after this moment.")
    max_bytes: int = Field(description="The largest file the form accepts.")


class CreateUploadResponse(ResponseModel):
    asset: AssetView
    upload: UploadForm


class AssetResponse(ResponseModel):
    asset: AssetView


class AssetListResponse(ResponseModel):
    assets: list[AssetView]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; absent on the last page."
    )


class AlbumRequest(RequestModel):
    """An album's name: all the caller chooses about it."""

    model_config = ConfigDict(json_schema_extra={"example": {"name": "Holidays"}})

    name: AlbumName


class AlbumView(ResponseModel):
    """An album as its owner sees it."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "albumId": "6f1c1f9e-2d7a-4b7e-9a53-3f0c2f1b8e11",
                "name": "Holidays",
                "createdAt": "2026-06-21T10:15:00.000Z",
                "updatedAt": "2026-06-21T10:15:00.000Z",
                "assetCount": 12,
            }
        }
    )

    album_id: str
    name: str
    created_at: str = Field(description="ISO 8601 UTC, millisecond precision.")
    updated_at: str
    asset_count: int = Field(
        description="How many of its assets are `ready`; uploads in progress and rejected or"
        " expired ones are listed in it but not counted."
    )


class AlbumResponse(ResponseModel):
    album: AlbumView


class AlbumListResponse(ResponseModel):
    albums: list[AlbumView]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; absent on the last page."
    )


class HealthResponse(ResponseModel):
    status: str = "ok"
