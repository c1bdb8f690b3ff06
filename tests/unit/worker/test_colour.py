"""ICC profiles (issue 15.5): no uploader's profile bytes are published; colours become sRGB."""

from __future__ import annotations

import pytest
from PIL import Image

from assets.model import ImageType
from tests.unit.worker import corpus
from tests.unit.worker.harness import decode
from worker import colour, imaging

LIMITS = imaging.ImageLimits(max_pixels=40_000_000)
ZIP = corpus.zip_archive()
PAYLOAD = corpus.HTML_PAYLOAD + ZIP
ORANGE = (200, 120, 60)
"""A colour well inside both gamuts: converting it from Adobe RGB to sRGB moves it visibly."""


def image_with(profile: bytes, image_type: ImageType, mode: str = "RGB") -> bytes:
    image = Image.new(mode, (64, 48), ORANGE if mode == "RGB" else 120)
    fmt = "PNG" if image_type is ImageType.PNG else "JPEG"
    return corpus.encode(
        image, fmt, icc_profile=profile, **({"quality": 95} if fmt == "JPEG" else {})
    )


def published(data: bytes, image_type: ImageType) -> tuple[bytes, imaging.PreparedImage]:
    prepared = imaging.prepare(data, image_type, LIMITS)
    assert prepared.sanitized is not None
    return prepared.sanitized, prepared


def assert_nothing_of(payload: bytes, *outputs: bytes) -> None:
    for output in outputs:
        assert corpus.HTML_PAYLOAD not in output
        assert b"<script>" not in output
        assert b"PK\x03\x04" not in output  # a ZIP's local file header
        assert payload[-22:] not in output  # its end-of-central-directory record


@pytest.mark.parametrize("image_type", [ImageType.JPEG, ImageType.PNG])
@pytest.mark.parametrize(
    "profile",
    [
        corpus.icc_profile(colorants=corpus.SRGB_COLORANTS, appended=PAYLOAD),
        corpus.icc_profile(private=PAYLOAD),
        corpus.icc_profile(appended=PAYLOAD),
    ],
    ids=["appended-to-an-srgb-like-profile", "in-a-private-tag", "appended-to-adobe-rgb"],
)
def test_a_profile_carrying_html_and_zip_is_never_published(
    profile: bytes, image_type: ImageType
) -> None:
    # GIVEN an image whose ICC profile carries an HTML page and a ZIP archive
    data = image_with(profile, image_type)
    # (as the review made it: JPEG carries it verbatim, PNG deflated in its iCCP chunk)
    assert PAYLOAD in decode(data).info["icc_profile"]
    if image_type is ImageType.JPEG:
        assert PAYLOAD in data

    # WHEN it is prepared
    sanitized, prepared = published(data, image_type)

    # THEN neither the sanitized image nor a variant carries any of it
    assert_nothing_of(PAYLOAD, sanitized, prepared.display.data, prepared.thumb.data)
    # AND the sanitized image carries our sRGB profile, not the uploader's
    assert decode(sanitized).info.get("icc_profile") == colour.srgb_profile()


def test_a_four_mib_profile_is_dropped_not_published() -> None:
    # GIVEN a JPEG carrying a 4 MiB profile (JPEG splits it over 65 APP2 segments)
    huge = corpus.icc_profile(private=PAYLOAD + b"\0" * (4 * 1024 * 1024))
    data = image_with(huge, ImageType.JPEG)
    assert len(data) > 4 * 1024 * 1024

    # WHEN it is prepared
    sanitized, prepared = published(data, ImageType.JPEG)

    # THEN the profile is dropped: the output is small, untagged, and carries none of it
    assert prepared.profile is colour.ProfileAction.DROPPED
    assert len(sanitized) < 64 * 1024
    assert decode(sanitized).info.get("icc_profile") is None
    assert_nothing_of(PAYLOAD, sanitized)


@pytest.mark.parametrize("image_type", [ImageType.JPEG, ImageType.PNG])
@pytest.mark.parametrize(
    "garbage",
    [b"garbage " * 64, corpus.icc_profile()[:100], b"\0" * 128 + b"\xff" * 64],
    ids=["text", "cut-short", "zeros"],
)
def test_a_profile_that_does_not_parse_is_dropped(garbage: bytes, image_type: ImageType) -> None:
    data = image_with(garbage, image_type)
    sanitized, prepared = published(data, image_type)
    assert prepared.profile is colour.ProfileAction.DROPPED
    assert decode(sanitized).info.get("icc_profile") is None
    assert garbage not in sanitized
    # AND the pixels are kept as they were: shown as sRGB, as browsers show untagged images
    assert decode(sanitized).convert("RGB").getpixel((10, 10)) == pytest.approx(ORANGE, abs=3)


def test_a_grey_profile_on_an_rgb_image_is_dropped() -> None:
    data = image_with(corpus.icc_profile("GRAY"), ImageType.PNG)
    sanitized, prepared = published(data, ImageType.PNG)
    assert prepared.profile is colour.ProfileAction.DROPPED
    assert decode(sanitized).tobytes() == Image.new("RGB", (64, 48), ORANGE).tobytes()


@pytest.mark.parametrize("image_type", [ImageType.JPEG, ImageType.PNG])
def test_a_wide_gamut_image_is_converted_to_srgb(image_type: ImageType) -> None:
    # GIVEN an image tagged Adobe RGB
    data = image_with(corpus.icc_profile(), image_type)

    # WHEN it is prepared
    sanitized, prepared = published(data, image_type)

    # THEN its pixels are now what lcms makes of them in sRGB, under our profile
    assert prepared.profile is colour.ProfileAction.CONVERTED
    output = decode(sanitized)
    assert output.info.get("icc_profile") == colour.srgb_profile()
    pixel = output.convert("RGB").getpixel((10, 10))
    assert isinstance(pixel, tuple)
    assert pixel != pytest.approx(ORANGE, abs=3)  # the same colour needs other sRGB numbers
    assert pixel[0] > pixel[1] > pixel[2]  # and is still an orange
    # AND the variants show the converted colour too (untagged WebP is sRGB)
    variant = decode(prepared.display.data).convert("RGB").getpixel((10, 10))
    assert variant == pytest.approx(pixel, abs=6)


