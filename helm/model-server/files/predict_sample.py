"""`helm test` hook: check the probes, then send one request that fits the served model.

Env (rendered from the chart's `tests` values):
  TARGET_URL      http://<service>:<port>
  TEST_KIND       auto | digit | recommend | metadata
                  auto: ask the server what it serves (GET /status with the API key names the
                  default model, GET /v2/models/<model> its kind) and run the check below that
                  fits: recommend for a recommender, digit for a 28x28 image model, metadata
                  for anything else (tabular or vector models).
  TEST_MODEL      model name for recommend/metadata; empty = the server's default model
  TEST_USER       recommend: a user the model knows (the answer must not be the cold-start
                  fallback); empty = a made-up user, answered with the most popular items
  TEST_K          recommend: items to ask for (the answer must hold min(k, catalogue) items)
  EXPECTED_DIGIT  digit: what the sample PNG must be predicted as
  SAMPLE          digit: path of the PNG
  API_KEY_FILE    optional: the server's API keys file; its first key is sent as a Bearer token
Exits non-zero with one line on failure, which fails `helm test`.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

BASE = os.environ["TARGET_URL"].rstrip("/")
IMAGE_FEATURES = 28 * 28
KINDS = ("auto", "digit", "recommend", "metadata")
COLD_USER = "helm-test-cold-start-user"
COLD_INT_USER = -987654321


class Failed(Exception):
    """One line saying what the check found."""


def api_key() -> str | None:
    key_file = os.environ.get("API_KEY_FILE", "")
    if not key_file or not os.path.exists(key_file):
        return None
    with open(key_file, encoding="utf-8") as fh:
        keys = [line.strip() for line in fh if line.strip() and not line.startswith("#")]
    return keys[0] if keys else None


def call(path: str, body: bytes | None = None, content_type: str = "") -> tuple[int, dict]:
    """GET (no body) or POST; returns (status, JSON reply). Network errors raise Failed."""
    request = urllib.request.Request(BASE + path, data=body)  # noqa: S310 (the chart's URL)
    if content_type:
        request.add_header("Content-Type", content_type)
    key = api_key()
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode("utf-8", "replace").replace("\n", " ")
        raise Failed(f"{path} answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise Failed(f"{path}: {exc}") from None


def probes() -> None:
    for path in ("/healthz", "/readyz"):
        status, _ = call(path)
        if status != 200:
            raise Failed(f"{path} answered {status}")


def model_name() -> str:
    name, why = os.environ.get("TEST_MODEL", ""), "no default model"
    if not name:
        try:  # needs a valid API key (or authentication off)
            name = call("/status")[1].get("default_model") or ""
        except Failed as exc:
            why = str(exc)
    if not name:
        raise Failed(
            "no model to check: GET /status names the default model only to a valid API key "
            f"(auth.apiKeys); or set tests.request.model ({why})"
        )
    return urllib.parse.quote(name, safe="")


def metadata(model: str) -> dict:
    _, reply = call(f"/v2/models/{model}")
    if not reply.get("inputs") or not reply.get("outputs"):
        raise Failed(f"/v2/models/{model} lists no inputs or outputs: {reply}")
    _, ready = call(f"/v2/models/{model}/ready")
    if ready.get("ready") is not True:
        raise Failed(f"/v2/models/{model}/ready answered {ready}")
    return reply


def check_metadata(model: str) -> str:
    reply = metadata(model)
    inputs = ", ".join(i["name"] for i in reply["inputs"])
    return f"/v2/models/{model} ({reply.get('platform')}) is ready, inputs: {inputs}"


def check_digit() -> str:
    expected = int(os.environ["EXPECTED_DIGIT"])
    with open(os.environ.get("SAMPLE", "/opt/test/sample.png"), "rb") as fh:
        png = fh.read()
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="digit.png"\r\nContent-Type: image/png\r\n\r\n'
        ).encode()
        + png
        + f"\r\n--{boundary}--\r\n".encode()
    )
    path = "/predict"
    if os.environ.get("TEST_MODEL"):
        path += "?model=" + urllib.parse.quote(os.environ["TEST_MODEL"], safe="")
    _, answer = call(path, body, f"multipart/form-data; boundary={boundary}")
    if answer.get("digit") != expected:
        raise Failed(f"expected digit {expected}, got {answer}")
    return f"/predict answered {answer}"


def check_recommend(model: str, meta: dict) -> str:
    k = int(os.environ.get("TEST_K", "5"))
    ints = meta["inputs"][0].get("datatype") == "INT64"
    user_text = os.environ.get("TEST_USER", "")
    if user_text:
        try:
            user: str | int = int(user_text) if ints else user_text
        except ValueError:
            message = f"model {model} has integer user ids; tests.request.user is {user_text!r}"
            raise Failed(message) from None
    else:
        user = COLD_INT_USER if ints else COLD_USER
    body = json.dumps({"user": user, "k": k, "exclude_seen": False}).encode()
    _, answer = call(f"/v1/models/{model}:recommend", body, "application/json")
    want = min(k, int(meta.get("parameters", {}).get("items", k)))
    items = answer.get("items")
    if not isinstance(items, list) or len(items) != want:
        raise Failed(f"expected {want} items for user {user!r}, got {answer}")
    if bool(user_text) == bool(answer.get("cold_start")):
        known = "a user the model knows" if user_text else "a made-up user"
        raise Failed(f"cold_start is {answer.get('cold_start')} for {known} ({user!r})")
    return f":recommend answered {len(items)} items for user {user!r}: {items[0]}"


def main() -> str:
    kind = os.environ.get("TEST_KIND", "auto")
    if kind not in KINDS:
        raise Failed(f"unknown TEST_KIND {kind!r} ({', '.join(KINDS)})")
    probes()
    if kind == "digit":
        return check_digit()
    model = model_name()
    if kind == "metadata":
        return check_metadata(model)
    meta = metadata(model)
    recommender = meta.get("platform") == "spark-als"
    if kind == "recommend" and not recommender:
        raise Failed(f"model {model} is not a recommender (platform {meta.get('platform')})")
    if recommender:
        return check_recommend(model, meta)
    shape = meta["inputs"][0].get("shape", [])
    if len(meta["inputs"]) == 1 and shape[-1:] == [IMAGE_FEATURES]:
        return check_digit()
    return check_metadata(model)


if __name__ == "__main__":
    try:
        print(f"OK: {main()}")
    except Failed as exc:
        sys.exit(f"FAIL: {exc}")
