"""``/openapi.json``: the machine-readable description of the API."""

from __future__ import annotations

from functools import cache

from flask import Blueprint, Response, json

from ..auth.openapi import document as document_security
from ..openapi import build_spec

bp = Blueprint("docs", __name__)


@cache
def _spec_json() -> str:
    return json.dumps(document_security(build_spec()))


@bp.get("/openapi.json")
def openapi() -> Response:
    return Response(_spec_json(), mimetype="application/json")
