"""The served recommender: :mod:`artifacts.topk`'s scorer (shared with batch scoring) plus the
API's checks of ids and ``k``.

- Pair scoring follows the trained ``coldStartStrategy`` for an unknown user or item:
  ``"nan"`` scores it NaN (``null`` in JSON), ``"drop"`` leaves it out and reports it.
"""

from __future__ import annotations

from typing import Any

from artifacts.topk import CHUNK_USERS, FactorScorer, Recommendation

from .errors import BadRequest, InvalidDatatype

__all__ = ["CHUNK_USERS", "InvalidId", "Recommendation", "Recommender", "check_k"]


class InvalidId(InvalidDatatype):
    """An id of the wrong type for the model (a number for string ids, a bool, an object…)."""

    status, title, slug = 400, "Wrong id type", "invalid-id"


class Recommender(FactorScorer):
    """The served scorer: :class:`artifacts.topk.FactorScorer` plus the API's id checks."""

    # --- ids ----------------------------------------------------------------------------------
    def check_id(self, value: Any, which: str, where: str) -> Any:
        """``value`` if it has the model's id type (a string, or an integer not a bool)."""
        ints = self.user_ids_are_ints if which == "user" else self.item_ids_are_ints
        ok = (
            (isinstance(value, int) and not isinstance(value, bool))
            if ints
            else isinstance(value, str)
        )
        if not ok:
            wanted = "integers" if ints else "strings"
            raise InvalidId(f"{where}: {which} ids of this model are {wanted}, got {_shown(value)}")
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


def _shown(value: Any) -> str:
    text = repr(value)
    shown = text if len(text) <= 40 else text[:37] + "..."
    return f"{type(value).__name__} {shown}"
