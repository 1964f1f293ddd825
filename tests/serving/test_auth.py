"""Authentication and authorisation through the real app: API keys, tokens, roles, headers."""

from __future__ import annotations

import base64
import json
import logging
import time
import warnings

import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from serving import create_app
from serving.auth.tokens import AUDIENCE, ISSUER, TokenService

from .auth_files import Credentials, write_credentials

PROTECTED = [
    ("POST", "/predict"),
    ("POST", "/v1/models/mnist:predict"),
    ("GET", "/v1/models/mnist"),
    ("GET", "/v2/models/mnist"),
    ("GET", "/v2/models/mnist/ready"),
    ("POST", "/v2/models/mnist/infer"),
    ("POST", "/v2/models/mnist/versions/1/infer"),
    ("POST", "/admin/reload"),
]
OPEN = [
    "/healthz",
    "/readyz",
    "/v2",
    "/v2/health/live",
    "/v2/health/ready",
    "/metrics",
    "/openapi.json",
    "/",
    "/static/app.js",
]


@pytest.fixture(scope="module")
def creds(tmp_path_factory) -> Credentials:
    return write_credentials(tmp_path_factory.mktemp("creds"))


@pytest.fixture(scope="module")
def auth_app(_session_store, creds):
    return create_app(_session_store.config(default_model="mnist", **creds.config()))


@pytest.fixture
def client(auth_app):
    return auth_app.test_client()


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def basic(user: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def predict(client, digit, headers):
    pixels, _ = digit
    return client.post("/predict", json={"pixels": pixels.tolist()}, headers=headers)


def assert_401(response, detail_part: str = "") -> dict:
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith(("Bearer realm=", "Basic realm="))
    body = response.get_json(force=True)
    assert body["status"] == 401
    assert body["type"] == "urn:model-server:problem:unauthorized"
    assert detail_part in body["detail"]
    return body


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_protected_endpoints_need_credentials(client, method, path):
    response = client.open(path, method=method)
    assert_401(response, "Authorization: Bearer")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="model-server"'


@pytest.mark.parametrize("path", OPEN)
def test_probes_metrics_docs_and_page_are_open(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Token abcdefghijklmnopqrstu", "abcdefghijklmnopqrstuvwxyz", "Basic !!"],
)
def test_malformed_authorization_header(client, digit, header):
    body = assert_401(predict(client, digit, {"Authorization": header}), "must be `Bearer")
    assert "error=" not in body  # the challenge, not the body, carries the RFC 6750 code


def test_malformed_header_challenge_says_invalid_token(client, digit):
    response = predict(client, digit, {"Authorization": "Token x"})
    assert (
        response.headers["WWW-Authenticate"] == 'Bearer realm="model-server", error="invalid_token"'
    )


def test_wrong_key_is_refused(client, digit, creds):
    assert_401(predict(client, digit, bearer(creds.api_key + "x")), "API key is not valid")
    assert_401(predict(client, digit, bearer(creds.api_key.upper())), "API key is not valid")


def test_oversized_credential_is_refused_unparsed(client, digit):
    assert_401(predict(client, digit, bearer("a" * 5000)), "too long")


def test_valid_api_key_predicts(client, digit, creds):
    label = digit[1]
    response = predict(client, digit, bearer(creds.api_key))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["digit"] == label
    assert response.headers["Cache-Control"] == "no-store"


def test_admin_key_may_predict_too(client, digit, creds):
    assert predict(client, digit, bearer(creds.admin_key)).status_code == 200


def test_token_flow(client, digit, creds):
    response = client.post("/auth/token", headers=basic(creds.user, creds.password))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    claims = jwt.decode(body["access_token"], creds.secret, algorithms=["HS256"], audience=AUDIENCE)
    assert claims["sub"] == "user:alice"
    assert claims["exp"] - claims["iat"] == 900
    assert predict(client, digit, bearer(body["access_token"])).status_code == 200


@pytest.mark.parametrize(
    ("user", "password"), [("alice", "wrong password!"), ("mallory", "whatever password")]
)
def test_token_needs_the_right_password(client, creds, user, password):
    response = client.post("/auth/token", headers=basic(user, password))
    assert_401(response, "unknown user or wrong password")
    assert response.headers["WWW-Authenticate"] == 'Basic realm="model-server", charset="UTF-8"'


def test_token_endpoint_without_credentials(client):
    assert_401(client.post("/auth/token"), "Authorization")


def test_expired_token_is_refused(client, digit, creds):
    old = TokenService(creds.secret, ttl_seconds=60).issue(_principal(), now=time.time() - 3600)
    assert_401(predict(client, digit, bearer(old.token)), "expired")


def test_token_signed_with_another_secret_is_refused(client, digit, creds):
    forged = TokenService(creds.other_secret).issue(_principal())  # its kid names that secret
    assert_401(predict(client, digit, bearer(forged.token)), "key this server does not hold")
    claims = _claims() | {"roles": ["predict"]}
    no_kid = jwt.encode(claims, creds.other_secret, algorithm="HS256")
    assert_401(predict(client, digit, bearer(no_kid)), "signature does not verify")


def _b64(doc: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()


def _claims() -> dict:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user:mallory",
        "roles": ["predict", "admin"],
        "iat": now,
        "exp": now + 600,
    }


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_forgery_is_refused(client, digit, alg):
    forged = f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(_claims())}."
    assert_401(predict(client, digit, bearer(forged)))
    assert client.post("/admin/reload", headers=bearer(forged)).status_code == 401


