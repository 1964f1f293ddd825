"""Check ``to_mnist`` against its frozen reference copy (``preprocess_reference.py``), bit for bit.

Used by the oracle tests and, through the ``to_mnist_checked`` fixture, by every ``to_mnist``
call in the other preprocess tests, so each picture those tests build is compared too.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from artifacts.runtime.preprocess import to_mnist
from tests.artifacts import preprocess_reference


def same_as_reference(image: Image.Image) -> np.ndarray:
    """``to_mnist(image)``, failing unless the reference gives the very same bits.

    The current implementation runs first, on the same object: if it altered its input, the
    reference would see the altered picture and the comparison would show it.
    """
    got = to_mnist(image)
    expected = preprocess_reference.to_mnist(image)
    assert got.dtype == expected.dtype, f"dtype {got.dtype}, reference {expected.dtype}"
    assert got.shape == expected.shape, f"shape {got.shape}, reference {expected.shape}"
    if got.tobytes() != expected.tobytes():
        differ = np.flatnonzero(got.view(np.uint32) != expected.view(np.uint32))
        worst = float(np.abs(got.astype(np.float64) - expected).max())
        raise AssertionError(
            f"to_mnist differs from the reference in {differ.size} of 784 values "
            f"(first at {differ[:5].tolist()}, largest difference {worst:.3g}) for a "
            f"{image.mode} {image.size[0]}x{image.size[1]} image"
        )
    return got
