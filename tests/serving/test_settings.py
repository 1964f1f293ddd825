"""Settings: env parsing, precedence, and errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.settings import Settings, SettingsError


def test_defaults():
    settings = Settings.from_env({})
    assert settings.model_store == Path("model-store")
    assert settings.verify_key_file is None
    assert settings.bind == "127.0.0.1:8000"
    assert settings.max_body_bytes == 8 * 1024 * 1024
    assert settings.signature_scheme == "auto"


def test_env_values_are_parsed():
    settings = Settings.from_env(
        {
            "SERVING_MODEL_STORE": "/srv/models",
            "SERVING_VERIFY_KEY_FILE": "/keys/pub.pem",
            "SERVING_MAX_BATCH": "64",
            "SERVING_METRICS_ENABLED": "false",
            "SERVING_LOG_LEVEL": "debug",
            "SERVING_SIGNATURE_SCHEME": "openssf",
            "UNRELATED": "x",
        }
    )
    assert settings.model_store == Path("/srv/models")
    assert settings.verify_key_file == Path("/keys/pub.pem")
    assert settings.max_batch == 64
    assert settings.metrics_enabled is False
    assert settings.log_level == "DEBUG"
    assert settings.signature_scheme == "openssf"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SERVING_MAX_BATCH", "0"),
        ("SERVING_MAX_BATCH", "many"),
        ("SERVING_METRICS_ENABLED", "perhaps"),
        ("SERVING_SIGNATURE_SCHEME", "md5"),
        ("SERVING_LOG_LEVEL", "LOUD"),
        ("SERVING_VERSION_SKEW", "ignore"),
    ],
)
def test_bad_values_name_the_variable(variable, value):
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: value})


def test_overrides_win_and_are_parsed():
    settings = Settings.from_env({"SERVING_MAX_BATCH": "64"}).merged(
        {"max_batch": "8", "model_store": "/tmp/s"}
    )
    assert settings.max_batch == 8
    assert settings.model_store == Path("/tmp/s")
    with pytest.raises(SettingsError, match="unknown serving settings: nope"):
        settings.merged({"nope": 1})


def test_every_setting_is_documented():
    rows = Settings.describe()
    assert all(variable.startswith("SERVING_") and doc for variable, _, doc in rows)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"proxy_hops": -1}, "proxy_hops: must be an integer >= 0"),
        ({"max_batch": 0}, "max_batch: must be a positive integer"),
        ({"max_batch": True}, "max_batch: expected int, got a boolean"),
        ({"reload_interval": -2.5}, "reload_interval: must be a number of seconds"),
        ({"metrics_enabled": "maybe"}, "metrics_enabled: expected true/false"),
        ({"signature_scheme": "rsa"}, "signature_scheme: expected one of"),
        ({"tls_cert_file": "/c.pem"}, "must be set together"),
    ],
)
def test_typed_overrides_are_validated_like_the_env(overrides, match):
    with pytest.raises(SettingsError, match=match):
        Settings().merged(overrides)


def test_typed_overrides_keep_their_values():
    settings = Settings().merged(
        {
            "proxy_hops": 2,
            "metrics_enabled": False,
            "reload_interval": 0.5,
            "model_store": Path("s"),
        }
    )
    assert (settings.proxy_hops, settings.metrics_enabled) == (2, False)
    assert (settings.reload_interval, settings.model_store) == (0.5, Path("s"))
