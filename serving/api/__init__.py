"""HTTP endpoints, grouped by who may call them.

``PROTECTED`` blueprints run models and need credentials (:mod:`serving.auth` denies by default
anything not listed as open); ``OPEN`` blueprints are probes, metrics, documentation and the page,
which orchestrators, scrapers and browsers call without credentials; ``ADMIN`` needs an admin key.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from .admin import bp as admin_bp
from .docs import bp as docs_bp
from .health import bp as health_bp
from .mlflow import bp as mlflow_bp
from .mlflow import probes as mlflow_probes_bp
from .predict import bp as predict_bp
from .recommend import bp as recommend_bp
from .status import bp as status_bp
from .ui import bp as ui_bp
from .v2 import bp as v2_bp

PROTECTED: tuple[Blueprint, ...] = (predict_bp, recommend_bp, v2_bp, mlflow_bp, status_bp)
OPEN: tuple[Blueprint, ...] = (health_bp, mlflow_probes_bp, docs_bp, ui_bp)
ADMIN: tuple[Blueprint, ...] = (admin_bp,)  # need an admin key (serving.auth)
UNTRACED: tuple[str, ...] = (health_bp.name, mlflow_probes_bp.name)  # probes and /metrics


def register(app: Flask) -> None:
    for blueprint in (*PROTECTED, *OPEN, *ADMIN):
        app.register_blueprint(blueprint)
