"""Security headers on every response: no sniffing, no framing, a strict CSP, HSTS over TLS.

The page at ``/`` loads only its own script and stylesheet (no inline code), so the Content
Security Policy can forbid everything else; JSON responses get the same headers at no cost.
"""

from __future__ import annotations

from flask import Flask, Response, request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": CSP,
}


def _add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.headers.get("Authorization"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def install_headers(app: Flask) -> None:
    app.after_request(_add_headers)
