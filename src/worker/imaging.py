"""Deciding whether untrusted bytes are the image they claim to be, and re-encoding them clean.

Everything here parses attacker-controlled input, so every failure becomes an `UploadRejected`
with a stable reason, except running out of memory, which is ours and not the uploader's.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import ExifTags, Image, ImageFile, ImageOps, JpegImagePlugin, UnidentifiedImageError

from assets.errors import UploadRejected
from assets.model import ImageType, RejectionReason
from worker import png

# Pillow's default, set where it is relied on: a short file must fail, never decode half-grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False

MAX_JPEG_SCANS = 100
"""A progressive JPEG decodes once per scan; encoders write about 10. Thousands are a CPU bomb."""

_PIL_FORMAT = {ImageType.PNG: "PNG", ImageType.JPEG: "JPEG"}
_NAMES = {ImageType.PNG: "PNG", ImageType.JPEG: "JPEG"}
_TRANSPOSING = frozenset({5, 6, 7, 8})
"""EXIF orientations that swap width and height."""
_JPEG_MODES = frozenset({"L", "RGB", "CMYK"})
_TEXT_BOMB_MESSAGES = ("Decompressed data too large", "Too much memory used in text chunks")
_SAMPLING_444 = 0
_SAMPLING_420 = 2


@dataclass(frozen=True, slots=True)
class ValidatedImage:
    """An upload that decoded completely as the declared type; width and height as displayed."""

    image: Image.Image
    image_type: ImageType
    orientation: int
    width: int
    height: int


def sniff(data: bytes) -> str | None:
    """The format the leading bytes announce (PNG, JPEG, GIF, ...), or None."""
    head = data[:64]
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[4:8] == b"ftyp" and head[8:12] in _ISO_BRANDS:
        return _ISO_BRANDS[head[8:12]]
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP:
        return "BMP"
    text = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text and text.startswith((b"<svg", b"<?xml", b"<!doctype svg", b"<!--")):
        return "SVG"
    return None


_SIGNATURES = (
    (png.SIGNATURE, "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
)
_ISO_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"avif": "AVIF"}
_BMP = frozenset({12, 40, 52, 56, 64, 108, 124})


def validate(data: bytes, declared: ImageType, max_pixels: int) -> ValidatedImage:
    """Decode `data` completely as the declared type within the pixel limit, or reject it."""
    _check_signature(data, declared)
    limit = pixel_limit(max_pixels)
    if declared is ImageType.PNG:
        header = png.read_header(data)
        _check_pixels(header.width, header.height, limit)
        png.verify_chunks(data, header)
    else:
        _check_jpeg_scans(data)
    image = _decode(data, declared, limit)
    orientation = _orientation(image)
    width, height = image.size
    if orientation in _TRANSPOSING:
        width, height = height, width
    return ValidatedImage(image, declared, orientation, width, height)


def pixel_limit(max_pixels: int) -> int:
    """Our limit, or Pillow's bomb threshold if lower: past it Pillow warns, and warnings are errors."""
    pillow = Image.MAX_IMAGE_PIXELS
    return max_pixels if pillow is None else min(max_pixels, pillow)


def _check_signature(data: bytes, declared: ImageType) -> None:
    if not data:
        raise UploadRejected(RejectionReason.EMPTY_FILE, "The file is empty.")
    found = sniff(data)
    if found == _NAMES[declared]:
        return
    expected = _NAMES[declared]
    if found in ("PNG", "JPEG"):
        raise UploadRejected(
            RejectionReason.FORMAT_MISMATCH,
            f"The file is in {found} format, but it was uploaded as {expected}.",
        )
    if found is not None:
        raise UploadRejected(
            RejectionReason.UNSUPPORTED_FORMAT,
            f"The file is in {found} format; only PNG and JPEG images are accepted.",
        )
    raise UploadRejected(RejectionReason.NOT_AN_IMAGE, f"The file is not a {expected} image.")


def _check_pixels(width: int, height: int, limit: int) -> None:
    if width * height > limit:
        raise UploadRejected(
            RejectionReason.TOO_MANY_PIXELS,
            f"The image is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels);"
            f" at most {limit / 1e6:g} megapixels are accepted.",
        )


def _check_jpeg_scans(data: bytes) -> None:
    # Entropy-coded data escapes every 0xFF, so each FFDA is a real scan header (or lies in
    # metadata, which only makes the count cautious).
    scans = data.count(b"\xff\xda")
    if scans > MAX_JPEG_SCANS:
        raise UploadRejected(
            RejectionReason.DECOMPRESSION_BOMB,
            f"The JPEG has {scans} scans; at most {MAX_JPEG_SCANS} are accepted.",
        )


