"""Worker validation and publishing: time and peak memory per upload size and pixel count.

For each case the image is generated once (noise over a gradient, tuned to reach the byte size),
then prepared in a fresh process by `imaging.prepare`, which prints its own steps: validate
(signature, structure, full decode), icc (profile to sRGB), sanitize (upright re-encode, what
PUBLISH_MODE=sanitized publishes), display and thumb (WebP variants), placeholder (BlurHash);
then SHA-256 and an in-memory publish (a dict stands in for S3: the figures are the worker's own
CPU and memory, not the network). `before` is the same upload through what the worker did before
variants, in another fresh process of the same run: validate + Pillow's encoder (PNG at zlib
level 6), no variants. Time is the best of --repeat runs; peak memory is the process's VmHWM
(ru_maxrss is inherited from the parent across fork/exec on Linux, so it would report the
parent), also shown above the baseline of a process that has imported everything but holds no
image.
Then, unless --only picks cases: the CPU bombs of issue 15.7 (time to reject each, and the worst
file each cap still accepts), and the PNG encoder trade-off table of issue 17.
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
AIM_SECONDS = 0.6
AIM_PEAK_MB = 300
AIM_PNG_CASE = "png-12mp"
AIM_PNG_SECONDS = 0.6
AIM_PNG_GROWTH = 1.10
AIM_PNG_40MP_CASE = "png-40mp"
AIM_PNG_40MP_SECONDS = 3.5
AIM_BOMB_SECONDS = 2.0
STEPS = ("validate", "icc", "sanitize", "display", "thumb", "placeholder")


@dataclass(frozen=True)
class Case:
    name: str
    image_type: ImageType
    width: int
    height: int
    target_bytes: int
    wide_gamut: bool = False
    """Tagged with an Adobe RGB profile: the icc step converts its pixels to sRGB."""


CASES = (
    Case("jpeg-1mb", ImageType.JPEG, 1632, 1224, 1 * MB),
    Case("jpeg-5mb", ImageType.JPEG, 3264, 2448, 5 * MB),
    Case(AIM_CASE, ImageType.JPEG, 4000, 3000, 10 * MB),
    Case("jpeg-12mp-camera", ImageType.JPEG, 4000, 3000, 4 * MB),
    Case("jpeg-12mp-adobe-rgb", ImageType.JPEG, 4000, 3000, 4 * MB, wide_gamut=True),
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
    if case.wide_gamut:
        from tests.unit.worker import corpus

        plain = generate(
            Case(case.name, case.image_type, case.width, case.height, case.target_bytes)
        )
        decoded = Image.open(io.BytesIO(plain))
        return _encode(decoded, "JPEG", quality="keep", icc_profile=corpus.icc_profile())
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
    """In this (fresh) process: prepare + hash + publish, the best run's steps and peak memory."""
    from worker import imaging  # imported before the baseline: the baseline is a warm worker

    baseline = peak_rss_kib()
    data = path.read_bytes()
    bucket: dict[str, bytes] = {}
    limits = imaging.ImageLimits(max_pixels=40_000_000)
    best: dict[str, float] = {}
    for _ in range(repeat):
        started = time.perf_counter()
        prepared = imaging.prepare(data, image_type, limits)
        assert prepared.sanitized is not None
        for name, content in (
            ("image", prepared.sanitized),
            ("display", prepared.display.data),
            ("thumb", prepared.thumb.data),
        ):
            bucket[name] = content
            hashlib.sha256(content).hexdigest()
        total = time.perf_counter() - started
        if not best or total < best["total"]:
            best = {**prepared.timings, "total": total}
        del prepared
    return {
        "steps_s": {name: best[name] for name in STEPS},
        "validate_s": best["validate"],
        "encode_s": best["total"] - best["validate"],
        "total_s": best["total"],
        "peak_kib": peak_rss_kib(),
        "baseline_kib": baseline,
        "output_bytes": len(bucket["image"]),
        "display_bytes": len(bucket["display"]),
        "thumb_bytes": len(bucket["thumb"]),
    }


