"""Guards shared by the stage converters: naming stages and refusing inexact settings."""

from __future__ import annotations

from typing import Any

from .errors import UnsupportedStage


def describe(stage: Any) -> str:
    """A stage's class and uid, the way error messages name it."""
    return f"{type(stage).__name__}(uid={getattr(stage, 'uid', '?')})"


def param_is_set(stage: Any, name: str) -> bool:
    """Whether ``name`` exists on the stage and was set explicitly (not left at default)."""
    return stage.hasParam(name) and stage.isSet(stage.getParam(name))


def reject_class_thresholds(model: Any) -> None:
    """Refuse per-class ``thresholds``: sklearn's predict is a plain argmax.

    Spark rescales probabilities by the thresholds before taking the argmax; no
    scikit-learn classifier has that knob, so exporting would silently change labels.
    """
    if param_is_set(model, "thresholds"):
        raise UnsupportedStage(
            f"{describe(model)}: thresholds={list(model.getThresholds())} is not supported; "
            "scikit-learn predicts the argmax of the probabilities. Retrain without thresholds."
        )


def require_binary(model: Any, classes: Any) -> None:
    """Binary-only models (LinearSVC, GBT) must come with exactly two labels."""
    if len(classes) != 2:
        raise UnsupportedStage(f"{describe(model)}: expected 2 classes, got {len(classes)}")
