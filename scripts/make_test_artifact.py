"""Write a small signed MNIST-form artifact, its key pair and a sample digit PNG.

Used by scripts/docker-test.sh and tests/helm to give a real server something real to load,
without Spark: a LogisticRegression fitted on scikit-learn's bundled 8x8 digits, each upscaled
and passed through `artifacts.runtime.preprocess.to_mnist` exactly as uploads are at serving time.

    python scripts/make_test_artifact.py STORE KEY_DIR PNG [--scheme openssf|hmac-sha256]

KEY_DIR receives verify-key.pem + signing-key.pem (openssf) or hmac.key (hmac-sha256).
Exit status 2 with a one-line message on bad arguments or an artifacts error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

import artifacts
from artifacts.runtime.preprocess import to_mnist

log = logging.getLogger("make_test_artifact")
SAMPLE_DIGIT = 7


def _digit_image(pixels: np.ndarray) -> Image.Image:
    """An 8x8 sklearn digit (0..16, ink bright) as a 112x112 dark-on-light picture."""
    gray = (255 - pixels.reshape(8, 8) * 255 / 16).astype(np.uint8)
    return Image.fromarray(gray, mode="L").resize((112, 112), Image.Resampling.BILINEAR)


def build(store: Path, key_dir: Path, png: Path, scheme: str) -> Path:
    """Fit, sign and save the artifact; write the sample PNG. Returns the artifact directory."""
    digits = load_digits()
    features = np.stack([to_mnist(_digit_image(row)) for row in digits.data])
    model = LogisticRegression(max_iter=300).fit(features, digits.target)
    keys = artifacts.generate_keys(scheme, key_dir)
    signer = artifacts.load_signer(keys.get("private", keys.get("secret")), scheme=scheme)
    path = artifacts.save(
        model,
        store,
        "mnist",
        version="1",
        signer=signer,
        input_schema=artifacts.InputSchema.mnist(),
        classes=[int(c) for c in model.classes_],
        metrics={"train_accuracy": float(model.score(features, digits.target))},
        lineage={"data_source": "sklearn.datasets.load_digits (upscaled)", "purpose": "tests"},
    )
    sample = int(np.flatnonzero(digits.target == SAMPLE_DIGIT)[0])
    _digit_image(digits.data[sample]).save(png)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("key_dir", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--scheme", choices=artifacts.SCHEMES, default="openssf")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        path = build(args.store, args.key_dir, args.png, args.scheme)
    except (artifacts.ArtifactError, OSError) as exc:
        log.error("error: %s", exc)
        return 2
    log.info("wrote %s and sample digit %d at %s", path, SAMPLE_DIGIT, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
