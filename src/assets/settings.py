"""Configuration: one typed settings object per process, read from the environment.

Nothing else reads `os.environ`. AWS endpoints are not settings: boto3 reads its own
`AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables.

Plain pydantic models validated from the environment's exact names: pydantic-settings would read
them the same way, but importing it (its .env, CLI and cloud-vault sources) is about 40 ms of a
Lambda cold start, for nothing these settings use.
"""

from __future__ import annotations

import os
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

MIB = 1024 * 1024


class SettingsError(RuntimeError):
    """The environment does not configure the service; the message names every variable at fault."""


class AssetSettings(BaseModel):
    """What the API and the worker both need: where asset records and bytes live."""

    # Names are exact (case-sensitive); the rest of the environment is ignored. Built when first
    # loaded: a process validates one of these classes, and need not build the others.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    AWS_REGION: str = Field(min_length=1)
    ASSETS_TABLE_NAME: str = Field(min_length=1)
    ASSET_BUCKET_NAME: str = Field(min_length=1)
    MAX_UPLOAD_BYTES: int = Field(default=10 * MIB, gt=0, le=5 * 1024 * MIB)


class ApiSettings(AssetSettings):
    """The upload and status API: Cognito, the signed form and the public base URL."""

    ASSET_BASE_URL: str = Field(min_length=1)
    COGNITO_USER_POOL_ID: str = Field(pattern=r"^[\w-]+_[0-9a-zA-Z]+$")
    COGNITO_CLIENT_ID: tuple[str, ...] = Field(min_length=1)
    COGNITO_JWKS_URL: str | None = None
    UPLOAD_FORM_TTL_SECONDS: int = Field(default=300, ge=10, le=3600)
    # One item holds a user's open forms (assets.pending), so the limit also bounds its size.
    MAX_PENDING_UPLOADS: int = Field(default=20, ge=1, le=1000)
    MAX_ALBUMS: int = Field(default=1000, ge=1)
    """Albums per user."""
    CORS_ALLOW_ORIGINS: tuple[str, ...] = ()
    """Origins allowed to call the API from a browser when no API Gateway sits in front (local)."""
    ASSET_DELIVERY: Literal["signed", "public"] = "signed"
    """`signed`: every image URL is a CloudFront signed URL for its owner; `public`: plain URLs."""
    SIGNED_URL_TTL_SECONDS: int = Field(default=3600, ge=1, le=86400)
    """No signed URL outlives this; the template allows 60..86400, the local stack less."""
    CLOUDFRONT_KEY_SECRET_ARN: str = ""
    """The secret holding the PEM private key URLs are signed with (read once per process)."""
    CLOUDFRONT_KEY_PAIR_ID: str = ""
    """The CloudFront public key's id, in the distribution's trusted key group."""
    CDN_DISTRIBUTION_ID: str = ""
    """The distribution to invalidate a deleted asset's paths in; empty: no CDN (local)."""

    @field_validator("COGNITO_CLIENT_ID", "CORS_ALLOW_ORIGINS", mode="before")
    @classmethod
    def _split_comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("ASSET_BASE_URL")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _signed_delivery_has_a_key(self) -> ApiSettings:
        if self.ASSET_DELIVERY == "signed":
            missing = [
                name
                for name in ("CLOUDFRONT_KEY_SECRET_ARN", "CLOUDFRONT_KEY_PAIR_ID")
                if not getattr(self, name)
            ]
            if missing:
                raise PydanticCustomError(
                    "signing_key_missing",
                    "{problems}",
                    {
                        "problems": "; ".join(
                            f"{name} is required when ASSET_DELIVERY is signed" for name in missing
                        )
                    },
                )
        return self

    @property
    def cognito_issuer(self) -> str:
        return f"https://cognito-idp.{self.AWS_REGION}.amazonaws.com/{self.COGNITO_USER_POOL_ID}"

    @property
    def jwks_url(self) -> str:
        return self.COGNITO_JWKS_URL or f"{self.cognito_issuer}/.well-known/jwks.json"


class WorkerSettings(AssetSettings):
    """The validating worker: decoding limits and how validated bytes are published."""

    MAX_IMAGE_PIXELS: int = Field(default=40_000_000, gt=0)
    PUBLISH_MODE: Literal["sanitized", "original"] = "sanitized"
    LEASE_SECONDS: int = Field(default=120, ge=5)
    THUMB_MAX_SIDE: int = Field(default=320, ge=16, le=1024)
    """Longest side of the `thumb` variant; smaller images keep their size."""
    DISPLAY_MAX_SIDE: int = Field(default=1600, ge=64, le=4096)
    """Longest side of the `display` variant; smaller images keep their size."""
    MAX_PROCESSING_SECONDS: float = Field(default=10.0, gt=0, le=900)
    """Time one upload may take to validate and render; beyond it, rejected as `too_complex`."""

    @model_validator(mode="after")
    def _thumb_fits_display(self) -> WorkerSettings:
        if self.THUMB_MAX_SIDE > self.DISPLAY_MAX_SIDE:
            raise ValueError("THUMB_MAX_SIDE must not exceed DISPLAY_MAX_SIDE")
        return self


SettingsT = TypeVar("SettingsT", bound=AssetSettings)


def load_settings(settings_type: type[SettingsT]) -> SettingsT:
    """Read and validate settings, failing with one message that names each variable at fault."""
    try:
        return settings_type.model_validate(os.environ)
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            name = ".".join(str(part) for part in detail["loc"])
            reason = "is required" if detail["type"] == "missing" else detail["msg"]
            # A rule across variables names them in its own message.
            problems.append(f"{name} {reason}" if name else reason)
        raise SettingsError(
            f"{settings_type.__name__}: invalid environment: " + "; ".join(problems)
        ) from None
