"""The fast PNG writer: lossless for every mode, valid by our own strict reader, bare of metadata."""

from __future__ import annotations

import random
import struct
import zlib

import pytest
from PIL import Image

from assets.errors import UploadRejected
from assets.model import RejectionReason
from tests.unit.worker import corpus
from tests.unit.worker.harness import decode
from worker import colour, png, pngwrite


def chunk_kinds(data: bytes) -> list[bytes]:
    kinds, offset = [], 8
    while offset < len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        kinds.append(kind)
        offset += 12 + length
    return kinds


def noisy(mode: str, size: tuple[int, int] = (301, 613)) -> Image.Image:
    """Noise over a gradient, in `mode`, tall enough for several strips, odd-sized."""
    base = Image.blend(
        corpus.pattern(*size), Image.effect_noise(size, 60).convert("RGB"), 0.5
    ).convert("RGBA")
    base.putalpha(Image.effect_noise(size, 90).convert("L"))
    return base.convert(mode)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
@pytest.mark.parametrize("chosen", list(pngwrite.Filter))
def test_each_filter_reverses_exactly_in_every_mode(mode: str, chosen: pngwrite.Filter) -> None:
    # GIVEN an image filtered with one filter and framed as PNG rows by hand
    image = noisy(mode, (37, 23))
    rows = pngwrite.apply(image, chosen).tobytes()
    stride = len(rows) // image.height
    raw = b"".join(bytes((chosen,)) + rows[y * stride : (y + 1) * stride] for y in range(23))
    data = (
        b"\x89PNG\r\n\x1a\n"
        + corpus.ihdr(37, 23, color_type={"L": 0, "LA": 4, "RGB": 2, "RGBA": 6}[mode])
        + corpus.chunk(b"IDAT", zlib.compress(raw))
        + corpus.chunk(b"IEND", b"")
    )
    # THEN Pillow, undoing the filter as the PNG spec says, gets the pixels back
    assert decode(data).tobytes() == image.tobytes()


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_written_pngs_decode_to_the_same_pixels_and_pass_our_strict_reader(mode: str) -> None:
    image = noisy(mode)
    data = pngwrite.encode(image)
    output = decode(data)
    assert output.mode == mode
    assert output.tobytes() == image.tobytes()
    png.verify_chunks(data, png.read_header(data))
    assert chunk_kinds(data)[0] == b"IHDR"
    assert set(chunk_kinds(data)) == {b"IHDR", b"IDAT", b"IEND"}


def test_flat_images_use_zlib_ng_and_noisy_ones_isa_l() -> None:
    flat = Image.new("RGB", (800, 600), (250, 250, 250))
    flat.paste((30, 120, 200), (100, 100, 400, 300))
    _, is_flat = pngwrite.choose(flat)
    assert is_flat
    _, is_flat = pngwrite.choose(noisy("RGB"))
    assert not is_flat
    assert decode(pngwrite.encode(flat)).tobytes() == flat.tobytes()


def test_the_filter_chosen_suits_the_image() -> None:
    # Vertical stripes repeat row after row: Up makes them zeros.
    stripes = Image.new("L", (512, 512))
    stripes.putdata([(x * 37) % 251 for _ in range(512) for x in range(512)])
    assert pngwrite.choose(stripes)[0] is pngwrite.Filter.UP
    # Rows that wander independently, in small steps: Sub leaves the steps, Up doubles the noise.
    steps = random.Random(1)
    walks = Image.new("L", (512, 512))
    values = []
    for _ in range(512):
        level = steps.randrange(256)
        for _ in range(512):
            level = (level + steps.randrange(4)) % 256
            values.append(level)
    walks.putdata(values)
    assert pngwrite.choose(walks)[0] is pngwrite.Filter.SUB


def test_the_profile_given_is_the_only_metadata_written() -> None:
    image = noisy("RGB", (40, 30))
    image.info.update({"exif": corpus.gps_exif(), "comment": b"secret comment", "dpi": (300, 300)})
    data = pngwrite.encode(image, icc_profile=colour.srgb_profile())
    assert chunk_kinds(data) == [b"IHDR", b"iCCP", b"IDAT", b"IEND"]
    assert decode(data).info == {"icc_profile": colour.srgb_profile()}


@pytest.mark.parametrize(
    "image",
    [
        corpus.pattern(64, 48).quantize(16),
        corpus.pattern(64, 48).convert("1"),
        corpus.pattern(64, 48, "L").convert("I;16"),
    ],
    ids=["palette", "bilevel", "grey-16bit"],
)
def test_other_modes_go_to_pillow_losslessly(image: Image.Image) -> None:
    assert not pngwrite.is_fast(image)
    data = pngwrite.encode(image)
    output = decode(data)
    assert output.mode == image.mode
    assert output.tobytes() == image.tobytes()


def test_a_transparent_colour_is_kept_and_nothing_else() -> None:
    image = corpus.pattern(64, 48)
    image.info.update({"transparency": (255, 255, 0), "comment": b"secret comment"})
    data = pngwrite.encode(image)
    assert decode(data).info.get("transparency") == (255, 255, 0)
    assert b"secret" not in data


def test_the_same_pixels_give_the_same_bytes() -> None:
    image = noisy("RGBA")
    assert pngwrite.encode(image) == pngwrite.encode(image.copy())


def test_the_check_runs_between_strips_and_can_stop_the_encode() -> None:
    calls: list[int] = []

    def check() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise UploadRejected(RejectionReason.TOO_COMPLEX, "stop")

    with pytest.raises(UploadRejected):
        pngwrite.encode(noisy("RGB"), check=check)
    assert len(calls) == 2
