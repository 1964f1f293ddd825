"""JSON bodies that more than one protocol shares: the request object and the readiness reply.

The seed/V1 endpoints and MLflow's ``/invocations`` both take a JSON object and must refuse
anything else with the same ``InvalidJSON`` (400); only the hint that follows differs per
protocol, so the parsing lives here once and each endpoint passes its own wording.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from artifacts.runtime import Model

from .errors import InvalidJSON


def _plain_object_hint(doc: Any) -> str:
    return "the body must be a JSON object"


def json_object(
    data: bytes,
    *,
    non_finite: str = "NaN/Infinity are not JSON",
    not_an_object: Callable[[Any], str] = _plain_object_hint,
) -> dict[str, Any]:
    """``data`` parsed as a JSON object; ``InvalidJSON`` otherwise.

    ``non_finite`` is the parenthesised hint after "not valid JSON" (the usual cause is a NaN a
    client's encoder wrote); ``not_an_object`` words the refusal of valid JSON that is not an
    object, given the parsed value.
    """
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"the body is not valid JSON ({non_finite}): {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidJSON(not_an_object(doc))
    return doc


def model_status(model: Model) -> dict[str, Any]:
    """The readiness reply of KServe V1 ``GET /v1/models/<name>`` and V2 ``.../ready``."""
    return {"name": model.name, "version": model.version, "ready": True}
