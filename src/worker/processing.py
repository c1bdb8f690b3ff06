"""One uploaded object, from `uploading` to `ready` or `rejected`, once in effect.

S3 and SQS deliver at least once, possibly twice at the same moment. A conditional claim gives
one worker a lease on the record; only that lease can finish it. Publishing happens before the
finish, to a key named by the asset, so a worker that dies in between leaves bytes its successor
overwrites with the same bytes; a finish that finds the record gone withdraws what it published.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from assets.errors import AssetError, StorageUnavailable, UploadRejected
from assets.model import (
    RECORD_TTL_SECONDS,
    Asset,
    AssetStatus,
    PublishedImage,
    RejectionReason,
    epoch_seconds,
    parse_source_key,
)
from assets.repository import ClaimOutcome
from assets.storage import SourceChanged, Upload, UploadMissing
from worker.events import ObjectEvent

if TYPE_CHECKING:
    from worker.imaging import ValidatedImage
    from worker.runtime import Worker

FINISH_ATTEMPTS = 4
"""Finishing is retried in place: redoing the whole record would decode and publish again."""
FINISH_BACKOFF_SECONDS = 0.1


class Outcome(StrEnum):
    """What processing one object came to; each has its own metric."""

    READY = "accepted"
    REJECTED = "rejected"
    ORPHANED = "orphaned"
    """No record can claim the object (never issued, or expired): the object was deleted."""
    WITHDRAWN = "withdrawn"
    """The record was deleted while the object was processed: what was published was removed."""
    DUPLICATE = "duplicate"
    """The record was already final: a redelivery, acknowledged without effect."""
    SUPERSEDED = "superseded"
    """Another worker took over the record mid-way and decides it."""
    IGNORED = "ignored"
    """Not an upload this worker handles (another prefix, bucket or event type)."""


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    asset_id: str | None = None
    reason: RejectionReason | None = None
    detail: str = ""


class RetryLater(Exception):
    """Not now: the message goes back to the queue and is delivered again."""


def process_object(event: ObjectEvent, worker: Worker) -> Result:
    """Validate and publish one uploaded object, or reject it; raises `RetryLater`/`StorageUnavailable` to retry."""
    if not event.is_object_created:
        return Result(Outcome.IGNORED, detail=f"{event.event_name} is not an upload")
    if event.bucket != worker.bucket.name:
        return Result(Outcome.IGNORED, detail=f"bucket {event.bucket!r} is not the asset bucket")
    source = parse_source_key(event.key)
    if source is None:
        return Result(Outcome.IGNORED, detail=f"{event.key!r} is not an upload key")
    asset_id = source.asset_id
    token = worker.new_token()
    claim = worker.repository.claim_for_processing(
        asset_id,
        event.key,
        token,
        worker.clock(),
        worker.settings.LEASE_SECONDS,
        version_id=event.version_id,
    )
    if claim.outcome is ClaimOutcome.ORPHAN:
        if claim.asset is None:
            # No record: whatever a worker published for this id before the record went (a
            # delete racing a publish) goes with the original.
            worker.bucket.delete_asset(asset_id, source.image_type)
        else:
            worker.bucket.delete_keys([event.key])
        return Result(Outcome.ORPHANED, asset_id, detail="no record can claim this upload")
    if claim.outcome is ClaimOutcome.FINAL:
        return _after_decision(event, claim.asset, worker)
    if claim.outcome is ClaimOutcome.LEASE_HELD or claim.asset is None:
        raise RetryLater(f"asset {asset_id} is being processed by another worker")
    try:
        return _process_claimed(event, claim.asset, token, worker)
    except Exception:
        _release(worker, asset_id, token)
        raise


def _after_decision(event: ObjectEvent, decided: Asset | None, worker: Worker) -> Result:
    """A notification for a key whose asset is decided: a redelivery, or a form POSTed again."""
    asset_id = decided.asset_id if decided else None
    decided_version = decided.source_version_id if decided else None
    if event.version_id and decided_version and event.version_id != decided_version:
        # Another POST of the same form: never processed, and not kept either.
        worker.bucket.delete_version(event.key, event.version_id)
        return Result(
            Outcome.DUPLICATE,
            asset_id,
            detail=f"version {event.version_id} came after the decision; deleted unprocessed",
        )
    if decided is not None and decided.status is AssetStatus.REJECTED:
        # A rejected asset keeps no original.
        worker.bucket.delete_keys([event.key])
    status = decided.status if decided else "final"
    return Result(Outcome.DUPLICATE, asset_id, detail=f"already {status}")


def _process_claimed(event: ObjectEvent, asset: Asset, token: str, worker: Worker) -> Result:
    from worker import imaging  # Pillow loads on the first upload, not at cold start.

    settings = worker.settings
    try:
        upload = worker.bucket.read_upload(event.key, event.version_id, settings.MAX_UPLOAD_BYTES)
        validated = imaging.validate(upload.data, asset.image_type, settings.MAX_IMAGE_PIXELS)
        rendered = (
            imaging.render_sanitized(validated) if settings.PUBLISH_MODE == "sanitized" else None
        )
    except UploadRejected as rejection:
        return _reject(asset, token, rejection, worker)
    except UploadMissing as missing:
        return _reject(
            asset,
            token,
            UploadRejected(
                RejectionReason.UPLOAD_MISSING,
                "The uploaded file is no longer in storage.",
                detail=str(missing),
            ),
            worker,
        )
    if (
        asset.lease_expires_at is not None
        and epoch_seconds(worker.clock()) >= asset.lease_expires_at
    ):
        # Only a lease holder publishes; one that overran its lease may have a successor.
        raise RetryLater(f"the lease on asset {asset.asset_id} ran out before publishing")
    published = _publish(asset, upload, validated, rendered, worker)
    return _finish_ready(asset, token, published, worker)


def _publish(
    asset: Asset,
    upload: Upload,
    validated: ValidatedImage,
    rendered: bytes | None,
    worker: Worker,
) -> PublishedImage:
    key = asset.processed_key
    validated.image.close()
    if rendered is not None:
        worker.bucket.publish(key, rendered, asset.image_type.value)
        content = rendered
    else:
        try:
            worker.bucket.publish_copy(upload, key, asset.image_type)
        except SourceChanged as changed:
            raise RetryLater(f"the original changed after validation: {changed}") from changed
        content = upload.data
    return PublishedImage(
        output_key=key,
        width=validated.width,
        height=validated.height,
        bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )


def _finish_ready(asset: Asset, token: str, published: PublishedImage, worker: Worker) -> Result:
    asset_id = asset.asset_id
    finished = _retrying(
        worker, lambda: worker.repository.finish_ready(asset_id, token, published, worker.clock())
    )
    if finished:
        return Result(Outcome.READY, asset_id)
    current = worker.repository.get(asset_id)
    if current is None:
        _withdraw(asset, worker)
        return Result(Outcome.WITHDRAWN, asset_id, detail="the record was deleted while processing")
    if (
        current.status is AssetStatus.READY
        and current.sha256 == published.sha256
        and current.output_key == published.output_key
    ):
        # Our finish landed but its answer was lost, and the retry found the lease spent.
        return Result(Outcome.READY, asset_id)
    if current.status is AssetStatus.REJECTED:
        worker.bucket.delete_keys([published.output_key])
    return Result(Outcome.SUPERSEDED, asset_id, detail=f"the record is {current.status}")


def _reject(asset: Asset, token: str, rejection: UploadRejected, worker: Worker) -> Result:
    asset_id = asset.asset_id
    now = worker.clock()
    finished = _retrying(
        worker,
        lambda: worker.repository.finish_rejected(
            asset_id,
            token,
            rejection.reason,
            rejection.message,
            now,
            # The reason stays readable for a day from the verdict; then TTL removes the record,
            # which has nothing left to keep: no original, nothing published.
            expires_at=epoch_seconds(now) + RECORD_TTL_SECONDS,
        ),
    )
    if not finished:
        current = worker.repository.get(asset_id)
        if current is None:
            _withdraw(asset, worker)
            return Result(
                Outcome.WITHDRAWN, asset_id, detail="the record was deleted while processing"
            )
        landed = current.status is AssetStatus.REJECTED and current.error_code == rejection.reason
        if not landed:
            return Result(Outcome.SUPERSEDED, asset_id, detail=f"the record is {current.status}")
    # A predecessor that died between publishing and finishing may have left output behind.
    worker.bucket.delete_asset(asset_id, asset.image_type)
    return Result(
        Outcome.REJECTED,
        asset_id,
        reason=rejection.reason,
        detail=rejection.detail or rejection.message,
    )


def _withdraw(asset: Asset, worker: Worker) -> None:
    worker.bucket.delete_asset(asset.asset_id, asset.image_type)


def _retrying(worker: Worker, finish: Callable[[], bool]) -> bool:
    for attempt in range(FINISH_ATTEMPTS):
        try:
            return finish()
        except StorageUnavailable:
            if attempt == FINISH_ATTEMPTS - 1:
                raise
            worker.sleep(FINISH_BACKOFF_SECONDS * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _release(worker: Worker, asset_id: str, token: str) -> None:
    """Best effort: a released lease lets the retry start at once; otherwise it expires."""
    with contextlib.suppress(AssetError, ClientError, BotoCoreError):
        worker.repository.release_claim(asset_id, token, worker.clock())
