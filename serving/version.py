"""The server's version, in a module of its own so that any part of ``serving`` can name it
without importing the application factory in ``serving/__init__.py``."""

__version__ = "0.1.0"
