"""The backfill: assets that became ready before variants existed get them, once, page by page."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from assets.model import Asset, VariantName, variant_key
from tests.unit.worker import corpus
from tests.unit.worker.harness import BUCKET, TABLE, Harness, failures, missing
from worker import backfill


def _legacy_ready(harness: Harness, monkeypatch: pytest.MonkeyPatch, count: int) -> list[str]:
    """Ready assets as the worker published them before variants: no variants, no placeholder."""
    ids = []
    for index in range(count):
        upload = harness.upload(corpus.encode(corpus.pattern(60 + index, 40), "PNG"))
        assert failures(harness.handle(harness.event(upload), monkeypatch)) == []
        boto3.client("dynamodb", region_name="us-east-1").update_item(
            TableName=TABLE,
            Key={"assetId": {"S": upload.asset_id}},
            UpdateExpression="REMOVE variants, placeholder",
        )
        harness.clients.s3.delete_objects(
            Bucket=BUCKET,
            Delete={"Objects": [{"Key": variant_key(upload.asset_id, n)} for n in VariantName]},
        )
        ids.append(upload.asset_id)
    return ids


def _record(harness: Harness, asset_id: str) -> Asset:
    record = harness.record(asset_id)
    assert record is not None
    return record


def test_backfill_is_bounded_resumable_and_idempotent(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _legacy_ready(harness, monkeypatch, 5)
    assert all(_record(harness, i).variants == () for i in ids)

    # One page of two: bounded, and it says where to resume
    first = backfill.backfill(harness.worker, batch_size=2, max_batches=1)
    assert first.batches == 1
    assert first.next_start is not None
    assert first.added == first.scanned <= 2

    # Resuming there finishes the scan
    rest = backfill.backfill(harness.worker, batch_size=2, start=first.next_start)
    assert rest.next_start is None
    assert first.added + rest.added == 5
    for asset_id in ids:
        record = _record(harness, asset_id)
        assert {v.name for v in record.variants} == set(VariantName)
        assert record.placeholder
        for variant in record.variants:
            head = harness.head(variant.key(asset_id))
            assert head["ContentLength"] == variant.bytes
            assert head["ContentType"] == "image/webp"

    # Run again: nothing left to do, nothing rewritten
    written = len(harness.calls.variants)
    again = backfill.backfill(harness.worker, batch_size=2)
    assert (again.scanned, again.added) == (0, 0)
    assert len(harness.calls.variants) == written


def test_dry_run_writes_nothing_and_a_missing_image_is_skipped_with_its_reason(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept, lost = _legacy_ready(harness, monkeypatch, 2)
    harness.clients.s3.delete_object(Bucket=BUCKET, Key=_record(harness, lost).processed_key)

    dry = backfill.backfill(harness.worker, batch_size=10, dry_run=True)
    assert dry.added == 1
    assert _record(harness, kept).variants == ()
    assert missing(harness, variant_key(kept, VariantName.THUMB))

    real = backfill.backfill(harness.worker, batch_size=10)
    assert real.added == 1
    assert real.skipped == [(lost, "its published image is missing")]
    assert _record(harness, lost).variants == ()


def test_the_command_keeps_a_checkpoint(
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = _legacy_ready(harness, monkeypatch, 3)
    monkeypatch.setattr(backfill, "build_worker", lambda settings: harness.worker)
    checkpoint = tmp_path / "backfill.json"

    assert (
        backfill.main(["--batch-size", "1", "--max-batches", "1", "--checkpoint", str(checkpoint)])
        == 0
    )
    saved = json.loads(checkpoint.read_text())
    assert saved["complete"] is False
    assert saved["nextStart"] in ids

    assert backfill.main(["--batch-size", "1", "--checkpoint", str(checkpoint)]) == 0
    assert json.loads(checkpoint.read_text()) == {"nextStart": None, "complete": True}
    assert all(_record(harness, i).variants for i in ids)
    assert backfill.main(["--checkpoint", str(checkpoint)]) == 0
    assert "already complete" in capsys.readouterr().out
