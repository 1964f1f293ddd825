"""Reads before verification are bounded (issue 27, item 6): a huge, sparse, symlinked or
special manifest or signature costs no memory, never blocks, and never stops the other
artifacts from loading — it is refused by name, logged and counted."""

from __future__ import annotations

import os
import threading
import tracemalloc

import pytest

from artifacts import layout
from serving import create_app
from serving.registry import ModelRegistry
from serving.settings import Settings

SPARSE_BYTES = 256 << 20  # the review's sparse manifest: no disk, 256 MiB if read
#: Peak Python allocation allowed while loading the whole store (3 small models): far below
#: the 256 MiB a read of the bad file would cost, far above what loading the models needs.
PEAK_BOUND = 48 << 20


def sparse(path, size: int = SPARSE_BYTES) -> None:
    with open(path, "wb") as fh:
        fh.truncate(size)


def make_bad(artifact, how: str, tmp_path) -> str:
    """Break ``artifact`` one way; returns a phrase the refusal must contain."""
    manifest = artifact / layout.MANIFEST_FILE
    if how == "sparse-manifest":
        sparse(manifest)
        return f"at most {layout.MAX_MANIFEST_BYTES}"
    if how == "symlinked-manifest":  # to a sparse file, so following it would cost 256 MiB
        target = tmp_path / "elsewhere.json"
        sparse(target)
        manifest.unlink()
        manifest.symlink_to(target)
        return "symlink"
    if how == "fifo-manifest":  # reading it would block the load forever
        manifest.unlink()
        os.mkfifo(manifest)
        return "not a regular file"
    if how == "sparse-signature":
        sparse(artifact / layout.HMAC_SIGNATURE_FILE, layout.MAX_SIGNATURE_BYTES + 1)
        return f"at most {layout.MAX_SIGNATURE_BYTES}"
    raise AssertionError(how)


BAD = ["sparse-manifest", "symlinked-manifest", "fifo-manifest", "sparse-signature"]


def load_in_thread(registry: ModelRegistry):
    """Load with a time limit: a read that blocks (a FIFO) must fail the test, not hang it."""
    result = {}
    worker = threading.Thread(target=lambda: result.update(snapshot=registry.load()), daemon=True)
    worker.start()
    worker.join(60)
    assert "snapshot" in result, "loading the store blocked"
    return result["snapshot"]


@pytest.mark.parametrize("how", BAD)
def test_one_bad_artifact_is_refused_cheaply_and_the_rest_serve(signed_store, tmp_path, how):
    phrase = make_bad(signed_store.path / "mnist" / "2", how, tmp_path)
    registry = ModelRegistry(Settings().merged(signed_store.config()))
    tracemalloc.start()
    try:
        snapshot = load_in_thread(registry)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BOUND, f"peak {peak / 2**20:.0f} MiB: the bad file was read"
    assert {name: list(v) for name, v in snapshot.models.items()} == {
        "mnist": ["1"],
        "tabular": ["1"],
    }
    [failure] = snapshot.failures
    assert (failure.name, failure.version, failure.reason) == ("mnist", "2", "LayoutError")
    assert phrase in failure.detail
    assert snapshot.ready


def test_the_bad_artifact_is_logged_counted_and_the_good_ones_serve(signed_store, tmp_path, caplog):
    make_bad(signed_store.path / "mnist" / "2", "sparse-manifest", tmp_path)
    client = create_app(signed_store.config()).test_client()
    assert "not serving mnist/2: LayoutError" in caplog.text
    metrics = client.get("/metrics").get_data(as_text=True)
    assert (
        'model_server_model_load_failures_total{model="mnist",reason="LayoutError",version="2"}'
        " 1.0" in metrics
    )
    assert "model_server_models_loaded 2.0" in metrics
    answer = client.post("/predict?model=mnist", json={"pixels": [0.0] * 784}).get_json()
    assert answer["version"] == "1"


def test_read_bounded_checks_the_size_before_reading(tmp_path):
    big = tmp_path / "big"
    sparse(big)
    tracemalloc.start()
    try:
        with pytest.raises(layout.LayoutError, match=f"has {SPARSE_BYTES} bytes; at most 1024"):
            layout.read_bounded(big, 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
    small = tmp_path / "small"
    small.write_bytes(b"x" * 1024)
    assert layout.read_bounded(small, 1024) == b"x" * 1024
