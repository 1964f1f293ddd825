"""Cheap uploads must not cost seconds of CPU (issue 11, item 4): caps on sides, no RLE BMP."""

from __future__ import annotations

import io
import struct
import time

import pytest
from PIL import Image

from serving.errors import DecompressionBomb, UnsupportedImageFormat
from serving.settings import Settings
from serving.uploads import FORMATS, decode_upload

from .test_predict_api import assert_problem

DEFAULTS = Settings()
MAX_PIXELS, MAX_SIDE = DEFAULTS.max_image_pixels, DEFAULTS.max_image_side
#: Generous: on an idle core each worst case decodes in well under half a second.
DECODE_BOUND_SECONDS = 3.0


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


def test_bmp_bomb_over_http_is_a_4xx_problem(client):
    files = {"file": (io.BytesIO(rle8_bmp(16_777_216, 1)), "bomb.bmp", "image/bmp")}
    response = client.post("/predict", data=files, content_type="multipart/form-data")
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code, response.get_json()["type"].rsplit(":", 1)[1])
