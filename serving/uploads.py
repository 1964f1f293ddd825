"""Decode an uploaded image safely: size checked from the header before any pixel is decoded.

A 40 kB PNG can declare 50 000 x 50 000 pixels and expand to gigabytes when decoded (a
decompression bomb). ``Image.open`` only parses the header, so the declared size is checked
against ``max_pixels`` and each side against ``max_side`` first, and ``load()`` runs only for
images within both caps. Decoding must cost time in proportion to those caps, never more:
compressed BMP is refused because Pillow decodes RLE4/RLE8 in pure Python (a 1 kB RLE8 file
declaring 16777216x1 pixels took ~1.5 s of CPU), and BMP that wraps JPEG/PNG data is refused too.
For the same reason only binary PBM/PGM/PPM that Pillow copies in C are taken: plain (ASCII,
P1-P3) ones and binary ones with an odd maxval decode in Python (a 64x64 P2 with 1 MiB of
comments took ~11 s, 8 MiB of P5 with maxval 254 ~4 s), and the header itself, which Pillow
reads one byte at a time, must end within its first 4 KiB (an 8 MiB comment took ~1.8 s).
Structure that Pillow walks in Python, or that makes libjpeg redo the whole image, is bounded
before ``Image.open``: a JPEG may hold at most 24 scans (a 4096x4096 progressive JPEG repeating
one 33-byte scan up to the upload cap ran for over 10 minutes), a PNG at most 8192 chunks, a GIF
at most 8192 extension sub-blocks before its first image (8 MiB of empty chunks or one-byte
sub-blocks took 1-1.7 s), a TIFF's first directory at most 1024 tags and 16384 strips or tiles
(a million one-row strips took 2.2 s).
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
#: Pillow reads a PBM/PGM/PPM header (magic, comments, sizes, maxval) byte by byte in Python.
_PNM_HEADER_BYTES = 4096
#: Real files stay far below these (libjpeg's progressive script has 10 scans; encoders write
#: PNG data in chunks of 8 KiB or more, GIF extensions in sub-blocks of 255 bytes).
MAX_JPEG_SCANS = 24
MAX_PNG_CHUNKS = 8192
MAX_GIF_SUB_BLOCKS = 8192
MAX_TIFF_TAGS = 1024
MAX_TIFF_STRIPS = 16384  # strips of one row need 8192; 4096x4096 in 32x32 tiles 16384
_TIFF_OFFSETS = frozenset({273, 279, 324, 325})  # Strip/Tile Offsets and ByteCounts


def decode_upload(data: bytes, max_pixels: int, max_side: int | None = None) -> Image.Image:
    """Return the decoded first frame of ``data``; bad input raises a 4xx ServingError."""
    if not data:
        raise MissingField("the uploaded file is empty; send an image in the 'file' field")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        _check_structure(data)
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
    if image.format == "PPM" and any(tile[0] != "raw" for tile in image.tile):
        raise UnsupportedImageFormat(
            "plain (ASCII) PBM/PGM/PPM (P1-P3), and PGM/PPM whose maxval is not 255 (or 65535 "
            "for PGM), are not accepted; send PNG, or a binary P4/P5/P6 with maxval 255"
        )
    if image.format == "JPEG":
        image.draft("L", (_WORKING_SIDE, _WORKING_SIDE))
    try:
        image.load()
    except _DECODE_ERRORS as exc:
        raise TruncatedImage(f"the image data is truncated or corrupt: {exc}") from None
    return image


def _check_structure(data: bytes) -> None:
    """Refuse files whose structure alone would cost Python steps or libjpeg passes in
    proportion to their size, before Pillow parses them (each check is bounded itself)."""
    if data[:1] == b"P":  # no other accepted format starts with P
        _check_pnm_header(data[:_PNM_HEADER_BYTES])
    elif data[:2] == b"\xff\xd8" and data.count(b"\xff\xda") > MAX_JPEG_SCANS:
        # every scan starts with the SOS marker FF DA, which entropy-coded data never holds
        raise UnsupportedImageFormat(
            f"a JPEG of more than {MAX_JPEG_SCANS} scans is not accepted; send PNG, or a "
            "baseline or standard progressive JPEG"
        )
    elif data[:8] == b"\x89PNG\r\n\x1a\n" and _png_chunks(data) > MAX_PNG_CHUNKS:
        raise UnsupportedImageFormat(
            f"a PNG of more than {MAX_PNG_CHUNKS} chunks is not accepted; re-save it (encoders "
            "write the pixels in a few large chunks)"
        )
    elif data[:4] == b"GIF8" and _gif_sub_blocks(data) > MAX_GIF_SUB_BLOCKS:
        raise UnsupportedImageFormat(
            f"a GIF with more than {MAX_GIF_SUB_BLOCKS} extension sub-blocks before its first "
            "image is not accepted; send PNG, or re-save the GIF"
        )
    elif data[:2] in (b"II", b"MM"):
        _check_tiff_directory(data)


def _png_chunks(data: bytes) -> int:
    """How many chunks the PNG holds up to IEND, counting no further than one past the cap."""
    pos, count = 8, 0
    while pos + 8 <= len(data) and count <= MAX_PNG_CHUNKS:
        count += 1
        length, kind = struct.unpack_from(">I4s", data, pos)
        if kind == b"IEND":
            break
        pos += 12 + length
    return count


def _gif_sub_blocks(data: bytes) -> int:
    """Extension sub-blocks before the GIF's first image, counting no further than one past the
    cap (the image's own data blocks are read by Pillow's C decoder)."""
    if len(data) < 13:
        return 0
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)  # after the global palette
    count = 0
    while pos < len(data) and data[pos] == 0x21 and count <= MAX_GIF_SUB_BLOCKS:
        pos += 2  # introducer and label, then sub-blocks up to an empty one
        while pos < len(data) and count <= MAX_GIF_SUB_BLOCKS:
            size = data[pos]
            pos += 1 + size
            count += 1
            if size == 0:
                break
    return count


def _check_tiff_directory(data: bytes) -> None:
    """Refuse a TIFF whose first directory has more tags, or more strips or tiles, than real
    images need (Pillow turns each into Python objects while opening)."""
    order = "<" if data[:2] == b"II" else ">"
    try:
        (magic,) = struct.unpack_from(order + "H", data, 2)
        if magic == 42:  # classic: 2-byte entry count, 12-byte entries, 4-byte value counts
            (offset,) = struct.unpack_from(order + "I", data, 4)
            (tags,) = struct.unpack_from(order + "H", data, offset)
            start, size, entry = offset + 2, 12, order + "HHI"
        elif magic == 43:  # BigTIFF: 8-byte entry count, 20-byte entries, 8-byte value counts
            (offset,) = struct.unpack_from(order + "Q", data, 8)
            (tags,) = struct.unpack_from(order + "Q", data, offset)
            start, size, entry = offset + 8, 20, order + "HHQ"
        else:
            return
        if tags > MAX_TIFF_TAGS:
            raise UnsupportedImageFormat(
                f"a TIFF directory of {tags} tags is not accepted (at most {MAX_TIFF_TAGS}); "
                "send PNG, or re-save the TIFF"
            )
        for index in range(tags):
            tag, _, count = struct.unpack_from(entry, data, start + index * size)
            if tag in _TIFF_OFFSETS and count > MAX_TIFF_STRIPS:
                raise UnsupportedImageFormat(
                    f"a TIFF of {count} strips or tiles is not accepted (at most "
                    f"{MAX_TIFF_STRIPS}); send PNG, or re-save the TIFF with larger strips"
                )
    except struct.error:
        return  # truncated: Pillow's open reports it


def _check_pnm_header(head: bytes) -> None:
    """Refuse a PBM/PGM/PPM whose header does not end within ``head`` (the first 4 KiB), so
    that reading it costs at most that many Python steps; anything else passes."""
    try:
        Image.open(io.BytesIO(head), formats=("PPM",))
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return  # not a PNM, or one the size checks of the full open refuse
    except _DECODE_ERRORS as exc:
        raise TruncatedImage(
            f"the PBM/PGM/PPM header cannot be read within its first {_PNM_HEADER_BYTES} bytes "
            f"({exc}); keep comments short"
        ) from None


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
