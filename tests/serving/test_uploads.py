"""decode_upload: every image a client may send, and every way one can be bad."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from serving.errors import (
    DecompressionBomb,
    MissingField,
    NotAnImage,
    TruncatedImage,
    UnsupportedImageFormat,
)
from serving.uploads import decode_upload

LIMIT = 4_000_000


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [("PNG", "L"), ("PNG", "RGBA"), ("JPEG", "RGB"), ("GIF", "P"), ("BMP", "RGB"),
     ("WEBP", "RGB"), ("TIFF", "L")],
)  # fmt: skip
def test_accepted_formats_decode(fmt, mode):
    drawn = Image.new("L", (40, 30))
    drawn.paste(255, (10, 5, 22, 25))  # a white bar on black: where the ink is must survive
    data = encode(drawn.convert(mode), fmt)

    image = decode_upload(data, LIMIT)

    assert image.size == (40, 30)
    pixels = np.asarray(image.convert("L"), dtype=np.int16)
    lossy = fmt in ("JPEG", "WEBP")
    inside, outside = pixels[8:22, 13:19], np.delete(pixels, np.s_[2:28], axis=1)
    assert inside.min() >= (200 if lossy else 255)
    assert outside.max() <= (55 if lossy else 0)


def test_large_jpeg_decodes_at_reduced_size():
    data = encode(Image.new("RGB", (1600, 1200), "white"), "JPEG")
    assert max(decode_upload(data, LIMIT).size) < 1600


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (b"", MissingField, "empty"),
        (b"hello, this is text and not an image at all", NotAnImage, "not a recognised image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 10, NotAnImage, "not a recognised image"),
    ],
)
def test_bad_bytes(data, error, match):
    with pytest.raises(error, match=match):
        decode_upload(data, LIMIT)


def test_truncated_image_data():
    data = encode(Image.effect_noise((200, 200), 60).convert("L"), "PNG")
    with pytest.raises(TruncatedImage, match="truncated or corrupt"):
        decode_upload(data[: len(data) // 2], LIMIT)


def test_known_but_refused_format():
    data = encode(Image.new("RGB", (32, 32)), "ICO")
    with pytest.raises(UnsupportedImageFormat, match="ICO images are not accepted"):
        decode_upload(data, LIMIT)


def test_pixel_cap_is_checked_before_decoding():
    data = encode(Image.new("1", (3000, 3000)), "PNG")  # ~1 kB that decodes to 9 Mpx
    assert len(data) < 20_000
    with pytest.raises(DecompressionBomb, match="3000x3000 pixels"):
        decode_upload(data, LIMIT)


def test_pillow_bomb_warning_becomes_a_4xx():
    """Above Pillow's own MAX_IMAGE_PIXELS its warning (an error under -W error) is mapped too."""
    side = int((Image.MAX_IMAGE_PIXELS or 89_478_485) ** 0.5) + 100
    data = encode(Image.new("1", (side, side)), "PNG")
    with pytest.raises(DecompressionBomb):
        decode_upload(data, side * side * 4)
