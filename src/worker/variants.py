"""The smaller images published beside each upload, `thumb` and `display`, and its `placeholder`.

All three come from the upright, sRGB pixels the sanitized image is written from, already decoded:
nothing here reads the upload again. `display` is resized from those pixels, `thumb` from
`display` (at most a fifth of its side, so nothing is lost), the placeholder from `thumb`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import blurhash
from PIL import Image

CONTENT_TYPE = "image/webp"
WEBP_QUALITY = 80
WEBP_METHOD = 0
"""libwebp's fastest method: about 3 times faster than its default (4) on a 1600-pixel image, for
some 3% more bytes (docs/benchmarks.md)."""
REDUCING_GAP = 1.25
"""Shrink by whole factors with a box filter while at least this far from the target, then
Lanczos for the rest: a 12 MP image is resized 3 times faster, with no visible difference."""
PLACEHOLDER_SIDE = 32
"""The placeholder is computed from an image this small: BlurHash keeps only 12 frequencies."""
PLACEHOLDER_COMPONENTS = 4
"""BlurHash components along the longer side (3 along the shorter): 28 characters."""
PLACEHOLDER_MAX_LENGTH = 100
_PLACEHOLDER_BACKGROUND = (255, 255, 255)
"""BlurHash has no alpha: transparent images are flattened over white, as the page shows them."""
_WITH_ALPHA = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})


@dataclass(frozen=True, slots=True)
class Variant:
    """One published rendition: WebP bytes and their pixel size."""

    data: bytes
    width: int
    height: int
    content_type: str = CONTENT_TYPE


def fit(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size that fits `max_side` with the aspect ratio kept, never larger than the image."""
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def webp_ready(image: Image.Image) -> Image.Image:
    """The image in RGB or RGBA (what WebP holds), with alpha only where the source has it."""
    if image.mode in ("RGB", "RGBA"):
        return image
    if image.mode.startswith("I"):
        # 16-bit grey: scale to 8 bits; a plain convert would clip everything above 255 to white.
        image = image.convert("I").point(lambda value: value / 257).convert("L")
    if image.mode == "CMYK":
        return image.convert("RGB")
    alpha = image.mode in _WITH_ALPHA or "transparency" in image.info
    return image.convert("RGBA" if alpha else "RGB")


def resized(image: Image.Image, max_side: int) -> Image.Image:
    """The image fitted into `max_side`, or the image itself when it already fits."""
    size = fit(image.width, image.height, max_side)
    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)


def encode_webp(image: Image.Image) -> Variant:
    """Lossy WebP with lossless alpha, carrying no EXIF, XMP or ICC profile; same bytes every time."""
    bare = image.copy() if image.info else image
    bare.info = {}  # Pillow's WebP writer takes EXIF, XMP and ICC from `info` unless told otherwise
    out = io.BytesIO()
    bare.save(out, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD, exif=b"", xmp=b"")
    return Variant(out.getvalue(), image.width, image.height)


def placeholder(image: Image.Image) -> str:
    """A BlurHash of the image: a short string a page turns into a blurred preview at once."""
    small = image.copy()
    small.thumbnail((PLACEHOLDER_SIDE, PLACEHOLDER_SIDE), Image.Resampling.BOX)
    if small.mode != "RGB":
        rgba = small.convert("RGBA")
        small = Image.new("RGB", rgba.size, _PLACEHOLDER_BACKGROUND)
        small.paste(rgba, mask=rgba.getchannel("A"))
    width, height = small.size
    raw = small.tobytes()
    rows = [
        [list(raw[offset : offset + 3]) for offset in range(y * width * 3, (y + 1) * width * 3, 3)]
        for y in range(height)
    ]
    long_side, short_side = PLACEHOLDER_COMPONENTS, PLACEHOLDER_COMPONENTS - 1
    x, y = (long_side, short_side) if width >= height else (short_side, long_side)
    encoded: str = blurhash.encode(rows, components_x=x, components_y=y)
    assert len(encoded) <= PLACEHOLDER_MAX_LENGTH
    return encoded
