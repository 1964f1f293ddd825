"""Optional: the exported sklearn estimator as an ONNX graph, checked with onnxruntime.

For consumers without Python.  The graph is converted by skl2onnx and is accepted only
if onnxruntime reproduces the sklearn estimator on the sample rows (labels on every row,
probabilities within ``atol``) — the same rule the Spark → sklearn export follows.

Double-precision input is tried first (linear models, naive Bayes and MLPs then match to
~1e-16).  Models containing trees try float32 first, because sklearn itself compares
float32 inputs against their thresholds, so a float32 graph takes the same branches.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ExportError, ParityError

log = logging.getLogger(__name__)

TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}


@dataclass(frozen=True)
class OnnxExport:
    """A serialized ONNX model, the input dtype it expects, and its parity figures."""

    model: bytes
    input_dtype: str
    parity: dict[str, Any]


def _has_trees(estimator: Any) -> bool:
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    return hasattr(final, "tree_") or hasattr(final, "estimators_")


def _needs_onnx() -> ExportError:
    return ExportError(
        "ONNX export needs skl2onnx and onnxruntime: pip install 'spark-model-server[onnx]'"
    )


def _convert(estimator: Any, x: np.ndarray) -> bytes:
    try:
        from skl2onnx import to_onnx
    except ImportError:
        raise _needs_onnx() from None

    onx = to_onnx(estimator, x[:1], options={"zipmap": False}, target_opset=TARGET_OPSET)
    return onx.SerializeToString()


def onnx_parity(model: bytes, estimator: Any, x: np.ndarray, atol: float) -> dict[str, Any]:
    """Compare onnxruntime's labels and probabilities with the estimator's on ``x``."""
    try:
        import onnxruntime
    except ImportError:
        raise _needs_onnx() from None

    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    labels, proba = session.run(None, {session.get_inputs()[0].name: x})[:2]
    expected = estimator.predict(x)
    agreement = float(np.mean(np.asarray(labels).astype(expected.dtype) == expected))
    error = float(np.max(np.abs(proba - estimator.predict_proba(x))))
    return {
        "rows": len(x),
        "label_agreement": agreement,
        "max_proba_error": error,
        "passed": agreement == 1.0 and error <= atol,
        "atol": atol,
    }


def export_onnx(estimator: Any, sample_x: np.ndarray, *, atol: float = 1e-6) -> OnnxExport:
    """Convert ``estimator`` to ONNX and prove it matches on ``sample_x``.

    Raises ExportError if skl2onnx/onnxruntime are missing or cannot convert the model
    (e.g. LinearSVC, which has no probabilities to check), ParityError if no input dtype
    reproduces the estimator.
    """
    if not hasattr(estimator, "predict_proba"):
        raise ExportError(f"ONNX export needs predict_proba; {type(estimator).__name__} has none")
    dtypes = [np.float32, np.float64] if _has_trees(estimator) else [np.float64, np.float32]
    failures: list[str] = []
    best: dict[str, Any] | None = None
    for dtype in dtypes:
        x = np.ascontiguousarray(sample_x, dtype=dtype)
        try:
            model = _convert(estimator, x)
            parity = onnx_parity(model, estimator, x, atol)
        except ImportError as exc:
            raise ExportError(f"ONNX export needs skl2onnx and onnxruntime: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - converter/runtime errors vary by model
            failures.append(f"{np.dtype(dtype).name}: {type(exc).__name__}: {exc}")
            continue
        if parity["passed"]:
            log.info("ONNX export (%s input): %s", np.dtype(dtype).name, parity)
            return OnnxExport(model, np.dtype(dtype).name, parity)
        best = parity
    if best is not None:
        raise ParityError(f"ONNX graph disagrees with the estimator: {best}", best)
    raise ExportError(f"skl2onnx could not convert {type(estimator).__name__}: {failures}")
