"""The OpenAPI 3 description of every endpoint, served at ``/openapi.json``.

Built from plain dicts so it stays next to the code it documents; tests validate it with
``openapi-spec-validator`` (via schemathesis) and fuzz the API against it.
"""

from __future__ import annotations

from typing import Any

from .version import __version__

_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_ROW = {"type": "array", "items": {"type": "number"}, "minItems": 1}
_RECORD = {
    "type": "object",
    "description": "One row by column name: {column: value}",
    "additionalProperties": True,
}
_TABLE_ROWS = {
    "oneOf": [
        {"type": "array", "minItems": 1, "items": {"oneOf": [_ROW, _RECORD]}},
        {
            "type": "object",
            "description": "Columns: {column: [value per row]} (TF-serving columnar form)",
            "additionalProperties": {"type": "array"},
        },
    ]
}
VALIDATION = (
    "Tabular models validate every row against the artifact's typed input schema and answer "
    "one 400 (problem+json, slug schema-mismatch) whose `problems` list names every bad field "
    "at once: {field, row, message} for an unknown column, a missing required column, a value "
    "of the wrong type (a string or a boolean in a numeric column, a fraction in a long column) "
    "or an unseen category where the column refuses them. Nulls: a null (an empty CSV cell) is "
    "a missing value, accepted in every column that had missing values in training "
    "(`nullable`, see the V2 model metadata) and imputed as the Spark pipeline did; such "
    "columns may also be left out. Unseen categories: a column with `unseen: keep` scores them "
    "as Spark's StringIndexer handleInvalid='keep' does (the unknown bucket); a column with "
    "`unseen: error` refuses them. Numbers outside the training range are accepted. Booleans "
    'may be JSON true/false or the strings "true"/"false".'
)


def _problems(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {
            "description": "Problem details (RFC 9457)",
            "content": {"application/problem+json": {"schema": _PROBLEM}},
        }
        for status in statuses
    }


def _ok(schema: dict, description: str = "OK") -> dict[str, Any]:
    return {
        "200": {"description": description, "content": {"application/json": {"schema": schema}}}
    }


def _param(name: str, where: str = "path", description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": {"type": "string", "minLength": 1},
    }


_SELECT = [
    _param("model", "query", "Model name (default: SERVING_DEFAULT_MODEL or the newest)"),
    _param("version", "query", "Model version (default: latest)"),
]
_NAME = _param("name", description="Model name")
_VERSION = _param("version", description="Model version")


def _v2_model_paths(suffix: str, operation: dict[str, Any], method: str) -> dict[str, Any]:
    return {
        f"/v2/models/{{name}}{suffix}": {method: {**operation, "parameters": [_NAME]}},
        f"/v2/models/{{name}}/versions/{{version}}{suffix}": {
            method: {
                **operation,
                "operationId": operation["operationId"] + "Version",
                "parameters": [_NAME, _VERSION],
            }
        },
    }


def _v1_predict(operation_id: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": "KServe V1: rows (lists, or objects by column name) → predictions",
        "description": "Classifiers answer labels, regression models numbers. " + VALIDATION,
        "parameters": parameters,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Instances"}}},
        },
        "responses": {
            **_ok(
                {
                    "type": "object",
                    "required": ["predictions"],
                    "properties": {"predictions": {"type": "array"}},
                }
            ),
            **_problems(400, 404, 413, 415, 503),
        },
    }


def _v1_recommend(operation_id: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    item = {
        "type": "object",
        "properties": {"item": {}, "score": {"type": "number"}},
    }
    answer = {
        "type": "object",
        "required": ["user", "items", "cold_start"],
        "properties": {
            "user": {},
            "items": {"type": "array", "items": item},
            "cold_start": {"type": "boolean"},
        },
    }
    return {
        "operationId": operation_id,
        "summary": "Recommender models: top-K items for a user, or for a list of users",
        "description": "Send exactly one of `user` (an id) or `users` (a list → a list of "
        "answers). `k` (default 10, at most SERVING_MAX_RECOMMEND_K) and `exclude_seen` "
        "(default true: leave out items the user had in training). An unknown user gets the "
        "most popular items with `cold_start: true`; see docs/recommendations.md.",
        "parameters": parameters,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "user": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                            "users": {"type": "array"},
                            "k": {"type": "integer", "minimum": 1, "default": 10},
                            "exclude_seen": {"type": "boolean", "default": True},
                        },
                    }
                }
            },
        },
        "responses": {
            **_ok({"oneOf": [answer, {"type": "array", "items": answer}]}),
            **_problems(400, 404, 413, 415, 503),
        },
    }


