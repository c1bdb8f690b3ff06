"""JPEG structure checks made before any pixel is decoded: what a file costs to read, bounded.

Pillow reads a JPEG's header in Python, a byte or a segment at a time, and libjpeg entropy-decodes
every scan over every block of the components it names. A small file can therefore cost seconds:
millions of empty segments or padding bytes, or a few hundred kilobytes of near-empty scans over
40 megapixels. Walking the markers ourselves, with counts that stop the walk early, caps each.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from assets.errors import UploadRejected
from assets.model import RejectionReason

MAX_SEGMENTS = 1000
"""Marker segments in the whole file; cameras write about 20, a 4 MiB ICC profile adds 65."""
MAX_PADDING_BYTES = 64 * 1024
"""Fill bytes and junk where a marker belongs; encoders write none, Pillow reads them one by one."""
MAX_SCAN_PASSES = 12
"""Scans may cover the image's blocks this many times in all; libjpeg's progressive script
covers them about 5 times, a baseline JPEG once."""

_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
"""Markers with no length: TEM and the restart markers."""
_START_OF_FRAME = frozenset(
    {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), 0xCD, 0xCE, 0xCF}
)
_SOS = 0xDA
_EOI = 0xD9
_SOI = 0xD8
_U16 = struct.Struct(">H")
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
"""The end of entropy-coded data: 0xFF not stuffed (00), not a restart (D0-D7), not fill (FF)."""


@dataclass(frozen=True, slots=True)
class JpegStructure:
    """What the walk counted: for the bench and the logs."""

    segments: int
    scans: int
    padding: int
    scan_passes: float


def _too_complex(message: str, detail: str) -> UploadRejected:
    return UploadRejected(RejectionReason.TOO_COMPLEX, message, detail=detail)


def check_structure(data: bytes) -> JpegStructure:
    """Walk a file that starts with the JPEG signature; reject it if reading it would cost too much.

    Only counts reject here: anything the walk cannot follow is left for the decoder to judge, and
    the walk stops at the first EOI, since bytes after it are never decoded.
    """
    walk = _Walk(data)
    walk.run()
    return JpegStructure(walk.segments, walk.scans, walk.padding, walk.scan_passes())


class _Walk:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.segments = 0
        self.scans = 0
        self.padding = 0
        self.frame_blocks: dict[int, int] = {}
        self.scan_blocks = 0

    def scan_passes(self) -> float:
        total = sum(self.frame_blocks.values())
        return self.scan_blocks / total if total else 0.0

    def run(self) -> None:
        data = self.data
        end = len(data)
        pos = 2  # after SOI
        while pos < end:
            if data[pos] != 0xFF:
                # libjpeg skips junk up to the next 0xFF; Pillow reads it a byte at a time.
                found = data.find(b"\xff", pos, pos + MAX_PADDING_BYTES + 1)
                skipped = (found if found >= 0 else end) - pos
                self._pad(skipped)
                if found < 0:
                    return
                pos = found
                continue
            while pos + 1 < end and data[pos + 1] == 0xFF:
                self._pad(1)
                pos += 1
            if pos + 1 >= end:
                return
            marker = data[pos + 1]
            pos += 2
            if marker == 0x00:
                self._pad(2)
                continue
            if marker == _EOI:
                return
            self._count_segment(marker)
            if marker in _STANDALONE or marker == _SOI:
                continue
            if pos + 2 > end:
                return
            (length,) = _U16.unpack_from(data, pos)
            if length < 2:
                return
            body = data[pos + 2 : pos + length]
            if marker in _START_OF_FRAME:
                self._frame(body)
            if marker == _SOS:
                self._scan(body)
                entropy_end = _NEXT_MARKER.search(data, pos + length)
                if entropy_end is None:
                    return
                pos = entropy_end.start()
                continue
            pos += length

    def _pad(self, count: int) -> None:
        self.padding += count
        if self.padding > MAX_PADDING_BYTES:
            raise _too_complex(
                "The JPEG file is padded far beyond what any encoder writes.",
                f"more than {MAX_PADDING_BYTES} fill or junk bytes between segments",
            )

    def _count_segment(self, marker: int) -> None:
        self.segments += 1
        if self.segments > MAX_SEGMENTS:
            raise _too_complex(
                f"The JPEG file has more than {MAX_SEGMENTS} segments; it is too complex to process.",
                f"segment {self.segments} (marker 0xFF{marker:02X})",
            )

    def _frame(self, body: bytes) -> None:
        if len(body) < 6 or self.frame_blocks:
            return
        height, width, count = struct.unpack_from(">HHB", body, 1)
        components = [body[6 + 3 * i : 9 + 3 * i] for i in range(count)]
        components = [c for c in components if len(c) == 3]
        if not components or height == 0 or width == 0:
            return
        h_max = max(c[1] >> 4 for c in components) or 1
        v_max = max(c[1] & 15 for c in components) or 1
        for ident, sampling, _table in components:
            columns = -(-width * (sampling >> 4) // h_max)
            rows = -(-height * (sampling & 15) // v_max)
            self.frame_blocks[ident] = max(1, -(-columns // 8) * -(-rows // 8))

    def _scan(self, body: bytes) -> None:
        self.scans += 1
        if not body or not self.frame_blocks:
            return
        count = body[0]
        idents = body[1 : 1 + 2 * count : 2]
        # An unknown component costs as much as the largest one: the count stays cautious.
        largest = max(self.frame_blocks.values())
        self.scan_blocks += sum(self.frame_blocks.get(ident, largest) for ident in idents)
        limit = MAX_SCAN_PASSES * sum(self.frame_blocks.values())
        if self.scan_blocks > limit:
            raise _too_complex(
                "The JPEG's scans would decode the image far more times than any encoder writes;"
                " it is too complex to process.",
                f"{self.scans} scans cover the image {self.scan_passes():.1f} times"
                f" (at most {MAX_SCAN_PASSES})",
            )
