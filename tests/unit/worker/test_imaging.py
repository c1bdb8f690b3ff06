"""Validation and sanitising of untrusted bytes, called directly (no AWS)."""

from __future__ import annotations

import io
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageFile, ImageOps, ImageStat, JpegImagePlugin

from assets.errors import UploadRejected
from assets.model import ImageType, RejectionReason
from tests.unit.worker import corpus
from tests.unit.worker.harness import decode
from worker import imaging, png

MAX_PIXELS = 40_000_000
VALID = corpus.valid_corpus()
INVALID = corpus.invalid_corpus()
LEAKY_MARKERS = (
    b"Exif\x00\x00",
    b"eXIf",
    b"tEXt",
    b"zTXt",
    b"iTXt",
    b"http://ns.adobe.com/xap/1.0/",
)
ALLOWED_INFO = {
    "icc_profile",
    "transparency",
    "jfif",
    "jfif_version",
    "jfif_unit",
    "jfif_density",
    "adobe",
    "adobe_transform",
    "progressive",
    "progression",
}


def decode_jpeg(data: bytes) -> JpegImagePlugin.JpegImageFile:
    image = decode(data)
    assert isinstance(image, JpegImagePlugin.JpegImageFile)
    return image


def canonical(image: Image.Image) -> Image.Image:
    return image.convert("RGBA") if image.mode == "P" else image


def assert_same_pixels(expected: Image.Image, actual: Image.Image, *, exact: bool) -> None:
    assert actual.size == expected.size
    if exact:
        assert actual.mode == expected.mode
        assert canonical(actual).tobytes() == canonical(expected).tobytes()
        return
    # Lossy: re-encoding with the original tables and subsampling costs little (PSNR >= 30 dB;
    # the chroma of sharp colour edges is what a second 4:2:0 pass blurs).
    difference = ImageChops.difference(expected.convert("RGB"), actual.convert("RGB"))
    rms = max(ImageStat.Stat(difference).rms)
    assert 20 * math.log10(255 / max(rms, 1e-9)) >= 30


def assert_no_metadata(published: bytes, image: Image.Image) -> None:
    for secret in (*corpus.SECRETS, *LEAKY_MARKERS):
        assert secret not in published, secret
    assert len(image.getexif()) == 0
    assert set(image.info) <= ALLOWED_INFO, set(image.info) - ALLOWED_INFO


@pytest.mark.parametrize("case", VALID, ids=[case.name for case in VALID])
def test_valid_images_are_re_encoded_upright_with_their_pixels_and_no_metadata(
    case: corpus.Valid,
) -> None:
    # GIVEN a valid upload of any kind the corpus holds
    # WHEN it is validated and re-encoded
    validated = imaging.validate(case.data, case.image_type, MAX_PIXELS)
    published = imaging.render_sanitized(validated)

    # THEN the output is the declared format, upright, with the same pixels and only its ICC
    output = decode(published)
    expected = ImageOps.exif_transpose(decode(case.data))
    assert output.format == {ImageType.PNG: "PNG", ImageType.JPEG: "JPEG"}[case.image_type]
    assert (validated.width, validated.height) == output.size == expected.size
    if case.orientation == 6:
        assert output.size == tuple(reversed(decode(case.data).size))
    assert_same_pixels(expected, output, exact=case.exact)
    assert_no_metadata(published, output)
    assert output.info.get("icc_profile") == (corpus.SRGB_PROFILE if case.has_icc else None)


def test_sixteen_bit_grey_stays_sixteen_bit() -> None:
    # GIVEN a 16-bit greyscale PNG with values no 8-bit image can hold
    source = Image.new("I;16", (4, 2))
    source.putdata([0, 1, 257, 4095, 30000, 65534, 65535, 12345])
    data = corpus.encode(source, "PNG")

    # WHEN it is sanitised
    output = decode(imaging.render_sanitized(imaging.validate(data, ImageType.PNG, MAX_PIXELS)))

    # THEN every 16-bit value survives
    assert output.mode == "I;16"
    values = [output.getpixel((x, y)) for y in range(2) for x in range(4)]
    assert values == [0, 1, 257, 4095, 30000, 65534, 65535, 12345]


