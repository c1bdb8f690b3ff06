"""Local end-to-end latency: from the browser's form POST to the asset reading `ready`.

Uses the local stack described by `.local/stack.json` if it answers, else starts one on free ports
(and stops it after). Signs in the demo user, then for each upload: asks the API for a form (not
timed), POSTs a small PNG to it as a browser would, and polls `GET /assets/{id}` every
`--interval` seconds until `ready`. The figure is POST start to the first `ready` answer: S3's
notification, SQS, the poller's long poll, the worker, DynamoDB, and the API read, all local.
Usage: python bench/local_e2e_latency.py [--uploads 20] [--interval 0.02] [--pause 0.3] [--state-dir .local]
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]

import httpx  # noqa: E402
from PIL import Image  # noqa: E402

from local_stack.client import LocalStackClient  # noqa: E402
from local_stack.state import StackInfo, StateFileError, read_state  # noqa: E402


def _answers(info: StackInfo) -> bool:
    try:
        return httpx.get(f"{info.apiUrl}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def local_stack(state_dir: Path) -> Iterator[StackInfo]:
    """The running stack in `state_dir`, or a new one on free ports for the length of the block."""
    try:
        info = read_state(state_dir)
        if _answers(info):
            print(f"using the running local stack ({state_dir / 'stack.json'})")
            yield info
            return
    except StateFileError:
        pass
    with tempfile.TemporaryDirectory(prefix="local-stack-bench-") as directory:
        temporary = Path(directory)
        log = (temporary / "stack.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "local_stack", "--free-ports", "--state-dir", str(temporary)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started = time.monotonic()
        try:
            while True:
                if process.poll() is not None:
                    raise SystemExit(
                        f"the local stack did not start:\n{(temporary / 'stack.log').read_text()}"
                    )
                try:
                    info = read_state(temporary)
                    break
                except StateFileError:
                    time.sleep(0.1)
            print(f"started a local stack on free ports in {time.monotonic() - started:.1f}s")
            yield info
        finally:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(timeout=30)
            log.close()


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
    args = parser.parse_args()
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
        ms = sorted(value * 1000 for value in latencies)
        print(
            f"form POST -> ready, {len(ms)} uploads of {len(image)} bytes, one at a time"
            f" ({args.pause:.1f}s apart, status polled every {args.interval * 1000:.0f} ms):"
        )
        print(
            f"  median {statistics.median(ms):.0f} ms   p90 {ms[int(0.9 * (len(ms) - 1))]:.0f} ms   "
            f"min {ms[0]:.0f} ms   max {ms[-1]:.0f} ms"
        )
        print(f"  of which the form POST itself: median {statistics.median(posts) * 1000:.0f} ms")
        print(f"  first upload (cold worker, not counted): {first * 1000:.0f} ms")


if __name__ == "__main__":
    main()
