"""Decode an uploaded image safely: size checked from the header before any pixel is decoded.

A 40 kB PNG can declare 50 000 x 50 000 pixels and expand to gigabytes when decoded (a
decompression bomb). ``Image.open`` only parses the header, so the declared size is checked
against ``max_pixels`` and each side against ``max_side`` first, and ``load()`` runs only for
images within both caps. Decoding must cost time in proportion to those caps, never more:
compressed BMP is refused because Pillow decodes RLE4/RLE8 in pure Python (a 1 kB RLE8 file
declaring 16777216x1 pixels took ~1.5 s of CPU), and BMP that wraps JPEG/PNG data is refused too.
"""

from __future__ import annotations

import io
import struct
import warnings

from PIL import Image, UnidentifiedImageError

from .errors import (
    DecompressionBomb,
    MissingField,
    NotAnImage,
    TruncatedImage,
    UnsupportedImageFormat,
)

#: Formats a client can reasonably send for a digit; others (PSD, EPS, ICNS …) are refused.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF", "PPM")
_WORKING_SIDE = 112  # JPEGs decode straight to about this size (DCT scaling), see draft()
#: BMP compression values Pillow decodes in C straight from the file: BI_RGB and BI_BITFIELDS.
_BMP_UNCOMPRESSED = (0, 3)
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, TypeError)


def decode_upload(data: bytes, max_pixels: int, max_side: int | None = None) -> Image.Image:
    """Return the decoded first frame of ``data``; bad input raises a 4xx ServingError."""
    if not data:
        raise MissingField("the uploaded file is empty; send an image in the 'file' field")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _bomb(None, max_pixels) from None
        except UnidentifiedImageError:
            raise _unidentified(data) from None
        except _DECODE_ERRORS as exc:
            raise TruncatedImage(f"the image header cannot be read: {exc}") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        raise TruncatedImage("the image declares an empty size")
    if width * height > max_pixels:
        raise _bomb(image.size, max_pixels)
    if max_side is not None and max(width, height) > max_side:
        raise DecompressionBomb(
            f"the image declares {width}x{height} pixels; each side may be at most {max_side} "
            "pixels (SERVING_MAX_IMAGE_SIDE); send a smaller image"
        )
    if image.format == "BMP" and image.info.get("compression") not in _BMP_UNCOMPRESSED:
        raise UnsupportedImageFormat(
            "compressed BMP (RLE, embedded JPEG/PNG) is not accepted; send PNG, or an "
            "uncompressed BMP"
        )
    if image.format == "JPEG":
        image.draft("L", (_WORKING_SIDE, _WORKING_SIDE))
    try:
        image.load()
    except _DECODE_ERRORS as exc:
        raise TruncatedImage(f"the image data is truncated or corrupt: {exc}") from None
    return image


def _bomb(size: tuple[int, int] | None, max_pixels: int) -> DecompressionBomb:
    declared = f"{size[0]}x{size[1]} pixels" if size else "a huge size"
    return DecompressionBomb(
        f"the image declares {declared}, over the limit of {max_pixels} pixels "
        "(SERVING_MAX_IMAGE_PIXELS); send a smaller image"
    )


def _unidentified(data: bytes) -> Exception:
    """Tell a known-but-refused format apart from data that is no image at all."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            refused = Image.open(io.BytesIO(data)).format
    except (UnidentifiedImageError, *_DECODE_ERRORS, Image.DecompressionBombError):
        refused = None
    if refused:
        return UnsupportedImageFormat(
            f"{refused} images are not accepted; send one of: {', '.join(FORMATS)}"
        )
    return NotAnImage(
        f"the uploaded file is not a recognised image; send one of: {', '.join(FORMATS)}"
    )
