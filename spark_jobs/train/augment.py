"""Distributed data augmentation for 28×28 digit images.

``augment(frame, factor, seed)`` is a DataFrame → DataFrame transformation run with
``mapInPandas``: each executor emits the original rows plus ``factor - 1`` jittered copies
(small shift, rotation, scale, slant, width, stroke thickness), so the data grows on the
executors and
never passes through the driver. Each copy's randomness is seeded from the row's content
hash, the copy number and the job seed, so the result is independent of partitioning.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

SIDE = 28


@dataclass(frozen=True)
class Jitter:
    """Bounds of the random perturbations; defaults keep a digit recognisably itself."""

    max_shift: float = 2.0
    max_degrees: float = 12.0
    scale_range: tuple[float, float] = (0.9, 1.1)
    max_shear: float = 0.3
    """Slant: horizontal offset per row (0.3 ≈ 17°), either way. Typed and font digits stand
    upright where MNIST's handwriting leans; without it the upright 1, 6 and 9 of a font are
    misread."""
    width_range: tuple[float, float] = (0.8, 1.2)
    """Width relative to height: wide font digits next to MNIST's narrow handwriting."""
    thicken_p: float = 0.3
    thin_p: float = 0.15


def jitter(pixels: np.ndarray, rng: np.random.Generator, bounds: Jitter = Jitter()) -> np.ndarray:
    """One randomly perturbed copy of a (784,) image in [0, 1]; output has the same form."""
    from scipy import ndimage

    image = np.asarray(pixels, dtype=np.float64).reshape(SIDE, SIDE)
    angle = np.deg2rad(rng.uniform(-bounds.max_degrees, bounds.max_degrees))
    scale = rng.uniform(*bounds.scale_range)
    shear = rng.uniform(-bounds.max_shear, bounds.max_shear)
    width = rng.uniform(*bounds.width_range)
    shift = rng.uniform(-bounds.max_shift, bounds.max_shift, size=2)
    cos, sin = np.cos(angle), np.sin(angle)
    # (row, col) coordinates: widen the columns, slant (col += shear * row), then rotate.
    forward = (
        np.array([[cos, -sin], [sin, cos]])
        @ np.array([[1.0, 0.0], [shear, 1.0]])
        @ np.diag([scale, scale * width])
    )
    matrix = np.linalg.inv(forward)  # affine_transform maps output coords → input coords
    centre = np.full(2, (SIDE - 1) / 2)
    offset = centre - matrix @ (centre + shift)
    out = ndimage.affine_transform(image, matrix, offset=offset, order=1, mode="constant")
    stroke = rng.uniform()
    if stroke < bounds.thicken_p:
        out = ndimage.grey_dilation(out, size=(2, 2))
    elif stroke < bounds.thicken_p + bounds.thin_p:
        out = 0.5 * (out + ndimage.grey_erosion(out, size=(2, 2)))
    return np.clip(out, 0.0, 1.0).ravel()


def _row_rng(seed: int, key: int, copy: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, int(key) & 0xFFFFFFFFFFFFFFFF, copy])


def expand_batch(batch: pd.DataFrame, factor: int, seed: int) -> pd.DataFrame:
    """The rows of ``batch`` followed by ``factor - 1`` jittered copies of each."""
    labels, feats, keys = [batch.label], [batch.features], [batch._key]
    for copy in range(1, factor):
        jittered = [
            jitter(f, _row_rng(seed, k, copy))
            for f, k in zip(batch.features, batch._key, strict=True)
        ]
        labels.append(batch.label)
        feats.append(pd.Series(jittered, index=batch.index))
        keys.append(batch._key * factor + copy)
    return pd.DataFrame(
        {
            "label": pd.concat(labels, ignore_index=True),
            "features": pd.concat(feats, ignore_index=True),
            "_key": pd.concat(keys, ignore_index=True),
        }
    )


def augment(frame, factor: int, seed: int):
    """``frame`` (label, features vector, _key) grown ``factor`` times on the executors."""
    from pyspark.ml.functions import array_to_vector, vector_to_array

    if factor <= 1:
        return frame

    def grow(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield expand_batch(batch, factor, seed)

    arrays = frame.select("label", vector_to_array("features").alias("features"), "_key")
    grown = arrays.mapInPandas(grow, "label double, features array<double>, _key long")
    return grown.select("label", array_to_vector("features").alias("features"), "_key")
