"""Test images, built in the tests: valid PNG and JPEG of every kind, and the hostile and broken."""

from __future__ import annotations

import functools
import io
import re
import struct
import zlib
from dataclasses import dataclass, field

from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from assets.model import ImageType, RejectionReason
from worker import colour

SECRETS = (b"SpyCam 3000", b"secret comment", b"xmp-secret", b"secret text", b"secret ztxt")
"""Metadata planted in the corpus; none of it may reach a published file."""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SRGB_PROFILE = colour.srgb_profile()
"""The sRGB profile the worker publishes; an upload carrying it keeps it (and its exact pixels)."""
FOREIGN_SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
"""sRGB too, but not our bytes (lcms stamps the time): replaced by ours, pixels kept."""
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="xmp-secret"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def ihdr(
    width: int, height: int, bit_depth: int = 8, color_type: int = 2, interlace: int = 0
) -> bytes:
    return chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace)
    )


def pattern(width: int = 48, height: int = 32, mode: str = "RGB") -> Image.Image:
    """An image with no symmetry, so a wrong rotation or flip shows in the pixels."""
    red = Image.linear_gradient("L").resize((width, height))
    green = Image.linear_gradient("L").rotate(90).resize((width, height))
    blue = Image.radial_gradient("L").resize((width, height))
    image = Image.merge("RGB", (red, green, blue))
    image.paste((255, 255, 0), (2, 2, width // 3, height // 4))
    return image.convert(mode) if mode != "RGB" else image


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def gps_exif(orientation: int = 1) -> bytes:
    """EXIF with a camera make, GPS coordinates and, optionally, an orientation."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam 3000"
    if orientation != 1:
        exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (52.0, 22.0, 1.5),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (4.0, 53.0, 2.25),
        }
    )
    return exif.tobytes()


def png_with_text(image: Image.Image, orientation: int = 1) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret text")
    info.add_text("Author", "secret ztxt", zip=True)
    info.add_itxt("Description", "secret text, international", lang="en", zip=True)
    return encode(image, "PNG", pnginfo=info, exif=gps_exif(orientation), icc_profile=SRGB_PROFILE)


def png_rgb16() -> bytes:
    """A 16-bit-per-channel RGB PNG, which Pillow decodes to 8 bits per channel."""
    width, height = 16, 8
    rows = b"".join(
        b"\0"
        + b"".join(struct.pack(">HHH", x * 4000, y * 8000, 65535 - x * 4000) for x in range(width))
        for y in range(height)
    )
    return (
        PNG_SIGNATURE
        + ihdr(width, height, 16)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def png_interlaced(image: Image.Image) -> bytes:
    """An Adam7-interlaced RGB PNG (Pillow reads them but does not write them)."""
    width, height = image.size
    pixels = image.convert("RGB").tobytes()
    raw = bytearray()
    for x0, y0, dx, dy in _ADAM7:
        for y in range(y0, height, dy):
            columns = range(x0, width, dx)
            if not columns:
                continue
            raw += b"\0"
            for x in columns:
                offset = (y * width + x) * 3
                raw += pixels[offset : offset + 3]
    return (
        PNG_SIGNATURE
        + ihdr(width, height, interlace=1)
        + chunk(b"IDAT", zlib.compress(bytes(raw)))
        + chunk(b"IEND", b"")
    )


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height`: a pixel bomb if anything decodes it."""
    return (
        PNG_SIGNATURE
        + ihdr(width, height)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def png_text_bomb(kind: bytes) -> bytes:
    """A small PNG carrying a zTXt or iCCP chunk that inflates to 50 MB."""
    bomb = zlib.compress(b"\0" * 50_000_000, 9)
    payload = b"k\0\0" + bomb
    valid = encode(pattern(8, 8), "PNG")
    return valid[:33] + chunk(kind, payload) + valid[33:]


def png_short_stream() -> bytes:
    """A complete compressed stream holding only half the rows the header promises."""
    width, height = 8, 8
    rows = b"".join(b"\0" + b"\x80" * width * 3 for _ in range(height // 2))
    return (
        PNG_SIGNATURE
        + ihdr(width, height)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def png_hidden_after_stream() -> bytes:
    """Valid image data with bytes smuggled after the end of the compressed stream."""
    width, height = 8, 8
    rows = b"".join(b"\0" + b"\x80" * width * 3 for _ in range(height))
    idat = zlib.compress(rows) + b"<script>alert(1)</script>"
    return PNG_SIGNATURE + ihdr(width, height) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def png_bad_idat_crc() -> bytes:
    data = bytearray(encode(pattern(), "PNG"))
    at = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[at - 4 : at])
    data[at + 4 + length] ^= 0xFF
    return bytes(data)


def apng() -> bytes:
    return encode(pattern(), "PNG", save_all=True, append_images=[pattern().rotate(180)])


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header is patched to claim `width` x `height`."""
    data = bytearray(encode(pattern(16, 16), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def jpeg_scan_bomb() -> bytes:
    """A JPEG with far more scan headers than any encoder writes."""
    data = encode(pattern(16, 16), "JPEG")
    comment = b"\xff\xda" * 200
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return data[:2] + segment + data[2:]


def truncated(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


def zip_archive() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.txt", "polyglot payload")
    return out.getvalue()


@dataclass(frozen=True)
class Valid:
    name: str
    data: bytes
    image_type: ImageType
    orientation: int = 1
    has_icc: bool = False
    exact: bool = True
    extra_checks: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Invalid:
    name: str
    data: bytes
    image_type: ImageType
    reason: RejectionReason


@functools.cache
def valid_corpus() -> tuple[Valid, ...]:
    """Uploads that must end `ready`."""
    noisy = Image.effect_noise((64, 48), 40).convert("RGB")
    rgba = pattern()
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    palette = pattern().quantize(16)
    palette.info["transparency"] = 3
    cmyk = pattern(192, 128).convert("CMYK")
    photo = pattern(192, 128)  # JPEG: big enough that edges do not dominate the error
    return (
        Valid("png-rgb", encode(pattern(), "PNG"), ImageType.PNG),
        Valid("png-rgba", encode(rgba, "PNG"), ImageType.PNG),
        Valid("png-palette-transparent", encode(palette, "PNG"), ImageType.PNG),
        Valid("png-grey-16bit", encode(pattern(mode="L").convert("I;16"), "PNG"), ImageType.PNG),
        Valid("png-rgb-16bit", png_rgb16(), ImageType.PNG),
        Valid("png-interlaced", png_interlaced(pattern()), ImageType.PNG),
        Valid("png-metadata-icc", png_with_text(pattern()), ImageType.PNG, has_icc=True),
        Valid(
            "png-orientation-6",
            png_with_text(pattern(), orientation=6),
            ImageType.PNG,
            6,
            has_icc=True,
        ),
        Valid("jpeg-baseline", encode(photo, "JPEG", quality=90), ImageType.JPEG, exact=False),
        Valid(
            "jpeg-progressive",
            encode(noisy, "JPEG", quality=85, progressive=True),
            ImageType.JPEG,
            exact=False,
        ),
        Valid("jpeg-cmyk", encode(cmyk, "JPEG", quality=95), ImageType.JPEG, exact=False),
        Valid("jpeg-grey", encode(photo.convert("L"), "JPEG"), ImageType.JPEG, exact=False),
        Valid(
            "jpeg-orientation-6-gps",
            encode(
                photo,
                "JPEG",
                quality=90,
                exif=gps_exif(6),
                comment=b"secret comment",
                xmp=XMP,
                icc_profile=SRGB_PROFILE,
            ),
            ImageType.JPEG,
            6,
            has_icc=True,
            exact=False,
        ),
    )


@functools.cache
def invalid_corpus() -> tuple[Invalid, ...]:
    """Uploads that must end `rejected`, with the reason each must give."""
    png = encode(pattern(), "PNG")
    jpeg = encode(Image.effect_noise((64, 48), 40).convert("RGB"), "JPEG")
    return (
        Invalid("empty-file", b"", ImageType.PNG, RejectionReason.EMPTY_FILE),
        Invalid("text-file", b"just some text\n" * 20, ImageType.PNG, RejectionReason.NOT_AN_IMAGE),
        Invalid("jpeg-declared-png", jpeg, ImageType.PNG, RejectionReason.FORMAT_MISMATCH),
        Invalid("png-declared-jpeg", png, ImageType.JPEG, RejectionReason.FORMAT_MISMATCH),
        Invalid("truncated-png", truncated(png), ImageType.PNG, RejectionReason.TRUNCATED),
        Invalid("truncated-jpeg", truncated(jpeg), ImageType.JPEG, RejectionReason.TRUNCATED),
        Invalid("png-bad-crc", png_bad_idat_crc(), ImageType.PNG, RejectionReason.CORRUPT),
        Invalid(
            "png-30000x30000",
            png_claiming(30000, 30000),
            ImageType.PNG,
            RejectionReason.TOO_MANY_PIXELS,
        ),
        Invalid(
            "jpeg-10000x10000",
            jpeg_claiming(10000, 10000),
            ImageType.JPEG,
            RejectionReason.TOO_MANY_PIXELS,
        ),
        Invalid(
            "png-ztxt-bomb",
            png_text_bomb(b"zTXt"),
            ImageType.PNG,
            RejectionReason.DECOMPRESSION_BOMB,
        ),
        Invalid(
            "png-iccp-bomb",
            png_text_bomb(b"iCCP"),
            ImageType.PNG,
            RejectionReason.DECOMPRESSION_BOMB,
        ),
        Invalid(
            "jpeg-scan-bomb", jpeg_scan_bomb(), ImageType.JPEG, RejectionReason.DECOMPRESSION_BOMB
        ),
        Invalid("png-short-stream", png_short_stream(), ImageType.PNG, RejectionReason.TRUNCATED),
        Invalid(
            "png-data-after-stream",
            png_hidden_after_stream(),
            ImageType.PNG,
            RejectionReason.CORRUPT,
        ),
        Invalid("apng", apng(), ImageType.PNG, RejectionReason.ANIMATED),
        Invalid("gif", encode(pattern(), "GIF"), ImageType.PNG, RejectionReason.UNSUPPORTED_FORMAT),
        Invalid(
            "svg",
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            ImageType.PNG,
            RejectionReason.UNSUPPORTED_FORMAT,
        ),
        Invalid(
            "html",
            b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>",
            ImageType.JPEG,
            RejectionReason.NOT_AN_IMAGE,
        ),
    )


# --- colour profiles -------------------------------------------------------------------------

D50 = (0.9642, 1.0, 0.8249)
ADOBE_RGB_COLORANTS = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446))
"""Adobe RGB (1998) primaries adapted to D50: a gamut wider than sRGB's, as cameras embed it."""
SRGB_COLORANTS = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))
HTML_PAYLOAD = b"<html><body><script>alert('icc')</script></body></html>"


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(xyz: tuple[float, float, float]) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in xyz)


def _gamma(value: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(value * 256)) + b"\0\0"


def icc_profile(
    space: str = "RGB",
    *,
    colorants: tuple[tuple[float, float, float], ...] = ADOBE_RGB_COLORANTS,
    gamma: float = 2.2,
    private: bytes = b"",
    appended: bytes = b"",
) -> bytes:
    """A matrix/TRC ICC v2 profile built by hand, optionally carrying a payload in a private tag
    or after its tag data (both inside the size the header declares, as an attacker would)."""
    tags: list[tuple[bytes, bytes]] = [(b"wtpt", _xyz(D50))]
    if space == "RGB":
        tags += [(b"rXYZ", _xyz(colorants[0])), (b"gXYZ", _xyz(colorants[1]))]
        tags += [(b"bXYZ", _xyz(colorants[2]))]
        tags += [(kind, _gamma(gamma)) for kind in (b"rTRC", b"gTRC", b"bTRC")]
    else:
        tags.append((b"kTRC", _gamma(gamma)))
    if private:
        tags.append((b"zzzz", private))
    colour_space = b"RGB " if space == "RGB" else b"GRAY"
    return _assemble(b"mntr", colour_space, b"XYZ ", tags, appended)


def _assemble(
    device_class: bytes,
    colour_space: bytes,
    connection_space: bytes,
    tags: list[tuple[bytes, bytes]],
    appended: bytes = b"",
) -> bytes:
    """An ICC v2 profile: header, tag table and tag data (each 4-byte aligned), then `appended`."""
    table = struct.pack(">I", len(tags))
    offset = 128 + 4 + 12 * len(tags)
    data = b""
    for signature, body in tags:
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body + b"\0" * (-len(body) % 4)
    header = (
        struct.pack(">I", 128 + len(table) + len(data) + len(appended))
        + b"\0\0\0\0"
        + bytes.fromhex("02100000")
        + device_class
        + colour_space
        + connection_space
        + bytes(12)
        + b"acsp"
        + bytes(28)  # platform, flags, manufacturer, model, attributes, rendering intent
        + b"".join(_s15(v) for v in D50)
        + bytes(48)  # creator, profile id, reserved
    )
    assert len(header) == 128
    return header + table + data + appended


# --- CPU bombs (issue 15.7) ------------------------------------------------------------------


def png_chunk_bomb(count: int = 873_000) -> bytes:
    """A valid PNG with `count` empty ancillary chunks before its image data (10 MiB at 873,000)."""
    valid = encode(pattern(8, 8), "PNG")
    return valid[:33] + chunk(b"zeRo", b"") * count + valid[33:]


def jpeg_segment_bomb(count: int = 2_500_000) -> bytes:
    """A valid JPEG with `count` empty comment segments after its signature (10 MB at 2.5 M)."""
    valid = encode(pattern(16, 16), "JPEG")
    return valid[:2] + b"\xff\xfe\x00\x02" * count + valid[2:]


def jpeg_padding_bomb(size: int = 10_000_000) -> bytes:
    """A valid JPEG whose first segment is preceded by `size` fill bytes, which Pillow reads one by one."""
    valid = encode(pattern(16, 16), "JPEG")
    return valid[:2] + b"\xff" * size + valid[2:]


_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")


def progressive_scan_bomb(width: int, height: int, scans: int) -> bytes:
    """A flat progressive JPEG whose last scan is repeated until it has `scans`: each repeat costs
    a pass over the image's blocks and a few hundred bytes (libjpeg only warns about it)."""
    data = encode(Image.new("RGB", (width, height), (128, 128, 128)), "JPEG", progressive=True)
    eoi = data.rindex(b"\xff\xd9")
    last = data.rindex(b"\xff\xda")
    repeated = data[last:eoi]
    have = data.count(b"\xff\xda")
    return data[:eoi] + repeated * max(0, scans - have) + data[eoi:]


def png_rgb16_flat(width: int, height: int) -> bytes:
    """A flat 16-bit RGB PNG: 40 MP compresses to about 300 KB and decodes to 240 MB."""
    row = b"\0" + b"\x80\x00" * 3 * width
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return PNG_SIGNATURE + ihdr(width, height, 16) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def cmyk_profile() -> bytes:
    """A tiny CMYK-to-Lab ICC v2 profile (a 2-point lut8): ink darkens, cyan turns blue-green."""
    grid = 2
    clut = bytearray()
    for c in range(grid):
        for m in range(grid):
            for y in range(grid):
                for k in range(grid):
                    lightness = 255 - 60 * (c + m + y) - 150 * k
                    clut += bytes((max(0, lightness), 128 - 40 * c + 40 * m, 128 - 40 * y))
    identity = bytes(range(256))
    matrix = b"".join(_s15(1.0 if i in (0, 4, 8) else 0.0) for i in range(9))
    lut = (
        b"mft1\0\0\0\0"
        + bytes((4, 3, grid, 0))
        + matrix
        + identity * 4
        + bytes(clut)
        + identity * 3
    )
    return _assemble(b"prtr", b"CMYK", b"Lab ", [(b"wtpt", _xyz(D50)), (b"A2B0", lut)])
