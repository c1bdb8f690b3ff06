"""PNG structure checks that Pillow does not make, done before any pixel is decoded.

Pillow skips the CRCs of image-data chunks and fills in, silently, rows missing from a compressed
stream that ends early. Walking the chunks ourselves catches both, reads the header before any
decoding (so a pixel bomb costs nothing), and measures the decompressed data without keeping it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import cast

from zlib_ng import zlib_ng

from assets.errors import UploadRejected
from assets.model import RejectionReason

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_CHUNKS = 8192
"""Chunks in one file. libpng writes 8 KiB image-data chunks (1,280 for a 10 MiB file); Pillow
parses each chunk in Python, so 873,000 empty ones cost seconds before any pixel."""

_CHUNK_HEAD = struct.Struct(">I4s")
_IHDR = struct.Struct(">IIBBBBB")
_MAX_CHUNK_LENGTH = 2**31 - 1
_INFLATE_STEP = 1 << 20
_INFLATE_ERROR = cast("type[Exception]", zlib_ng.error)
"""zlib-ng's stub declares `error` an instance; it is the exception class."""
_BIT_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


@dataclass(frozen=True, slots=True)
class PngHeader:
    """The IHDR chunk: dimensions and pixel layout."""

    width: int
    height: int
    bit_depth: int
    color_type: int
    interlaced: bool

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def image_data_size(self) -> int:
        """Bytes the filtered scanlines inflate to: one filter byte per row of each pass."""
        bits_per_pixel = _CHANNELS[self.color_type] * self.bit_depth
        passes = _ADAM7 if self.interlaced else ((0, 0, 1, 1),)
        total = 0
        for x0, y0, dx, dy in passes:
            columns = (self.width - x0 + dx - 1) // dx
            rows = (self.height - y0 + dy - 1) // dy
            if columns > 0 and rows > 0:
                total += rows * (1 + (columns * bits_per_pixel + 7) // 8)
        return total


def _corrupt(message: str, detail: str = "") -> UploadRejected:
    return UploadRejected(RejectionReason.CORRUPT, message, detail=detail)


def _truncated(detail: str) -> UploadRejected:
    return UploadRejected(
        RejectionReason.TRUNCATED,
        "The PNG file ends before its image is complete; the upload may have been cut short.",
        detail=detail,
    )


def read_header(data: bytes) -> PngHeader:
    """The IHDR of a file that starts with the PNG signature, checked field by field."""
    offset = len(SIGNATURE)
    if len(data) < offset + _CHUNK_HEAD.size + _IHDR.size + 4:
        raise _truncated("shorter than a PNG header")
    length, kind = _CHUNK_HEAD.unpack_from(data, offset)
    if kind != b"IHDR" or length != _IHDR.size:
        raise _corrupt("The PNG file does not start with an image header.", f"first chunk {kind!r}")
    _check_crc(data, offset, length, kind)
    width, height, depth, color, compression, filtering, interlace = _IHDR.unpack_from(
        data, offset + _CHUNK_HEAD.size
    )
    valid = (
        0 < width <= _MAX_CHUNK_LENGTH
        and 0 < height <= _MAX_CHUNK_LENGTH
        and depth in _BIT_DEPTHS.get(color, ())
        and compression == 0
        and filtering == 0
        and interlace in (0, 1)
    )
    if not valid:
        raise _corrupt(
            "The PNG image header is invalid.",
            f"{width}x{height} depth={depth} color={color} compression={compression}"
            f" filter={filtering} interlace={interlace}",
        )
    return PngHeader(width, height, depth, color, interlace == 1)


def verify_chunks(data: bytes, header: PngHeader) -> None:
    """Every chunk whole and matching its CRC, up to IEND, and image data of exactly the right size.

    Bytes after IEND are not PNG and are ignored here; re-encoding never carries them over.
    """
    view = memoryview(data)
    meter = _InflatedSize(limit=header.image_data_size)
    seen_image_data = False
    image_data_ended = False
    offset = len(SIGNATURE)
    chunks = 0
    while True:
        chunks += 1
        if chunks > MAX_CHUNKS:
            raise UploadRejected(
                RejectionReason.TOO_COMPLEX,
                f"The PNG file has more than {MAX_CHUNKS} chunks; it is too complex to process.",
                detail=f"chunk {chunks} at {offset}",
            )
        if offset + _CHUNK_HEAD.size > len(data):
            raise _truncated(f"no IEND chunk; the file ends at {len(data)}")
        length, kind = _CHUNK_HEAD.unpack_from(data, offset)
        if length > _MAX_CHUNK_LENGTH or not kind.isalpha():
            raise _corrupt("The PNG file has a malformed chunk.", f"{kind!r} at {offset}")
        start = offset + _CHUNK_HEAD.size
        if start + length + 4 > len(data):
            raise _truncated(f"chunk {kind!r} at {offset} runs past the end of the file")
        _check_crc(data, offset, length, kind)
        if kind == b"IDAT":
            if image_data_ended:
                raise _corrupt("The PNG image data is split by other chunks.")
            seen_image_data = True
            meter.feed(view[start : start + length])
        elif seen_image_data:
            image_data_ended = True
        if kind == b"IEND":
            break
        offset = start + length + 4
    if not seen_image_data:
        raise _corrupt("The PNG file contains no image data.")
    meter.finish()


class _InflatedSize:
    """Counts what the image data inflates to, in bounded steps, keeping none of it."""

    _INPUT_STEP = 64 * 1024
    _OUTPUT_STEP = 4 * 1024 * 1024

    def __init__(self, limit: int) -> None:
        # zlib-ng inflates twice as fast as the zlib Python links, with the same interface.
        self._inflater = zlib_ng.decompressobj()
        self._limit = limit
        self._size = 0

    def feed(self, compressed: memoryview) -> None:
        for start in range(0, len(compressed), self._INPUT_STEP):
            if self._ended():
                raise self._trailing(len(compressed) - start)
            pending: bytes | memoryview = compressed[start : start + self._INPUT_STEP]
            # Past the end of the stream, zlib moves the rest of the input to unused_data.
            while pending and not self._ended():
                self._count(self._inflate(pending))
                pending = self._inflater.unconsumed_tail

    def finish(self) -> None:
        # Output zlib still holds once all input is in.
        while not self._ended():
            out = self._inflate(b"")
            if not out:
                break
            self._count(out)
        if not self._inflater.eof or self._size < self._limit:
            raise _truncated(f"image data inflates to {self._size} of {self._limit} bytes")
        if self._inflater.unused_data:
            raise self._trailing(len(self._inflater.unused_data))

    def _ended(self) -> bool:
        return self._inflater.eof

    def _inflate(self, pending: bytes | memoryview) -> bytes:
        try:
            return self._inflater.decompress(pending, self._OUTPUT_STEP)
        except _INFLATE_ERROR as error:
            raise _corrupt(
                "The PNG image data is not a valid compressed stream.", str(error)
            ) from None

    def _count(self, out: bytes) -> None:
        self._size += len(out)
        if self._size > self._limit:
            raise _corrupt(
                "The PNG image data is larger than its header allows.",
                f"inflates past {self._limit} bytes",
            )

    @staticmethod
    def _trailing(count: int) -> UploadRejected:
        return _corrupt(
            "The PNG image data carries bytes after its end.",
            f"{count} bytes after the compressed stream",
        )


def _check_crc(data: bytes, offset: int, length: int, kind: bytes) -> None:
    start = offset + 4
    end = offset + _CHUNK_HEAD.size + length
    (stored,) = struct.unpack_from(">I", data, end)
    if zlib_ng.crc32(memoryview(data)[start:end]) != stored:
        raise _corrupt(
            "The PNG file is damaged: a chunk fails its checksum.",
            f"CRC mismatch in {kind.decode('latin-1')!r} at {offset}",
        )
