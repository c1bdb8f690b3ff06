"""Colour profiles: decoded pixels brought to sRGB, so no uploader's ICC bytes are ever published.

An embedded ICC profile is a container of the uploader's choosing: a payload can ride in a tag or
after the tag table, and re-serialising it (lcms copies unread tags blindly) keeps what rides in a
tag. So the profile is only read, never passed on. Pixels it describes as sRGB (measured, not by
name) are kept exactly; other RGB, grey and CMYK profiles are applied with lcms and the pixels
become sRGB. A published RGB image that had a profile carries ours, the same 588 bytes every time; a grey one
is published untagged, which browsers show as sRGB grey.
A profile that does not parse, does not fit the image's colour space or is too large is dropped,
and the pixels are shown as sRGB, as browsers show any untagged image.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from enum import StrEnum

from PIL import Image, ImageChops, ImageCms

MAX_PROFILE_BYTES = 2 * 1024 * 1024
"""Display and camera profiles are under 1 MiB, press CMYK profiles up to about 2."""
SRGB_TOLERANCE = 2
"""Largest difference, in 8-bit steps, between a profile's idea of a colour and sRGB's that still
counts as sRGB: lcms rounds an sRGB-to-sRGB transform by up to 1."""

_FIXED_DATE = bytes.fromhex("07e8 0001 0001 0000 0000 0000")
"""2024-01-01 00:00:00: lcms stamps the creation time; a fixed one keeps our profile's bytes fixed."""
_COLOUR_SPACES = {
    "RGB": "RGB ",
    "RGBA": "RGB ",
    "P": "RGB ",
    "L": "GRAY",
    "LA": "GRAY",
    "CMYK": "CMYK",
}


class ProfileAction(StrEnum):
    """What became of an upload's colour profile (logged, and tested)."""

    NONE = "none"
    """The upload had no profile: pixels unchanged, none published."""
    SRGB = "srgb"
    """The profile describes sRGB: pixels unchanged, our sRGB profile published instead."""
    CONVERTED = "converted"
    """Pixels converted from the profile to sRGB; our sRGB profile published (RGB images)."""
    DROPPED = "dropped"
    """Unreadable, too large or not for this image: ignored, pixels unchanged, none published."""


@dataclass(frozen=True, slots=True)
class Colour:
    """Pixels in sRGB and the profile to publish with them (ours or none)."""

    image: Image.Image
    profile: bytes | None
    action: ProfileAction


@functools.cache
def srgb_profile() -> bytes:
    """Our sRGB profile, byte for byte the same on every call and in every process."""
    built = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return built[:24] + _FIXED_DATE + built[36:]


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(io.BytesIO(srgb_profile()))


def to_srgb(image: Image.Image, *, in_place: bool = False) -> Colour:
    """The image's pixels in sRGB, from the ICC profile it was decoded with (if any).

    `in_place` lets an RGB conversion overwrite `image` instead of allocating a second one.
    """
    embedded = image.info.get("icc_profile")
    if not embedded:
        return Colour(image, None, ProfileAction.NONE)
    profile = _parse(embedded, image.mode)
    if profile is None:
        return Colour(image, None, ProfileAction.DROPPED)
    try:
        return _apply(image, profile, in_place=in_place)
    except (ImageCms.PyCMSError, OSError, ValueError):
        # lcms parsed the header but cannot build a transform from it: the profile is unusable.
        return Colour(image, None, ProfileAction.DROPPED)


def _parse(data: bytes, mode: str) -> ImageCms.ImageCmsProfile | None:
    expected = _COLOUR_SPACES.get(mode)
    if expected is None or not isinstance(data, bytes) or len(data) > MAX_PROFILE_BYTES:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(data))
        space = profile.profile.xcolor_space
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None
    return profile if space == expected else None


def _apply(image: Image.Image, profile: ImageCms.ImageCmsProfile, *, in_place: bool) -> Colour:
    srgb = srgb_profile()
    if image.mode in ("L", "RGB") and "transparency" in image.info:
        # A transparent colour would name a value the conversion changes: make it alpha first.
        image = image.convert("LA" if image.mode == "L" else "RGBA")
        in_place = True
    mode = image.mode
    if mode == "CMYK":
        return Colour(_transform(image, profile, "CMYK", "RGB"), srgb, ProfileAction.CONVERTED)
    if mode in ("L", "LA"):
        if _is_srgb_grey(profile):
            return Colour(image, None, ProfileAction.SRGB)
        grey, alpha = (
            (image, None) if mode == "L" else (image.getchannel("L"), image.getchannel("A"))
        )
        rgb = _transform(grey, profile, "L", "RGB")
        if alpha is not None:
            rgb.putalpha(alpha)
        return Colour(rgb, srgb, ProfileAction.CONVERTED)
    if _is_srgb(profile):
        return Colour(image, srgb, ProfileAction.SRGB)
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        in_place = True
    converted = ImageCms.applyTransform(
        image,
        ImageCms.buildTransform(profile, _srgb(), image.mode, image.mode),
        inPlace=in_place,
    )
    return Colour(image if converted is None else converted, srgb, ProfileAction.CONVERTED)


def _transform(
    image: Image.Image, profile: ImageCms.ImageCmsProfile, in_mode: str, out_mode: str
) -> Image.Image:
    converted = ImageCms.applyTransform(
        image, ImageCms.buildTransform(profile, _srgb(), in_mode, out_mode)
    )
    assert converted is not None  # not in place: always a new image
    converted.info = {}
    return converted


@functools.cache
def _rgb_probe() -> Image.Image:
    """Every colour of a 17-step RGB grid: where two profiles that disagree would show it."""
    steps = [min(255, 16 * i) for i in range(17)]
    grid = bytes(channel for r in steps for g in steps for b in steps for channel in (r, g, b))
    return Image.frombytes("RGB", (len(steps) ** 3, 1), grid)


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    probe = _rgb_probe()
    seen = ImageCms.applyTransform(probe, ImageCms.buildTransform(profile, _srgb(), "RGB", "RGB"))
    assert seen is not None
    return _largest_difference(probe, seen) <= SRGB_TOLERANCE


def _is_srgb_grey(profile: ImageCms.ImageCmsProfile) -> bool:
    ramp = Image.frombytes("L", (256, 1), bytes(range(256)))
    seen = ImageCms.applyTransform(ramp, ImageCms.buildTransform(profile, _srgb(), "L", "RGB"))
    assert seen is not None
    return _largest_difference(ramp.convert("RGB"), seen) <= SRGB_TOLERANCE


def _largest_difference(expected: Image.Image, actual: Image.Image) -> int:
    extrema = ImageChops.difference(expected, actual).getextrema()
    return max(int(high) for _low, high in extrema)  # type: ignore[misc]