def test_an_srgb_profile_keeps_the_pixels_exactly_and_is_replaced_by_ours() -> None:
    # GIVEN a PNG tagged sRGB by another copy of lcms (different bytes: the time stamp)
    assert corpus.FOREIGN_SRGB_PROFILE != colour.srgb_profile()
    image = corpus.pattern(64, 48)
    data = corpus.encode(image, "PNG", icc_profile=corpus.FOREIGN_SRGB_PROFILE)

    # WHEN it is prepared, THEN the pixels are untouched and the profile is ours
    sanitized, prepared = published(data, ImageType.PNG)
    assert prepared.profile is colour.ProfileAction.SRGB
    output = decode(sanitized)
    assert output.tobytes() == image.tobytes()
    assert output.info.get("icc_profile") == colour.srgb_profile()


def test_a_grey_image_with_a_linear_grey_profile_becomes_srgb() -> None:
    # GIVEN a grey JPEG tagged with a linear (gamma 1.0) grey profile
    data = image_with(corpus.icc_profile("GRAY", gamma=1.0), ImageType.JPEG, mode="L")
    sanitized, prepared = published(data, ImageType.JPEG)
    # THEN mid-grey 120 in linear light is brighter in sRGB, and the output is RGB under our profile
    assert prepared.profile is colour.ProfileAction.CONVERTED
    output = decode(sanitized)
    assert min(output.convert("L").tobytes()) > 160
    assert output.info.get("icc_profile") == colour.srgb_profile()


def test_a_cmyk_jpeg_with_a_cmyk_profile_becomes_srgb() -> None:
    # GIVEN a CMYK JPEG of pure cyan and white, tagged with a (press-like) CMYK profile
    image = Image.new("CMYK", (64, 48), (255, 0, 0, 0))
    image.paste((0, 0, 0, 0), (0, 24, 64, 48))
    data = corpus.encode(image, "JPEG", quality=95, icc_profile=corpus.cmyk_profile())

    # WHEN it is prepared
    sanitized, prepared = published(data, ImageType.JPEG)

    # THEN it is an RGB JPEG under our profile: cyan is blue-green, paper is white
    assert prepared.profile is colour.ProfileAction.CONVERTED
    output = decode(sanitized)
    assert output.mode == "RGB"
    assert output.info.get("icc_profile") == colour.srgb_profile()
    red, green, blue = output.getpixel((10, 5))  # type: ignore[misc]
    assert green > red + 60
    assert blue > red + 40
    assert output.getpixel((10, 40)) == pytest.approx((255, 255, 255), abs=4)


@pytest.mark.parametrize("mode", ["RGBA", "P"])
def test_alpha_and_palettes_survive_a_conversion(mode: str) -> None:
    # GIVEN a PNG tagged Adobe RGB, with an alpha channel or a palette with a transparent entry
    image = Image.new("RGBA", (64, 48), (*ORANGE, 255))
    image.paste((*ORANGE, 0), (0, 0, 32, 48))
    if mode == "P":
        rgb = Image.new("RGB", (64, 48), ORANGE)
        rgb.paste((0, 0, 0), (0, 0, 32, 48))
        source = rgb.quantize(4)
        params = {"transparency": source.getpixel((0, 0))}
    else:
        source, params = image, {}
    data = corpus.encode(source, "PNG", icc_profile=corpus.icc_profile(), **params)

    # WHEN it is prepared
    sanitized, prepared = published(data, ImageType.PNG)

    # THEN its colour is converted, its transparent half is still transparent
    assert prepared.profile is colour.ProfileAction.CONVERTED
    output = decode(sanitized).convert("RGBA")
    assert output.getpixel((10, 10))[3] == 0  # type: ignore[index]
    opaque = output.getpixel((50, 10))
    assert isinstance(opaque, tuple)
    assert opaque[3] == 255
    assert opaque[:3] != pytest.approx(ORANGE, abs=3)
    assert webp_alpha(prepared.display.data) == (0, 255)


def webp_alpha(data: bytes) -> tuple[int, int]:
    alpha = decode(data).convert("RGBA").getchannel("A").tobytes()
    return min(alpha), max(alpha)


def test_a_cmyk_jpeg_with_a_cmyk_profile_it_cannot_use_keeps_its_pixels() -> None:
    # GIVEN a CMYK JPEG tagged with an RGB profile (a mismatch: the profile is dropped)
    image = corpus.pattern(64, 48).convert("CMYK")
    data = corpus.encode(image, "JPEG", quality=95, icc_profile=corpus.icc_profile())
    sanitized, prepared = published(data, ImageType.JPEG)
    assert prepared.profile is colour.ProfileAction.DROPPED
    assert decode(sanitized).mode == "CMYK"


def test_our_srgb_profile_is_the_same_bytes_every_time() -> None:
    first = colour.srgb_profile()
    colour.srgb_profile.cache_clear()
    assert colour.srgb_profile() == first
    assert len(first) < 1024
    # AND lcms reads it as sRGB
    assert colour.to_srgb(_tagged(first)).action is colour.ProfileAction.SRGB


def _tagged(profile: bytes) -> Image.Image:
    image = Image.new("RGB", (2, 2))
    image.info["icc_profile"] = profile
    return image
