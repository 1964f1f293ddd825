"""Open Inference Protocol (V2) model endpoints: metadata, readiness and inference.

Server-level endpoints (``/v2``, ``/v2/health/*``) live in :mod:`serving.api.health`, since
probes must stay reachable without credentials.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, json, request

from artifacts.runtime import Model

from .. import oip, oip_recommend, tracing
from ..bodies import model_status
from ..errors import InvalidShape
from ..frames import COLUMNS, ROWS, Table, model_input
from ..inputs import check_batch, check_values, validate_rows
from ..recommend import recommend
from ..scoring import predict
from ..settings import Settings
from ..state import server_state

bp = Blueprint("v2", __name__, url_prefix="/v2/models/<name>")


@bp.get("")
@bp.get("/versions/<version>")
def model_metadata(name: str, version: str | None = None) -> Response:
    snapshot = server_state().registry.snapshot
    model = snapshot.get(name, version)
    versions = [model.version] if version else list(snapshot.models[name])
    if model.is_recommender:
        max_k = server_state().settings.max_recommend_k
        return _json(oip_recommend.metadata(model, versions, max_k))
    return _json(oip.metadata(model, versions))


@bp.get("/ready")
@bp.get("/versions/<version>/ready")
def model_ready(name: str, version: str | None = None) -> Response:
    model = server_state().registry.snapshot.get(name, version)
    return _json(model_status(model))


@bp.post("/infer")
@bp.post("/versions/<version>/infer")
def infer(name: str, version: str | None = None) -> Response:
    state = server_state()
    model = state.registry.snapshot.get(name, version)
    tracing.tag_model(model)
    if model.is_recommender:
        body, header_length = _recommend(model, state.settings)
    else:
        with tracing.step("decode"):
            parsed = oip.parse_infer_request(
                request.get_data(), request.headers.get(oip.HEADER_LENGTH), oip.output_names(model)
            )
        with tracing.step("preprocess"):
            check_values(parsed.size, state.settings.max_values)  # before converting to float64
            inputs = _model_input(parsed, model, state.settings)
        prediction = predict(model, inputs, state.metrics)
        with tracing.step("encode"):
            body, header_length = oip.encode_response(parsed, model, prediction)
    if header_length is None:
        return Response(body, mimetype="application/json")
    response = Response(body, mimetype="application/octet-stream")
    response.headers[oip.HEADER_LENGTH] = str(header_length)
    return response


def _recommend(model: Model, settings: Settings) -> tuple[bytes, int | None]:
    """Top-K for a ``user`` tensor; ``k``/``exclude_seen`` are request parameters."""
    with tracing.step("decode"):
        parsed = oip.parse_infer_request(
            request.get_data(), request.headers.get(oip.HEADER_LENGTH), oip_recommend.OUTPUTS
        )
    with tracing.step("preprocess"):
        k, exclude_seen = oip_recommend.request_options(parsed, settings.max_recommend_k)
        users = oip_recommend.users_of(parsed, model.recommender, settings.max_recommend_users)
    with tracing.step("predict"):
        answers = recommend(model, users, k, exclude_seen)
    with tracing.step("encode"):
        return oip_recommend.encode(parsed, model, answers, k)


def _model_input(parsed: oip.InferRequest, model: Model, settings: Settings) -> Any:
    """One tensor for image and vector models; per column (or one all-numeric matrix) for
    tabular models."""
    max_batch, max_text = settings.max_batch, settings.max_text_chars
    if model.is_tabular:
        if oip.per_column(parsed, model):
            table = Table(COLUMNS, oip.columns_of(parsed))
            return model_input(table, model, max_batch, "inputs", max_text=max_text)
        if any(column.categorical for column in model.inputs.columns):
            raise InvalidShape(
                f"model {model.name!r} has categorical columns: send one input per column, "
                "named after it (see the model metadata)"
            )
        rows = oip.rows_of(parsed.tensor, model, parsed.name)
        table = Table(ROWS, rows.tolist())
        return model_input(table, model, max_batch, f"input {parsed.name}", max_text=max_text)
    if len(parsed.tensors) > 1:
        raise InvalidShape(f"model {model.name!r} takes exactly one input ({oip.INPUT_NAME!r})")
    rows = oip.rows_of(parsed.tensor, model, parsed.name)
    check_batch(rows.shape[0], max_batch)
    return validate_rows(rows, model, f"input {parsed.name}")


def _json(body: dict) -> Response:
    return Response(json.dumps(body), mimetype="application/json")
