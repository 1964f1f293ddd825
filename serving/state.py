"""What the views share: settings, the model registry and metrics, stored on the app."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from .metrics import Metrics
from .registry import ModelRegistry
from .settings import Settings

EXTENSION_KEY = "model_server"


@dataclass(frozen=True)
class ServerState:
    settings: Settings
    registry: ModelRegistry
    metrics: Metrics | None


def attach(app: Flask, state: ServerState) -> None:
    app.extensions[EXTENSION_KEY] = state


def server_state() -> ServerState:
    """The state of the app handling the current request."""
    return current_app.extensions[EXTENSION_KEY]
