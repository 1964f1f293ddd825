"""The stock tritonclient HTTP client against a real Gunicorn: JSON and binary tensors."""

from __future__ import annotations

import numpy as np
import pytest
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from .live import running_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(session_store, tmp_path_factory):
    env = {
        "SERVING_MODEL_STORE": str(session_store.path),
        "SERVING_VERIFY_KEY_FILE": str(session_store.key_file),
        "SERVING_DEFAULT_MODEL": "mnist",
        "WEB_CONCURRENCY": "2",
        "SERVING_ACCESS_LOG": "false",
        "SERVING_AUTH_ENABLED": "false",  # auth is covered by test_auth*.py
        "SERVING_RATE_LIMIT_ENABLED": "false",
    }
    log = tmp_path_factory.mktemp("gunicorn") / "server.log"
    with running_server(env, log) as base:
        yield base


@pytest.fixture
def triton(server):
    client = httpclient.InferenceServerClient(url=server.removeprefix("http://"))
    yield client
    client.close()


def _infer(client, rows, *, binary_in, binary_out, version=""):
    tensor = httpclient.InferInput("input", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows.astype(np.float32), binary_data=binary_in)
    outputs = [
        httpclient.InferRequestedOutput("label", binary_data=binary_out),
        httpclient.InferRequestedOutput("probabilities", binary_data=binary_out),
    ]
    return client.infer("mnist", [tensor], outputs=outputs, model_version=version, request_id="r1")


def test_server_and_model_health(triton):
    assert triton.is_server_live()
    assert triton.is_server_ready()
    assert triton.is_model_ready("mnist")
    assert triton.is_model_ready("mnist", "1")
    assert not triton.is_model_ready("no-such-model")
    assert "binary_tensor_data" in triton.get_server_metadata()["extensions"]


def test_model_metadata(triton):
    meta = triton.get_model_metadata("mnist")
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 784]}]
    assert {o["name"] for o in meta["outputs"]} == {"label", "probabilities"}
    assert meta["versions"] == ["1", "2"]


@pytest.mark.parametrize(("binary_in", "binary_out"), [(False, False), (True, True), (True, False)])
def test_batch_round_trip(triton, session_store, binary_in, binary_out):
    rows = session_store.images[:64]
    result = _infer(triton, rows, binary_in=binary_in, binary_out=binary_out)
    labels = result.as_numpy("label")
    probabilities = result.as_numpy("probabilities")
    assert labels.shape == (64,)
    assert probabilities.shape == (64, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(labels, probabilities.argmax(axis=1))
    assert (labels == session_store.labels[:64]).mean() > 0.8
    assert result.get_response()["model_version"] == "2"
    assert result.get_response()["id"] == "r1"


def test_default_outputs_are_binary(triton, session_store):
    tensor = httpclient.InferInput("input", [2, 784], "FP32")
    tensor.set_data_from_numpy(session_store.images[:2].astype(np.float32))
    result = triton.infer("mnist", [tensor], model_version="1")
    assert result.as_numpy("label").shape == (2,)
    assert result.get_response()["model_version"] == "1"


def test_errors_reach_the_client(triton, session_store):
    tensor = httpclient.InferInput("input", [1, 10], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 10), dtype=np.float32))
    with pytest.raises(InferenceServerException, match="784"):
        triton.infer("mnist", [tensor])
    with pytest.raises(InferenceServerException, match="no model named"):
        triton.infer("nope", [tensor])


@pytest.mark.parametrize("binary_in", [False, True])
def test_empty_batch_is_a_client_error(triton, binary_in):
    """tritonclient sends shape [0, 784] as it is; the answer is a 400 it reports, not a 500."""
    with pytest.raises(InferenceServerException, match="the batch is empty") as caught:
        _infer(triton, np.zeros((0, 784)), binary_in=binary_in, binary_out=False)
    assert caught.value.status() == "400"
