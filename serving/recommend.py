"""Recommender models in every protocol: the checks of ids and ``k``, top-K with its metrics,
pair scoring, and refusing a recommender where feature rows are expected — around the runtime's
:class:`artifacts.runtime.FactorScorer` (shared with batch scoring). The views
(:mod:`serving.api.recommend`, ``:predict``, MLflow, V2) import these from here.

- Pair scoring follows the trained ``coldStartStrategy`` for an unknown user or item:
  ``"nan"`` scores it NaN (``null`` in JSON), ``"drop"`` leaves it out and reports it.
"""

from __future__ import annotations

from typing import Any

from artifacts.runtime import FactorScorer, Model
from artifacts.runtime.topk import CHUNK_USERS, Recommendation

from . import deadline
from .errors import BadRequest, BatchTooLarge, InvalidDatatype, InvalidShape, WrongModelKind
from .settings import Settings
from .state import server_state

__all__ = [
    "CHUNK_USERS",
    "InvalidId",
    "Recommendation",
    "check_id",
    "check_k",
    "check_users",
    "recommend",
    "refuse_recommender",
    "require_recommender",
    "score_pairs",
]


class InvalidId(InvalidDatatype):
    """An id of the wrong type for the model (a number for string ids, a bool, an object…)."""

    status, title, slug = 400, "Wrong id type", "invalid-id"


def check_id(scorer: FactorScorer, value: Any, which: str, where: str) -> Any:
    """``value`` if it has the model's ``which`` ("user" or "item") id type, else a 400."""
    problem = scorer.id_problem(value, which)
    if problem:
        raise InvalidId(f"{where}: {problem}")
    return value


def check_k(value: Any, limit: int, where: str = "k") -> int:
    """A positive integer ``k`` no larger than ``limit`` (SERVING_MAX_RECOMMEND_K)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidDatatype(f"'{where}' must be an integer, got {_shown(value)}")
    if value <= 0:
        raise BadRequest(f"'{where}' must be at least 1, got {value}")
    if value > limit:
        raise BadRequest(f"'{where}' is at most {limit} (SERVING_MAX_RECOMMEND_K), got {value}")
    return value


def recommend(model: Model, users: list[Any], k: int, exclude_seen: bool) -> list[Recommendation]:
    """Top-K for each user, counted in the metrics (users, and how many got the fallback)."""
    deadline.check()  # 504 rather than work nobody waits for (serving.deadline)
    answers = model.recommender.recommend(users, k, exclude_seen=exclude_seen)
    metrics = server_state().metrics
    if metrics is not None:
        metrics.record_recommendations(model, len(answers), sum(a.cold_start for a in answers))
    return answers


def require_recommender(model: Model) -> FactorScorer:
    if not model.is_recommender:
        raise WrongModelKind(
            f"model {model.name!r} is a {model.task} model, not a recommender; use :predict"
        )
    return model.recommender


def refuse_recommender(model: Model, endpoint: str) -> None:
    """Endpoints that take feature rows or images answer a clear 400 for a recommender."""
    if model.is_recommender:
        raise WrongModelKind(
            f"model {model.name!r} is a recommender: {endpoint} does not serve it. Use "
            f"POST /v1/models/{model.name}:recommend for top-K items, :predict with "
            '{"instances": [{"user": ..., "item": ...}]} for pair scores, or V2 /infer'
        )


def check_users(value: Any, scorer: FactorScorer, settings: Settings) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise InvalidShape("'users' must be a non-empty list of user ids")
    if len(value) > settings.max_recommend_users:
        raise BatchTooLarge(
            f"{len(value)} users sent; at most {settings.max_recommend_users} per request "
            "(SERVING_MAX_RECOMMEND_USERS)"
        )
    return [check_id(scorer, user, "user", f"users[{i}]") for i, user in enumerate(value)]


def score_pairs(model: Model, instances: Any, settings: Settings) -> dict[str, Any]:
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
        users.append(check_id(scorer, pair["user"], "user", f"instances[{i}].user"))
        items.append(check_id(scorer, pair["item"], "item", f"instances[{i}].item"))
    scores = scorer.score_pairs(users, items).tolist()
    if scorer.cold_start_policy == "nan":
        return {"predictions": [None if s != s else s for s in scores]}  # NaN → null
    dropped = [i for i, s in enumerate(scores) if s != s]
    return {"predictions": [s for s in scores if s == s], "dropped": dropped}


def _shown(value: Any) -> str:
    text = repr(value)
    shown = text if len(text) <= 40 else text[:37] + "..."
    return f"{type(value).__name__} {shown}"
