"""artifacts.runtime.open: the one kind dispatch, and what the opened Model answers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import artifacts
from artifacts import runtime
from tests.artifacts.recommender_data import make_factors

REPO = Path(__file__).resolve().parents[3]
ROWS = np.random.default_rng(1).random((30, 4))
ARRAYS = ("user_factors", "item_factors", "seen_indptr", "seen_items", "popularity")


def save_recommender(store: Path, keys, factors=None) -> Path:
    factors = factors or make_factors()
    return artifacts.save_recommender(
        store, "recs", factors, signer=keys.signer(), version="1", rank=factors.rank,
        implicit=False, cold_start="nan",
    )  # fmt: skip


def test_an_estimator_opens_as_a_model_named_by_its_ref(estimator, keys, signed, store):
    ref = artifacts.resolve(store, "demo")
    model = runtime.open(ref, keys.verifier())
    assert (model.name, model.version, model.is_recommender) == ("demo", "1", False)
    assert runtime.claimed_kind(signed) == runtime.ESTIMATOR
    assert model.fast_path  # a logistic regression: the compiled probability function
    prediction = model.predict(ROWS)
    np.testing.assert_allclose(prediction.probabilities, estimator.predict_proba(ROWS), atol=1e-9)
    assert model.answers(prediction) == estimator.predict(ROWS).tolist()


def test_exact_answers_are_the_estimators_bits(estimator, keys, signed):
    model = runtime.open(signed, keys.verifier(), exact=True)
    assert (model.name, model.version) == ("demo", "1")  # from the directory
    assert not model.fast_path
    got = model.predict(ROWS).probabilities
    assert got.tobytes() == estimator.predict_proba(ROWS).tobytes()


def test_a_recommender_opens_with_its_scorer(keys, store):
    factors = make_factors()
    path = save_recommender(store, keys, factors)
    assert runtime.claimed_kind(path) == runtime.RECOMMENDER
    model = runtime.open(path, keys.verifier())
    assert model.is_recommender
    assert model.task == "recommendation"
    rebuilt = model.recommender.factors()  # what batch scoring broadcasts
    assert (rebuilt.user_ids, rebuilt.item_ids) == (factors.user_ids, factors.item_ids)
    for name in ARRAYS:
        assert np.array_equal(getattr(rebuilt, name), getattr(factors, name)), name
    top = model.recommender.recommend([factors.user_ids[0]], 3)[0]
    assert len(top.items) == 3
    assert not top.cold_start
    problem = model.recommender.id_problem(7, "user")
    assert problem == "user ids of this model are strings, got int 7"
    assert model.recommender.id_problem("u", "item") is None


def test_a_tampered_artifact_is_refused_whatever_its_kind(keys, signed, store):
    (signed / artifacts.MODEL_FILE).write_bytes(b"not the signed bytes")
    with pytest.raises(artifacts.ArtifactError):
        runtime.open(signed, keys.verifier())
    path = save_recommender(store, keys)
    (path / "popularity.npy").write_bytes(b"\x93NUMPY")
    with pytest.raises(artifacts.ArtifactError):
        runtime.open(path, keys.verifier())


def test_the_runtime_imports_no_web_framework_and_no_spark():
    """Spark executors import it: no serving, Flask or pyspark may come along."""
    code = "import json, sys, artifacts.runtime; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    loaded = {name.split(".")[0] for name in json.loads(out.stdout)}
    assert not loaded & {"serving", "flask", "werkzeug", "pyspark", "spark_jobs"}
