"""The seed contract ``POST /predict`` and the KServe V1 ``:predict`` endpoints.

``/predict`` stays compatible with the seed article's clients: a multipart ``file`` upload gets
``{"digit": N}`` back (now with ``probabilities``, ``model`` and ``version`` added). It also
takes JSON: ``{"pixels": [784 numbers]}`` for one row or ``{"instances": [[...], ...]}``.
A tabular model takes ``instances`` as row objects by column name (or positional rows, or an
object of columns) on both endpoints; regression answers carry numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from flask import Blueprint, Response, request

from artifacts.runtime import Model, Prediction
from artifacts.runtime.preprocess import to_mnist

from .. import tracing
from ..bodies import json_object, model_status
from ..errors import BadRequest, MissingField, UnsupportedMediaType
from ..frames import Table, model_input, positional
from ..inputs import row_from_json, rows_from_json
from ..multipart import field_bytes
from ..recommend import refuse_recommender, score_pairs
from ..scoring import predict as run_model
from ..settings import Settings
from ..state import server_state
from ..uploads import decode_upload

bp = Blueprint("predict", __name__)


@bp.post("/predict")
def predict() -> Response:
    state = server_state()
    model = state.registry.snapshot.get(request.args.get("model"), request.args.get("version"))
    tracing.tag_model(model)
    refuse_recommender(model, "/predict")
    if request.mimetype == "multipart/form-data":
        rows, single = _uploaded_rows(model, state.settings), True
    elif request.is_json:
        rows, single = _json_rows(model, state.settings)
    else:
        raise UnsupportedMediaType(
            "send multipart/form-data with the image in field 'file', or application/json "
            'with {"pixels": [...]} or {"instances": [[...], ...]}'
        )
    prediction = _run(model, rows)
    with tracing.step("encode"):
        return _json(_predict_body(model, prediction, single))


@bp.get("/v1/models/<name>")
def v1_status(name: str) -> Response:
    model = server_state().registry.snapshot.get(name)
    return _json(model_status(model))


@bp.post("/v1/models/<name>:predict")
@bp.post("/v1/models/<name>/versions/<version>:predict")
def v1_predict(name: str, version: str | None = None) -> Response:
    state = server_state()
    model = state.registry.snapshot.get(name, version)
    tracing.tag_model(model)
    with tracing.step("decode"):
        doc = _json_body()
    if "instances" not in doc:
        raise MissingField('send {"instances": [[...], ...]}: one list of numbers per row')
    if model.is_recommender:
        with tracing.step("predict"):  # scoring pairs: the factors' dot products, and the answer
            return _json(score_pairs(model, doc["instances"], state.settings))
    with tracing.step("preprocess"):
        rows = _instances(doc["instances"], model, state.settings)
    prediction = _run(model, rows)
    with tracing.step("encode"):
        return _json({"predictions": model.answers(prediction)})


def _predict_body(model: Model, prediction: Prediction, single: bool) -> dict[str, Any]:
    probabilities = prediction.probabilities
    if single:
        body: dict[str, Any] = {
            _answer_key(model): model.answers(prediction)[0],
            "probabilities": probabilities[0].tolist() if probabilities is not None else None,
        }
    else:
        body = {"predictions": _per_row(model, prediction)}
    body["model"], body["version"] = model.name, model.version
    return body


def _uploaded_rows(model: Model, settings: Settings) -> np.ndarray:
    with tracing.step("decode"):
        upload = field_bytes(
            request.get_data(cache=False), request.mimetype_params.get("boundary"), "file"
        )
        if upload is None:
            raise MissingField("send the image as multipart/form-data field 'file'")
        if not model.accepts_images:
            raise BadRequest(
                f"model {model.name!r} takes {model.n_features} numeric features, not images; "
                'send JSON {"instances": [[...]]}'
            )
        image = decode_upload(upload, settings.max_image_pixels, settings.max_image_side)
    with tracing.step("preprocess"):
        return to_mnist(image).reshape(1, -1)


def _json_rows(model: Model, settings: Settings) -> tuple[np.ndarray, bool]:
    with tracing.step("decode"):
        doc, limit = _json_body(), settings.max_values
    if "pixels" in doc:
        if model.is_tabular:
            raise BadRequest(
                f"model {model.name!r} takes named columns: send "
                '{"instances": [{"column": value, ...}, ...]}'
            )
        with tracing.step("preprocess"):
            return row_from_json(doc["pixels"], model, "pixels", limit), True
    if "instances" in doc:
        with tracing.step("preprocess"):
            return _instances(doc["instances"], model, settings), False
    raise MissingField('send {"pixels": [...]} for one image or {"instances": [[...], ...]}')


def _instances(instances: Any, model: Model, settings: Settings) -> Any:
    """Positional number rows keep the array fast path; row objects and tabular models go
    through the typed schema."""
    if model.is_tabular or not positional(instances):
        table = Table.of(instances, "instances")
        return model_input(
            table, model, settings.max_batch, "instances", max_text=settings.max_text_chars
        )
    return rows_from_json(instances, model, settings.max_batch, "instances", settings.max_values)


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise UnsupportedMediaType("send the body as Content-Type: application/json")
    return json_object(request.get_data())


def _run(model: Model, rows: Any) -> Prediction:
    return run_model(model, rows, server_state().metrics)


def _answer_key(model: Model) -> str:
    """Classifiers answer ``digit`` (the seed contract's name); other models ``prediction``."""
    return "digit" if model.is_classifier else "prediction"


def _per_row(model: Model, prediction: Prediction) -> list[dict[str, Any]]:
    key, answers = _answer_key(model), model.answers(prediction)
    if prediction.probabilities is None:
        return [{key: answer, "probabilities": None} for answer in answers]
    return [
        {key: answer, "probabilities": row}
        for answer, row in zip(answers, prediction.probabilities.tolist(), strict=True)
    ]


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), mimetype="application/json")
