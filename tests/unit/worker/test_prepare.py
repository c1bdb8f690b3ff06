"""`imaging.prepare`: one decode, the sanitized image, the WebP variants and the placeholder."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import blurhash
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile, ImageOps

from assets.errors import UploadRejected
from assets.model import ImageType, RejectionReason
from tests.unit.worker import corpus
from tests.unit.worker.harness import decode
from worker import imaging, variants

LIMITS = imaging.ImageLimits(max_pixels=40_000_000)
VALID = corpus.valid_corpus()
STEPS = {"validate", "icc", "sanitize", "display", "thumb", "placeholder", "total"}
WEBP_METADATA = (b"EXIF", b"XMP ", b"ICCP")
"""RIFF chunk names WebP keeps metadata in; a variant carries none of them."""


def camera_jpeg(width: int, height: int, orientation: int) -> bytes:
    return corpus.encode(
        corpus.pattern(width, height),
        "JPEG",
        quality=85,
        exif=corpus.gps_exif(orientation),
        xmp=corpus.XMP,
        comment=b"secret comment",
        icc_profile=corpus.SRGB_PROFILE,
    )


def webp(variant: variants.Variant) -> Image.Image:
    image = decode(variant.data)
    assert image.format == "WEBP"
    assert variant.content_type == "image/webp"
    assert image.size == (variant.width, variant.height)
    return image


def assert_bare_webp(variant: variants.Variant) -> None:
    for marker in (*WEBP_METADATA, *corpus.SECRETS):
        assert marker not in variant.data, marker
    image = webp(variant)
    assert not image.info.get("exif")
    assert not image.info.get("xmp")
    assert not image.info.get("icc_profile")


def test_a_rotated_camera_jpeg_gives_upright_variants_of_the_contract_sizes() -> None:
    # GIVEN a 4000x3000 JPEG whose EXIF orientation 6 says "turn 90 degrees clockwise"
    data = camera_jpeg(4000, 3000, orientation=6)

    # WHEN it is prepared
    prepared = imaging.prepare(data, ImageType.JPEG, LIMITS)

    # THEN it is 3000x4000 as displayed, and so are its sanitized image and both variants
    assert (prepared.width, prepared.height) == (3000, 4000)
    assert prepared.sanitized is not None
    assert decode(prepared.sanitized).size == (3000, 4000)
    assert (prepared.display.width, prepared.display.height) == (1200, 1600)
    assert (prepared.thumb.width, prepared.thumb.height) == (240, 320)
    # AND the variants show the upright picture: the same as the sanitized image, scaled
    upright = ImageOps.exif_transpose(decode(data)).resize((240, 320), Image.Resampling.BOX)
    assert_close(webp(prepared.thumb).convert("RGB"), upright.convert("RGB"))
    # AND neither carries EXIF, XMP, an ICC profile or any planted secret
    assert_bare_webp(prepared.display)
    assert_bare_webp(prepared.thumb)


def assert_close(actual: Image.Image, expected: Image.Image) -> None:
    """Same picture, not the same bytes: each channel's mean within a few steps, row by row."""
    assert actual.size == expected.size
    rows_actual = actual.resize((1, actual.height // 8), Image.Resampling.BOX).tobytes()
    rows_expected = expected.resize((1, expected.height // 8), Image.Resampling.BOX).tobytes()
    for a, e in zip(rows_actual, rows_expected, strict=True):
        assert abs(a - e) <= 12, (a, e)


@pytest.mark.parametrize("image_type", [ImageType.PNG, ImageType.JPEG])
def test_a_small_image_is_never_upscaled(image_type: ImageType) -> None:
    data = corpus.encode(corpus.pattern(200, 120), "PNG" if image_type is ImageType.PNG else "JPEG")
    prepared = imaging.prepare(data, image_type, LIMITS)
    assert (prepared.display.width, prepared.display.height) == (200, 120)
    assert (prepared.thumb.width, prepared.thumb.height) == (200, 120)
    assert webp(prepared.display).size == (200, 120)


def test_the_variant_sizes_are_the_limits_given() -> None:
    data = corpus.encode(corpus.pattern(1000, 500), "PNG")
    limits = imaging.ImageLimits(max_pixels=40_000_000, thumb_max_side=100, display_max_side=400)
    prepared = imaging.prepare(data, ImageType.PNG, limits)
    assert (prepared.display.width, prepared.display.height) == (400, 200)
    assert (prepared.thumb.width, prepared.thumb.height) == (100, 50)


def test_limits_come_from_the_worker_settings() -> None:
    from assets.settings import WorkerSettings

    settings = WorkerSettings(
        AWS_REGION="eu-west-1",
        ASSETS_TABLE_NAME="t",
        ASSET_BUCKET_NAME="b",
        THUMB_MAX_SIDE=200,
        DISPLAY_MAX_SIDE=1200,
        MAX_IMAGE_PIXELS=1000,
    )
    assert imaging.ImageLimits.from_settings(settings) == imaging.ImageLimits(1000, 200, 1200)
    with pytest.raises(ValueError, match="THUMB_MAX_SIDE"):
        WorkerSettings(
            AWS_REGION="eu-west-1",
            ASSETS_TABLE_NAME="t",
            ASSET_BUCKET_NAME="b",
            THUMB_MAX_SIDE=1000,
            DISPLAY_MAX_SIDE=800,
        )


@pytest.mark.parametrize(
    "source",
    [
        corpus.encode(
            Image.merge("RGBA", (*corpus.pattern(640, 480).split(), corpus.pattern(640, 480, "L"))),
            "PNG",
        ),
        corpus.encode(corpus.pattern(640, 480).quantize(16), "PNG", transparency=3),
    ],
    ids=["rgba", "palette-with-transparent-index"],
)
def test_a_png_with_alpha_keeps_it_in_both_variants(source: bytes) -> None:
    # GIVEN a PNG with transparency (an alpha channel, or a transparent palette entry)
    original = decode(source).convert("RGBA")

    # WHEN it is prepared
    prepared = imaging.prepare(source, ImageType.PNG, LIMITS)

    # THEN both variants have alpha, and it varies as the original's does
    for variant in (prepared.display, prepared.thumb):
        image = webp(variant)
        assert image.mode == "RGBA"
        alpha = image.getchannel("A").tobytes()
        expected = original.getchannel("A").tobytes()
        assert abs(min(alpha) - min(expected)) <= 8
        assert abs(max(alpha) - max(expected)) <= 8


@pytest.mark.parametrize(
    "data",
    [
        corpus.encode(corpus.pattern(640, 480), "JPEG"),
        corpus.encode(corpus.pattern(640, 480, "L"), "PNG"),
    ],
    ids=["jpeg", "grey-png"],
)
def test_an_opaque_image_has_opaque_variants(data: bytes) -> None:
    prepared = imaging.prepare(
        data, ImageType.JPEG if data[:2] == b"\xff\xd8" else ImageType.PNG, LIMITS
    )
    assert webp(prepared.display).mode == "RGB"
    assert webp(prepared.thumb).mode == "RGB"


@pytest.mark.parametrize("case", VALID, ids=[case.name for case in VALID])
def test_every_valid_kind_of_upload_gets_bare_variants_and_a_short_placeholder(
    case: corpus.Valid,
) -> None:
    # GIVEN any kind of valid upload, metadata planted in many
    # WHEN it is prepared
    prepared = imaging.prepare(case.data, case.image_type, LIMITS)

    # THEN its variants are bare WebP at the upright size, the sanitized image is what
    # render_sanitized writes, and the placeholder is a BlurHash of at most 100 characters
    upright = ImageOps.exif_transpose(decode(case.data))
    assert (prepared.width, prepared.height) == upright.size
    assert (prepared.display.width, prepared.display.height) == upright.size
    assert_bare_webp(prepared.display)
    assert_bare_webp(prepared.thumb)
    validated = imaging.validate(case.data, case.image_type, LIMITS.max_pixels)
    assert prepared.sanitized == imaging.render_sanitized(validated)
    assert 6 <= len(prepared.placeholder) <= 100
    pixels = blurhash.decode(prepared.placeholder, 4, 4)
    assert len(pixels) == 4
    assert set(prepared.timings) == STEPS
    assert all(seconds >= 0 for seconds in prepared.timings.values())


def test_the_placeholder_looks_like_the_image() -> None:
    # GIVEN an image red on top and blue below
    image = Image.new("RGB", (300, 200), (220, 20, 20))
    image.paste((20, 20, 220), (0, 100, 300, 200))
    prepared = imaging.prepare(corpus.encode(image, "PNG"), ImageType.PNG, LIMITS)

    # WHEN the placeholder is decoded as a page would
    top, bottom = blurhash.decode(prepared.placeholder, 1, 2)

    # THEN it is reddish above and bluish below
    assert top[0][0] > top[0][2]
    assert bottom[0][2] > bottom[0][0]


def test_the_same_upload_always_gives_the_same_bytes() -> None:
    # GIVEN an upload prepared twice, as a redelivered message would have it
    data = camera_jpeg(1800, 1200, orientation=8)
    first = imaging.prepare(data, ImageType.JPEG, LIMITS)
    second = imaging.prepare(data, ImageType.JPEG, LIMITS)

    # THEN every published byte is the same
    assert first.sanitized == second.sanitized
    assert first.display.data == second.display.data
    assert first.thumb.data == second.thumb.data
    assert first.placeholder == second.placeholder
    png_data = corpus.encode(corpus.pattern(900, 700), "PNG")
    png_first = imaging.prepare(png_data, ImageType.PNG, LIMITS)
    png_second = imaging.prepare(png_data, ImageType.PNG, LIMITS)
    assert (png_first.sanitized, png_first.display, png_first.thumb) == (
        png_second.sanitized,
        png_second.display,
        png_second.thumb,
    )


def test_original_mode_re_encodes_nothing_but_still_makes_variants() -> None:
    data = camera_jpeg(800, 600, orientation=6)
    prepared = imaging.prepare(data, ImageType.JPEG, LIMITS, sanitize=False)
    assert prepared.sanitized is None
    assert (prepared.width, prepared.height) == (600, 800)
    assert (prepared.display.width, prepared.display.height) == (600, 800)


@pytest.fixture
def decodes() -> Iterator[list[str]]:
    """Every full decode Pillow makes while the test runs, by format."""
    seen: list[str] = []
    original = ImageFile.ImageFile.load

    def counting(self: ImageFile.ImageFile) -> object:
        if self.tile:  # a load that still has compressed tiles to decode
            seen.append(str(self.format))
        return original(self)

    ImageFile.ImageFile.load = counting  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        ImageFile.ImageFile.load = original  # type: ignore[method-assign]


@pytest.mark.parametrize(
    ("data", "image_type"),
    [
        (camera_jpeg(3200, 2400, orientation=6), ImageType.JPEG),
        (corpus.encode(corpus.pattern(2400, 1800), "PNG"), ImageType.PNG),
    ],
    ids=["jpeg", "png"],
)
def test_the_upload_is_decoded_once_for_everything_published(
    data: bytes, image_type: ImageType, decodes: list[str]
) -> None:
    prepared = imaging.prepare(data, image_type, LIMITS)
    assert prepared.display.width == 1600 or prepared.display.height == 1600
    assert decodes == ["JPEG" if image_type is ImageType.JPEG else "PNG"]


def test_a_spent_budget_rejects_the_upload_as_too_complex() -> None:
    data = corpus.encode(corpus.pattern(64, 48), "PNG")
    with pytest.raises(UploadRejected) as rejected:
        imaging.prepare(data, ImageType.PNG, LIMITS, deadline=lambda: 0.0)
    assert rejected.value.reason is RejectionReason.TOO_COMPLEX
    assert "too long" in rejected.value.message


def countdown(calls: int) -> Callable[[], float]:
    """A deadline that runs out after `calls` looks at it."""
    left = [calls]

    def remaining() -> float:
        left[0] -= 1
        return float(left[0])

    return remaining


@pytest.mark.parametrize("calls", [1, 2, 3, 5, 8, 13, 21])
def test_the_budget_is_checked_between_and_inside_steps(calls: int) -> None:
    # GIVEN a budget that runs out after a few looks, somewhere in the pipeline
    data = corpus.encode(Image.effect_noise((1200, 1100), 50).convert("RGB"), "PNG")

    # WHEN the upload is prepared, THEN it is rejected as too complex wherever the time ran out
    with pytest.raises(UploadRejected) as rejected:
        imaging.prepare(data, ImageType.PNG, LIMITS, deadline=countdown(calls))
    assert rejected.value.reason is RejectionReason.TOO_COMPLEX


def test_the_budget_is_checked_while_decoding() -> None:
    # GIVEN a budget that lasts for the structure checks (two looks) and no further
    data = corpus.encode(Image.effect_noise((800, 600), 60).convert("RGB"), "JPEG", quality=95)

    # WHEN the upload is prepared, THEN the decoder's reads find the time up
    with pytest.raises(UploadRejected) as rejected:
        imaging.prepare(data, ImageType.JPEG, LIMITS, deadline=countdown(3))
    assert rejected.value.reason is RejectionReason.TOO_COMPLEX
    assert "at decode" in rejected.value.detail


def test_a_generous_budget_changes_nothing() -> None:
    data = camera_jpeg(640, 480, orientation=3)
    with_budget = imaging.prepare(data, ImageType.JPEG, LIMITS, deadline=lambda: 60.0)
    without = imaging.prepare(data, ImageType.JPEG, LIMITS)
    assert with_budget.sanitized == without.sanitized
    assert with_budget.display == without.display


@pytest.mark.parametrize("case", corpus.invalid_corpus(), ids=lambda case: case.name)
def test_prepare_rejects_what_validate_rejects(case: corpus.Invalid) -> None:
    with pytest.raises(UploadRejected) as rejected:
        imaging.prepare(case.data, case.image_type, LIMITS)
    assert rejected.value.reason is case.reason


def test_sixteen_bit_grey_variants_are_scaled_not_clipped() -> None:
    # GIVEN a 16-bit grey PNG, dark grey in 16-bit terms (values far above 255)
    source = Image.new("I;16", (40, 30), 16448)  # 64 * 257: 8-bit 64
    data = corpus.encode(source, "PNG")
    prepared = imaging.prepare(data, ImageType.PNG, LIMITS)
    # THEN the variant is that dark grey, not clipped to white
    pixel = webp(prepared.display).getpixel((20, 15))
    assert pixel == pytest.approx((64, 64, 64), abs=4)


def test_the_sanitized_png_is_what_pillow_decodes_back_exactly() -> None:
    image = Image.effect_noise((700, 600), 30).convert("RGB")
    prepared = imaging.prepare(corpus.encode(image, "PNG"), ImageType.PNG, LIMITS)
    assert prepared.sanitized is not None
    assert decode(prepared.sanitized).tobytes() == image.tobytes()
    assert io.BytesIO(prepared.sanitized).read(8) == b"\x89PNG\r\n\x1a\n"


_SEEDS = [
    corpus.encode(corpus.pattern(40, 30), "PNG"),
    corpus.encode(corpus.pattern(40, 30), "JPEG", progressive=True, exif=corpus.gps_exif(6)),
    corpus.encode(corpus.pattern(40, 30), "JPEG", icc_profile=corpus.icc_profile()),
    corpus.png_interlaced(corpus.pattern(9, 7)),
]


@st.composite
def damaged_uploads(draw: st.DrawFn) -> tuple[bytes, ImageType]:
    data = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    declared = ImageType.PNG if data[:4] == b"\x89PNG" else ImageType.JPEG
    return bytes(data[: draw(st.integers(1, len(data)))]), declared


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(damaged_uploads())
def test_damaged_uploads_are_rejected_or_fully_prepared(sample: tuple[bytes, ImageType]) -> None:
    # GIVEN a damaged upload; WHEN it is prepared: a verdict, never another exception
    data, declared = sample
    try:
        prepared = imaging.prepare(data, declared, LIMITS)
    except UploadRejected:
        return
    # THEN everything accepted decodes, at the size announced
    assert prepared.sanitized is not None
    assert decode(prepared.sanitized).size == (prepared.width, prepared.height)
    assert webp(prepared.display).size == (prepared.width, prepared.height)
    assert len(prepared.placeholder) <= 100


def test_a_one_pixel_image_has_one_pixel_variants() -> None:
    prepared = imaging.prepare(
        corpus.encode(Image.new("RGB", (1, 1), "red"), "PNG"), ImageType.PNG, LIMITS
    )
    assert (prepared.thumb.width, prepared.thumb.height) == (1, 1)
    assert len(prepared.placeholder) <= 100
