"""Deciding whether untrusted bytes are the image they claim to be, and re-encoding them clean.

`prepare` is the worker's one entry point: it decodes the upload once and derives from those
pixels everything published (the sanitized image, the `thumb` and `display` variants and the
placeholder), within an optional time budget. `validate` and `render_sanitized` are its first
steps, kept callable on their own.
Everything here parses attacker-controlled input, so every failure becomes an `UploadRejected`
with a stable reason, except running out of memory, which is ours and not the uploader's.
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from PIL import ExifTags, Image, ImageFile, JpegImagePlugin, UnidentifiedImageError

from assets.errors import UploadRejected
from assets.model import ImageType, RejectionReason
from worker import colour, jpeg, png, pngwrite, variants
from worker.variants import Variant

if TYPE_CHECKING:
    from assets.settings import WorkerSettings

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
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""What turns an image with each EXIF orientation upright (as `ImageOps.exif_transpose` does)."""
_READS_PER_CHECK = 64
"""Pillow reads JPEG headers a byte at a time: look at the clock on every 64th read only."""

_T = TypeVar("_T")

Deadline = Callable[[], float]
"""Seconds left in the processing budget; at zero or below, the upload is rejected."""


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """What the worker accepts and the variant sizes it publishes (from `WorkerSettings`)."""

    max_pixels: int
    thumb_max_side: int = 320
    display_max_side: int = 1600

    @classmethod
    def from_settings(cls, settings: WorkerSettings) -> ImageLimits:
        return cls(
            max_pixels=settings.MAX_IMAGE_PIXELS,
            thumb_max_side=settings.THUMB_MAX_SIDE,
            display_max_side=settings.DISPLAY_MAX_SIDE,
        )


@dataclass(frozen=True, slots=True)
class PreparedImage:
    """Everything the worker publishes for an accepted upload, from one decode.

    `width` and `height` are as displayed (upright). `sanitized` is the re-encoded image for
    PUBLISH_MODE=sanitized, None when the original is published as uploaded. `timings` holds
    seconds per step: validate, icc, sanitize, display, thumb, placeholder, total.
    """

    image_type: ImageType
    width: int
    height: int
    sanitized: bytes | None
    thumb: Variant
    display: Variant
    placeholder: str
    profile: colour.ProfileAction
    timings: Mapping[str, float]


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
    return _validate(data, declared, max_pixels, _Budget(None))


def prepare(
    data: bytes,
    declared: ImageType,
    limits: ImageLimits,
    *,
    sanitize: bool = True,
    deadline: Deadline | None = None,
) -> PreparedImage:
    """Validate an upload and derive everything published from one decode of it, or reject it.

    With `sanitize` false (PUBLISH_MODE=original) no image is re-encoded: the caller publishes
    the validated bytes unchanged, and the variants come from the same decoded pixels. Between
    steps, and while decoding and writing PNG, `deadline()` is consulted; over budget the upload
    is rejected as `too_complex`. Raises `UploadRejected`; `MemoryError` passes through.
    """
    budget = _Budget(deadline)
    timings: dict[str, float] = {}
    started = lap = time.perf_counter()

    def step(name: str) -> None:
        nonlocal lap
        now = time.perf_counter()
        timings[name] = now - lap
        lap = now
        budget.check(name)

    budget.check("start")
    validated = _validate(data, declared, limits.max_pixels, budget)
    images = [validated.image]
    try:
        step("validate")
        srgb = _guarded(validated, lambda: colour.to_srgb(validated.image, in_place=True))
        images.append(srgb.image)
        step("icc")
        upright = _upright(srgb.image, validated.orientation)
        images.append(upright)
        sanitized = None
        if sanitize:
            sanitized = _guarded(
                validated, lambda: _encode(validated, upright, srgb.profile, budget.check)
            )
        step("sanitize")
        display_image = _guarded(
            validated,
            lambda: variants.webp_ready(
                variants.resized(_webp_source(upright), limits.display_max_side)
            ),
        )
        images.append(display_image)
        display = _guarded(validated, lambda: variants.encode_webp(display_image))
        step("display")
        thumb_image = _guarded(
            validated, lambda: variants.resized(display_image, limits.thumb_max_side)
        )
        images.append(thumb_image)
        thumb = _guarded(validated, lambda: variants.encode_webp(thumb_image))
        step("thumb")
        placeholder = _guarded(validated, lambda: variants.placeholder(thumb_image))
        step("placeholder")
    finally:
        for image in {id(image): image for image in images}.values():
            image.close()
    timings["total"] = time.perf_counter() - started
    return PreparedImage(
        image_type=declared,
        width=validated.width,
        height=validated.height,
        sanitized=sanitized,
        thumb=thumb,
        display=display,
        placeholder=placeholder,
        profile=srgb.action,
        timings=MappingProxyType(timings),
    )


