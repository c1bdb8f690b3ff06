"""Variants through the handler: published under the asset's id before `ready`, gone with the asset.

The pixels are pinned in test_variants (imaging level); here the worker's part: which keys, which
headers, what the record says, and that redelivery, rejection and withdrawal treat them as the
image is treated.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from PIL import Image

from assets.model import AssetStatus, ImageType, VariantName, variant_key
from assets.storage import CACHE_CONTROL
from tests.unit.worker import corpus
from tests.unit.worker.harness import BUCKET, Harness, decode, failures, missing


def _photo(orientation: int) -> bytes:
    """A 4000x3000 JPEG whose EXIF says to turn it (6: 90 degrees clockwise)."""
    image = corpus.pattern(4000, 3000)
    return corpus.encode(image, "JPEG", quality=80, exif=corpus.gps_exif(orientation))


def _variant(harness: Harness, asset_id: str, name: VariantName) -> bytes:
    body: bytes = harness.clients.s3.get_object(Bucket=BUCKET, Key=variant_key(asset_id, name))[
        "Body"
    ].read()
    return body


def test_a_turned_photo_gets_upright_variants_recorded_with_its_placeholder(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = harness.upload(_photo(6), ImageType.JPEG)

    assert failures(harness.handle(harness.event(upload), monkeypatch)) == []

    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.READY
    sizes = {v.name: (v.width, v.height) for v in record.variants}
    assert sizes == {VariantName.THUMB: (240, 320), VariantName.DISPLAY: (1200, 1600)}
    for variant in record.variants:
        data = _variant(harness, upload.asset_id, variant.name)
        assert variant.bytes == len(data)
        image = decode(data)
        assert image.format == "WEBP"
        assert image.size == (variant.width, variant.height)
        assert not image.getexif()
        head = harness.head(variant_key(upload.asset_id, variant.name))
        assert head["ContentType"] == "image/webp"
        assert head["CacheControl"] == CACHE_CONTROL
    assert record.placeholder is not None
    assert 6 <= len(record.placeholder) <= 100
    assert len(harness.calls.variants) == 2


def test_a_small_image_is_not_upscaled_and_alpha_is_kept(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = Image.new("RGBA", (200, 120), (10, 200, 30, 0))
    image.paste((250, 10, 10, 255), (20, 20, 120, 100))
    upload = harness.upload(corpus.encode(image, "PNG"), ImageType.PNG)

    assert failures(harness.handle(harness.event(upload), monkeypatch)) == []

    record = harness.record(upload.asset_id)
    assert record is not None
    assert {(v.width, v.height) for v in record.variants} == {(200, 120)}
    for name in VariantName:
        variant = decode(_variant(harness, upload.asset_id, name))
        assert variant.mode == "RGBA"
        assert variant.getpixel((0, 0))[3] == 0  # type: ignore[index]
        assert variant.getpixel((50, 50))[3] == 255  # type: ignore[index]


def test_redelivery_leaves_the_variants_as_they_were(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = harness.upload(corpus.encode(corpus.pattern(), "PNG"))
    event = harness.event(upload)
    assert failures(harness.handle(event, monkeypatch)) == []
    first = {
        name: hashlib.sha256(_variant(harness, upload.asset_id, name)).hexdigest()
        for name in VariantName
    }
    record = harness.record(upload.asset_id)

    assert failures(harness.handle(event, monkeypatch)) == []

    again = {
        name: hashlib.sha256(_variant(harness, upload.asset_id, name)).hexdigest()
        for name in VariantName
    }
    assert again == first
    assert len(harness.calls.variants) == 2
    assert harness.record(upload.asset_id) == record


def test_a_rejected_upload_has_no_variants(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = harness.upload(b"\x89PNG\r\n\x1a\n" + b"no chunks at all" * 4)

    assert failures(harness.handle(harness.event(upload), monkeypatch)) == []

    record = harness.record(upload.asset_id)
    assert record is not None
    assert record.status is AssetStatus.REJECTED
    assert record.variants == ()
    assert record.placeholder is None
    assert harness.calls.variants == []
    for name in VariantName:
        assert missing(harness, variant_key(upload.asset_id, name))


def test_a_record_deleted_while_processing_takes_its_variants_with_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = harness.upload(corpus.encode(corpus.pattern(), "PNG"))

    def owner_deletes(**_: Any) -> None:
        record = harness.record(upload.asset_id)
        if record is not None:
            harness.repository.delete(upload.asset_id, record.owner_id)

    harness.hook(harness.clients.s3, "after-call.s3.PutObject", owner_deletes)

    assert failures(harness.handle(harness.event(upload), monkeypatch)) == []

    assert harness.record(upload.asset_id) is None
    for name in VariantName:
        assert missing(harness, variant_key(upload.asset_id, name))
    assert missing(harness, upload.processed_key)
