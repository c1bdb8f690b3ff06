"""Writing decoded pixels back as PNG, lossless, several times faster than Pillow's encoder.

Pillow's PNG encoder tries five filters on every row and deflates with zlib at level 6: on a
12-megapixel image the filtering alone costs about 0.45 s and the deflate as much again. Here one
filter serves the whole image, chosen by compressing a sample of rows with each candidate, and the
filtering is done by Pillow's image arithmetic in C. The deflate is ISA-L's (python-isal) for
image data that compresses poorly, where it is many times faster than zlib for a few percent in
size, and zlib-ng's level 6 (python-zlib-ng) for flat data such as screenshots, where ISA-L's short
matches leave a third more bytes and zlib-ng is quick anyway. docs/benchmarks.md has the table.
Modes other than 8-bit L, LA, RGB and RGBA (palettes, 1-bit, 16-bit grey, a single transparent
colour) are rare and go to Pillow's encoder unchanged.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from enum import IntEnum
from typing import Protocol

from isal import isal_zlib
from PIL import Image, ImageChops
from zlib_ng import zlib_ng

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {"L": 0, "RGB": 2, "LA": 4, "RGBA": 6}
_IDAT_SIZE = 1 << 20
_SAMPLE_BANDS = 16
_SAMPLE_ROWS = 8
_FLAT_RATIO = 0.2
"""Sample compressed to under a fifth by ISA-L: flat data, where zlib-ng's level 6 wins on size."""
_ISAL_LEVEL = 1
_ZLIB_NG_LEVEL = 6
_STRIP_ROWS = 256
PILLOW_LEVEL = 6
"""Pillow's own default, kept for the modes this writer leaves to Pillow."""


class Filter(IntEnum):
    """The PNG filter types this writer uses (Paeth has no cheap whole-image form in Pillow)."""

    NONE = 0
    SUB = 1
    UP = 2
    AVERAGE = 3


class _Compressor(Protocol):
    def compress(self, data: bytes | memoryview, /) -> bytes: ...
    def flush(self, mode: int = ..., /) -> bytes: ...


def is_fast(image: Image.Image) -> bool:
    """Whether this writer encodes the image itself (else Pillow's encoder does)."""
    return image.mode in _COLOUR_TYPES and "transparency" not in image.info


def encode(
    image: Image.Image,
    *,
    icc_profile: bytes | None = None,
    check: Callable[[], None] | None = None,
) -> bytes:
    """The image as a PNG holding only its pixels and, if given, an ICC profile.

    `check` is called every few hundred rows; it raises to stop an encode that runs too long.
    """
    if not is_fast(image):
        out = io.BytesIO()
        params: dict[str, object] = {"compress_level": PILLOW_LEVEL}
        if icc_profile:
            params["icc_profile"] = icc_profile
        if (transparency := image.info.get("transparency")) is not None:
            params["transparency"] = transparency
        bare = image.copy() if image.info else image
        bare.info = {}  # Pillow's encoder falls back to `info` for text, EXIF and more
        bare.save(out, "PNG", **params)
        return out.getvalue()
    chosen, flat = choose(image)
    compressor = _compressor(flat)
    width, height = image.size
    tag = bytes((chosen,))
    parts = []
    # Strips bound the memory the filtering takes, and let `check` run between them.
    for top in range(0, height, _STRIP_ROWS):
        skip = 0 if top == 0 else 1
        strip = image.crop((0, top - skip, width, min(height, top + _STRIP_ROWS)))
        rows = memoryview(apply(strip, chosen).tobytes())
        stride = len(rows) // strip.height
        for row in range(skip, strip.height):
            parts.append(compressor.compress(tag))
            parts.append(compressor.compress(rows[row * stride : (row + 1) * stride]))
        if check is not None:
            check()
    parts.append(compressor.flush())
    compressed = b"".join(parts)
    chunks = [_SIGNATURE, _chunk(b"IHDR", _ihdr(width, height, _COLOUR_TYPES[image.mode]))]
    if icc_profile:
        chunks.append(_chunk(b"iCCP", b"ICC Profile\0\0" + zlib_ng.compress(icc_profile)))
    for start in range(0, len(compressed), _IDAT_SIZE):
        chunks.append(_chunk(b"IDAT", compressed[start : start + _IDAT_SIZE]))
    chunks.append(_chunk(b"IEND", b""))
    return b"".join(chunks)


def choose(image: Image.Image) -> tuple[Filter, bool]:
    """The filter that compresses a sample of rows best, and whether the image is flat."""
    width, height = image.size
    step = max(1, height // _SAMPLE_BANDS)
    # Each band carries the row above it, which Up and Average read, and drops it after filtering.
    bands = [
        image.crop((0, max(0, top - 1), width, min(height, top + _SAMPLE_ROWS)))
        for top in range(0, height, step)
    ]
    starts = [0 if top == 0 else 1 for top in range(0, height, step)]

    def sample_size(candidate: Filter, compress: Callable[[bytes], bytes]) -> tuple[int, int]:
        raw = b"".join(
            apply(band, candidate).crop((0, skip, width, band.height)).tobytes()
            for band, skip in zip(bands, starts, strict=True)
        )
        return len(compress(raw)), len(raw)

    def isal(raw: bytes) -> bytes:
        return isal_zlib.compress(raw, _ISAL_LEVEL)

    sizes = {candidate: sample_size(candidate, isal) for candidate in Filter}
    best = min(Filter, key=lambda candidate: sizes[candidate][0])
    compressed, raw = sizes[best]
    if compressed >= _FLAT_RATIO * raw:
        return best, False

    def zlib6(raw: bytes) -> bytes:
        return zlib_ng.compress(raw, _ZLIB_NG_LEVEL)

    flat_sizes = {candidate: sample_size(candidate, zlib6)[0] for candidate in Filter}
    return min(Filter, key=lambda candidate: flat_sizes[candidate]), True


def apply(image: Image.Image, chosen: Filter) -> Image.Image:
    """Every row of the image filtered with one PNG filter, byte by byte, modulo 256."""
    if chosen is Filter.NONE:
        return image
    if chosen is Filter.SUB:
        return ImageChops.subtract_modulo(image, _shifted(image, 1, 0))
    if chosen is Filter.UP:
        return ImageChops.subtract_modulo(image, _shifted(image, 0, 1))
    # floor((left + above) / 2): Pillow's add truncates, and both terms are at most 255.
    average = ImageChops.add(_shifted(image, 1, 0), _shifted(image, 0, 1), scale=2.0)
    return ImageChops.subtract_modulo(image, average)


def _shifted(image: Image.Image, dx: int, dy: int) -> Image.Image:
    """The image moved right by `dx` or down by `dy`, zeros coming in: each byte's neighbour."""
    moved = ImageChops.offset(image, dx, dy)
    width, height = image.size
    if dy:
        moved.paste(0, (0, 0, width, dy))
    if dx:
        moved.paste(0, (0, 0, dx, height))
    return moved


def _compressor(flat: bool) -> _Compressor:
    if flat:
        return zlib_ng.compressobj(_ZLIB_NG_LEVEL)
    return isal_zlib.compressobj(_ISAL_LEVEL)


def _ihdr(width: int, height: int, colour_type: int) -> bytes:
    return struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib_ng.crc32(kind + data))
    )
