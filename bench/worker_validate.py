"""Worker validation and publishing: time and peak memory per upload size and pixel count.

For each case the image is generated once (noise over a gradient, tuned to reach the byte size),
then validated and published in a fresh process: `imaging.validate` (signature, PNG structure,
full decode), `imaging.render_sanitized` (upright re-encode, what PUBLISH_MODE=sanitized
publishes), SHA-256, and an in-memory publish (a dict stands in for S3: the figures are the
worker's own CPU and memory, not the network). Time is the best of --repeat runs; peak memory is
the process's VmHWM (ru_maxrss is inherited from the parent across fork/exec on Linux, so it
would report the parent), also shown above the baseline of a process that has imported
everything but holds no image.
Usage: python bench/worker_validate.py [--repeat 3] [--only jpeg-10mb-12mp] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import PIL  # noqa: E402
from PIL import Image  # noqa: E402

from assets.model import ImageType  # noqa: E402
from bench.support import emit_json, human_stream  # noqa: E402

MB = 1_000_000
AIM_CASE = "jpeg-10mb-12mp"
AIM_SECONDS = 0.5
AIM_PEAK_MB = 256


@dataclass(frozen=True)
class Case:
    name: str
    image_type: ImageType
    width: int
    height: int
    target_bytes: int


CASES = (
    Case("jpeg-1mb", ImageType.JPEG, 1632, 1224, 1 * MB),
    Case("jpeg-5mb", ImageType.JPEG, 3264, 2448, 5 * MB),
    Case(AIM_CASE, ImageType.JPEG, 4000, 3000, 10 * MB),
    Case("jpeg-12mp-camera", ImageType.JPEG, 4000, 3000, 4 * MB),
    Case("jpeg-40mp", ImageType.JPEG, 7300, 5479, 10 * MB),
    Case("png-1mb", ImageType.PNG, 1000, 1000, 1 * MB),
    Case("png-5mb", ImageType.PNG, 2000, 2000, 5 * MB),
    Case("png-10mb", ImageType.PNG, 2828, 2828, 10 * MB),
    Case("png-12mp", ImageType.PNG, 4000, 3000, 10 * MB),
    Case("png-40mp", ImageType.PNG, 7300, 5479, 10 * MB),
)


def peak_rss_kib() -> int:
    """This process's peak resident memory, in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _noise(size: tuple[int, int]) -> Image.Image:
    return Image.merge("RGB", [Image.effect_noise(size, 64) for _ in range(3)])


def _gradient(size: tuple[int, int]) -> Image.Image:
    red = Image.linear_gradient("L").resize(size)
    green = Image.linear_gradient("L").rotate(90).resize(size)
    blue = Image.radial_gradient("L").resize(size)
    return Image.merge("RGB", (red, green, blue))


def _encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def generate(case: Case) -> bytes:
    """An image of the case's size whose encoding lands near its target byte count."""
    size = (case.width, case.height)
    base = _gradient(size)
    noise = _noise(size)
    if case.image_type is ImageType.JPEG:
        low, high = 0.0, 1.0
        best = b""
        for _ in range(9):
            alpha = (low + high) / 2
            best = _encode(Image.blend(base, noise, alpha), "JPEG", quality=92)
            if len(best) > case.target_bytes:
                high = alpha
            else:
                low = alpha
        return best
    # PNG: noise does not compress, the gradient all but vanishes; noise the right share of rows.
    share = min(1.0, case.target_bytes / (case.width * case.height * 3))
    rows = int(case.height * share)
    image = base.copy()
    if rows:
        image.paste(noise.crop((0, 0, case.width, rows)), (0, 0))
    return _encode(image, "PNG")


def measure(path: Path, image_type: ImageType, repeat: int) -> dict[str, Any]:
    """In this (fresh) process: validate + sanitise + hash + publish, best time and peak memory."""
    from worker import imaging  # imported before the baseline: the baseline is a warm worker

    baseline = peak_rss_kib()
    data = path.read_bytes()
    bucket: dict[str, bytes] = {}
    best_validate = best_encode = best_total = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        validated = imaging.validate(data, image_type, 40_000_000)
        validated_at = time.perf_counter()
        rendered = imaging.render_sanitized(validated)
        validated.image.close()
        bucket["processed/assets/x"] = rendered
        hashlib.sha256(rendered).hexdigest()
        done = time.perf_counter()
        best_validate = min(best_validate, validated_at - started)
        best_encode = min(best_encode, done - validated_at)
        best_total = min(best_total, done - started)
        del validated, rendered
    return {
        "validate_s": best_validate,
        "encode_s": best_encode,
        "total_s": best_total,
        "peak_kib": peak_rss_kib(),
        "baseline_kib": baseline,
        "output_bytes": len(bucket["processed/assets/x"]),
    }


def run_child(path: Path, image_type: ImageType, repeat: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, __file__, "--measure", str(path), image_type.value, str(repeat)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    measured: dict[str, Any] = json.loads(result.stdout)
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", action="append", help="case name (repeatable)")
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    args = parser.parse_args()
    if args.measure:
        path, image_type, repeat = args.measure
        print(json.dumps(measure(Path(path), ImageType(image_type), int(repeat))))
        return 0

    out = human_stream(args.json)
    print(
        f"worker validate+publish (sanitized, in-memory publish) - Python {platform.python_version()},"
        f" Pillow {PIL.__version__}, {os.cpu_count()} CPUs, best of {args.repeat}",
        file=out,
    )
    header = (
        f"{'case':<18}{'file MB':>8}{'MP':>6}{'validate s':>11}{'encode s':>10}{'total s':>9}"
        f"{'peak MB':>9}{'+base MB':>9}{'out MB':>8}"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    verdict: int | None = None
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as directory:
        for case in CASES:
            if args.only and case.name not in args.only:
                continue
            path = Path(directory) / case.name
            path.write_bytes(generate(case))
            measured = run_child(path, case.image_type, args.repeat)
            row = {
                "case": case.name,
                "file_mb": path.stat().st_size / MB,
                "megapixels": case.width * case.height / 1e6,
                "validate_s": measured["validate_s"],
                "encode_s": measured["encode_s"],
                "total_s": measured["total_s"],
                "peak_mb": measured["peak_kib"] / 1024,
                "above_baseline_mb": (measured["peak_kib"] - measured["baseline_kib"]) / 1024,
                "output_mb": measured["output_bytes"] / MB,
            }
            rows.append(row)
            print(
                f"{case.name:<18}{row['file_mb']:>8.2f}{row['megapixels']:>6.1f}"
                f"{row['validate_s']:>11.3f}{row['encode_s']:>10.3f}{row['total_s']:>9.3f}"
                f"{row['peak_mb']:>9.0f}{row['above_baseline_mb']:>9.0f}{row['output_mb']:>8.2f}",
                file=out,
            )
            if case.name == AIM_CASE:
                met = row["total_s"] < AIM_SECONDS and row["peak_mb"] < AIM_PEAK_MB
                verdict = 0 if met else 1
    aim = f"aim for {AIM_CASE}: < {AIM_SECONDS} s and < {AIM_PEAK_MB} MB peak"
    if verdict is not None:
        print(f"{aim}: {'met' if verdict == 0 else 'MISSED'}", file=out)
    if args.json:
        emit_json(
            {
                "repeat": args.repeat,
                "pillow": PIL.__version__,
                "cases": rows,
                "aim": {"text": aim, "met": None if verdict is None else verdict == 0},
            }
        )
    return verdict or 0


if __name__ == "__main__":
    sys.exit(main())
