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
    """Each header the view did not set itself (one pass over the response's headers)."""
    wanted = dict(HEADERS)
    if request.is_secure:
        wanted["Strict-Transport-Security"] = "max-age=31536000"
    if "Authorization" in request.headers:
        wanted["Cache-Control"] = "no-store"
    headers = response.headers
    present = {name.lower() for name in headers.keys()}  # noqa: SIM118 - Headers iterates pairs
    headers.extend((name, value) for name, value in wanted.items() if name.lower() not in present)
    return response


def install_headers(app: Flask) -> None:
    app.after_request(_add_headers)
