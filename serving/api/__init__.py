"""HTTP endpoints, grouped by who may call them.

``PROTECTED`` blueprints run models (and will require credentials once auth lands: attach one
``before_request`` hook to each of them in :func:`register`); ``OPEN`` blueprints are probes,
metrics and documentation that orchestrators and scrapers call without credentials.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from .docs import bp as docs_bp
from .health import bp as health_bp
from .predict import bp as predict_bp
from .v2 import bp as v2_bp

PROTECTED: tuple[Blueprint, ...] = (predict_bp, v2_bp)
OPEN: tuple[Blueprint, ...] = (health_bp, docs_bp)


def register(app: Flask) -> None:
    for blueprint in (*PROTECTED, *OPEN):
        app.register_blueprint(blueprint)