def measure_before(path: Path, image_type: ImageType, repeat: int) -> dict[str, Any]:
    """In this (fresh) process: what the worker did before variants (Pillow's PNG encoder)."""
    from worker import imaging

    data = path.read_bytes()
    best = float("inf")
    size = 0
    for _ in range(repeat):
        started = time.perf_counter()
        validated = imaging.validate(data, image_type, 40_000_000)
        source = validated.image
        # As before: the uploader's ICC profile copied unchanged, no conversion.
        params: dict[str, Any] = {"icc_profile": source.info.get("icc_profile")}
        if image_type is ImageType.JPEG:
            params.update(imaging._jpeg_params(source, validated.orientation))
        upright = imaging._upright(source, validated.orientation)
        upright.info = {}
        out = io.BytesIO()
        # PNG: zlib level 6 with Pillow's per-row filters, as before
        upright.save(out, "PNG" if image_type is ImageType.PNG else "JPEG", **params)
        rendered = out.getvalue()
        hashlib.sha256(rendered).hexdigest()
        best = min(best, time.perf_counter() - started)
        size = len(rendered)
        validated.image.close()
    return {"total_s": best, "output_bytes": size, "peak_kib": peak_rss_kib()}


def run_child(
    path: Path, image_type: ImageType, repeat: int, mode: str = "--measure"
) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, __file__, mode, str(path), image_type.value, str(repeat)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    measured: dict[str, Any] = json.loads(result.stdout)
    return measured


# --- CPU bombs (issue 15.7) -------------------------------------------------------------------


def bomb_files() -> list[tuple[str, ImageType, bytes, bool]]:
    """The review's files (rejected now) and, for each cap, the worst file it still accepts."""
    from tests.unit.worker import corpus
    from worker import jpeg, png

    accepted_scans = _most_scans_accepted(7300, 5479)
    return [
        ("png 873,000 empty chunks", ImageType.PNG, corpus.png_chunk_bomb(), False),
        ("png at the chunk cap", ImageType.PNG, corpus.png_chunk_bomb(png.MAX_CHUNKS - 3), True),
        ("jpeg 2.5 M empty segments", ImageType.JPEG, corpus.jpeg_segment_bomb(), False),
        (
            "jpeg at the segment cap",
            ImageType.JPEG,
            corpus.jpeg_segment_bomb(jpeg.MAX_SEGMENTS - 20),
            True,
        ),
        ("jpeg 10 MB of fill bytes", ImageType.JPEG, corpus.jpeg_padding_bomb(), False),
        (
            "jpeg at the padding cap",
            ImageType.JPEG,
            corpus.jpeg_padding_bomb(jpeg.MAX_PADDING_BYTES),
            True,
        ),
        (
            "jpeg 40 MP progressive 100 scans",
            ImageType.JPEG,
            corpus.progressive_scan_bomb(7300, 5479, 100),
            False,
        ),
        (
            f"jpeg 40 MP progressive {accepted_scans} scans",
            ImageType.JPEG,
            corpus.progressive_scan_bomb(7300, 5479, accepted_scans),
            True,
        ),
        ("png 40 MP 16-bit flat", ImageType.PNG, corpus.png_rgb16_flat(7300, 5479), True),
    ]


def _most_scans_accepted(width: int, height: int) -> int:
    from assets.errors import UploadRejected
    from tests.unit.worker import corpus
    from worker import jpeg

    scans = 10
    while True:
        try:
            jpeg.check_structure(corpus.progressive_scan_bomb(width, height, scans + 1))
        except UploadRejected:
            return scans
        scans += 1


