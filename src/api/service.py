"""What the API does with assets: start an upload, read, list and delete, for one owner at a time."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property

from api.signing import RsaSha1Signer
from assets.aws import AwsClients
from assets.cdn import AssetCdn, SigningKeySecret, UrlSigner
from assets.errors import AssetNotFound, InvalidCursor, TooManyPendingUploads
from assets.model import Asset, AssetStatus, ImageType, is_asset_id, isoformat, new_upload
from assets.repository import AssetRepository, PageStart
from assets.settings import ApiSettings
from assets.storage import AssetBucket, AssetUrls, DeliveredUrl, SignedForm

_TIMESTAMP = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\Z")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_asset_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class StartedUpload:
    asset: Asset
    form: SignedForm


@dataclass(frozen=True, slots=True)
class AssetListing:
    assets: list[Asset]
    next_cursor: str | None


class AssetService:
    """The API's use cases over the shared asset domain; one instance serves the whole process."""

    def __init__(
        self,
        settings: ApiSettings,
        clients: AwsClients,
        *,
        clock: Callable[[], datetime] = utcnow,
        new_id: Callable[[], str] = new_asset_id,
    ) -> None:
        self._settings = settings
        self._clients = clients
        self._clock = clock
        self._new_id = new_id
        self._urls = AssetUrls(
            settings.ASSET_BASE_URL,
            signer=url_signer(settings, clients),
            ttl_seconds=settings.SIGNED_URL_TTL_SECONDS,
        )
        self._cdn = AssetCdn(lambda: clients.cloudfront, settings.CDN_DISTRIBUTION_ID)

    @cached_property
    def repository(self) -> AssetRepository:
        return AssetRepository(self._clients.dynamodb, self._settings.ASSETS_TABLE_NAME)

    @cached_property
    def bucket(self) -> AssetBucket:
        return AssetBucket(self._clients.s3, self._settings.ASSET_BUCKET_NAME)

    def start_upload(self, owner_id: str, image_type: ImageType) -> StartedUpload:
        """Record a new upload and sign the one form that may fill it."""
        settings = self._settings
        now = self._clock()
        window_start = isoformat(now - timedelta(seconds=settings.UPLOAD_FORM_TTL_SECONDS))
        if (
            self.repository.count_open_uploads(owner_id, window_start)
            >= settings.MAX_PENDING_UPLOADS
        ):
            raise TooManyPendingUploads(settings.MAX_PENDING_UPLOADS)
        asset = new_upload(
            self._new_id(), owner_id, image_type, now, settings.UPLOAD_FORM_TTL_SECONDS
        )
        # Signing is local; doing it before the write means a signing failure leaves no record.
        form = self.bucket.sign_upload_form(
            asset,
            max_bytes=settings.MAX_UPLOAD_BYTES,
            ttl_seconds=settings.UPLOAD_FORM_TTL_SECONDS,
        )
        self.repository.create(asset)
        return StartedUpload(asset, form)

    def get(self, owner_id: str, asset_id: str) -> Asset:
        """The caller's asset; unknown, malformed and other owners' ids are all AssetNotFound."""
        if not is_asset_id(asset_id):
            raise AssetNotFound(asset_id)
        asset = self.repository.get(asset_id)
        if asset is None or asset.owner_id != owner_id:
            raise AssetNotFound(asset_id)
        return asset

    def list(self, owner_id: str, limit: int, cursor: str | None) -> AssetListing:
        """The caller's assets, newest first, one page at a time."""
        start = decode_cursor(cursor) if cursor else None
        page = self.repository.list_for_owner(owner_id, limit, start)
        return AssetListing(
            page.assets, encode_cursor(page.next_start) if page.next_start else None
        )

    def delete(self, owner_id: str, asset_id: str) -> None:
        """Remove the caller's asset: its objects, then the CDN's copies, then the record.

        In that order a failure at any step leaves the record, so the client's retry finishes
        the job; and the CDN is invalidated only once the bucket can no longer refill it.
        """
        asset = self.get(owner_id, asset_id)
        self.bucket.delete_asset(asset.asset_id, asset.image_type)
        if asset.status in (AssetStatus.READY, AssetStatus.PROCESSING):
            # Only these can have published anything (a rejected upload never does).
            self._cdn.invalidate_asset(asset.asset_id)
        self.repository.delete(asset_id, owner_id)

    def delivered_url(self, asset: Asset, now: datetime) -> DeliveredUrl | None:
        """Where the owner loads a ready asset from, as of `now`: signed unless delivery is public."""
        if asset.status is not AssetStatus.READY:
            return None
        return self._urls.url_for(asset.processed_key, now)

    def now(self) -> datetime:
        return self._clock()


def url_signer(settings: ApiSettings, clients: AwsClients) -> UrlSigner | None:
    """The signer for `signed` delivery, its key read from the secret on the first URL."""
    if settings.ASSET_DELIVERY != "signed":
        return None
    secret = SigningKeySecret(lambda: clients.secretsmanager, settings.CLOUDFRONT_KEY_SECRET_ARN)
    return UrlSigner(settings.CLOUDFRONT_KEY_PAIR_ID, RsaSha1Signer(secret.read))


def encode_cursor(start: PageStart) -> str:
    raw = json.dumps([start.created_at, start.asset_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> PageStart:
    """The page start a cursor names; the owner always comes from the token, never the cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, asset_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as error:
        raise InvalidCursor("cursor is not one this API issued") from error
    if not (
        isinstance(created_at, str)
        and isinstance(asset_id, str)
        and _TIMESTAMP.match(created_at)
        and is_asset_id(asset_id)
    ):
        raise InvalidCursor("cursor is not one this API issued")
    return PageStart(created_at=created_at, asset_id=asset_id)