def _mlflow_paths() -> dict[str, Any]:
    formats = {
        "type": "object",
        "description": "Exactly one of dataframe_split, dataframe_records, instances, inputs; "
        "`params` is accepted and ignored (exported scikit-learn pipelines take no inference "
        "parameters, as MLflow's sklearn flavour ignores them); other keys are ignored.",
        "properties": {
            "dataframe_split": {
                "type": "object",
                "required": ["data"],
                "properties": {
                    "columns": {"type": "array", "items": {"type": "string"}},
                    "data": {"type": "array", "items": {"type": "array"}},
                    "index": {"type": "array"},
                },
            },
            "dataframe_records": {"type": "array", "minItems": 1, "items": _RECORD},
            "instances": _TABLE_ROWS,
            "inputs": _TABLE_ROWS,
            "params": {"type": "object", "nullable": True},
        },
    }
    probe = {
        "200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}
    }
    not_ready = {
        "503": {
            "description": "No verified model loaded",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    }
    return {
        "/invocations": {
            "post": {
                "operationId": "mlflowInvocations",
                "summary": 'MLflow scoring-server protocol: rows → {"predictions": [...]}',
                "description": "Scores with the default model (SERVING_DEFAULT_MODEL, else the "
                "newest) unless ?model=&version= choose one. Classifiers answer their original "
                "labels, regression models numbers. Errors are problem+json with MLflow's "
                "`error_code` and `message` members added. " + VALIDATION,
                "parameters": _SELECT,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": formats},
                        "text/csv": {
                            "schema": {"type": "string"},
                            "description": "A header row of column names, then one row per "
                            "line; an empty cell is a missing value",
                        },
                    },
                },
                "responses": {
                    **_ok(
                        {
                            "type": "object",
                            "required": ["predictions"],
                            "properties": {"predictions": {"type": "array"}},
                        }
                    ),
                    **_problems(400, 404, 413, 415, 503),
                },
            }
        },
        "/ping": {
            "get": {
                "operationId": "mlflowPing",
                "summary": "MLflow health check: 200 once a verified model is loaded",
                "responses": {**probe, **not_ready},
            }
        },
        "/health": {
            "get": {
                "operationId": "mlflowHealth",
                "summary": "Same as /ping",
                "responses": {**probe, **not_ready},
            }
        },
        "/version": {
            "get": {
                "operationId": "mlflowVersion",
                "summary": "The model server's version (MLflow's server answers its own)",
                "responses": probe,
            }
        },
    }


def build_spec() -> dict[str, Any]:
    """The whole document; cheap enough to rebuild, but the view caches it."""
    infer = {
        "operationId": "v2Infer",
        "summary": "Open Inference Protocol inference (JSON or binary tensor extension)",
        "description": "Image and vector models: one tensor `input` [n, features] (FP32 "
        "recommended). Tabular models: one input per column named after it, as MLServer's "
        "pandas codec sends a DataFrame — BYTES for string columns, BOOL for booleans, "
        "INT64/FP64 for numbers, shape [n] or [n, 1], null for a missing value — or, when every "
        "column is numeric, the single [n, columns] tensor. Outputs: classifiers `label` and "
        "`probabilities`; regression `predictions` (FP64). " + VALIDATION,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/InferRequest"}},
                "application/octet-stream": {
                    "schema": {"type": "string", "format": "binary"},
                    "description": "JSON header of Inference-Header-Content-Length bytes, "
                    "then raw tensor bytes",
                },
            },
        },
        "responses": {
            **_ok({"$ref": "#/components/schemas/InferResponse"}),
            **_problems(400, 404, 413, 415, 503),
        },
    }
    metadata = {
        "operationId": "v2ModelMetadata",
        "summary": "Model metadata: inputs and outputs with datatype and shape",
        "responses": {**_ok({"$ref": "#/components/schemas/ModelMetadata"}), **_problems(404)},
    }
    ready = {
        "operationId": "v2ModelReady",
        "summary": "Whether the model (version) is loaded and verified",
        "responses": {**_ok({"type": "object"}), **_problems(404)},
    }
    paths: dict[str, Any] = {
        "/": {
            "get": {
                "operationId": "page",
                "summary": "The draw-a-digit page (HTML; it calls this API like any client)",
                "responses": {
                    "200": {
                        "description": "The page",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/predict": {
            "post": {
                "operationId": "predict",
                "summary": "Seed contract: an image upload (or JSON pixels) → digit",
                "parameters": _SELECT,
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {"file": {"type": "string", "format": "binary"}},
                            }
                        },
                        "application/json": {"schema": {"$ref": "#/components/schemas/Pixels"}},
                    },
                },
                "responses": {
                    **_ok({"$ref": "#/components/schemas/Prediction"}),
                    **_problems(400, 404, 413, 415, 503),
                },
            }
        },
        "/v1/models/{name}": {
            "get": {
                "operationId": "v1ModelStatus",
                "parameters": [_NAME],
                "responses": {**_ok({"type": "object"}), **_problems(404)},
            }
        },
        "/v1/models/{name}:predict": {"post": _v1_predict("v1Predict", [_NAME])},
        "/v1/models/{name}/versions/{version}:predict": {
            "post": _v1_predict("v1PredictVersion", [_NAME, _VERSION])
        },
        "/v1/models/{name}:recommend": {"post": _v1_recommend("v1Recommend", [_NAME])},
        "/v1/models/{name}/versions/{version}:recommend": {
            "post": _v1_recommend("v1RecommendVersion", [_NAME, _VERSION])
        },
        "/v2": {"get": {"operationId": "v2Server", "responses": _ok({"type": "object"})}},
        "/v2/health/live": {"get": {"operationId": "v2Live", "responses": _ok({"type": "object"})}},
        "/v2/health/ready": {
            "get": {
                "operationId": "v2Ready",
                "responses": {
                    **_ok({"type": "object"}),
                    "503": {"description": "Not ready", "content": {"application/json": {}}},
                },
            }
        },
        **_v2_model_paths("", metadata, "get"),
        **_v2_model_paths("/ready", ready, "get"),
        **_v2_model_paths("/infer", infer, "post"),
        "/healthz": {"get": {"operationId": "healthz", "responses": _ok({"type": "object"})}},
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "description": 'Only {"ready"} while authentication is on (GET /status has '
                "the served and failed models); never looks at credentials.",
                "responses": {
                    **_ok({"$ref": "#/components/schemas/Readiness"}),
                    "503": {
                        "description": "No verified model loaded, or this worker sheds load",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Readiness"}
                            }
                        },
                    },
                },
            }
        },
        "/status": {
            "get": {
                "operationId": "status",
                "summary": "Readiness with the served and failed models (needs a key)",
                "responses": {
                    **_ok({"$ref": "#/components/schemas/ReadinessReport"}),
                    "503": {
                        "description": "No verified model loaded, or this worker sheds load",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ReadinessReport"}
                            }
                        },
                    },
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "responses": {
                    "200": {
                        "description": "Prometheus text exposition",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_problems(404),
                },
            }
        },
        "/openapi.json": {"get": {"operationId": "openapi", "responses": _ok({"type": "object"})}},
        **_mlflow_paths(),
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "model-server",
            "version": __version__,
            "description": "Serves signed scikit-learn models exported from Spark MLlib.",
        },
        "paths": paths,
        "components": {"schemas": _schemas()},
    }


