"""``POST /auth/token``: exchange a user name and password (HTTP Basic) for a bearer token."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, json

from .errors import TokensNotConfigured

bp = Blueprint("auth", __name__, url_prefix="/auth")
EXTENSION_KEY = "model_server_auth"


@bp.post("/token")
def issue_token() -> Response:
    guard = current_app.extensions.get(EXTENSION_KEY)
    if guard is None:
        raise TokensNotConfigured("authentication is disabled (SERVING_AUTH_ENABLED=false)")
    tokens = guard.authenticator.tokens
    if tokens is None or guard.authenticator.users is None:
        raise TokensNotConfigured(
            "token issuance needs SERVING_USERS_FILE and SERVING_TOKEN_SECRET_FILE; "
            "use an API key instead"
        )
    principal = guard.basic_login()
    issued = tokens.issue(principal)
    body = {"access_token": issued.token, "token_type": "Bearer", "expires_in": issued.expires_in}
    response = Response(json.dumps(body), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 §5.1
    return response
