"""Errors in the product's vocabulary; the API maps them to HTTP in one place."""

from __future__ import annotations

from assets.model import RejectionReason


class AssetError(Exception):
    """Base of the domain's errors."""


class AssetNotFound(AssetError):
    """No such asset for this caller (unknown, malformed, or someone else's: indistinguishable)."""


class AlbumNotFound(AssetError):
    """No such album for this caller (unknown, malformed, deleted, or someone else's)."""


class TooManyAlbums(AssetError):
    """The caller already has the maximum number of albums."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"too many albums (limit {limit}); delete one first")
        self.limit = limit


class StaleRecord(AssetError):
    """The record changed between reading it and writing it back; read it again and retry."""


class TooManyPendingUploads(AssetError):
    """The caller already holds the maximum number of open upload forms."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"too many uploads in progress (limit {limit}); finish or wait for them")
        self.limit = limit


class InvalidCursor(AssetError):
    """A paging cursor this service did not issue for this caller."""


class StorageUnavailable(AssetError):
    """AWS throttled, timed out or failed on its side: worth retrying, never the caller's fault."""


class UploadRejected(AssetError):
    """The uploaded bytes are not an acceptable image; final for the asset, never retried."""

    def __init__(self, reason: RejectionReason, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message  # what the owner is shown, stored as the record's `error`
        self.detail = detail  # what the decoder said, for the logs only
