"""``GET /``: the draw-a-digit page. Static files only; it calls the public API like any client."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

bp = Blueprint("ui", __name__)


@bp.get("/")
def index() -> Response:
    response = current_app.send_static_file("index.html")
    response.headers["Cache-Control"] = "no-cache"
    return response
