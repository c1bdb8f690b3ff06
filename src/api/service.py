"""What the API does with assets and albums, for one owner at a time.

Reads never name a deleted album: an asset whose album is gone (deleting an album unassigns a
bounded number of its assets at once, and the rest lazily) is answered as unassigned.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import contextlib
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from botocore.exceptions import BotoCoreError, ClientError

from api.signing import RsaSha1Signer
from assets.albums import AlbumRepository
from assets.aws import AwsClients
from assets.cdn import AssetCdn, SigningKeySecret, UrlSigner
from assets.errors import AlbumNotFound, AssetError, AssetNotFound, InvalidCursor
from assets.model import (
    Album,
    Asset,
    AssetChanges,
    AssetDetails,
    AssetStatus,
    ImageType,
    epoch_seconds,
    is_album_id,
    is_asset_id,
    new_album,
    new_upload,
)
from assets.repository import AssetRepository, PageStart
from assets.settings import ApiSettings
from assets.storage import AssetBucket, AssetUrls, DeliveredUrl, SignedForm

ALBUM_UNASSIGN_BATCH = 25
"""Assets a `DELETE /albums/{id}` unassigns itself; reads treat the rest as unassigned."""

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


@dataclass(frozen=True, slots=True)
class AlbumListing:
    albums: list[Album]
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
    def albums(self) -> AlbumRepository:
        return AlbumRepository(self._clients.dynamodb, self._settings.ASSETS_TABLE_NAME)

    @cached_property
    def bucket(self) -> AssetBucket:
        return AssetBucket(self._clients.s3, self._settings.ASSET_BUCKET_NAME)

    def start_upload(
        self, owner_id: str, image_type: ImageType, details: AssetDetails | None = None
    ) -> StartedUpload:
        """Record a new upload (in one of the owner's albums, if asked) and sign its one form."""
        settings = self._settings
        now = self._clock()
        asset = new_upload(
            self._new_id(), owner_id, image_type, now, settings.UPLOAD_FORM_TTL_SECONDS, details
        )
        # Signing is local; doing it before the write means a signing failure leaves no record.
        form = self.bucket.sign_upload_form(
            asset,
            max_bytes=settings.MAX_UPLOAD_BYTES,
            ttl_seconds=settings.UPLOAD_FORM_TTL_SECONDS,
        )
        assert asset.upload_expires_at is not None
        pending = self.repository.pending
        pending.reserve(
            owner_id,
            asset.asset_id,
            asset.upload_expires_at,
            settings.MAX_PENDING_UPLOADS,
            epoch_seconds(now),
        )
        try:
            self.repository.create(asset)
        except Exception:
            # No record, no slot. If this fails too, the slot frees itself when the form expires.
            with contextlib.suppress(AssetError, ClientError, BotoCoreError):
                pending.release(owner_id, asset.asset_id)
            raise
        return StartedUpload(asset, form)

    def get(self, owner_id: str, asset_id: str) -> Asset:
        """The caller's asset; unknown, malformed and other owners' ids are all AssetNotFound."""
        (asset,) = self._without_deleted_albums([self._owned(owner_id, asset_id)])
        return asset

    def list(
        self, owner_id: str, limit: int, cursor: str | None, album_id: str | None = None
    ) -> AssetListing:
        """The caller's assets (or those in one of their albums), newest first, a page at a time."""
        start = decode_cursor(cursor) if cursor else None
        if album_id is None:
            page = self.repository.list_for_owner(owner_id, limit, start)
            assets = self._without_deleted_albums(page.assets)
        else:
            album = self.get_album(owner_id, album_id)
            page = self.repository.list_in_album(album.album_id, limit, start)
            assets = [asset for asset in page.assets if asset.owner_id == owner_id]
        return AssetListing(assets, encode_cursor(page.next_start) if page.next_start else None)

    def update(self, owner_id: str, asset_id: str, changes: AssetChanges) -> Asset:
        """Change the caller's asset's title, description or album (AlbumNotFound: not theirs)."""
        if not is_asset_id(asset_id):
            raise AssetNotFound(asset_id)
        updated = self.repository.update(asset_id, owner_id, changes, self._clock())
        if updated is None:
            raise AssetNotFound(asset_id)
        if "album_id" in changes.given:
            return updated  # the album it is in was just found to be the owner's
        (asset,) = self._without_deleted_albums([updated])
        return asset

    def delete(self, owner_id: str, asset_id: str) -> None:
        """Remove the caller's asset: its objects, then the CDN's copies, then the record.

        In that order a failure at any step leaves the record, so the client's retry finishes
        the job; and the CDN is invalidated only once the bucket can no longer refill it.
        """
        asset = self._owned(owner_id, asset_id)
        self.bucket.delete_asset(asset.asset_id, asset.image_type)
        if asset.status in (AssetStatus.READY, AssetStatus.PROCESSING):
            # Only these can have published anything (a rejected upload never does).
            self._cdn.invalidate_asset(asset.asset_id)
        if asset.status is AssetStatus.UPLOADING:
            # Before the record goes, so a retry after a failure here still finds the record.
            self.repository.pending.release(owner_id, asset_id)
        self.repository.delete(asset_id, owner_id, as_read=asset)

    def create_album(self, owner_id: str, name: str) -> Album:
        """A new, empty album of the caller's (TooManyAlbums at the limit)."""
        album = new_album(self._new_id(), owner_id, name, self._clock())
        self.albums.create(album, self._settings.MAX_ALBUMS)
        return album

    def get_album(self, owner_id: str, album_id: str) -> Album:
        """The caller's album; unknown, malformed, deleted and others' ids are all AlbumNotFound."""
        if not is_album_id(album_id):
            raise AlbumNotFound(album_id)
        album = self.albums.get(album_id)
        if album is None or album.owner_id != owner_id:
            raise AlbumNotFound(album_id)
        return album

    def list_albums(self, owner_id: str, limit: int, cursor: str | None) -> AlbumListing:
        """The caller's albums, newest first, one page at a time."""
        start = decode_cursor(cursor) if cursor else None
        page = self.albums.list_for_owner(owner_id, limit, start)
        return AlbumListing(
            page.albums, encode_cursor(page.next_start) if page.next_start else None
        )

    def rename_album(self, owner_id: str, album_id: str, name: str) -> Album:
        """A new name for the caller's album (AlbumNotFound for any other)."""
        renamed = None
        if is_album_id(album_id):
            renamed = self.albums.rename(album_id, owner_id, name, self._clock())
        if renamed is None:
            raise AlbumNotFound(album_id)
        return renamed

    def delete_album(self, owner_id: str, album_id: str) -> None:
        """Delete the caller's album; its assets stay, unassigned.

        Bounded work: the album's first `ALBUM_UNASSIGN_BATCH` assets are unassigned here, before
        the album goes (so a retry after a failure finds it and finishes); any others keep a
        reference to an album that no longer exists, which every read answers as unassigned and
        any later move or finish of the asset removes. Album ids are never reused.
        """
        album = self.get_album(owner_id, album_id)
        unassign = AssetChanges(album_id=None, given=frozenset({"album_id"}))
        now = self._clock()
        page = self.repository.list_in_album(album.album_id, ALBUM_UNASSIGN_BATCH, None)
        for asset in page.assets:
            self.repository.update(
                asset.asset_id, owner_id, unassign, now, as_read=asset, only_from_album=album_id
            )
        self.albums.delete(album)

    def _owned(self, owner_id: str, asset_id: str) -> Asset:
        """The caller's record as stored."""
        if not is_asset_id(asset_id):
            raise AssetNotFound(asset_id)
        asset = self.repository.get(asset_id)
        if asset is None or asset.owner_id != owner_id:
            raise AssetNotFound(asset_id)
        return asset

    def _without_deleted_albums(self, assets: Sequence[Asset]) -> builtins.list[Asset]:
        """These assets, each shown unassigned if its album no longer exists (or is not its
        owner's)."""
        wanted = {asset.album_id for asset in assets if asset.album_id is not None}
        if not wanted:
            return builtins.list(assets)
        live = self.albums.find(wanted)
        return [
            asset
            if asset.album_id is None
            or (asset.album_id in live and live[asset.album_id].owner_id == asset.owner_id)
            else asset.with_changes(album_id=None)
            for asset in assets
        ]

    def delivered_url(self, asset: Asset, now: datetime) -> DeliveredUrl | None:
        """Where the owner loads a ready asset from, as of `now`: signed unless delivery is public."""
        if asset.status is not AssetStatus.READY:
            return None
        return self._urls.url_for(asset.processed_key, now)

    def url_for(self, key: str, now: datetime) -> DeliveredUrl:
        """Where the owner loads another of a ready asset's published keys (a variant) from."""
        return self._urls.url_for(key, now)

    def now(self) -> datetime:
        return self._clock()


def url_signer(settings: ApiSettings, clients: AwsClients) -> UrlSigner | None:
    """The signer for `signed` delivery, its key read from the secret on the first URL."""
    if settings.ASSET_DELIVERY != "signed":
        return None
    secret = SigningKeySecret(lambda: clients.secretsmanager, settings.CLOUDFRONT_KEY_SECRET_ARN)
    return UrlSigner(settings.CLOUDFRONT_KEY_PAIR_ID, RsaSha1Signer(secret.read))


def encode_cursor(start: PageStart) -> str:
    raw = json.dumps([start.created_at, start.item_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> PageStart:
    """The page start a cursor names; the owner always comes from the token, never the cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, item_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as error:
        raise InvalidCursor("cursor is not one this API issued") from error
    if not (
        isinstance(created_at, str)
        and isinstance(item_id, str)
        and _TIMESTAMP.match(created_at)
        and is_asset_id(item_id)
    ):
        raise InvalidCursor("cursor is not one this API issued")
    return PageStart(created_at=created_at, item_id=item_id)
