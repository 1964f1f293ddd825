"""Signatures bound to `<name>/<version>`, and `latest` never rolled back on its own."""

from __future__ import annotations

import shutil

import pytest

import artifacts
from serving.errors import NoModelLoaded
from serving.registry import ModelRegistry
from serving.reload import Reloader
from serving.settings import Settings

from .conftest import MNIST_SCHEMA


def registry_for(store, **overrides) -> ModelRegistry:
    return ModelRegistry(Settings().merged(store.config(**overrides)))


def _failure_reasons(snapshot) -> dict[tuple, str]:
    return {(f.name, f.version): f.reason for f in snapshot.failures}


def test_old_version_copied_to_a_higher_number_is_refused(signed_store):
    shutil.copytree(signed_store.path / "mnist" / "1", signed_store.path / "mnist" / "99")
    snapshot = registry_for(signed_store).load()
    assert _failure_reasons(snapshot)[("mnist", "99")] == "IdentityMismatch"
    assert snapshot.get("mnist").version == "2"


def test_another_models_artifact_copied_under_a_name_is_refused(signed_store):
    shutil.copytree(signed_store.path / "tabular" / "1", signed_store.path / "mnist" / "100")
    snapshot = registry_for(signed_store).load()
    assert _failure_reasons(snapshot)[("mnist", "100")] == "IdentityMismatch"
    assert snapshot.get("mnist").version == "2"
    assert snapshot.get("mnist").manifest["name"] == "mnist"


def test_loader_names_both_identities(signed_store):
    target = signed_store.path / "mnist" / "7"
    shutil.copytree(signed_store.path / "tabular" / "1", target)
    verifier = artifacts.load_verifier(signed_store.key_file)
    with pytest.raises(artifacts.IdentityMismatch, match=r"tabular/1") as info:
        artifacts.load(target, verifier=verifier)
    assert "<name>/<version>" in str(info.value)


def test_deleting_the_newest_version_does_not_roll_latest_back(signed_store):
    registry = registry_for(signed_store)
    registry.reload()
    assert registry.snapshot.get("mnist").version == "2"
    shutil.rmtree(signed_store.path / "mnist" / "2")
    snapshot = registry.reload()
    assert _failure_reasons(snapshot)[("mnist", "1")] == "RollbackRefused"
    with pytest.raises(NoModelLoaded, match="refusing to roll back"):
        snapshot.get("mnist")
    assert snapshot.get("mnist", "1").version == "1"  # an explicit version still answers
    assert snapshot.get("tabular").version == "1"  # other models are unaffected
    assert snapshot.default_name != "mnist"


def test_hot_reload_keeps_refusing_a_rollback(signed_store):
    registry = registry_for(signed_store)
    reloader = Reloader(registry, signed_store.path, interval=0, metrics=None)
    reloader.reload()
    shutil.rmtree(signed_store.path / "mnist" / "2")
    reloader.reload()
    with pytest.raises(NoModelLoaded, match="refusing to roll back"):
        registry.snapshot.get("mnist")


def test_an_operator_pin_allows_going_back(signed_store):
    registry = registry_for(signed_store)
    registry.reload()
    shutil.rmtree(signed_store.path / "mnist" / "2")
    pinned = registry_for(signed_store, pinned_versions="mnist=1")
    pinned._served_high = dict(registry._served_high)  # same process history
    snapshot = pinned.reload()
    assert snapshot.get("mnist").version == "1"
    assert "RollbackRefused" not in _failure_reasons(snapshot).values()


def test_pin_of_a_missing_version_is_reported(signed_store):
    snapshot = registry_for(signed_store, pinned_versions="mnist=5").load()
    assert _failure_reasons(snapshot)[("mnist", "5")] == "PinnedVersionMissing"


def test_newer_versions_still_advance_latest(signed_store, mnist_sample):
    registry = registry_for(signed_store)
    registry.reload()
    estimator = registry.snapshot.get("mnist").estimator
    signer = artifacts.load_signer(signed_store.key_file)
    artifacts.save(
        estimator, signed_store.path, "mnist", version="3", signer=signer, input_schema=MNIST_SCHEMA
    )
    assert registry.reload().get("mnist").version == "3"


@pytest.mark.parametrize("raw", ["mnist", "mnist=1=2", "../x=1", "mnist=1 2"])
def test_bad_pins_are_refused(raw):
    from serving.settings import SettingsError

    with pytest.raises(SettingsError, match="SERVING_PINNED_VERSIONS"):
        Settings.from_env({"SERVING_PINNED_VERSIONS": raw})
