"""The smallest apps that answer the seed contract's POST, for bench/stack_floor.py.

Each reads the uploaded body and answers ``{"digit": 7}`` without looking at it: what they
cost per request is what the HTTP stack under them costs (Gunicorn's worker, and Flask for
``flask_app``), the part of every request no application work can remove.
"""

from __future__ import annotations

from flask import Flask, request

ANSWER = b'{"digit": 7}'


def bare(environ, start_response):
    """A plain WSGI callable: read the body, answer."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(ANSWER)))]
    start_response("200 OK", headers)
    return [ANSWER]


flask_app = Flask(__name__)


@flask_app.post("/predict")
def predict():
    """One Flask route: the request and response objects, routing, no application work."""
    request.get_data()
    return flask_app.response_class(ANSWER, mimetype="application/json")
