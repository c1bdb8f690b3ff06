"""The lease and state transitions the worker writes, as conditional updates on the asset record."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assets.model import AssetStatus, ImageType, PublishedImage, RejectionReason, epoch_seconds
from assets.repository import ClaimOutcome
from tests.unit.worker.harness import Harness

LEASE = 120


@pytest.fixture
def asset_id(harness: Harness) -> str:
    return harness.create_record(ImageType.PNG).asset_id


def key(asset_id: str) -> str:
    return f"uploads/originals/{asset_id}.png"


def output(asset_id: str) -> PublishedImage:
    return PublishedImage(f"processed/assets/{asset_id}.png", 640, 480, 1234, "ab" * 32)


def test_claim_takes_an_uploading_record_into_processing_under_a_lease(
    harness: Harness, asset_id: str
) -> None:
    claim = harness.repository.claim_for_processing(
        asset_id, key(asset_id), "token-1", harness.clock(), LEASE
    )
    assert claim.claimed
    assert claim.asset is not None
    assert claim.asset.status is AssetStatus.PROCESSING
    assert claim.asset.lease_token == "token-1"
    assert claim.asset.lease_expires_at == epoch_seconds(harness.clock()) + LEASE
    assert harness.record(asset_id) == claim.asset


def test_second_claim_during_a_live_lease_is_refused_with_the_holder(
    harness: Harness, asset_id: str
) -> None:
    harness.repository.claim_for_processing(
        asset_id, key(asset_id), "first", harness.clock(), LEASE
    )
    harness.clock.advance(LEASE - 1)
    claim = harness.repository.claim_for_processing(
        asset_id, key(asset_id), "second", harness.clock(), LEASE
    )
    assert claim.outcome is ClaimOutcome.LEASE_HELD
    assert claim.asset is not None
    assert claim.asset.lease_token == "first"


def test_claim_after_the_lease_expired_takes_over(harness: Harness, asset_id: str) -> None:
    harness.repository.claim_for_processing(asset_id, key(asset_id), "dead", harness.clock(), LEASE)
    harness.clock.advance(LEASE)
    claim = harness.repository.claim_for_processing(
        asset_id, key(asset_id), "successor", harness.clock(), LEASE
    )
    assert claim.claimed
    assert claim.asset is not None
    assert claim.asset.lease_token == "successor"
    # AND the dead worker's token no longer finishes anything
    assert not harness.repository.finish_ready(asset_id, "dead", output(asset_id), harness.clock())


def test_released_claim_can_be_taken_at_once(harness: Harness, asset_id: str) -> None:
    harness.repository.claim_for_processing(
        asset_id, key(asset_id), "first", harness.clock(), LEASE
    )
    assert not harness.repository.release_claim(asset_id, "not-mine", harness.clock())
    assert harness.repository.release_claim(asset_id, "first", harness.clock())
    claim = harness.repository.claim_for_processing(
        asset_id, key(asset_id), "second", harness.clock(), LEASE
    )
    assert claim.claimed


@pytest.mark.parametrize(
    ("setup", "outcome"),
    [
        ("missing", ClaimOutcome.ORPHAN),
        ("other-key", ClaimOutcome.ORPHAN),
        ("expired", ClaimOutcome.ORPHAN),
        ("ready", ClaimOutcome.FINAL),
        ("rejected", ClaimOutcome.FINAL),
    ],
)
def test_claim_is_refused_for_records_that_cannot_take_this_object(
    setup: str, outcome: ClaimOutcome, harness: Harness, asset_id: str
) -> None:
    object_key = key(asset_id)
    if setup == "missing":
        harness.repository.delete(asset_id, "owner-sub-1")
    elif setup == "other-key":
        object_key = f"uploads/originals/{asset_id}.jpg"
    elif setup == "expired":
        harness.clock.advance(timedelta(days=1).total_seconds())
    else:
        harness.repository.claim_for_processing(asset_id, object_key, "t", harness.clock(), LEASE)
        if setup == "ready":
            harness.repository.finish_ready(asset_id, "t", output(asset_id), harness.clock())
        else:
            harness.repository.finish_rejected(
                asset_id, "t", RejectionReason.CORRUPT, "broken", harness.clock(), 0
            )
    before = harness.record(asset_id)

    claim = harness.repository.claim_for_processing(
        asset_id, object_key, "late", harness.clock(), LEASE
    )

    assert claim.outcome is outcome
    assert harness.record(asset_id) == before


def test_finish_ready_needs_the_lease_and_records_the_output(
    harness: Harness, asset_id: str
) -> None:
    harness.repository.claim_for_processing(asset_id, key(asset_id), "mine", harness.clock(), LEASE)
    published = output(asset_id)

    assert not harness.repository.finish_ready(asset_id, "someone-else", published, harness.clock())
    record = harness.record(asset_id)
    assert record is not None
    assert record.status is AssetStatus.PROCESSING

    harness.clock.advance(3)
    assert harness.repository.finish_ready(asset_id, "mine", published, harness.clock())
    record = harness.record(asset_id)
    assert record is not None
    assert record.status is AssetStatus.READY
    assert (record.output_key, record.width, record.height, record.bytes, record.sha256) == (
        published.output_key,
        640,
        480,
        1234,
        "ab" * 32,
    )
    assert record.expires_at is None
    assert record.lease_token is None
    assert record.lease_expires_at is None
    assert record.updated_at > record.created_at
    # AND ready is final: the same token cannot finish it again
    assert not harness.repository.finish_rejected(
        asset_id, "mine", RejectionReason.CORRUPT, "x", harness.clock(), 0
    )


def test_finish_rejected_needs_the_lease_and_records_why(harness: Harness, asset_id: str) -> None:
    harness.repository.claim_for_processing(asset_id, key(asset_id), "mine", harness.clock(), LEASE)
    expires = epoch_seconds(harness.clock()) + 86400

    assert harness.repository.finish_rejected(
        asset_id, "mine", RejectionReason.TRUNCATED, "cut short", harness.clock(), expires
    )

    record = harness.record(asset_id)
    assert record is not None
    assert record.status is AssetStatus.REJECTED
    assert (record.error_code, record.error) == ("truncated", "cut short")
    assert record.expires_at == expires
    assert record.lease_token is None
    assert record.output_key is None


def test_finishing_a_deleted_record_does_not_recreate_it(harness: Harness, asset_id: str) -> None:
    harness.repository.claim_for_processing(asset_id, key(asset_id), "mine", harness.clock(), LEASE)
    harness.repository.delete(asset_id, "owner-sub-1")
    assert not harness.repository.finish_ready(asset_id, "mine", output(asset_id), harness.clock())
    assert harness.record(asset_id) is None
