"""What the security review found in the worker, reproduced first: orphaned publishes, reposted forms.

Issue 15, items 2 and 3: a publish that outlives its record must not stay public, and a signed
form POSTed again after its asset was decided must cost neither a decode nor weeks of storage.
"""

from __future__ import annotations

from typing import Any

import pytest

from assets.model import AssetStatus
from tests.unit.worker import corpus
from tests.unit.worker.harness import BUCKET, Harness, StoredUpload, failures, missing

PNG = corpus.encode(corpus.pattern(), "PNG")


def _versions(harness: Harness, key: str) -> list[str]:
    listing = harness.clients.s3.list_object_versions(Bucket=BUCKET, Prefix=key)
    return [v["VersionId"] for v in listing.get("Versions", []) if v["Key"] == key]


def _repost(harness: Harness, upload: StoredUpload, data: bytes) -> StoredUpload:
    """The same signed form POSTed again: a new version of the same key, a new notification."""
    version_id, etag = harness.put_object(upload.key, data)
    return StoredUpload(upload.asset_id, upload.key, upload.image_type, version_id, etag)


def test_an_orphaned_redelivery_takes_what_a_dead_worker_published_with_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a worker that published an upload and died before its final write, while the owner
    # deleted the asset (the API removed the objects, then the record) between its read and
    # its publish: the published image is the only thing left, and public
    upload = harness.upload(PNG)
    harness.clients.s3.put_object(Bucket=BUCKET, Key=upload.processed_key, Body=PNG)
    record = harness.record(upload.asset_id)
    assert record is not None
    harness.repository.delete(upload.asset_id, record.owner_id)
    published_before = harness.calls.publishes

    # WHEN SQS delivers the message again and no record can claim the object
    response = harness.handle(harness.event(upload), monkeypatch)

    # THEN every key of that asset id goes, the published one included
    assert failures(response) == []
    assert missing(harness, upload.key)
    assert missing(harness, upload.processed_key)
    assert harness.calls.publishes == published_before


def test_an_orphan_key_of_a_live_record_takes_only_itself(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a ready PNG asset, and an object under the same id with the other extension (a key no
    # form signs): it names the asset's id but not its record
    upload = harness.upload(PNG)
    assert failures(harness.handle(harness.event(upload), monkeypatch)) == []
    stray_key = upload.key.removesuffix(".png") + ".jpg"
    version_id, etag = harness.put_object(stray_key, b"\xff\xd8\xff stray")
    stray = StoredUpload(upload.asset_id, stray_key, upload.image_type, version_id, etag)

    # WHEN its notification arrives
    assert failures(harness.handle(harness.event(stray), monkeypatch)) == []

    # THEN the stray object goes and the real asset keeps what it published
    assert missing(harness, stray_key)
    assert harness.published(upload) != b""
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.READY


def test_a_form_posted_again_after_ready_is_deleted_by_version_unprocessed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a ready asset, then the same form POSTed again with other bytes (within its minutes)
    upload = harness.upload(PNG)
    assert failures(harness.handle(harness.event(upload), monkeypatch)) == []
    ready = harness.record(upload.asset_id)
    published = harness.published(upload)
    again = _repost(harness, upload, corpus.encode(corpus.pattern(64, 40), "PNG"))
    decoded: list[Any] = []
    monkeypatch.setattr("worker.imaging.validate", lambda *a, **k: decoded.append(a))

    # WHEN its notification arrives
    assert failures(harness.handle(harness.event(again), monkeypatch)) == []

    # THEN that version is gone for good (no delete marker, no weeks of storage), the decided
    # version is current again, nothing was decoded or published, and the record is unchanged
    assert _versions(harness, upload.key) == [upload.version_id]
    assert decoded == []
    assert harness.calls.publishes == 1
    assert harness.published(upload) == published
    assert harness.record(upload.asset_id) == ready


def test_a_redelivery_of_the_decided_version_keeps_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = harness.upload(PNG)
    event = harness.event(upload)
    assert failures(harness.handle(event, monkeypatch)) == []
    assert failures(harness.handle(event, monkeypatch)) == []
    assert _versions(harness, upload.key) == [upload.version_id]
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.source_version_id == upload.version_id


def test_a_form_posted_again_after_rejection_leaves_no_version(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = harness.upload(b"not an image at all")
    assert failures(harness.handle(harness.event(upload), monkeypatch)) == []
    again = _repost(harness, upload, b"still not an image")

    assert failures(harness.handle(harness.event(again), monkeypatch)) == []

    assert again.version_id not in _versions(harness, upload.key)
    assert missing(harness, upload.key)
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.REJECTED
