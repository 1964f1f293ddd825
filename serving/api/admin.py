"""Operator endpoints; they need an admin API key (``SERVING_ADMIN_KEYS_FILE``)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, json

from ..reload import EXTENSION_KEY

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.post("/reload")
def reload_models() -> Response:
    """Verify and load the store now; 200 with what changed and what was refused."""
    result = current_app.extensions[EXTENSION_KEY].reload()
    return Response(json.dumps(result.as_dict()), mimetype="application/json")
