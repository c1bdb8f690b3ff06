"""CPU bombs (issue 15.7): small files that cost seconds are refused before any decoding.

Each test rebuilds the review's file and makes decoding impossible, so a rejection can only come
from the structure checks; bench/worker_validate.py --bombs times the worst file still accepted.
"""

from __future__ import annotations

import pytest
from PIL import Image, ImageFile

from assets.errors import UploadRejected
from assets.model import ImageType, RejectionReason
from tests.unit.worker import corpus
from worker import imaging, jpeg, png

LIMITS = imaging.ImageLimits(max_pixels=40_000_000)


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Pillow was asked to read the file")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(Image, "open", refuse)


def rejected_reason(data: bytes, image_type: ImageType) -> UploadRejected:
    with pytest.raises(UploadRejected) as rejected:
        imaging.prepare(data, image_type, LIMITS)
    return rejected.value


def test_a_png_of_873000_empty_chunks_is_too_complex(no_decoding: None) -> None:
    data = corpus.png_chunk_bomb()
    assert len(data) > 10_000_000
    rejection = rejected_reason(data, ImageType.PNG)
    assert rejection.reason is RejectionReason.TOO_COMPLEX
    assert f"{png.MAX_CHUNKS} chunks" in rejection.message


def test_a_png_at_the_chunk_limit_is_accepted() -> None:
    # The structure holds the header, the padding, the image data and the end: MAX_CHUNKS in all.
    data = corpus.png_chunk_bomb(png.MAX_CHUNKS - 3)
    assert imaging.prepare(data, ImageType.PNG, LIMITS).width == 8
    with pytest.raises(UploadRejected):
        imaging.validate(corpus.png_chunk_bomb(png.MAX_CHUNKS - 2), ImageType.PNG, 40_000_000)


def test_a_jpeg_of_millions_of_empty_segments_is_too_complex(no_decoding: None) -> None:
    data = corpus.jpeg_segment_bomb()
    assert len(data) > 10_000_000
    rejection = rejected_reason(data, ImageType.JPEG)
    assert rejection.reason is RejectionReason.TOO_COMPLEX
    assert f"{jpeg.MAX_SEGMENTS} segments" in rejection.message


def test_a_jpeg_padded_with_millions_of_fill_bytes_is_too_complex(no_decoding: None) -> None:
    rejection = rejected_reason(corpus.jpeg_padding_bomb(), ImageType.JPEG)
    assert rejection.reason is RejectionReason.TOO_COMPLEX
    assert "padded" in rejection.message


def test_a_jpeg_with_some_padding_and_segments_is_accepted() -> None:
    data = corpus.jpeg_padding_bomb(1000)
    assert imaging.prepare(data, ImageType.JPEG, LIMITS).width == 16
    data = corpus.jpeg_segment_bomb(jpeg.MAX_SEGMENTS - 20)
    assert imaging.prepare(data, ImageType.JPEG, LIMITS).width == 16


def test_a_progressive_jpeg_whose_scans_pass_over_it_100_times_is_too_complex(
    no_decoding: None,
) -> None:
    # GIVEN the review's bomb in small: a flat progressive JPEG with 100 scans (the 40 MP
    # original, 240 KB, decodes in 4 to 8 s; the bench rebuilds it at full size)
    data = corpus.progressive_scan_bomb(1200, 900, scans=100)
    assert data.count(b"\xff\xda") == 100

    # THEN it is refused for the passes its scans make, before anything decodes it
    rejection = rejected_reason(data, ImageType.JPEG)
    assert rejection.reason is RejectionReason.TOO_COMPLEX
    assert "scans" in rejection.message
    assert f"at most {jpeg.MAX_SCAN_PASSES}" in rejection.detail


@pytest.mark.parametrize(
    ("mode", "params"),
    [
        ("RGB", {"progressive": True}),
        ("RGB", {"progressive": True, "subsampling": 0}),
        ("L", {"progressive": True}),
        ("CMYK", {"progressive": True}),
        ("RGB", {}),
    ],
    ids=["progressive-420", "progressive-444", "progressive-grey", "progressive-cmyk", "baseline"],
)
def test_what_encoders_write_stays_well_inside_the_scan_limit(
    mode: str, params: dict[str, object]
) -> None:
    data = corpus.encode(Image.effect_noise((400, 300), 40).convert(mode), "JPEG", **params)
    structure = jpeg.check_structure(data)
    assert structure.scan_passes <= jpeg.MAX_SCAN_PASSES / 2
    assert structure.segments < 50
    imaging.prepare(data, ImageType.JPEG, LIMITS)


def test_a_few_repeated_scans_are_still_accepted() -> None:
    data = corpus.progressive_scan_bomb(400, 300, scans=14)
    structure = jpeg.check_structure(data)
    assert 1 < structure.scan_passes <= jpeg.MAX_SCAN_PASSES
    assert imaging.prepare(data, ImageType.JPEG, LIMITS).width == 400


def test_the_structure_walk_ignores_what_follows_the_end_of_the_image() -> None:
    data = corpus.encode(corpus.pattern(), "JPEG") + b"\xff\xfe\x00\x02" * (2 * jpeg.MAX_SEGMENTS)
    assert jpeg.check_structure(data).segments < 20


def test_the_structure_walk_leaves_damaged_files_to_the_decoder() -> None:
    data = corpus.encode(Image.effect_noise((64, 48), 40).convert("RGB"), "JPEG")
    for cut in (3, 10, 40, len(data) // 2):
        jpeg.check_structure(data[:cut])  # no verdict: truncation is the decoder's to name
    rejection = rejected_reason(corpus.truncated(data), ImageType.JPEG)
    assert rejection.reason is RejectionReason.TRUNCATED


def test_a_flat_sixteen_bit_40mp_png_is_accepted_within_the_memory_it_needs() -> None:
    # GIVEN the review's 311 KB, 40 MP, 16-bit PNG (240 MB of samples once inflated)
    data = corpus.png_rgb16_flat(7300, 5479)
    assert len(data) < 400_000

    # WHEN it is prepared, THEN it is a legitimate image: accepted, downscaled, 8 bits a channel
    prepared = imaging.prepare(data, ImageType.PNG, LIMITS)
    assert (prepared.width, prepared.height) == (7300, 5479)
    assert prepared.display.width == 1600
    assert prepared.sanitized is not None
    assert len(prepared.sanitized) < 1_000_000