def measure_bomb(path: Path, image_type: ImageType, repeat: int) -> dict[str, Any]:
    """In this (fresh) process: the time to a verdict, with the deadline the lead will pass."""
    from assets.errors import UploadRejected
    from worker import imaging

    data = path.read_bytes()
    best = float("inf")
    verdict = "accepted"
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            imaging.prepare(data, image_type, imaging.ImageLimits(max_pixels=40_000_000))
            verdict = "accepted"
        except UploadRejected as rejected:
            verdict = rejected.reason.value
        best = min(best, time.perf_counter() - started)
    return {"total_s": best, "verdict": verdict, "peak_kib": peak_rss_kib()}


def run_bombs(directory: Path, repeat: int, out: Any) -> tuple[list[dict[str, Any]], bool]:
    print("\nCPU bombs (issue 15.7): time to the verdict, no deadline", file=out)
    header = f"{'file':<34}{'KB':>9}{'verdict':>16}{'s':>8}{'peak MB':>9}"
    print(header, file=out)
    print("-" * len(header), file=out)
    rows = []
    for name, image_type, data, expect_accepted in bomb_files():
        path = directory / "bomb"
        path.write_bytes(data)
        measured = run_child(path, image_type, repeat, "--bomb")
        row = {
            "file": name,
            "kb": len(data) / 1000,
            "verdict": measured["verdict"],
            "total_s": measured["total_s"],
            "peak_mb": measured["peak_kib"] / 1024,
            "expected": "accepted" if expect_accepted else "too_complex",
        }
        rows.append(row)
        print(
            f"{name:<34}{row['kb']:>9.0f}{row['verdict']:>16}{row['total_s']:>8.3f}"
            f"{row['peak_mb']:>9.0f}",
            file=out,
        )
    accepted = [row for row in rows if row["verdict"] == "accepted"]
    worst = max(accepted, key=lambda row: row["total_s"])
    met = worst["total_s"] <= AIM_BOMB_SECONDS and all(r["verdict"] == r["expected"] for r in rows)
    print(
        f"worst file still accepted: {worst['file']}, {worst['total_s']:.3f} s"
        f" (aim <= {AIM_BOMB_SECONDS} s): {'met' if met else 'MISSED'}",
        file=out,
    )
    return rows, met


# --- PNG encoder trade-offs (issue 17) ---------------------------------------------------------


