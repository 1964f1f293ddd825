"""Recommendations: ``POST /v1/models/<name>:recommend`` and pair scoring on ``:predict``.

``{"user": "u1", "k": 10, "exclude_seen": true}`` answers one user's top items; ``{"users":
[...]}`` answers a list, one entry per user in request order. ``k`` defaults to 10 and
``exclude_seen`` to true. What other protocols share (pair scoring on ``:predict``, V2's top-K,
refusing a recommender where feature rows are expected) is in :mod:`serving.recommend`.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, Response, request

from ..bodies import json_object
from ..errors import InvalidShape, MissingField, UnsupportedMediaType
from ..recommend import check_id, check_k, check_users, recommend, require_recommender
from ..state import server_state

bp = Blueprint("recommend", __name__)
DEFAULT_K = 10


@bp.post("/v1/models/<name>:recommend")
@bp.post("/v1/models/<name>/versions/<version>:recommend")
def v1_recommend(name: str, version: str | None = None) -> Response:
    state = server_state()
    model = state.registry.snapshot.get(name, version)
    scorer = require_recommender(model)
    doc = _json_body()
    settings = state.settings
    k = check_k(doc.get("k", DEFAULT_K), settings.max_recommend_k)
    exclude_seen = doc.get("exclude_seen", True)
    if not isinstance(exclude_seen, bool):
        raise InvalidShape("'exclude_seen' must be true or false")
    if ("user" in doc) == ("users" in doc):
        raise MissingField('send exactly one of {"user": id} or {"users": [id, ...]}')
    if "user" in doc:
        user = check_id(scorer, doc["user"], "user", "'user'")
        answer = recommend(model, [user], k, exclude_seen)[0]
        return _json(answer.to_json())
    users = check_users(doc["users"], scorer, settings)
    return _json([answer.to_json() for answer in recommend(model, users, k, exclude_seen)])


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise UnsupportedMediaType("send the body as Content-Type: application/json")
    return json_object(request.get_data())


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), mimetype="application/json")
