"""Local end-to-end latency: from the browser's form POST to the asset reading `ready`.

Uses the local stack described by `.local/stack.json` if it answers, else starts one on free ports
(and stops it after). Signs in the demo user, then for each upload: asks the API for a form (not
timed), POSTs a small PNG to it as a browser would, and polls `GET /assets/{id}` every
`--interval` seconds until `ready`. The figure is POST start to the first `ready` answer: S3's
notification, SQS, the poller's long poll, the worker, DynamoDB, and the API read, all local.
Usage: python bench/local_e2e_latency.py [--uploads 20] [--interval 0.02] [--pause 0.3] [--state-dir .local] [--json]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import ROOT, emit_json, human_stream, local_stack, percentile
from local_stack.client import LocalStackClient


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument(
        "--interval", type=float, default=0.02, help="status poll interval, seconds"
    )
    parser.add_argument(
        "--pause",
        type=float,
        default=0.3,
        help="seconds between uploads, so each starts on an idle stack (0: back to back)",
    )
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".local")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    args = parser.parse_args()
    out = human_stream(args.json)
    image = _png()
    with local_stack(args.state_dir) as info, httpx.Client(timeout=30) as http:
        client = LocalStackClient(info, http)
        token = client.sign_in(info.demoUser.email, info.demoUser.password)
        posts: list[float] = []
        latencies: list[float] = []
        for _ in range(args.uploads + 1):
            upload = client.create_upload(token, "image/png")
            started = time.perf_counter()
            sent = client.send_file(upload, image, "bench.png", "image/png")
            posted = time.perf_counter()
            if sent.status_code != 204:
                raise SystemExit(f"the form POST was refused: {sent.status_code} {sent.text}")
            asset = client.wait_until_final(
                token, upload.asset_id, timeout=60, interval=args.interval
            )
            finished = time.perf_counter()
            if asset["status"] != "ready":
                raise SystemExit(
                    f"asset {upload.asset_id} ended {asset['status']}: {asset.get('error')}"
                )
            posts.append(posted - started)
            latencies.append(finished - started)
            time.sleep(args.pause)
    # The first upload warms the worker's imports and clients; it is reported, not counted.
    first, latencies, posts = latencies[0], latencies[1:], posts[1:]
    ms = [value * 1000 for value in latencies]
    result = {
        "uploads": len(ms),
        "image_bytes": len(image),
        "poll_interval_ms": args.interval * 1000,
        "pause_s": args.pause,
        "median_ms": statistics.median(ms),
        "p90_ms": percentile(ms, 90),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "post_median_ms": statistics.median(posts) * 1000,
        "first_upload_ms": first * 1000,
    }
    print(
        f"form POST -> ready, {len(ms)} uploads of {len(image)} bytes, one at a time"
        f" ({args.pause:.1f}s apart, status polled every {args.interval * 1000:.0f} ms):",
        file=out,
    )
    print(
        f"  median {result['median_ms']:.0f} ms   p90 {result['p90_ms']:.0f} ms   "
        f"min {result['min_ms']:.0f} ms   max {result['max_ms']:.0f} ms",
        file=out,
    )
    print(f"  of which the form POST itself: median {result['post_median_ms']:.0f} ms", file=out)
    print(f"  first upload (cold worker, not counted): {first * 1000:.0f} ms", file=out)
    if args.json:
        emit_json(result)


if __name__ == "__main__":
    main()
