"""Random and damaged bytes uploaded as PNG or JPEG, through the worker's Lambda handler.

`test_imaging` holds the same property for `imaging.validate`; this one holds it for what matters
to a viewer: whatever the bytes, the handler comes to a verdict, and an object appears under
`processed/` (where the CDN reads) only when Pillow, on its own, fully decodes the upload as the
declared format. A rejected upload leaves nothing published and no original behind.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from assets.model import AssetStatus, ImageType
from tests.unit.worker import corpus
from tests.unit.worker.harness import BUCKET, Harness, decode, failures, missing
from tests.unit.worker.test_imaging import damaged_images

PILLOW_FORMATS = {ImageType.PNG: {"PNG"}, ImageType.JPEG: {"JPEG", "MPO"}}
DECLARED = st.sampled_from(list(ImageType))
UPLOADS = st.one_of(
    # Whole images of every kind the corpus holds, declared rightly or wrongly...
    st.tuples(st.sampled_from([case.data for case in corpus.valid_corpus()]), DECLARED),
    # ... damaged ones, and bytes that are no image at all.
    damaged_images(),
    st.tuples(st.binary(max_size=256), DECLARED),
)


def _published_versions(harness: Harness, key: str) -> list[bytes]:
    listing = harness.clients.s3.list_object_versions(Bucket=BUCKET, Prefix=key)
    return [
        harness.clients.s3.get_object(Bucket=BUCKET, Key=key, VersionId=version["VersionId"])[
            "Body"
        ].read()
        for version in listing.get("Versions", [])
        if version["Key"] == key
    ]


def _pillow_decodes(data: bytes, declared: ImageType) -> bool:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception:  # noqa: BLE001 - any failure to decode is the answer
        return False
    return image.format in PILLOW_FORMATS[declared]


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI never flakes on a new one
    database=None,
    # One moto account serves every example; each upload has an asset id of its own.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(UPLOADS)
def test_nothing_is_published_unless_pillow_decodes_the_upload(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, sample: tuple[bytes, ImageType]
) -> None:
    # GIVEN random or damaged bytes, uploaded with a form for PNG or JPEG
    data, declared = sample
    upload = harness.upload(data, declared)

    # WHEN S3's notification reaches the worker
    response = harness.handle(harness.event(upload), monkeypatch)

    # THEN it comes to a verdict (bad bytes are never a retry)
    assert failures(response) == []
    record = harness.record(upload.asset_id)
    assert record is not None
    published = _published_versions(harness, upload.processed_key)
    if record.status is AssetStatus.READY:
        # ... and it published once only what Pillow reads in full as the declared format
        assert _pillow_decodes(data, declared)
        assert len(published) == 1
        decode(published[0])
    else:
        assert record.status is AssetStatus.REJECTED
        assert record.error_code
        assert published == []
        assert missing(harness, upload.key)
