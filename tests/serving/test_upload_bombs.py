"""Cheap uploads must not cost seconds of CPU (issue 11, item 4): caps on sides, no RLE BMP;
and (issue 27, item 5) no plain PBM/PGM/PPM, and every accepted format and variant, fed a
worst-case body at the upload cap, decodes or is refused within half a second of CPU."""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from PIL import Image

from serving import uploads
from serving.errors import DecompressionBomb, ImageError, UnsupportedImageFormat
from serving.settings import Settings
from serving.uploads import FORMATS, decode_upload

from .helpers import assert_problem

DEFAULTS = Settings()
MAX_PIXELS, MAX_SIDE = DEFAULTS.max_image_pixels, DEFAULTS.max_image_side
CAP = DEFAULTS.max_body_bytes
#: CPU seconds (process time) any one upload may cost to decode or refuse.
DECODE_BOUND_SECONDS = 0.5


def rle8_bmp(width: int, height: int) -> bytes:
    """An RLE8 BMP of about 1 kB declaring width x height: one pixel, end of line, end of bitmap.

    Pillow pads the rest of the line one byte at a time in Python: ~1.5 s for 16777216x1.
    """
    palette = b"".join(bytes((i, i, i, 0)) for i in range(256))
    runs = b"\x01\x00" + b"\x00\x00" + b"\x00\x01"
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(runs), 2835, 2835, 256, 0)
    header = b"BM" + struct.pack("<IHHI", offset + len(runs), 0, 0, offset)
    return header + info + palette + runs


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def test_rle8_bomb_is_refused_fast():
    data = rle8_bmp(16_777_216, 1)
    assert len(data) < 1600
    started = time.process_time()
    with pytest.raises((DecompressionBomb, UnsupportedImageFormat)):
        decode_upload(data, MAX_PIXELS, MAX_SIDE)
    assert time.process_time() - started < 0.5


def test_compressed_bmp_within_caps_is_refused():
    with pytest.raises(UnsupportedImageFormat, match="compressed BMP"):
        decode_upload(rle8_bmp(64, 64), MAX_PIXELS, MAX_SIDE)


def test_uncompressed_bmp_still_decodes():
    image = decode_upload(encode(Image.new("RGB", (40, 30), "white"), "BMP"), MAX_PIXELS, MAX_SIDE)
    assert image.size == (40, 30)


@pytest.mark.parametrize("size", [(MAX_SIDE + 1, 1), (1, MAX_SIDE + 1)])
def test_each_side_is_capped(size):
    data = encode(Image.new("L", size), "PNG")
    with pytest.raises(DecompressionBomb, match="SERVING_MAX_IMAGE_SIDE"):
        decode_upload(data, MAX_PIXELS, MAX_SIDE)


def test_side_cap_is_below_the_area_cap():
    assert MAX_SIDE * MAX_SIDE > MAX_PIXELS > MAX_SIDE  # neither cap implies the other


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_worst_case_header_decodes_in_bounded_time(fmt):
    """The largest image the caps let through, in every accepted format, fully decoded."""
    side = int(MAX_PIXELS**0.5)  # 4096 x 4096: at the area cap, within the side cap
    mode = "P" if fmt == "GIF" else "RGB"
    image = Image.linear_gradient("L").resize((side, side)).convert(mode)  # quick to encode
    data = encode(image, fmt)
    started = time.process_time()
    decoded = decode_upload(data, MAX_PIXELS, MAX_SIDE)
    assert time.process_time() - started < DECODE_BOUND_SECONDS
    assert decoded.size[0] <= side


# --- worst-case bodies at the upload cap, one per format variant (issue 27, item 5) -------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + data))
    return struct.pack(">I", len(data)) + kind + data + crc


def png_with_chunks(chunks: int, before_pixels: bool = True) -> bytes:
    """A 1x1 PNG carrying ``chunks`` empty ancillary chunks before (or after) its pixels."""
    head = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    pixels = _png_chunk(b"IDAT", zlib.compress(b"\0\0"))
    filler = _png_chunk(b"abCd", b"") * chunks
    middle = filler + pixels if before_pixels else pixels + filler
    return b"\x89PNG\r\n\x1a\n" + head + middle + _png_chunk(b"IEND", b"")