def png_table(repeat: int, out: Any) -> list[dict[str, Any]]:
    """Encode time and size of each PNG writer setting against Pillow's level 6, same pixels."""
    from isal import isal_zlib
    from zlib_ng import zlib_ng

    from worker import pngwrite

    images = {
        "png-12mp (bench)": Image.open(io.BytesIO(generate(_case(AIM_PNG_CASE)))),
        "photo 12 MP": _photo((4000, 3000)),
        "screenshot 12 MP": _screenshot((4000, 3000)),
    }

    def pillow(level: int, strategy: int = 0) -> Any:
        def run(image: Image.Image) -> bytes:
            out = io.BytesIO()
            image.save(out, "PNG", compress_level=level, compress_type=strategy)
            return out.getvalue()

        return run

    def ours(chosen: pngwrite.Filter, compress: Any) -> Any:
        def run(image: Image.Image) -> bytes:
            rows = pngwrite.apply(image, chosen).tobytes()
            stride = len(rows) // image.height
            compressor = compress()
            tag = bytes((chosen,))
            parts: list[bytes] = []
            for row in range(image.height):
                parts.append(compressor.compress(tag))
                parts.append(compressor.compress(rows[row * stride : (row + 1) * stride]))
            parts.append(compressor.flush())
            return b"".join(parts)

        return run

    settings: list[tuple[str, Any]] = [
        ("Pillow, zlib 6, per-row filters (before)", pillow(6)),
        ("Pillow, zlib 1", pillow(1)),
        ("Pillow, zlib 3", pillow(3)),
        ("Pillow, zlib 1, Z_RLE", pillow(1, 3)),
        ("Pillow, zlib 6, Z_FILTERED", pillow(6, 1)),
        ("Up + ISA-L 1", ours(pngwrite.Filter.UP, lambda: isal_zlib.compressobj(1))),
        ("Average + ISA-L 1", ours(pngwrite.Filter.AVERAGE, lambda: isal_zlib.compressobj(1))),
        ("Up + ISA-L 3", ours(pngwrite.Filter.UP, lambda: isal_zlib.compressobj(3))),
        ("Up + zlib-ng 2", ours(pngwrite.Filter.UP, lambda: zlib_ng.compressobj(2))),
        ("Up + zlib-ng 6", ours(pngwrite.Filter.UP, lambda: zlib_ng.compressobj(6))),
        ("sampled filter + ISA-L 1 / zlib-ng 6 (chosen)", pngwrite.encode),
    ]
    print("\nPNG encoder trade-offs (issue 17): encode only, same decoded pixels", file=out)
    rows = []
    for label, image in images.items():
        image.load()
        print(f"{label}:", file=out)
        before_s = before_bytes = 0.0
        for name, run in settings:
            seconds = float("inf")
            size = 0
            for _ in range(repeat):
                started = time.perf_counter()
                size = len(run(image))
                seconds = min(seconds, time.perf_counter() - started)
            if not before_s:
                before_s, before_bytes = seconds, size
            time_ratio, size_ratio = seconds / before_s, size / before_bytes
            rows.append(
                {
                    "image": label,
                    "setting": name,
                    "seconds": seconds,
                    "bytes": size,
                    "time_ratio": time_ratio,
                    "size_ratio": size_ratio,
                }
            )
            print(
                f"  {name:<48}{seconds:>7.3f} s  x{time_ratio:<5.2f}"
                f"{size / MB:>8.2f} MB {size_ratio - 1:>+7.1%}",
                file=out,
            )
    return rows


def _case(name: str) -> Case:
    return next(case for case in CASES if case.name == name)


