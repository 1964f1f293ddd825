"""WSGI entry point for Gunicorn: ``serving.wsgi:app``, configured from ``SERVING_*`` env."""

from serving import create_app

app = create_app()
