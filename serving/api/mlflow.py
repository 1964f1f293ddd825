"""MLflow's scoring-server protocol, so an existing MLflow client can point at this server.

``POST /invocations`` takes what ``mlflow models serve`` takes and answers the same way:

- ``Content-Type: application/json`` with exactly one of ``dataframe_split`` (``columns``,
  ``data``, optional ``index``), ``dataframe_records`` (a list of row objects), ``instances`` or
  ``inputs`` (a list of row objects, a list of rows, or an object of columns); an optional
  ``params`` object is accepted and ignored, as MLflow's scikit-learn flavour ignores it (an
  exported pipeline has no inference parameters). Other top-level keys are ignored, as MLflow
  does.
- ``Content-Type: text/csv``: a header row of column names, then one row per line.
- Reply ``{"predictions": [...]}``: class labels for classifiers (what ``predict`` returns),
  numbers for regression.

Which model: the default one (``SERVING_DEFAULT_MODEL``, else the newest), or ``?model=&version=``
as on ``/predict``. Errors are this server's problem+json, plus MLflow's ``error_code`` and
``message`` members so MLflow clients can read them. ``GET /ping`` (and ``/health``) and
``GET /version`` answer as MLflow's server does; they are open like the other probes.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, Response, request

from .. import tracing
from ..bodies import json_object
from ..errors import PROBLEM_JSON, BadRequest, UnsupportedMediaType
from ..frames import SPLIT, Table, csv_input, model_input
from ..recommend import refuse_recommender
from ..scoring import predict
from ..state import server_state
from ..version import __version__

bp = Blueprint("mlflow", __name__)
probes = Blueprint("mlflow_probes", __name__)

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
PARAMS = "params"
CONTENT_TYPES = ("application/json", "text/csv")
_ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    413: "BAD_REQUEST",
    415: "BAD_REQUEST",
    429: "REQUEST_LIMIT_EXCEEDED",
    503: "TEMPORARILY_UNAVAILABLE",
}


@bp.post("/invocations")
def invocations() -> Response:
    state = server_state()
    model = state.registry.snapshot.get(request.args.get("model"), request.args.get("version"))
    tracing.tag_model(model)
    refuse_recommender(model, "/invocations (MLflow)")
    mimetype = _content_type()
    max_batch, max_text = state.settings.max_batch, state.settings.max_text_chars
    if mimetype == "text/csv":
        with tracing.step("decode"):
            text = _text()
        with tracing.step("preprocess"):  # parses the CSV against the schema
            inputs = csv_input(text, model, max_batch, max_text=max_text)
    else:
        with tracing.step("decode"):
            name, table = _json_table(_json_doc())
        with tracing.step("preprocess"):
            inputs = model_input(table, model, max_batch, name, max_text=max_text)
    prediction = predict(model, inputs, state.metrics)
    with tracing.step("encode"):
        body = orjson.dumps({"predictions": model.answers(prediction)})
    return Response(body, mimetype="application/json")


@bp.after_request
def _mlflow_error_fields(response: Response) -> Response:
    """MLflow clients read ``error_code`` and ``message``; problem+json keeps its own fields."""
    if response.mimetype != PROBLEM_JSON:
        return response
    try:
        body = orjson.loads(response.get_data())
    except orjson.JSONDecodeError:
        return response
    status = response.status_code
    body.setdefault("error_code", _ERROR_CODES.get(status, "INTERNAL_ERROR"))
    body.setdefault("message", body.get("detail", ""))
    response.set_data(orjson.dumps(body))
    return response


@probes.get("/ping")
@probes.get("/health")
def ping() -> Response:
    """MLflow's health check: 200 once a verified model is loaded."""
    ready = server_state().registry.snapshot.ready
    return Response("\n", status=200 if ready else 503, mimetype="text/plain")


@probes.get("/version")
def version() -> Response:
    """MLflow's server answers its own version; this one answers the model server's."""
    return Response(__version__, mimetype="text/plain")


def _content_type() -> str:
    mimetype, options = request.mimetype, request.mimetype_params
    if mimetype not in CONTENT_TYPES:
        raise UnsupportedMediaType(
            f"/invocations takes Content-Type application/json or text/csv, not "
            f"{request.content_type or 'none'!r}"
        )
    charset = options.get("charset", "utf-8").lower()
    if charset != "utf-8":
        raise UnsupportedMediaType(f"only UTF-8 bodies are accepted, not charset={charset}")
    unknown = sorted(set(options) - {"charset"})
    if unknown:
        raise UnsupportedMediaType(
            f"unrecognised content type parameters: {', '.join(unknown)}. MLflow 2 dropped "
            "the 1.x 'format=pandas-split/records' parameters: wrap the rows in "
            '{"dataframe_split": ...} or {"dataframe_records": ...} instead'
        )
    return mimetype


def _text() -> str:
    try:
        return request.get_data().decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the CSV body is not valid UTF-8") from None


def _json_doc() -> dict[str, Any]:
    return json_object(
        request.get_data(),
        non_finite="NaN/Infinity are not JSON; send null",
        not_an_object=lambda doc: _format_hint(f"got a JSON {type(doc).__name__}"),
    )


def _json_table(doc: dict[str, Any]) -> tuple[str, Table]:
    """The one input format of the body, as a Table; ``params`` is checked and ignored."""
    present = [key for key in FORMATS if key in doc]
    if len(present) != 1:
        raise BadRequest(_format_hint(f"got the fields {sorted(doc)}"))
    params = doc.get(PARAMS)
    if params is not None and not isinstance(params, dict):
        raise BadRequest("'params' must be an object of parameter names to values")
    name = present[0]
    value = doc[name]
    if name == "dataframe_records":
        if not (isinstance(value, list) and value and all(isinstance(r, dict) for r in value)):
            raise BadRequest("'dataframe_records' must be a non-empty list of row objects")
        return name, Table("records", value)
    if name == "dataframe_split":
        return name, _split(value)
    return name, Table.of(value, name)


def _split(value: Any) -> Table:
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        raise BadRequest(
            "'dataframe_split' must be an object with 'columns' (names) and 'data' (rows), "
            "as pandas DataFrame.to_dict(orient='split') writes it"
        )
    unknown = sorted(set(value) - {"columns", "data", "index"})
    if unknown:
        raise BadRequest(f"'dataframe_split' has unexpected key(s): {', '.join(unknown)}")
    index = value.get("index")
    if index is not None and (not isinstance(index, list) or len(index) != len(value["data"])):
        raise BadRequest("'dataframe_split.index' must be a list with one entry per row")
    return Table(SPLIT, value["data"], value.get("columns"))


def _format_hint(got: str) -> str:
    return (
        "the body must be a JSON object with exactly one of the fields "
        f"{', '.join(FORMATS)} (and optionally 'params'); {got}"
    )