def _decode(data: bytes, declared: ImageType, limit: int) -> Image.Image:
    name = _NAMES[declared]
    try:
        # Pillow's decompression-bomb warning becomes an error, for this block only.
        with warnings.catch_warnings(action="error", category=Image.DecompressionBombWarning):
            image = Image.open(io.BytesIO(data), formats=[_PIL_FORMAT[declared]])
            _check_pixels(*image.size, limit)
            if declared is ImageType.PNG and getattr(image, "is_animated", False):
                raise UploadRejected(
                    RejectionReason.ANIMATED,
                    "Animated PNGs are not accepted; upload a still image.",
                )
            image.load()
    except (UploadRejected, MemoryError):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UploadRejected(
            RejectionReason.TOO_MANY_PIXELS,
            f"The image has more pixels than the {limit / 1e6:g} megapixels accepted.",
            detail=str(error),
        ) from None
    except UnidentifiedImageError as error:
        raise UploadRejected(
            RejectionReason.CORRUPT, f"The {name} file cannot be read.", detail=str(error)
        ) from None
    except ValueError as error:
        if any(text in str(error) for text in _TEXT_BOMB_MESSAGES):
            raise UploadRejected(
                RejectionReason.DECOMPRESSION_BOMB,
                "The PNG file has compressed metadata that expands beyond the accepted size.",
                detail=str(error),
            ) from None
        raise _undecodable(name, error) from None
    except EOFError as error:
        raise _truncated(name, error) from None
    except OSError as error:
        if "truncated" in str(error):
            raise _truncated(name, error) from None
        raise _undecodable(name, error) from None
    except Exception as error:  # noqa: BLE001 - untrusted input: any decoder failure is a verdict
        raise _undecodable(name, error) from None
    if declared is ImageType.JPEG and image.mode not in _JPEG_MODES:
        raise UploadRejected(
            RejectionReason.UNSUPPORTED_IMAGE,
            f"JPEG images in {image.mode} colour are not accepted.",
        )
    return image


def _truncated(name: str, error: BaseException) -> UploadRejected:
    return UploadRejected(
        RejectionReason.TRUNCATED,
        f"The {name} file ends before its image is complete; the upload may have been cut short.",
        detail=f"{type(error).__name__}: {error}",
    )


def _undecodable(name: str, error: BaseException) -> UploadRejected:
    return UploadRejected(
        RejectionReason.CORRUPT,
        f"The {name} image data is damaged and cannot be decoded.",
        detail=f"{type(error).__name__}: {error}",
    )


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # noqa: BLE001 - unreadable EXIF is dropped anyway; browsers ignore it too
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def render_sanitized(validated: ValidatedImage) -> bytes:
    """Re-encode the decoded pixels, upright, with the ICC profile and nothing else.

    PNG stays lossless in its decoded mode. JPEG reuses the original quantisation tables and
    chroma subsampling (what `quality="keep"` does), transposed with the image when EXIF
    orientation swaps its axes, so re-encoding loses as little as possible.
    """
    source = validated.image
    try:
        return _render(source, validated)
    except MemoryError:
        raise
    except Exception as error:  # noqa: BLE001 - a decoded image Pillow cannot write back is a verdict
        raise UploadRejected(
            RejectionReason.UNSUPPORTED_IMAGE,
            f"This kind of {_NAMES[validated.image_type]} image cannot be processed.",
            detail=f"{type(error).__name__}: {error}",
        ) from None


def _render(source: Image.Image, validated: ValidatedImage) -> bytes:
    icc_profile = source.info.get("icc_profile")
    params: dict[str, Any] = {"icc_profile": icc_profile} if icc_profile else {}
    if validated.image_type is ImageType.JPEG:
        params.update(_jpeg_params(source, validated.orientation))
    elif (transparency := source.info.get("transparency")) is not None:
        params["transparency"] = transparency
    upright = ImageOps.exif_transpose(source) if validated.orientation != 1 else source
    # Pillow's encoders fall back to `info` for comments, EXIF and more: start from nothing.
    upright.info = {}
    out = io.BytesIO()
    if validated.image_type is ImageType.PNG:
        upright.save(out, "PNG", **params)
    else:
        upright.save(out, "JPEG", **params)
    return out.getvalue()


def _jpeg_params(source: Image.Image, orientation: int) -> dict[str, Any]:
    params: dict[str, Any] = {
        "progressive": bool(source.info.get("progressive") or source.info.get("progression"))
    }
    quantization: dict[int, list[int]] | None = getattr(source, "quantization", None)
    if not quantization:
        params["quality"] = 95
        return params
    tables = [list(quantization[key]) for key in sorted(quantization)]
    sampling = JpegImagePlugin.get_sampling(source)
    if orientation in _TRANSPOSING:
        # Rows of coefficients become columns: the tables turn with the image. 4:2:2 would turn
        # into 4:4:0, which Pillow cannot write; full chroma resolution loses nothing instead.
        tables = [[table[(i % 8) * 8 + i // 8] for i in range(64)] for table in tables]
        if sampling not in (_SAMPLING_444, _SAMPLING_420, -1):
            sampling = _SAMPLING_444
    params["qtables"] = tables
    params["subsampling"] = sampling
    return params
