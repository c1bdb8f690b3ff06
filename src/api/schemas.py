"""The API's request and response bodies, as the OpenAPI document shows them to frontends."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from assets.model import AssetStatus, ImageType


class ApiModel(BaseModel):
    # Built on first use, not at import: a cold start builds only the models its request needs.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, defer_build=True
    )


class ErrorBody(ApiModel):
    """Every error the API answers: a human message and a stable machine code."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"error": "asset not found", "code": "not_found"}}
    )

    error: str = Field(description="What went wrong, for a person.")
    code: str = Field(description="A stable code for programs, e.g. `not_found`, `unauthorized`.")


class CreateUploadRequest(ApiModel):
    """What the browser may choose about an upload: its image type, nothing else."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"contentType": "image/png"}}
    )

    content_type: ImageType = Field(description="The image type the file must have.")


class AssetView(ApiModel):
    """An asset as its owner sees it."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "assetId": "307d0b55-05d1-4c0f-a0fb-4c3e1083e3df",
                "status": "ready",
                "contentType": "image/png",
                "createdAt": "2026-06-21T10:15:00.000Z",
                "updatedAt": "2026-06-21T10:15:04.312Z",
                "url": "https://d123.cloudfront.net/assets/307d0b55-05d1-4c0f-a0fb-4c3e1083e3df.png",
                "width": 1024,
                "height": 768,
                "bytes": 482113,
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
    url: str | None = Field(default=None, description="The public CDN URL; only when `ready`.")
    width: int | None = Field(default=None, description="Pixels; only when `ready`.")
    height: int | None = Field(default=None, description="Pixels; only when `ready`.")
    bytes: int | None = Field(default=None, description="Published size; only when `ready`.")
    error: str | None = Field(default=None, description="Why it was refused; only when `rejected`.")
    error_code: str | None = Field(default=None, description="Stable reason code when `rejected`.")


class UploadForm(ApiModel):
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


class CreateUploadResponse(ApiModel):
    asset: AssetView
    upload: UploadForm


class AssetResponse(ApiModel):
    asset: AssetView


class AssetListResponse(ApiModel):
    assets: list[AssetView]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; absent on the last page."
    )


class HealthResponse(ApiModel):
    status: str = "ok"
