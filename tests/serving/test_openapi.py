"""/openapi.json describes the API, and the API keeps to it under generated requests."""

from __future__ import annotations

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


def test_spec_lists_every_route(session_app):
    spec = session_app.test_client().get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = set(spec["paths"])
    for rule in session_app.url_map.iter_rules():
        if rule.endpoint in ("static",) or rule.rule.startswith(("/auth", "/admin", "/static")):
            continue  # auth, admin and the page are documented by their own module
        path = rule.rule.replace("<", "{").replace(">", "}")
        if path == "/":
            continue
        assert path in documented, f"{path} missing from /openapi.json"


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
