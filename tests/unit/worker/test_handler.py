"""Lambda-shaped SQS events through `worker.main.handler`, against moto."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote_plus

import pytest

from assets.model import RECORD_TTL_SECONDS, AssetStatus, ImageType, epoch_seconds
from assets.storage import CACHE_CONTROL
from tests.unit.worker import corpus
from tests.unit.worker.harness import (
    BUCKET,
    Harness,
    decode,
    emitted,
    failures,
    load_event,
    metric_counts,
    missing,
)
from worker import imaging

VALID = corpus.valid_corpus()
INVALID = corpus.invalid_corpus()


@pytest.mark.parametrize("case", VALID, ids=[case.name for case in VALID])
def test_valid_upload_becomes_ready_and_is_published_sanitised(
    case: corpus.Valid, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an upload the API issued a form for, and the S3 notification for it
    upload = harness.upload(case.data, case.image_type)

    # WHEN the worker handles the notification
    response = harness.handle(harness.event(upload), monkeypatch)

    # THEN the record is ready and describes exactly the published bytes
    assert failures(response) == []
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.READY
    published = harness.published(upload)
    assert record.output_key == upload.processed_key
    assert record.bytes == len(published)
    assert record.sha256 == hashlib.sha256(published).hexdigest()
    assert (record.width, record.height) == decode(published).size
    assert record.expires_at is None
    assert record.lease_token is None
    assert record.lease_expires_at is None
    # AND the published object is the re-encoded image, typed from its format, cached for good
    head = harness.head(upload.processed_key)
    assert head["ContentType"] == case.image_type.value
    assert head["CacheControl"] == CACHE_CONTROL
    for secret in corpus.SECRETS:
        assert secret not in published
    # AND the original stays private where it was
    assert harness.objects("uploads/originals/") == {upload.key: case.data}


@pytest.mark.parametrize("case", INVALID, ids=[case.name for case in INVALID])
def test_invalid_upload_is_rejected_its_original_deleted_and_nothing_published(
    case: corpus.Invalid, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an upload whose bytes are not an acceptable image of the declared type
    upload = harness.upload(case.data, case.image_type)

    # WHEN the worker handles its notification
    response = harness.handle(harness.event(upload), monkeypatch)

    # THEN the message is acknowledged (a verdict, not a retry)
    assert failures(response) == []
    # AND the record says why, with a stable code and a message for people
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.REJECTED
    assert record.error_code == case.reason.value
    assert record.error
    assert record.lease_token is None
    assert record.output_key is None
    # AND a rejected record expires a day after its verdict
    assert record.expires_at == epoch_seconds(harness.clock()) + RECORD_TTL_SECONDS
    # AND the original is gone, and nothing was ever published
    assert missing(harness, upload.key)
    assert harness.objects("processed/") == {}
    assert harness.calls.publishes == 0


def test_file_over_the_size_limit_is_rejected_before_it_is_read(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a valid PNG one byte over MAX_UPLOAD_BYTES
    data = corpus.encode(corpus.pattern(), "PNG")
    harness.configure(MAX_UPLOAD_BYTES=len(data) - 1)
    upload = harness.upload(data)
    reads: list[int] = []
    harness.hook(
        harness.clients.s3,
        "after-call.s3.GetObject",
        lambda parsed, **_: reads.append(parsed["ContentLength"]),
    )

    # WHEN it is handled
    response = harness.handle(harness.event(upload), monkeypatch)

    # THEN it is rejected as too large, from the size S3 reports
    assert failures(response) == []
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.REJECTED
    assert record.error_code == "too_large"
    assert f"{len(data):,} bytes" in (record.error or "")
    assert reads == [len(data)]
    assert missing(harness, upload.key)


def test_exactly_the_version_named_in_the_event_is_validated(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a valid PNG uploaded, then overwritten with text by a second post of the same form
    good = corpus.encode(corpus.pattern(), "PNG")
    upload = harness.upload(good)
    harness.put_object(upload.key, b"not an image at all")

    # WHEN the notification for the first version is handled
    response = harness.handle(harness.event(upload), monkeypatch)

    # THEN the first version's bytes are what was validated and published
    assert failures(response) == []
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.READY
    expected = imaging.render_sanitized(imaging.validate(good, ImageType.PNG, 40_000_000))
    assert harness.published(upload) == expected


def test_a_later_bad_version_is_rejected_even_though_the_current_object_is_valid(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN text uploaded first, then a valid PNG on the same key
    upload = harness.upload(b"not an image at all")
    harness.put_object(upload.key, corpus.encode(corpus.pattern(), "PNG"))

    # WHEN the notification for the text version arrives first
    harness.handle(harness.event(upload), monkeypatch)

    # THEN the verdict is about the version the event names
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.REJECTED
    assert record.error_code == "not_an_image"


def test_s3_test_event_is_acknowledged_without_side_effects(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = dict(harness.calls.counts)
    response = harness.handle(load_event("sqs_s3_test_event.json", bucket=BUCKET), monkeypatch)
    assert failures(response) == []
    assert harness.calls.counts == before


@pytest.mark.parametrize("body", ["this is not JSON {", '{"hello": "world"}', "[1, 2]", ""])
def test_message_that_is_not_an_s3_event_is_a_batch_item_failure(
    body: str, harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    event = load_event("sqs_not_an_s3_event.json")
    event["Records"][0]["body"] = body
    response = harness.handle(event, monkeypatch)
    assert failures(response) == ["0badf00d-0000-4000-8000-000000000001"]
    assert metric_counts(capsys.readouterr().out)["malformed"] == 1


def test_message_that_is_valid_json_but_not_s3_is_a_batch_item_failure(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = harness.handle(load_event("sqs_not_an_s3_event.json"), monkeypatch)
    assert failures(response) == ["0badf00d-0000-4000-8000-000000000001"]


@pytest.mark.parametrize(
    "key", ["uploads/originals/notes.txt", "other/prefix/x.png", "uploads/originals/a b.png"]
)
def test_key_outside_the_upload_naming_is_acknowledged_and_left_alone(
    key: str, harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an object under a key the API never issues
    harness.put_object(key, b"whatever")
    calls = dict(harness.calls.counts)
    event = load_event(
        "sqs_s3_object_created.json",
        bucket=BUCKET,
        key=quote_plus(key, safe="/"),
        version_id="",
        etag="",
    )

    # WHEN its notification is handled
    response = harness.handle(event, monkeypatch)

    # THEN it is acknowledged and logged, and nothing is touched
    assert failures(response) == []
    assert harness.calls.counts == calls
    assert key in harness.objects()
    logs = [line for line in emitted(capsys.readouterr().out) if line.get("outcome") == "ignored"]
    assert logs
    assert logs[0]["key"] == key


def test_url_encoded_key_is_decoded_before_use(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a notification whose key has every character escaped, slashes included
    upload = harness.upload(corpus.encode(corpus.pattern(), "PNG"))
    event = load_event(
        "sqs_s3_object_created.json",
        bucket=BUCKET,
        key=quote_plus(upload.key, safe=""),
        version_id=upload.version_id,
        etag=upload.etag,
    )
    assert "%2F" in event["Records"][0]["body"]

    # WHEN it is handled, THEN the upload it names is processed
    assert failures(harness.handle(event, monkeypatch)) == []
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.READY


def test_event_for_another_bucket_is_ignored(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = harness.upload(corpus.encode(corpus.pattern(), "PNG"))
    event = harness.event(upload)
    event["Records"][0]["body"] = event["Records"][0]["body"].replace(BUCKET, "someone-elses")
    assert failures(harness.handle(event, monkeypatch)) == []
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.UPLOADING


def test_message_with_several_records_processes_each(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN one message naming a valid PNG and a text file uploaded as JPEG
    first = harness.upload(corpus.encode(corpus.pattern(), "PNG"))
    second = harness.upload(b"hello", ImageType.JPEG)
    event = load_event(
        "sqs_s3_two_records.json",
        bucket=BUCKET,
        key_1=first.key,
        version_id_1=first.version_id,
        etag_1=first.etag,
        key_2=second.key,
        version_id_2=second.version_id,
        etag_2=second.etag,
    )

    # WHEN it is handled, THEN each got its verdict
    assert failures(harness.handle(event, monkeypatch)) == []
    statuses = [harness.record(upload.asset_id) for upload in (first, second)]
    assert [record.status if record else None for record in statuses] == [
        AssetStatus.READY,
        AssetStatus.REJECTED,
    ]


def test_object_without_a_record_is_deleted_as_an_orphan(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an object under a well-formed upload key the API never issued
    upload = harness.upload(corpus.encode(corpus.pattern(), "PNG"), record=False)

    # WHEN its notification is handled
    response = harness.handle(harness.event(upload), monkeypatch)

    # THEN it is deleted, warned about and counted, and the message acknowledged
    assert failures(response) == []
    assert missing(harness, upload.key)
    assert harness.calls.publishes == 0
    out = capsys.readouterr().out
    assert metric_counts(out)["orphaned"] == 1
    warnings = [line for line in emitted(out) if line.get("level") == "WARNING"]
    assert any(line.get("assetId") == upload.asset_id for line in warnings)


def test_upload_of_an_expired_record_is_an_orphan(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an upload whose record is past its TTL but not yet removed by DynamoDB
    upload = harness.upload(corpus.encode(corpus.pattern(), "PNG"))
    harness.clock.advance(RECORD_TTL_SECONDS + 1)

    # WHEN its notification arrives, THEN the object is deleted and the record left to TTL
    assert failures(harness.handle(harness.event(upload), monkeypatch)) == []
    assert missing(harness, upload.key)
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.UPLOADING


def test_object_under_the_other_extension_of_a_record_is_an_orphan(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a record for a PNG, and an object at the JPEG key of the same asset id
    asset = harness.create_record(ImageType.PNG)
    jpeg_key = f"uploads/originals/{asset.asset_id}.jpg"
    harness.put_object(asset.source_key, corpus.encode(corpus.pattern(), "PNG"))
    version_id, etag = harness.put_object(jpeg_key, corpus.encode(corpus.pattern(), "JPEG"))
    event = load_event(
        "sqs_s3_object_created.json", bucket=BUCKET, key=jpeg_key, version_id=version_id, etag=etag
    )

    # WHEN the JPEG's notification is handled
    assert failures(harness.handle(event, monkeypatch)) == []

    # THEN only the object no record can claim is deleted
    assert missing(harness, jpeg_key)
    assert not missing(harness, asset.source_key)
    record = harness.record(asset.asset_id)
    assert record is not None
    assert record.status is AssetStatus.UPLOADING


def test_record_deleted_while_processing_withdraws_what_was_published(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the owner deletes the asset while the worker is publishing it
    upload = harness.upload(corpus.encode(corpus.pattern(), "PNG"))

    def owner_deletes(**_: Any) -> None:
        record = harness.record(upload.asset_id)
        if record is not None:  # the first of the asset's writes (variants come first)
            harness.repository.delete(upload.asset_id, record.owner_id)

    harness.hook(harness.clients.s3, "after-call.s3.PutObject", owner_deletes)

    # WHEN the worker finishes
    response = harness.handle(harness.event(upload), monkeypatch)

    # THEN nothing of the asset stays: the output and the original are withdrawn, and acked
    assert failures(response) == []
    assert harness.calls.publishes == 1
    assert harness.record(upload.asset_id) is None
    assert missing(harness, upload.processed_key)
    assert missing(harness, upload.key)
    assert metric_counts(capsys.readouterr().out)["withdrawn"] == 1


def test_redelivery_for_a_rejected_asset_deletes_a_reuploaded_original(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a rejected upload, and the same form used again to post another file
    upload = harness.upload(b"not an image")
    harness.handle(harness.event(upload), monkeypatch)
    harness.put_object(upload.key, b"another attempt")

    # WHEN its notification arrives
    assert failures(harness.handle(harness.event(upload), monkeypatch)) == []

    # THEN the record stays rejected and keeps no original
    assert missing(harness, upload.key)
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.REJECTED


@pytest.mark.parametrize("image_type", [ImageType.PNG, ImageType.JPEG])
def test_original_mode_copies_the_validated_version_server_side(
    image_type: ImageType, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the worker publishes originals, and an upload with EXIF orientation 6
    harness.configure(PUBLISH_MODE="original")
    fmt = "PNG" if image_type is ImageType.PNG else "JPEG"
    data = corpus.encode(corpus.pattern(), fmt, exif=corpus.gps_exif(6))
    upload = harness.upload(data, image_type)
    copies: list[dict[str, Any]] = []
    harness.hook(
        harness.clients.s3,
        "before-parameter-build.s3.CopyObject",
        lambda params, **_: copies.append(dict(params)),
    )

    # WHEN it is handled
    assert failures(harness.handle(harness.event(upload), monkeypatch)) == []

    # THEN the bytes are copied unchanged, only if still the validated version and ETag
    assert harness.published(upload) == data
    assert harness.calls["CopyObject"] == 1
    assert harness.calls.publishes == 1
    assert copies[0]["CopySource"] == f"{BUCKET}/{upload.key}?versionId={upload.version_id}"
    assert copies[0]["CopySourceIfMatch"].strip('"') == upload.etag
    assert copies[0]["MetadataDirective"] == "REPLACE"
    head = harness.head(upload.processed_key)
    assert head["ContentType"] == image_type.value
    assert head["CacheControl"] == CACHE_CONTROL
    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert (record.width, record.height) == (32, 48)  # as displayed, orientation applied


def test_logs_and_metrics_carry_the_asset_and_the_message(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    upload = harness.upload(corpus.encode(corpus.pattern(), "PNG"))
    harness.handle(harness.event(upload), monkeypatch)
    out = capsys.readouterr().out
    outcome = [line for line in emitted(out) if line.get("outcome") == "accepted"]
    assert len(outcome) == 1
    assert outcome[0]["assetId"] == upload.asset_id
    assert outcome[0]["messageId"] == "2e1424d4-f796-459a-8184-9c92662be6da"
    counts = metric_counts(out)
    assert counts["accepted"] == 1
    assert "processingTime" in counts
