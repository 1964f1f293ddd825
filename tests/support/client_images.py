"""Digit pictures as real clients send them, built offline from sources other than MNIST.

Shared by the panel tests (tests/artifacts/runtime/test_preprocess_panels.py) and the real-client
benchmark (bench/real_clients.py). Every function is deterministic for a given seed, so a test
failure or a benchmark figure can be reproduced exactly.

Sources: glyphs rendered from the DejaVu fonts bundled with matplotlib (several weights and
slants, jittered by rotation, shear and stroke width) and scikit-learn's UCI 8x8 handwritten
digits, upscaled. Both give an "ink" array: float32 in [0, 1], ink bright, digit centred.

Forms: what a client does with such a digit — an MNIST-like 28 px PNG, dark ink on a white
page, a transparent canvas whose alpha is the ink, a big page with the digit small and off
centre, a JPEG photo-like page, and a matplotlib figure (axes, ticks, a title) showing the
digit in a dark plot square, like the seed article's 5.png.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_FACES = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Italic.ttf",
)
_GLYPH_CANVAS = 160


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@cache
def _font(face: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_font_dir() / face), size)


def font_glyph(digit: int, rng: np.random.Generator) -> np.ndarray:
    """One digit from a random DejaVu face, rotated, sheared and thickened a little."""
    face = FONT_FACES[rng.integers(len(FONT_FACES))]
    canvas = Image.new("L", (_GLYPH_CANVAS, _GLYPH_CANVAS), 0)
    draw = ImageDraw.Draw(canvas)
    centre = _GLYPH_CANVAS / 2
    draw.text((centre, centre), str(digit), fill=255, font=_font(face, 96), anchor="mm")
    grow = int(rng.choice([1, 1, 3, 5]))
    if grow > 1:
        canvas = canvas.filter(ImageFilter.MaxFilter(grow))
    shear = float(rng.uniform(-0.15, 0.15))
    canvas = canvas.transform(
        canvas.size,
        Image.Transform.AFFINE,
        (1, shear, -shear * centre, 0, 1, 0),
        resample=Image.Resampling.BILINEAR,
    )
    canvas = canvas.rotate(float(rng.uniform(-10, 10)), resample=Image.Resampling.BILINEAR)
    return np.asarray(canvas, dtype=np.float32) / 255


@cache
def _uci_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.float32) / 16, bunch.target


def uci_digit(digit: int, rng: np.random.Generator) -> np.ndarray:
    """A UCI handwritten 8x8 digit (not MNIST), upscaled smoothly and its strokes sharpened."""
    images, targets = _uci_digits()
    choices = np.flatnonzero(targets == digit)
    pixels = images[choices[rng.integers(choices.size)]]
    small = Image.fromarray((pixels * 255).astype(np.uint8))
    big = small.resize((96, 96), Image.Resampling.BICUBIC)
    ink = np.asarray(big, dtype=np.float32) / 255
    ink = np.clip((ink - 0.25) / 0.5, 0, 1)  # blurry 8x8 cells become strokes with soft rims
    return np.pad(ink, 32)


SOURCES: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "font": font_glyph,
    "uci": uci_digit,
}


def _crop(ink: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(ink.max(axis=1) > 0.05)
    cols = np.flatnonzero(ink.max(axis=0) > 0.05)
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _resized(ink: np.ndarray, longest: int) -> np.ndarray:
    """The digit's bounding box scaled so its longer side is ``longest`` pixels."""
    crop = _crop(ink)
    scale = longest / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    image = Image.fromarray((crop * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.float32) / 255


def _place(ink: np.ndarray, shape: tuple[int, int], top: int, left: int) -> np.ndarray:
    field = np.zeros(shape, dtype=np.float32)
    field[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    return field


def _encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def mnist_like(ink: np.ndarray, rng: np.random.Generator, mode: str = "L") -> bytes:
    """28x28 white-on-black, the digit fitted in ~20 px and centred by its box (not its mass)."""
    digit = _resized(ink, int(rng.integers(18, 22)))
    top, left = (28 - digit.shape[0]) // 2, (28 - digit.shape[1]) // 2
    field = _place(digit, (28, 28), top, left)
    return _encode(Image.fromarray((field * 255).round().astype(np.uint8)).convert(mode))


def dark_on_white(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """Black (or dark blue) ink on a white RGB page with a generous margin."""
    side = int(rng.integers(120, 320))
    digit = _resized(ink, int(side * rng.uniform(0.5, 0.8)))
    top = (side - digit.shape[0]) // 2 + int(rng.integers(-side // 10, side // 10 + 1))
    left = (side - digit.shape[1]) // 2 + int(rng.integers(-side // 10, side // 10 + 1))
    top = int(np.clip(top, 0, side - digit.shape[0]))
    left = int(np.clip(left, 0, side - digit.shape[1]))
    field = _place(digit, (side, side), top, left)[..., None]
    colour = np.array([0, 0, 0] if rng.random() < 0.5 else [20, 30, 120], dtype=np.float32)
    rgb = 255 * (1 - field) + colour * field
    return _encode(Image.fromarray(rgb.round().astype(np.uint8), "RGB"))


def canvas_strokes(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """A browser canvas export: RGBA, transparent background, the strokes' alpha is the ink."""
    side = int(rng.choice([200, 280, 400]))
    digit = _resized(ink, int(side * rng.uniform(0.55, 0.85)))
    top, left = (side - digit.shape[0]) // 2, (side - digit.shape[1]) // 2
    alpha = _place(digit, (side, side), top, left)
    rgba = np.zeros((side, side, 4), dtype=np.uint8)
    rgba[..., :3] = (0, 0, 0) if rng.random() < 0.7 else (255, 255, 255)  # colour is invisible
    rgba[..., 3] = (alpha * 255).round().astype(np.uint8)
    return _encode(Image.fromarray(rgba, "RGBA"))


def off_centre_page(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """A large off-white page (a scan) with a small digit away from the centre and light noise."""
    height, width = int(rng.integers(400, 700)), int(rng.integers(500, 900))
    digit = _resized(ink, int(rng.integers(40, 120)))
    top = int(rng.integers(0, height - digit.shape[0]))
    left = int(rng.integers(0, width - digit.shape[1]))
    field = _place(digit, (height, width), top, left)
    paper = float(rng.uniform(220, 250))
    gray = paper * (1 - field) + 25 * field + rng.normal(0, 3, field.shape)
    return _encode(Image.fromarray(np.clip(gray, 0, 255).round().astype(np.uint8), "L"))


def jpeg_page(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """Dark ink on light paper with uneven lighting, saved as an RGB JPEG at quality ~70."""
    side = int(rng.integers(150, 400))
    digit = _resized(ink, int(side * rng.uniform(0.45, 0.75)))
    top, left = (side - digit.shape[0]) // 2, (side - digit.shape[1]) // 2
    field = _place(digit, (side, side), top, left)
    light = np.linspace(rng.uniform(200, 230), rng.uniform(235, 255), side, dtype=np.float32)
    gray = light[None, :] * (1 - field) + 40 * field
    rgb = np.stack([gray, gray * 0.98, gray * 0.94], axis=-1)
    image = Image.fromarray(np.clip(rgb, 0, 255).round().astype(np.uint8), "RGB")
    return _encode(image, "JPEG", quality=int(rng.integers(65, 76)))


FORMS: dict[str, Callable[[np.ndarray, np.random.Generator], bytes]] = {
    "mnist_like": mnist_like,
    "dark_on_white": dark_on_white,
    "canvas_strokes": canvas_strokes,
    "off_centre_page": off_centre_page,
    "jpeg": jpeg_page,
}


def figure_screenshot(
    ink: np.ndarray,
    *,
    size: tuple[float, float] = (3.5, 3.5),
    dpi: int = 72,
    invert: bool = False,
    frame: bool = False,
    caption: str | None = None,
    title: str = "Label: ?",
) -> bytes:
    """A matplotlib (Agg) figure showing the digit with ``imshow(cmap='gray')`` as an RGBA PNG.

    The default is the seed article's 5.png: white margins, black ticks and tick labels, a
    title, and a dark plot square with the digit light on dark. ``invert`` draws it dark on a
    light square instead (``gray_r``), ``frame`` outlines the whole figure, ``caption`` adds
    text under the axes.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    digit = _resized(ink, 20)
    field = _place(digit, (28, 28), (28 - digit.shape[0]) // 2, (28 - digit.shape[1]) // 2)
    figure = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(figure)
    if frame:
        figure.patch.set_edgecolor("black")
        figure.patch.set_linewidth(3)
    axes = figure.add_subplot()
    axes.imshow(field, cmap="gray_r" if invert else "gray")
    axes.set_title(title)
    if caption:
        figure.text(0.5, 0.01, caption, ha="center", va="bottom")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def digits(source: str, count: int, seed: int) -> Iterator[tuple[int, np.ndarray]]:
    """``count`` (label, ink) pairs from ``source``, labels cycling 0..9."""
    rng = np.random.default_rng(seed)
    make = SOURCES[source]
    for index in range(count):
        label = index % 10
        yield label, make(label, rng)


def panel_picture(ink, page, panel_share, position, dark_panel, page_level) -> Image.Image:
    """``ink`` at 60 % of a square panel with a black outline, placed on a page with a caption."""
    width, height = page
    side = round(panel_share * min(width, height))
    left = round(position[0] * (width - side))
    top = round(position[1] * (height - side))
    panel_level, digit_level = (20, 235) if dark_panel else (page_level, 20)
    background = page_level if dark_panel else 255 - page_level
    picture = Image.new("L", (width, height), background)
    draw = ImageDraw.Draw(picture)
    draw.rectangle([left, top, left + side - 1, top + side - 1], fill=panel_level, outline=0)
    glyph = _resized(ink, round(side * 0.6))
    offset_y, offset_x = (side - glyph.shape[0]) // 2, (side - glyph.shape[1]) // 2
    pixels = np.asarray(picture, dtype=np.float32).copy()
    rows = slice(top + offset_y, top + offset_y + glyph.shape[0])
    cols = slice(left + offset_x, left + offset_x + glyph.shape[1])
    pixels[rows, cols] = pixels[rows, cols] * (1 - glyph) + digit_level * glyph
    picture = Image.fromarray(pixels.round().astype(np.uint8))
    ImageDraw.Draw(picture).text((2, 2), "Fig. 3", fill=255 - background)  # a caption
    return picture