def _photo(size: tuple[int, int]) -> Image.Image:
    """Smooth colour fields with fine grain: what a photo exported as PNG looks like to deflate."""
    fields = [
        Image.effect_noise((size[0] // 8, size[1] // 8), 60).resize(size, Image.Resampling.BICUBIC)
        for _ in range(3)
    ]
    grain = Image.merge("RGB", [Image.effect_noise(size, 6) for _ in range(3)])
    return Image.blend(Image.merge("RGB", fields), grain, 0.3)


def _screenshot(size: tuple[int, int]) -> Image.Image:
    """Flat colours, boxes and text: what most PNG uploads are."""
    from PIL import ImageDraw

    image = Image.new("RGB", size, (250, 250, 250))
    draw = ImageDraw.Draw(image)
    for y in range(0, size[1], 24):
        for x in range(0, size[0], 300):
            draw.text((x + 5, y + 5), "Lorem ipsum dolor sit amet 123", fill=(20, 20, 20))
    for x in range(0, size[0], 400):
        draw.rectangle((x, 100, x + 200, 400), fill=(30, 120, 200))
    return image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", action="append", help="case name (repeatable)")
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--before", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--bomb", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    args = parser.parse_args()
    for flag, function in (
        ("measure", measure),
        ("before", measure_before),
        ("bomb", measure_bomb),
    ):
        if getattr(args, flag):
            path, image_type, repeat = getattr(args, flag)
            print(json.dumps(function(Path(path), ImageType(image_type), int(repeat))))
            return 0

    out = human_stream(args.json)
    print(
        f"worker prepare (validate, sanitize, variants; in-memory publish) - Python"
        f" {platform.python_version()}, Pillow {PIL.__version__}, {os.cpu_count()} CPUs,"
        f" best of {args.repeat}; load average {os.getloadavg()[0]:.2f}",
        file=out,
    )
    header = (
        f"{'case':<17}{'MB':>6}{'MP':>5}"
        + "".join(f"{name[:8]:>9}" for name in STEPS)
        + f"{'total s':>9}{'before s':>9}{'ratio':>6}{'peak MB':>8}{'+base':>6}"
        f"{'out MB':>7}{'vs bef':>7}{'disp KB':>8}{'thumb KB':>9}"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    aims: dict[str, bool] = {}
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as directory:
        for case in CASES:
            if args.only and case.name not in args.only:
                continue
            path = Path(directory) / case.name
            path.write_bytes(generate(case))
            measured = run_child(path, case.image_type, args.repeat)
            before = run_child(path, case.image_type, args.repeat, "--before")
            row = {
                "case": case.name,
                "file_mb": path.stat().st_size / MB,
                "megapixels": case.width * case.height / 1e6,
                "steps_s": measured["steps_s"],
                "validate_s": measured["validate_s"],
                "encode_s": measured["encode_s"],
                "total_s": measured["total_s"],
                "before_s": before["total_s"],
                "peak_mb": measured["peak_kib"] / 1024,
                "above_baseline_mb": (measured["peak_kib"] - measured["baseline_kib"]) / 1024,
                "output_mb": measured["output_bytes"] / MB,
                "output_vs_before": measured["output_bytes"] / before["output_bytes"],
                "display_kb": measured["display_bytes"] / 1000,
                "thumb_kb": measured["thumb_bytes"] / 1000,
            }
            rows.append(row)
            print(
                f"{case.name:<17}{row['file_mb']:>6.2f}{row['megapixels']:>5.1f}"
                + "".join(f"{row['steps_s'][name]:>9.3f}" for name in STEPS)
                + f"{row['total_s']:>9.3f}{row['before_s']:>9.3f}"
                f"{row['total_s'] / row['before_s']:>6.2f}{row['peak_mb']:>8.0f}"
                f"{row['above_baseline_mb']:>6.0f}{row['output_mb']:>7.2f}"
                f"{row['output_vs_before']:>7.3f}{row['display_kb']:>8.0f}{row['thumb_kb']:>9.1f}",
                file=out,
            )
            if case.name == AIM_CASE:
                aims[f"{AIM_CASE}: <= {AIM_SECONDS} s and <= {AIM_PEAK_MB} MB peak"] = (
                    row["total_s"] <= AIM_SECONDS and row["peak_mb"] <= AIM_PEAK_MB
                )
            if case.name == AIM_PNG_CASE:
                aims[
                    f"{AIM_PNG_CASE}: <= {AIM_PNG_SECONDS} s, output <= {AIM_PNG_GROWTH:.2f} x before"
                ] = row["total_s"] <= AIM_PNG_SECONDS and row["output_vs_before"] <= AIM_PNG_GROWTH
            if case.name == AIM_PNG_40MP_CASE:
                aims[f"{AIM_PNG_40MP_CASE}: <= {AIM_PNG_40MP_SECONDS} s"] = (
                    row["total_s"] <= AIM_PNG_40MP_SECONDS
                )
        bombs: list[dict[str, Any]] = []
        table: list[dict[str, Any]] = []
        if not args.only:
            bombs, bombs_met = run_bombs(Path(directory), args.repeat, out)
            aims[f"CPU bombs: rejected, worst accepted <= {AIM_BOMB_SECONDS} s"] = bombs_met
            table = png_table(max(1, args.repeat - 1), out)
    for text, met in aims.items():
        print(f"aim {text}: {'met' if met else 'MISSED'}", file=out)
    verdict = None if not aims else all(aims.values())
    if args.json:
        emit_json(
            {
                "repeat": args.repeat,
                "pillow": PIL.__version__,
                "cases": rows,
                "bombs": bombs,
                "png_encoders": table,
                "aim": {"text": "; ".join(aims), "met": verdict},
            }
        )
    return 0 if verdict in (None, True) else 1


if __name__ == "__main__":
    sys.exit(main())
