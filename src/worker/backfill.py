"""Give assets that became ready before variants existed their `thumb`, `display` and placeholder.

    python -m worker.backfill [--batch-size 25] [--max-batches N] [--checkpoint FILE] [--dry-run]

An operator's command (docs/operations.md), run with the worker's environment (ASSETS_TABLE_NAME,
ASSET_BUCKET_NAME, AWS credentials that may scan the table, read and write `processed/assets/`).
It scans the table in pages of `--batch-size` for ready records without variants, renders each
from its published image with the worker's own pipeline, publishes the variants and records them
with a conditional write. Idempotent: a record that has variants, changed or went is left alone,
and a second run finds nothing to do. Resumable: after every page the scan position is written to
the checkpoint file (and printed), and a run given that file starts there.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assets.errors import UploadRejected
from assets.model import Asset
from assets.settings import WorkerSettings, load_settings
from assets.storage import UploadMissing
from worker.processing import publish_variants
from worker.runtime import Worker, build_worker

PUBLISHED_READ_FACTOR = 4
"""A published PNG may be larger than its upload; read up to this many times MAX_UPLOAD_BYTES."""


@dataclass
class Progress:
    """What a run did, and where the next one starts (None: the scan is complete)."""

    scanned: int = 0
    added: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    batches: int = 0
    next_start: str | None = None


def add_variants(worker: Worker, asset: Asset, *, dry_run: bool = False) -> str | None:
    """Render and publish one asset's variants and record them; why not, or None when done."""
    from worker import imaging  # Pillow only where images are rendered

    if asset.output_key is None:
        return "no published image recorded"
    try:
        published = worker.bucket.read_upload(
            asset.output_key, None, worker.settings.MAX_UPLOAD_BYTES * PUBLISHED_READ_FACTOR
        )
        prepared = imaging.prepare(
            published.data,
            asset.image_type,
            imaging.ImageLimits.from_settings(worker.settings),
            sanitize=False,
        )
    except UploadMissing:
        return "its published image is missing"
    except UploadRejected as rejection:
        return f"its published image does not render: {rejection.message}"
    if dry_run:
        return None
    variants = publish_variants(worker, asset.asset_id, prepared)
    recorded = worker.repository.add_variants(
        asset.asset_id, asset.output_key, variants, prepared.placeholder, worker.clock()
    )
    if not recorded:
        # Deleted, changed or backfilled meanwhile: what was just written may belong to nobody.
        current = worker.repository.get(asset.asset_id)
        if current is None:
            worker.bucket.delete_asset(asset.asset_id, asset.image_type)
        return "the record changed while its variants were made"
    return None


def backfill(
    worker: Worker,
    *,
    batch_size: int,
    max_batches: int | None = None,
    start: str | None = None,
    dry_run: bool = False,
    on_batch: Callable[[Progress], None] = lambda _: None,
) -> Progress:
    """Scan from `start` (an asset id, exclusive) in pages of `batch_size`, at most `max_batches`."""
    progress = Progress(next_start=start)
    position: dict[str, Any] | None = {"assetId": {"S": start}} if start else None
    while max_batches is None or progress.batches < max_batches:
        assets, position = worker.repository.ready_without_variants(batch_size, position)
        for asset in assets:
            progress.scanned += 1
            reason = add_variants(worker, asset, dry_run=dry_run)
            if reason is None:
                progress.added += 1
            else:
                progress.skipped.append((asset.asset_id, reason))
        progress.batches += 1
        progress.next_start = position["assetId"]["S"] if position else None
        on_batch(progress)
        if position is None:
            break
    return progress


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m worker.backfill", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--batch-size", type=int, default=25, help="records per scan page (default %(default)s)"
    )
    parser.add_argument("--max-batches", type=int, help="stop after this many pages (default: all)")
    parser.add_argument(
        "--checkpoint", type=Path, help="read the start from, and write progress to, this file"
    )
    parser.add_argument(
        "--start-after", help="an asset id to resume after (instead of a checkpoint)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="render, but publish and record nothing"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.batch_size <= 1000:
        parser.error("--batch-size must be 1..1000")
    start = args.start_after
    if args.checkpoint is not None and args.checkpoint.exists():
        saved = json.loads(args.checkpoint.read_text(encoding="utf-8"))
        if saved.get("complete"):
            print(f"{args.checkpoint}: the scan is already complete; delete the file to scan again")
            return 0
        start = saved.get("nextStart")
    worker = build_worker(load_settings(WorkerSettings))

    def report(progress: Progress) -> None:
        print(
            f"batch {progress.batches}: {progress.scanned} scanned, {progress.added} given variants,"
            f" {len(progress.skipped)} skipped; next start: {progress.next_start or 'none (done)'}",
            flush=True,
        )
        if args.checkpoint is not None and not args.dry_run:
            args.checkpoint.write_text(
                json.dumps(
                    {"nextStart": progress.next_start, "complete": progress.next_start is None}
                )
                + "\n",
                encoding="utf-8",
            )

    progress = backfill(
        worker,
        batch_size=args.batch_size,
        max_batches=args.max_batches,
        start=start,
        dry_run=args.dry_run,
        on_batch=report,
    )
    for asset_id, reason in progress.skipped:
        print(f"skipped {asset_id}: {reason}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
