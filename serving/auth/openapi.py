"""The security part of ``/openapi.json``: schemes, who needs what, /auth/token, /admin/reload.

:func:`document` takes the spec of the model endpoints and adds, deny-by-default like the
guard: a global ``bearer`` requirement, ``security: []`` on the open paths only, 401/403/429
problem responses on everything protected, and the two endpoints this package adds.
"""

from __future__ import annotations

import copy
from typing import Any

OPEN_PATHS = frozenset(
    {
        "/",
        "/healthz",
        "/health",
        "/ping",
        "/version",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/v2",
        "/v2/health/live",
        "/v2/health/ready",
    }
)
SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (SERVING_API_KEYS_FILE) or a token from POST /auth/token.",
    },
    "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "User name and password (SERVING_USERS_FILE); only for POST /auth/token.",
    },
}


def _problem(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {"application/problem+json": {"schema": schema}}}


PROTECTED_RESPONSES = {
    "401": _problem("Missing or invalid credentials (with a WWW-Authenticate challenge)"),
    "429": _problem("Rate limit exceeded for this client (see Retry-After)"),
}
TOKEN = {
    "post": {
        "operationId": "issueToken",
        "summary": "Exchange a user name and password (HTTP Basic) for a short-lived bearer token",
        "security": [{"basic": []}],
        "responses": {
            "200": {
                "description": "A signed token (JWT, HS256)",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["access_token", "token_type", "expires_in"],
                            "properties": {
                                "access_token": {"type": "string"},
                                "token_type": {"type": "string", "enum": ["Bearer"]},
                                "expires_in": {"type": "integer"},
                            },
                        }
                    }
                },
            },
            "404": _problem("Token issuance is not configured on this server"),
            **PROTECTED_RESPONSES,
        },
    }
}
RELOAD = {
    "post": {
        "operationId": "adminReload",
        "summary": "Verify and load the model store now (admin API key)",
        "responses": {
            "200": {
                "description": "What changed, what was kept in memory, what was refused",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "403": _problem("The credentials are not an admin key"),
            **PROTECTED_RESPONSES,
        },
    }
}


def document(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``spec`` with the authentication requirements and endpoints added."""
    spec = copy.deepcopy(spec)
    spec.setdefault("components", {})["securitySchemes"] = SCHEMES
    spec["security"] = [{"bearer": []}]
    paths = spec.setdefault("paths", {})
    for path, operations in paths.items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if path in OPEN_PATHS:
                operation["security"] = []
            else:
                for status, response in PROTECTED_RESPONSES.items():
                    operation["responses"].setdefault(status, response)
    paths["/auth/token"] = TOKEN
    paths["/admin/reload"] = RELOAD
    return spec
