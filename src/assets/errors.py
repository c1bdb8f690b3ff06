"""Errors in the product's vocabulary; the API maps them to HTTP in one place."""

from __future__ import annotations


class AssetError(Exception):
    """Base of the domain's errors."""


class AssetNotFound(AssetError):
    """No such asset for this caller (unknown, malformed, or someone else's: indistinguishable)."""


class TooManyPendingUploads(AssetError):
    """The caller already holds the maximum number of open upload forms."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"too many uploads in progress (limit {limit}); finish or wait for them")
        self.limit = limit


class InvalidCursor(AssetError):
    """A paging cursor this service did not issue for this caller."""


class StorageUnavailable(AssetError):
    """AWS throttled, timed out or failed on its side: worth retrying, never the caller's fault."""
