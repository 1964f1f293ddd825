"""/openapi.json describes the API, and the API keeps to it under generated requests."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from serving import create_app

#: Routes deliberately left out of /openapi.json (by endpoint), each with the reason.
UNDOCUMENTED = {
    "static": "the page's scripts and styles (/static/<path:filename>): files, not operations",
}
METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def openapi_path(rule: str) -> str:
    """A Flask rule in OpenAPI's notation: ``<var>`` and ``<converter:var>`` become ``{var}``."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"{\1}", rule)


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        (
            "/v2/models/<name>/versions/<version>/infer",
            "/v2/models/{name}/versions/{version}/infer",
        ),
        ("/v1/models/<name>:predict", "/v1/models/{name}:predict"),
        ("/static/<path:filename>", "/static/{filename}"),
        ("/items/<int(signed=True):n>", "/items/{n}"),
        ("/healthz", "/healthz"),
    ],
)
def test_openapi_path(rule, path):
    assert openapi_path(rule) == path


def served_operations(app) -> set[tuple[str, str]]:
    """(path, method) of every route the app answers, but HEAD, OPTIONS and UNDOCUMENTED."""
    return {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in UNDOCUMENTED
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def documented_operations(spec: dict) -> set[tuple[str, str]]:
    """(path, method) of every operation /openapi.json describes."""
    return {
        (path, method)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in METHODS
    }


def test_every_route_and_method_is_in_the_spec(session_app):
    spec = session_app.test_client().get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    missing = served_operations(session_app) - documented_operations(spec)
    assert not missing, f"routes missing from /openapi.json: {sorted(missing)}"


def test_every_operation_in_the_spec_is_a_route(session_app):
    spec = session_app.test_client().get("/openapi.json").get_json()
    unknown = documented_operations(spec) - served_operations(session_app)
    assert not unknown, f"/openapi.json describes what no route answers: {sorted(unknown)}"


def test_undocumented_routes_exist(session_app):
    """An exclusion outliving its route would hide the next route given that endpoint name."""
    endpoints = {rule.endpoint for rule in session_app.url_map.iter_rules()}
    assert set(UNDOCUMENTED) <= endpoints


def test_tabular_formats_and_validation_are_documented(session_app):
    spec = session_app.test_client().get("/openapi.json").get_json()
    invocations = spec["paths"]["/invocations"]["post"]
    content = invocations["requestBody"]["content"]
    assert set(content) == {"application/json", "text/csv"}
    formats = content["application/json"]["schema"]["properties"]
    assert set(formats) == {"dataframe_split", "dataframe_records", "instances", "inputs", "params"}
    for text in (
        invocations["description"],
        spec["paths"]["/v2/models/{name}/infer"]["post"]["description"],
    ):
        assert "unseen" in text
        assert "null" in text.lower()
    assert {"/ping", "/health", "/version"} <= set(spec["paths"])


@pytest.mark.slow
def test_api_conforms_to_its_spec(session_store):
    """Generated requests for every operation: no 5xx, and statuses/bodies as documented."""
    app = create_app(session_store.config(default_model="mnist"))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ]
            )

        check()
        checked += 1
    assert checked >= 15
