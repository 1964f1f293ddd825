"""Printed digits as extra training rows: glyphs from fonts, normalised the way serving does.

MNIST is handwriting; clients also send typed digits — a 1 with a flag and a foot serif, an
upright 4, 6 or 9 — which no amount of jitter of the handwritten ones supplies. ``frame``
renders ``per_class`` glyphs of each digit from the faces in ``FACES`` (STIX and Computer
Modern, shipped with matplotlib, and Pillow's own default face), each with a random stroke
weight, slant and rotation, and passes every picture through
``artifacts.runtime.preprocess.to_mnist``
— the function serving applies to uploads — so training sees them as serving will.

DejaVu is deliberately absent: the real-client benchmark (``bench/real_clients.py``) draws its
test digits from the DejaVu faces, and a face it tests on must never be trained on.

Rendering runs on the executors (``mapInPandas`` over ``spark.range``); each glyph is seeded
from the job seed, its digit and its index, so the rows do not depend on partitioning and a
larger ``per_class`` only adds rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

FACES = (
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf",
    "cmr10.ttf",
    "cmb10.ttf",
    "cmti10.ttf",
    "cmss10.ttf",
    "cmtt10.ttf",
    "pillow-default",
)
"""Font faces the glyphs come from: matplotlib's STIX and Computer Modern files (cmmi10 is left
out: its digits are old-style figures), and ``pillow-default``, the sans face Pillow embeds."""
PILLOW_DEFAULT = "pillow-default"
_CANVAS = 160
_FONT_SIZE = 96


@dataclass(frozen=True)
class Style:
    """Bounds of each glyph's random look before ``to_mnist`` (the augmentation adds more)."""

    max_degrees: float = 8.0
    max_shear: float = 0.2
    strokes: tuple[int, ...] = (0, 3, 5, 7, 9, 11)
    """Stroke growth as a max-filter size (0: as drawn); the faces already run light to bold."""


def font_dir() -> Path:
    """matplotlib's bundled TrueType folder (matplotlib is installed with mlxtend)."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@cache
def _font(face: str):
    from PIL import ImageFont

    if face == PILLOW_DEFAULT:
        return ImageFont.load_default(_FONT_SIZE)
    return ImageFont.truetype(str(font_dir() / face), _FONT_SIZE)


def glyph_rng(seed: int, digit: int, index: int) -> np.random.Generator:
    """The generator of one glyph: the same triple always draws the same picture."""
    return np.random.default_rng([seed & 0xFFFFFFFF, digit, index])


def render(digit: int, face: str, rng: np.random.Generator, style: Style = Style()):
    """A large grey picture (PIL, light ink on black) of ``digit`` in ``face``, restyled."""
    from PIL import Image, ImageDraw, ImageFilter

    canvas = Image.new("L", (_CANVAS, _CANVAS), 0)
    centre = _CANVAS / 2
    draw = ImageDraw.Draw(canvas)
    draw.text((centre, centre), str(digit), fill=255, font=_font(face), anchor="mm")
    stroke = int(rng.choice(style.strokes))
    if stroke > 1:
        canvas = canvas.filter(ImageFilter.MaxFilter(stroke))
    shear = float(rng.uniform(-style.max_shear, style.max_shear))
    canvas = canvas.transform(
        canvas.size,
        Image.Transform.AFFINE,
        (1, shear, -shear * centre, 0, 1, 0),
        resample=Image.Resampling.BILINEAR,
    )
    degrees = float(rng.uniform(-style.max_degrees, style.max_degrees))
    return canvas.rotate(degrees, resample=Image.Resampling.BILINEAR)


def glyph(seed: int, digit: int, index: int) -> np.ndarray:
    """Row ``index`` of ``digit``: a (784,) float32 MNIST-form vector (see ``to_mnist``)."""
    from artifacts.runtime.preprocess import to_mnist

    face = FACES[index % len(FACES)]  # every face equally often in every class
    return to_mnist(render(digit, face, glyph_rng(seed, digit, index)))


def row_key(seed: int, digit: int, index: int) -> int:
    """A signed 64-bit key for the row (the augmentation seeds its copies from it)."""
    digest = hashlib.sha256(f"printed:{seed}:{digit}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def render_batch(ids: pd.Series, digits: Sequence[int], seed: int) -> pd.DataFrame:
    """Rows (label, features, _key) for the glyph numbers ``ids``: glyph ``n`` is index
    ``n // len(digits)`` of ``digits[n % len(digits)]``."""
    pairs = [(digits[n % len(digits)], n // len(digits)) for n in ids.astype(int)]
    return pd.DataFrame(
        {
            "label": [float(d) for d, _ in pairs],
            "features": [glyph(seed, d, i).astype(np.float64) for d, i in pairs],
            "_key": [row_key(seed, d, i) for d, i in pairs],
        }
    )


def digit_classes(classes: Sequence[float]) -> tuple[int, ...]:
    """The classes that are digits 0–9: the only labels a glyph can carry."""
    return tuple(int(c) for c in classes if float(c).is_integer() and 0 <= c <= 9)


def frame(spark, digits: Sequence[int], per_class: int, seed: int, partitions: int | None = None):
    """DataFrame(label double, features vector, _key long): ``per_class`` glyphs per digit."""
    from pyspark.ml.functions import array_to_vector

    digits = tuple(digits)
    partitions = partitions or spark.sparkContext.defaultParallelism

    def draw(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield render_batch(batch.id, digits, seed)

    ids = spark.range(0, len(digits) * per_class, numPartitions=partitions)
    glyphs = ids.mapInPandas(draw, "label double, features array<double>, _key long")
    return glyphs.select("label", array_to_vector("features").alias("features"), "_key")