def test_other_algorithm_with_the_right_secret_is_refused(client, digit, creds):
    with warnings.catch_warnings():  # PyJWT warns that 54 bytes is short for SHA-512
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        forged = jwt.encode(_claims(), creds.secret, algorithm="HS512")
    assert_401(predict(client, digit, bearer(forged)), "algorithm")


def test_tampered_claims_are_refused(client, digit, creds):
    token = TokenService(creds.secret).issue(_principal()).token
    header, _, signature = token.split(".")
    forged = f"{header}.{_b64(_claims())}.{signature}"
    assert_401(predict(client, digit, bearer(forged)), "signature does not verify")


def test_token_missing_required_claims_is_refused(client, digit, creds):
    no_exp = {k: v for k, v in _claims().items() if k != "exp"}
    assert_401(predict(client, digit, bearer(jwt.encode(no_exp, creds.secret, "HS256"))), "exp")


def test_rotation_accepts_previous_secret_for_verification_only(signed_store, creds, digit):
    rotated = creds.config(
        token_secret_file=creds.dir / "other-secret",
        token_previous_secret_file=creds.dir / "token-secret",
    )
    client = create_app(signed_store.config(default_model="mnist", **rotated)).test_client()
    old_token = TokenService(creds.secret).issue(_principal()).token
    assert predict(client, digit, bearer(old_token)).status_code == 200
    issued = client.post("/auth/token", headers=basic(creds.user, creds.password)).get_json()
    jwt.decode(issued["access_token"], creds.other_secret, algorithms=["HS256"], audience=AUDIENCE)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(issued["access_token"], creds.secret, algorithms=["HS256"], audience=AUDIENCE)


def test_reload_needs_the_admin_role(client, creds):
    token = client.post("/auth/token", headers=basic(creds.user, creds.password)).get_json()
    for credential in (creds.api_key, token["access_token"]):
        response = client.post("/admin/reload", headers=bearer(credential))
        assert response.status_code == 403
        assert response.mimetype == "application/problem+json"
    response = client.post("/admin/reload", headers=bearer(creds.admin_key))
    assert response.status_code == 200
    assert response.get_json()["changed"] is False


def test_new_endpoints_are_protected_by_default(signed_store, creds):
    app = create_app(signed_store.config(**creds.config()))
    app.add_url_rule("/experimental", "experimental", lambda: "secret stuff")
    client = app.test_client()
    assert_401(client.get("/experimental"))
    assert client.get("/experimental", headers=bearer(creds.api_key)).status_code == 200


def test_unknown_urls_are_404_not_401(client):
    assert client.get("/nope").status_code == 404


def test_failures_are_counted_in_metrics(client, digit, creds):
    predict(client, digit, bearer("not-a-key-at-all-1234"))
    predict(client, digit, {})
    text = client.get("/metrics").get_data(as_text=True)
    for reason in ("invalid-key", "missing"):
        line = f'model_server_auth_failures_total{{reason="{reason}"}}'
        assert line in text
        assert float(text.split(line)[1].split()[0]) >= 1


def test_security_headers(client):
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP
    https = client.get("/", base_url="https://localhost")
    assert https.headers["Strict-Transport-Security"].startswith("max-age=")


def test_secrets_never_reach_the_logs(signed_store, creds, digit, caplog):
    caplog.set_level(logging.DEBUG)
    app = create_app(
        signed_store.config(default_model="mnist", log_level="DEBUG", **creds.config())
    )
    client = app.test_client()
    wrong = "wrong-" + creds.api_key[6:]
    token = client.post("/auth/token", headers=basic(creds.user, creds.password)).get_json()
    client.post("/auth/token", headers=basic(creds.user, creds.password + "x"))
    for credential in (creds.api_key, creds.admin_key, wrong, token["access_token"]):
        predict(client, digit, bearer(credential))
        client.post("/admin/reload", headers=bearer(credential))
    assert "auth refused" in caplog.text  # the failures were logged...
    for secret in [*creds.secrets(), wrong, token["access_token"], creds.password + "x"]:
        assert secret not in caplog.text  # ...without the credentials
        assert secret[:12] not in caplog.text


def _principal():
    from serving.auth.principal import Principal

    return Principal("user:alice", frozenset({"predict"}), "password")


def test_openapi_documents_security(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearer": []}]
    assert spec["paths"]["/healthz"]["get"]["security"] == []
    predict_op = spec["paths"]["/predict"]["post"]
    assert "security" not in predict_op  # inherits the global bearer requirement
    assert {"401", "429"} <= set(predict_op["responses"])
    assert spec["paths"]["/auth/token"]["post"]["security"] == [{"basic": []}]
    assert "403" in spec["paths"]["/admin/reload"]["post"]["responses"]


def test_openapi_marks_open_exactly_what_the_server_leaves_open(client):
    """Every path the spec says is open answers without credentials, and vice versa."""
    spec = client.get("/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        if "{" in path:
            continue
        for method, operation in operations.items():
            status = client.open(path, method=method.upper()).status_code
            assert (operation.get("security") == []) == (status != 401), (method, path, status)