def _schemas() -> dict[str, Any]:
    tensor_meta = {
        "type": "object",
        "required": ["name", "datatype", "shape"],
        "properties": {
            "name": {"type": "string"},
            "datatype": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer"}},
        },
    }
    return {
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "error": {"type": "string"},
            },
        },
        "Pixels": {
            "type": "object",
            "properties": {
                "pixels": {**_ROW, "description": "784 values in [0, 1], row-major 28x28"},
                "instances": _TABLE_ROWS,
            },
        },
        "Instances": {
            "type": "object",
            "required": ["instances"],
            "properties": {"instances": _TABLE_ROWS},
        },
        "Prediction": {
            "type": "object",
            "required": ["model", "version"],
            "properties": {
                "digit": {"description": "Predicted class label"},
                "probabilities": {
                    "type": "array",
                    "items": {"type": "number"},
                    "nullable": True,
                },
                "predictions": {"type": "array", "items": {"type": "object"}},
                "model": {"type": "string"},
                "version": {"type": "string"},
            },
        },
        "InferRequest": {
            "type": "object",
            "required": ["inputs"],
            "properties": {
                "id": {"type": "string"},
                "parameters": {"type": "object"},
                "inputs": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 1024,
                    "items": {
                        **tensor_meta,
                        "properties": {
                            **tensor_meta["properties"],
                            "data": {"type": "array"},
                            "parameters": {"type": "object"},
                        },
                    },
                },
                "outputs": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {
                            "name": {
                                "type": "string",
                                "enum": ["label", "probabilities", "predictions"],
                            },
                            "parameters": {"type": "object"},
                        },
                    },
                },
            },
        },
        "InferResponse": {
            "type": "object",
            "required": ["model_name", "outputs"],
            "properties": {
                "model_name": {"type": "string"},
                "model_version": {"type": "string"},
                "id": {"type": "string"},
                "outputs": {
                    "type": "array",
                    "items": {
                        **tensor_meta,
                        "properties": {**tensor_meta["properties"], "data": {"type": "array"}},
                    },
                },
            },
        },
        "ModelMetadata": {
            "type": "object",
            "required": ["name", "platform", "inputs", "outputs"],
            "properties": {
                "name": {"type": "string"},
                "versions": {"type": "array", "items": {"type": "string"}},
                "platform": {"type": "string"},
                "inputs": {"type": "array", "items": tensor_meta},
                "outputs": {"type": "array", "items": tensor_meta},
            },
        },
        "Readiness": {
            "type": "object",
            "required": ["ready"],
            "properties": {"ready": {"type": "boolean"}},
        },
        "ReadinessReport": {
            "type": "object",
            "required": ["ready", "overloaded", "models", "failures"],
            "properties": {
                "ready": {"type": "boolean"},
                "overloaded": {"type": "boolean"},
                "default_model": {"type": "string", "nullable": True},
                "models": {"type": "array", "items": {"type": "object"}},
                "failures": {"type": "array", "items": {"type": "object"}},
            },
        },
    }