def test_jpeg_keeps_its_quantisation_tables_and_subsampling() -> None:
    # GIVEN a JPEG written with unusual tables and 4:4:4 chroma
    table = [min(255, 2 + i) for i in range(64)]
    data = corpus.encode(corpus.pattern(), "JPEG", qtables=[table, table[::-1]], subsampling=0)

    # WHEN it is sanitised
    output = decode_jpeg(
        imaging.render_sanitized(imaging.validate(data, ImageType.JPEG, MAX_PIXELS))
    )

    # THEN it is quantised exactly as the original was
    assert output.quantization == decode_jpeg(data).quantization
    assert JpegImagePlugin.get_sampling(output) == 0


def test_rotated_jpeg_turns_its_quantisation_tables_with_the_image() -> None:
    # GIVEN a JPEG with asymmetric tables and EXIF orientation 6 (rotate 90 degrees clockwise)
    table = [1 + (i % 8) * 8 + i // 8 for i in range(64)]  # column-major: transposes differ
    data = corpus.encode(corpus.pattern(), "JPEG", qtables=[table], exif=corpus.gps_exif(6))

    # WHEN it is sanitised
    output = decode_jpeg(
        imaging.render_sanitized(imaging.validate(data, ImageType.JPEG, MAX_PIXELS))
    )

    # THEN the tables are the originals, transposed: horizontal frequencies became vertical
    transposed = [table[(i % 8) * 8 + i // 8] for i in range(64)]
    assert list(output.quantization[0]) == transposed
    assert output.size == (32, 48)


def test_progressive_jpeg_stays_progressive() -> None:
    data = corpus.encode(corpus.pattern(), "JPEG", progressive=True)
    output = decode(imaging.render_sanitized(imaging.validate(data, ImageType.JPEG, MAX_PIXELS)))
    assert output.info.get("progressive") or output.info.get("progression")


@pytest.mark.parametrize("appended", [corpus.zip_archive(), b"<script>alert(1)</script>"])
@pytest.mark.parametrize("image_type", [ImageType.PNG, ImageType.JPEG])
def test_polyglot_tail_never_reaches_the_output(appended: bytes, image_type: ImageType) -> None:
    # GIVEN a valid image with a ZIP archive or a script appended
    image_bytes = corpus.encode(corpus.pattern(), "PNG" if image_type is ImageType.PNG else "JPEG")
    data = image_bytes + appended

    # WHEN it is validated and sanitised
    published = imaging.render_sanitized(imaging.validate(data, image_type, MAX_PIXELS))

    # THEN it is accepted, and nothing of the appendix is in the output
    assert appended[:4] not in published
    assert b"script" not in published
    end = b"IEND\xaeB`\x82" if image_type is ImageType.PNG else b"\xff\xd9"
    assert published.endswith(end)


@pytest.mark.parametrize("case", INVALID, ids=[case.name for case in INVALID])
def test_invalid_uploads_are_rejected_with_a_stable_reason(case: corpus.Invalid) -> None:
    with pytest.raises(UploadRejected) as rejected:
        imaging.validate(case.data, case.image_type, MAX_PIXELS)
    assert rejected.value.reason is case.reason
    assert rejected.value.message


@pytest.mark.parametrize(
    "data",
    [corpus.png_claiming(30000, 30000), corpus.png_claiming(8000, 8000)],
    ids=["30000x30000", "8000x8000"],
)
def test_pixel_bomb_png_is_rejected_from_its_header_without_decoding(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN decoding is impossible: any attempt fails the test
    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    monkeypatch.setattr(Image, "open", no_decoding)

    # WHEN a PNG whose header claims more pixels than allowed is validated
    with pytest.raises(UploadRejected) as rejected:
        imaging.validate(data, ImageType.PNG, MAX_PIXELS)

    # THEN it is rejected for its pixel count from the header alone
    assert rejected.value.reason is RejectionReason.TOO_MANY_PIXELS
    assert "megapixels" in rejected.value.message


def test_jpeg_pixel_limit_is_checked_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a JPEG claiming 8000x6000 (48 MP): under Pillow's own bomb threshold, over ours
    data = corpus.jpeg_claiming(8000, 6000)

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)

    with pytest.raises(UploadRejected) as rejected:
        imaging.validate(data, ImageType.JPEG, MAX_PIXELS)
    assert rejected.value.reason is RejectionReason.TOO_MANY_PIXELS
    assert "8000x6000" in rejected.value.message


def test_the_pixel_limit_is_configurable() -> None:
    data = corpus.encode(corpus.pattern(48, 32), "PNG")
    imaging.validate(data, ImageType.PNG, 48 * 32)
    with pytest.raises(UploadRejected) as rejected:
        imaging.validate(data, ImageType.PNG, 48 * 32 - 1)
    assert rejected.value.reason is RejectionReason.TOO_MANY_PIXELS


def test_decompression_bomb_warning_is_an_error_only_inside_validation() -> None:
    # GIVEN a JPEG over Pillow's bomb threshold, which Pillow only warns about
    data = corpus.jpeg_claiming(10000, 10000)

    # WHEN it is validated, THEN the warning is a rejection
    with pytest.raises(UploadRejected) as rejected:
        imaging.validate(data, ImageType.JPEG, 10**9)
    assert rejected.value.reason is RejectionReason.TOO_MANY_PIXELS

    # AND the process's warning filters are as they were: the same open still only warns
    with pytest.warns(Image.DecompressionBombWarning):
        Image.open(io.BytesIO(data))


def test_truncated_images_are_never_loaded_half_grey() -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize(
    ("width", "height", "depth", "color", "interlaced", "size"),
    [
        (3, 2, 8, 2, False, 2 * (1 + 9)),
        (10, 1, 1, 0, False, 1 + 2),
        (4, 4, 16, 6, False, 4 * (1 + 32)),
        # Adam7 on 3x3: passes 1, 4, 6 (one row each) and 5, 7 (rows 2 and 1).
        (3, 3, 8, 2, True, (1 + 3) + (1 + 3) + (1 + 3) * 1 + (1 + 6) + (1 + 9) * 1 + (1 + 3)),
    ],
)
def test_png_image_data_size_follows_the_spec(
    width: int, height: int, depth: int, color: int, interlaced: bool, size: int
) -> None:
    header = png.PngHeader(width, height, depth, color, interlaced)
    assert header.image_data_size == size


def test_interlaced_png_image_data_size_matches_what_zlib_holds() -> None:
    data = corpus.png_interlaced(corpus.pattern(13, 7))
    header = png.read_header(data)
    png.verify_chunks(data, header)  # raises unless the inflated size is exactly right


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (b"GIF89a" + b"\0" * 20, "GIF"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "WebP"),
        (b"\0\0\0\x18ftypheic" + b"\0" * 8, "HEIC"),
        (b"\0\0\0\x1cftypavif" + b"\0" * 8, "AVIF"),
        (b"II*\0" + b"\0" * 8, "TIFF"),
        (b"BM" + b"\0" * 12 + b"\x28\0\0\0" + b"\0" * 8, "BMP"),
        (b"\xef\xbb\xbf  <svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
        (b"BMW drivers manual, page 1", None),
        (b"<html><body>svg?</body></html>", None),
    ],
)
def test_sniff_names_what_the_bytes_are(data: bytes, found: str | None) -> None:
    assert imaging.sniff(data) == found


_SEEDS = [
    corpus.encode(corpus.pattern(24, 16), "PNG"),
    corpus.encode(corpus.pattern(24, 16), "JPEG"),
    corpus.png_interlaced(corpus.pattern(9, 7)),
    corpus.encode(corpus.pattern(24, 16), "JPEG", progressive=True),
]


@st.composite
def damaged_images(draw: st.DrawFn) -> tuple[bytes, ImageType]:
    seed = draw(st.sampled_from(_SEEDS))
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(1, len(data)))
    declared = draw(st.sampled_from([ImageType.PNG, ImageType.JPEG]))
    return bytes(data[:cut]), declared


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI never flakes on a new one
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(damaged_images() | st.tuples(st.binary(max_size=256), st.sampled_from(list(ImageType))))
def test_nothing_is_accepted_that_pillow_cannot_fully_decode(
    sample: tuple[bytes, ImageType],
) -> None:
    # GIVEN bytes that are random or a damaged image, declared as PNG or JPEG
    data, declared = sample

    # WHEN they are validated: a rejection, never another exception
    try:
        validated = imaging.validate(data, declared, MAX_PIXELS)
    except UploadRejected:
        return

    # THEN what was accepted decodes completely, as the declared format, and re-encodes
    independent = Image.open(io.BytesIO(data))
    independent.load()
    assert independent.format in ({"PNG"} if declared is ImageType.PNG else {"JPEG", "MPO"})
    decode(imaging.render_sanitized(validated))
