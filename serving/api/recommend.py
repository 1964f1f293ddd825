"""Recommendations: ``POST /v1/models/<name>:recommend`` and pair scoring on ``:predict``.

``{"user": "u1", "k": 10, "exclude_seen": true}`` answers one user's top items; ``{"users":
[...]}`` answers a list, one entry per user in request order. ``k`` defaults to 10 and
``exclude_seen`` to true. Pair scoring (``:predict`` with ``{"instances": [{"user": …, "item":
…}]}``) lives here too and is called by :mod:`serving.api.predict` for recommender models.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, Response, request

from .. import deadline
from ..bodies import json_object
from ..errors import BatchTooLarge, InvalidShape, MissingField, UnsupportedMediaType, WrongModelKind
from ..model import ServedModel
from ..recommend import Recommendation, Recommender, check_k
from ..settings import Settings
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
        user = scorer.check_id(doc["user"], "user", "'user'")
        answer = recommend(model, [user], k, exclude_seen)[0]
        return _json(answer.to_json())
    users = check_users(doc["users"], scorer, settings)
    return _json([answer.to_json() for answer in recommend(model, users, k, exclude_seen)])


def recommend(
    model: ServedModel, users: list[Any], k: int, exclude_seen: bool
) -> list[Recommendation]:
    """Top-K for each user, counted in the metrics (users, and how many got the fallback)."""
    deadline.check()  # 504 rather than work nobody waits for (serving.deadline)
    answers = model.recommender.recommend(users, k, exclude_seen=exclude_seen)
    metrics = server_state().metrics
    if metrics is not None:
        metrics.record_recommendations(model, len(answers), sum(a.cold_start for a in answers))
    return answers


def require_recommender(model: ServedModel) -> Recommender:
    if not model.is_recommender:
        raise WrongModelKind(
            f"model {model.name!r} is a {model.task} model, not a recommender; use :predict"
        )
    return model.recommender


def refuse_recommender(model: ServedModel, endpoint: str) -> None:
    """Endpoints that take feature rows or images answer a clear 400 for a recommender."""
    if model.is_recommender:
        raise WrongModelKind(
            f"model {model.name!r} is a recommender: {endpoint} does not serve it. Use "
            f"POST /v1/models/{model.name}:recommend for top-K items, :predict with "
            '{"instances": [{"user": ..., "item": ...}]} for pair scores, or V2 /infer'
        )


def check_users(value: Any, scorer: Recommender, settings: Settings) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise InvalidShape("'users' must be a non-empty list of user ids")
    if len(value) > settings.max_recommend_users:
        raise BatchTooLarge(
            f"{len(value)} users sent; at most {settings.max_recommend_users} per request "
            "(SERVING_MAX_RECOMMEND_USERS)"
        )
    return [scorer.check_id(user, "user", f"users[{i}]") for i, user in enumerate(value)]


def score_pairs(model: ServedModel, instances: Any, settings: Settings) -> dict[str, Any]:
    """KServe V1 ``:predict`` for a recommender: a score per (user, item) instance.

    Unknown users or items follow the trained cold-start policy: ``nan`` → ``null``; ``drop``
    → left out of ``predictions`` and their instance indices listed in ``dropped``."""
    scorer = model.recommender
    if not isinstance(instances, list) or not instances:
        raise InvalidShape('\'instances\' must be a non-empty list of {"user": .., "item": ..}')
    if len(instances) > settings.max_batch:
        raise BatchTooLarge(
            f"{len(instances)} instances sent; at most {settings.max_batch} (SERVING_MAX_BATCH)"
        )
    users, items = [], []
    for i, pair in enumerate(instances):
        if not isinstance(pair, dict) or "user" not in pair or "item" not in pair:
            raise InvalidShape(f'instances[{i}] must be an object {{"user": .., "item": ..}}')
        users.append(scorer.check_id(pair["user"], "user", f"instances[{i}].user"))
        items.append(scorer.check_id(pair["item"], "item", f"instances[{i}].item"))
    scores = scorer.score_pairs(users, items).tolist()
    if scorer.cold_start_policy == "nan":
        return {"predictions": [None if s != s else s for s in scores]}  # NaN → null
    dropped = [i for i, s in enumerate(scores) if s != s]
    return {"predictions": [s for s in scores if s == s], "dropped": dropped}


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise UnsupportedMediaType("send the body as Content-Type: application/json")
    return json_object(request.get_data())


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), mimetype="application/json")