def _validate(data: bytes, declared: ImageType, max_pixels: int, budget: _Budget) -> ValidatedImage:
    _check_signature(data, declared)
    limit = pixel_limit(max_pixels)
    if declared is ImageType.PNG:
        header = png.read_header(data)
        _check_pixels(header.width, header.height, limit)
        png.verify_chunks(data, header)
    else:
        _check_jpeg_scans(data)
        jpeg.check_structure(data)
    budget.check("structure")
    image = _decode(data, declared, limit, budget)
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


def _decode(data: bytes, declared: ImageType, limit: int, budget: _Budget) -> Image.Image:
    name = _NAMES[declared]
    try:
        # Pillow's decompression-bomb warning becomes an error, for this block only.
        with warnings.catch_warnings(action="error", category=Image.DecompressionBombWarning):
            image = Image.open(_BudgetedReader(data, budget), formats=[_PIL_FORMAT[declared]])
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
    """Re-encode the decoded pixels, upright and in sRGB, with our sRGB profile and nothing else.

    PNG stays lossless in its decoded mode (unless its profile converted it to sRGB). JPEG reuses
    the original quantisation tables and chroma subsampling (what `quality="keep"` does),
    transposed with the image when EXIF orientation swaps its axes, so re-encoding loses as
    little as possible. The uploader's ICC profile is never copied (see `worker.colour`).
    """

    def render() -> bytes:
        srgb = colour.to_srgb(validated.image)
        upright = _upright(srgb.image, validated.orientation)
        return _encode(validated, upright, srgb.profile, None)

    return _guarded(validated, render)


def _guarded(validated: ValidatedImage, work: Callable[[], _T]) -> _T:
    try:
        return work()
    except (UploadRejected, MemoryError):
        raise
    except Exception as error:  # noqa: BLE001 - a decoded image Pillow cannot write back is a verdict
        raise UploadRejected(
            RejectionReason.UNSUPPORTED_IMAGE,
            f"This kind of {_NAMES[validated.image_type]} image cannot be processed.",
            detail=f"{type(error).__name__}: {error}",
        ) from None


def _upright(image: Image.Image, orientation: int) -> Image.Image:
    method = _UPRIGHT.get(orientation)
    return image if method is None else image.transpose(method)


def _encode(
    validated: ValidatedImage,
    upright: Image.Image,
    profile: bytes | None,
    check: Callable[[], None] | None,
) -> bytes:
    if validated.image_type is ImageType.PNG:
        return pngwrite.encode(upright, icc_profile=profile, check=check)
    params = _jpeg_params(validated.image, validated.orientation)
    if profile:
        params["icc_profile"] = profile
    out = io.BytesIO()
    with _bare(upright):
        upright.save(out, "JPEG", **params)
    return out.getvalue()


@contextlib.contextmanager
def _bare(image: Image.Image) -> Iterator[None]:
    """No `info` while saving: Pillow's encoders fall back to it for comments, EXIF and more."""
    kept, image.info = image.info, {}
    try:
        yield
    finally:
        image.info = kept


def _webp_source(upright: Image.Image) -> Image.Image:
    # Common modes resize as they are and convert once small; others convert first.
    if upright.mode in ("L", "LA", "RGB", "RGBA") and "transparency" not in upright.info:
        return upright
    return variants.webp_ready(upright)


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


class _Budget:
    """The processing budget: `check` rejects the upload once the deadline says time is up."""

    def __init__(self, deadline: Deadline | None) -> None:
        self._deadline = deadline

    def check(self, step: str = "") -> None:
        if self._deadline is None:
            return
        remaining = self._deadline()
        if remaining <= 0:
            raise UploadRejected(
                RejectionReason.TOO_COMPLEX,
                "The image takes too long to process; it is too complex to accept.",
                detail=f"over the processing budget at {step or 'a step'} ({remaining:.3f} s left)",
            )


class _BudgetedReader(io.BytesIO):
    """The upload as Pillow reads it while decoding, checking the budget as the reads go by."""

    def __init__(self, data: bytes, budget: _Budget) -> None:
        super().__init__(data)
        self._budget = budget
        self._reads = 0

    def read(self, size: int | None = -1, /) -> bytes:
        self._reads += 1
        if self._reads % _READS_PER_CHECK == 0 or size is None or size < 0 or size >= 4096:
            self._budget.check("decode")
        return super().read(size)
