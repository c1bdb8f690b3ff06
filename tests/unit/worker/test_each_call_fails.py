"""Each AWS call the worker makes, failing in turn: DynamoDB throttles, S3 answers 5xx.

`test_delivery` pins failures one by one; this walks whatever calls the worker actually makes
(found by running the case once cleanly), so a call added later is covered too. Every run must end
as the clean run did: the same final state, one publish (none for a rejection), no lease left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from assets.model import AssetStatus, ImageType
from tests.support.faults import AwsCalls
from tests.unit.worker import corpus
from tests.unit.worker.harness import BUCKET, Harness, StoredUpload, failures, missing

MAX_DELIVERIES = 3


@dataclass(frozen=True)
class Case:
    data: bytes
    image_type: ImageType
    settings: dict[str, Any]
    final: AssetStatus


CASES = {
    "png published sanitized": Case(
        corpus.encode(corpus.pattern(), "PNG"), ImageType.PNG, {}, AssetStatus.READY
    ),
    "jpeg published as uploaded": Case(
        corpus.encode(corpus.pattern(), "JPEG"),
        ImageType.JPEG,
        {"PUBLISH_MODE": "original"},
        AssetStatus.READY,
    ),
    "fake jpeg rejected": Case(
        b"\xff\xd8\xff\xe0" + b"not a JPEG at all" * 8, ImageType.JPEG, {}, AssetStatus.REJECTED
    ),
}


def _deliver_until_done(
    harness: Harness, upload: StoredUpload, monkeypatch: pytest.MonkeyPatch, calls: AwsCalls
) -> int:
    """SQS's part: deliver the message until the handler stops asking; how many deliveries."""
    event = harness.event(upload)
    with calls.watching(harness.clients.dynamodb, harness.clients.s3):
        for delivery in range(1, MAX_DELIVERIES + 1):
            if not failures(harness.handle(event, monkeypatch)):
                return delivery
    raise AssertionError(f"still failing after {MAX_DELIVERIES} deliveries: {calls.made}")


def _published(harness: Harness, upload: StoredUpload) -> list[dict[str, Any]]:
    listing = harness.clients.s3.list_object_versions(Bucket=BUCKET, Prefix=upload.processed_key)
    return [dict(version) for version in listing.get("Versions", [])]


@pytest.mark.parametrize("name", CASES)
def test_each_call_failing_in_turn_ends_as_the_clean_run_does(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    case = CASES[name]
    harness.configure(**case.settings)

    # GIVEN the calls one clean run of this case makes
    clean = AwsCalls()
    upload = harness.upload(case.data, case.image_type)
    assert _deliver_until_done(harness, upload, monkeypatch, clean) == 1
    assert clean.made[0] == "dynamodb UpdateItem"  # the claim comes first
    assert len(clean.made) >= 4

    for index, call in enumerate(clean.made):
        # WHEN that call fails (throttled, or a 5xx) on a fresh upload
        calls = AwsCalls(fail_at=index)
        upload = harness.upload(case.data, case.image_type)
        deliveries = _deliver_until_done(harness, upload, monkeypatch, calls)
        assert calls.failed == [call], (index, calls.made)

        # THEN it is retried (in place, or by one more delivery) and ends as the clean run did
        where = f"{call} (call {index + 1} of {len(clean.made)})"
        assert deliveries <= 2, where
        record = harness.record(upload.asset_id)
        assert record is not None
        assert record.status is case.final, where
        assert record.lease_token is None, where
        published = _published(harness, upload)
        if case.final is AssetStatus.READY:
            assert len(published) == 1, where
            assert record.bytes == published[0]["Size"], where
        else:
            assert published == [], where
            assert missing(harness, upload.key), where