def png_one_byte_idats(chunks: int) -> bytes:
    """A 2048x2048 PNG whose compressed pixels come in ``chunks`` IDAT chunks of one byte."""
    side = 2048
    packed = zlib.compress((b"\0" + bytes(range(256)) * (side // 256)) * side)
    head = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
    ones = b"".join(_png_chunk(b"IDAT", packed[i : i + 1]) for i in range(chunks))
    rest = _png_chunk(b"IDAT", packed[chunks:])
    return b"\x89PNG\r\n\x1a\n" + head + ones + rest + _png_chunk(b"IEND", b"")


def gif_with_sub_blocks(sub_blocks: int) -> bytes:
    """A 4x4 GIF preceded by a comment extension of ``sub_blocks`` one-byte sub-blocks."""
    data = encode(Image.new("P", (4, 4)), "GIF")
    image = data.index(b",")  # the image descriptor follows the header and palette
    return data[:image] + b"\x21\xfe" + b"\x01x" * sub_blocks + b"\x00" + data[image:]


def tiff_directory(width: int, height: int, strips: int, extra_tags: int = 0) -> bytes:
    """An uncompressed 8-bit TIFF of ``strips`` strips (one row each, at offset 0), plus
    ``extra_tags`` tags of no meaning."""
    tags = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
            (262, 3, 1, 1), (273, 4, strips, None), (277, 3, 1, 1), (278, 4, 1, 1),
            (279, 4, strips, None)]  # fmt: skip
    tags += [(1000 + k, 3, 1, 0) for k in range(extra_tags)]
    tags.sort()
    arrays = 8 + 2 + 12 * len(tags) + 4
    out = b"II*\x00" + struct.pack("<IH", 8, len(tags))
    for tag, kind, count, value in tags:
        if tag == 273:
            value = arrays
        if tag == 279:
            value = arrays + 4 * strips
        out += struct.pack("<HHII", tag, kind, count, value)
    return out + b"\0\0\0\0" + bytes(4 * strips) + struct.pack("<I", width) * strips


def jpeg_scans(scans: int) -> bytes:
    """A 4096x4096 progressive JPEG whose costliest small scan is repeated up to ``scans``."""
    data = _progressive_jpeg()
    starts = [i for i in range(len(data) - 1) if data[i : i + 2] == b"\xff\xda"]
    end = data.rindex(b"\xff\xd9")
    scan = data[starts[5] : starts[6]]  # one refinement scan of every luma block
    return data[:end] + scan * (scans - len(starts)) + b"\xff\xd9"


_JPEG: list[bytes] = []


def _progressive_jpeg() -> bytes:
    if not _JPEG:
        image = Image.linear_gradient("L").resize((4096, 4096)).convert("RGB")
        _JPEG.append(encode_with(image, "JPEG", progressive=True, quality=50))
    return _JPEG[0]


def encode_with(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _fill(header: bytes, unit: bytes = b"\x80") -> bytes:
    return header + unit * ((CAP - len(header)) // len(unit))


#: name → a body of at most the upload cap that is the worst case of one format variant.
WORST_BODIES = {
    "pbm-P1-plain": lambda: _fill(b"P1 4096 4096\n", b"1 "),
    "pgm-P2-comments": lambda: _fill(b"P2\n64 64\n255\n", b"#\n"),
    "pgm-P2-plain": lambda: _fill(b"P2 2896 2896 255\n", b"1 "),
    "ppm-P3-plain": lambda: _fill(b"P3 1672 1672 255\n", b"1 "),
    "ppm-header-comment": lambda: _fill(b"P6\n#", b"x"),
    "pgm-P5-maxval-254": lambda: _fill(b"P5 2896 2896 254\n"),
    "ppm-P6-maxval-65535": lambda: _fill(b"P6 1182 1182 65535\n"),
    "pgm-P5-16-bit": lambda: _fill(b"P5 2040 2040 65535\n"),
    "pgm-P5": lambda: _fill(b"P5 2896 2896 255\n"),
    "ppm-P6": lambda: _fill(b"P6 1672 1672 255\n"),
    "pbm-P4": lambda: _fill(b"P4 8192 2048\n"),
    "pfm": lambda: _fill(b"Pf 1448 1448 -1.0\n"),
    "png-chunks-before-pixels": lambda: png_with_chunks((CAP - 100) // 12),
    "png-chunks-after-pixels": lambda: png_with_chunks((CAP - 100) // 12, before_pixels=False),
    "png-chunks-at-limit": lambda: png_with_chunks(uploads.MAX_PNG_CHUNKS - 4),
    "png-one-byte-idats": lambda: png_one_byte_idats(20_000),
    "gif-comment-sub-blocks": lambda: gif_with_sub_blocks(CAP // 2 - 64),
    "gif-sub-blocks-at-limit": lambda: gif_with_sub_blocks(uploads.MAX_GIF_SUB_BLOCKS - 2),
    "tiff-many-tags": lambda: tiff_directory(4, 4, 4, extra_tags=60_000),
    "tiff-million-strips": lambda: tiff_directory(4, 8192, (CAP - 400) // 8),
    "tiff-strips-at-limit": lambda: tiff_directory(4, 8192, uploads.MAX_TIFF_STRIPS),
    "jpeg-repeated-scans": lambda: jpeg_scans((CAP - 200_000) // 33),
    "jpeg-scans-at-limit": lambda: jpeg_scans(uploads.MAX_JPEG_SCANS),
    "bmp-rle8": lambda: rle8_bmp(16_777_216, 1),
}


@pytest.mark.parametrize("name", WORST_BODIES)
def test_worst_case_body_decodes_or_is_refused_in_bounded_cpu(name):
    data = WORST_BODIES[name]()
    assert len(data) <= CAP
    started = time.process_time()
    status = 200
    try:
        decode_upload(data, MAX_PIXELS, MAX_SIDE)
    except ImageError as exc:
        status = exc.status
    assert time.process_time() - started < DECODE_BOUND_SECONDS
    assert status == 200 or 400 <= status < 500


@pytest.mark.parametrize("header", [b"P1 8 8\n", b"P2 8 8 255\n", b"P3 8 8 255\n"])
def test_plain_pnm_is_refused_like_compressed_bmp(header):
    data = header + b"0 " * 8 * 8 * (3 if header.startswith(b"P3") else 1)
    with pytest.raises(UnsupportedImageFormat, match=r"plain \(ASCII\) PBM/PGM/PPM"):
        decode_upload(data, MAX_PIXELS, MAX_SIDE)


def test_binary_pnm_with_a_short_comment_still_decodes():
    data = b"P5\n# made by a scanner\n40 30\n255\n" + bytes(40 * 30)
    assert decode_upload(data, MAX_PIXELS, MAX_SIDE).size == (40, 30)


def test_standard_progressive_jpeg_still_decodes():
    image = Image.linear_gradient("L").resize((200, 100)).convert("RGB")
    data = encode_with(image, "JPEG", progressive=True)
    assert decode_upload(data, MAX_PIXELS, MAX_SIDE).size[0] <= 200


def test_plain_pgm_over_http_is_a_415_problem(client):
    data = b"P2\n64 64\n255\n" + b"#\n" * (512 * 1024)  # the 1 MiB of comments
    files = {"file": (io.BytesIO(data), "comments.pgm", "image/x-portable-graymap")}
    response = client.post("/predict", data=files, content_type="multipart/form-data")
    body = assert_problem(response, 415, "unsupported-image-format")
    assert "P1-P3" in body["detail"]


def test_bmp_bomb_over_http_is_a_4xx_problem(client):
    files = {"file": (io.BytesIO(rle8_bmp(16_777_216, 1)), "bomb.bmp", "image/bmp")}
    response = client.post("/predict", data=files, content_type="multipart/form-data")
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code, response.get_json()["type"].rsplit(":", 1)[1])
