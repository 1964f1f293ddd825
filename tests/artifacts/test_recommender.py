"""The pickle-free recommender artifact: round trip, tamper refusal, and proof that loading never
unpickles. Signed with both schemes (the `keys` fixture)."""

from __future__ import annotations

import io
import json
import pathlib
import pickle
from pathlib import Path

import numpy as np
import pytest

import artifacts
from artifacts import recommender
from artifacts.layout import HMAC_SIGNATURE_FILE, OPENSSF_SIGNATURE_FILE, sha256_hex

from .conftest import _Marker
from .recommender_data import make_factors

METRICS = {"test": {"rmse": 0.91, "ndcg@10": 0.42}}


def save(store: Path, keys, factors=None, **kw) -> Path:
    factors = factors or make_factors()
    args = {"rank": factors.rank, "implicit": False, "cold_start": "nan", "metrics": METRICS}
    return artifacts.save_recommender(
        store, "recs", factors, signer=keys.signer(), version="1", **{**args, **kw}
    )


def assert_same(a: recommender.Factors, b: recommender.Factors) -> None:
    assert a.user_ids == b.user_ids
    assert a.item_ids == b.item_ids
    for name in ("user_factors", "item_factors", "seen_indptr", "seen_items", "popularity"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        assert np.array_equal(x, y), name


@pytest.mark.parametrize("string_ids", [True, False])
def test_round_trip(keys, store, string_ids):
    factors = make_factors(string_ids=string_ids)
    lineage = {"source": "ratings.csv", "rows": 120}
    path = save(store, keys, factors, implicit=True, cold_start="drop", lineage=lineage)

    loaded, doc = artifacts.load_recommender(path, keys.verifier())

    assert_same(factors, loaded)
    assert doc["kind"] == "recommender"
    assert doc["output_schema"]["task"] == "recommendation"
    assert doc["recommender"] == {
        "rank": 8,
        "implicit": True,
        "cold_start": "drop",
        "users": 40,
        "items": 60,
        "interactions": 120,
        "user_id_type": "string" if string_ids else "long",
        "item_id_type": "string" if string_ids else "long",
    }
    assert doc["metrics"] == METRICS
    assert doc["lineage"] == lineage
    names = {p.name for p in path.iterdir()}
    assert "model.joblib.gz" not in names
    assert {"ids.json", "manifest.json", *recommender.ARRAY_DTYPES} <= names
    assert artifacts.verify(path, keys.verifier())["name"] == "recs"
    assert artifacts.resolve(store, "recs").path == path


def test_estimator_loader_refuses_a_recommender(keys, store):
    path = save(store, keys)
    with pytest.raises(artifacts.WrongKind, match="load_recommender"):
        artifacts.load(path, verifier=keys.verifier())


def test_recommender_loader_refuses_an_estimator(keys, signed):
    with pytest.raises(artifacts.WrongKind):
        artifacts.load_recommender(signed, keys.verifier())


def test_no_key_is_refused(keys, store):
    with pytest.raises(artifacts.NoVerificationKey):
        artifacts.load_recommender(save(store, keys), None)


# --- tampering: refused before anything is parsed --------------------------------------------


def _npy(arr: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def swap_item_factors(path: Path) -> None:
    other = np.zeros_like(np.load(path / "item_factors.npy"))
    (path / "item_factors.npy").write_bytes(_npy(other))


def swap_npy_files(path: Path) -> None:
    a, b = path / "popularity.npy", path / "seen_items.npy"
    da, db = a.read_bytes(), b.read_bytes()
    a.write_bytes(db)
    b.write_bytes(da)


def edit_ids(path: Path) -> None:
    doc = json.loads((path / "ids.json").read_text())
    doc["users"][0], doc["users"][1] = doc["users"][1], doc["users"][0]
    (path / "ids.json").write_text(json.dumps(doc))


def swap_and_fix_manifest_digest(path: Path) -> None:
    swap_item_factors(path)
    doc = json.loads((path / "manifest.json").read_text())
    data = (path / "item_factors.npy").read_bytes()
    doc["files"]["item_factors.npy"] = {"sha256": sha256_hex(data), "size": len(data)}
    (path / "manifest.json").write_text(json.dumps(doc))


def drop_popularity(path: Path) -> None:
    (path / "popularity.npy").unlink()


@pytest.mark.parametrize(
    "tamper",
    [swap_item_factors, swap_npy_files, edit_ids, swap_and_fix_manifest_digest, drop_popularity],
)
def test_tampering_is_refused_before_parsing(keys, store, monkeypatch, tamper):
    path = save(store, keys)
    tamper(path)

    def never(*_a, **_k):
        raise AssertionError("parsed a file of an unverified artifact")

    monkeypatch.setattr(recommender, "_parse_array", never)
    monkeypatch.setattr(recommender, "_parse_ids", never)
    monkeypatch.setattr(np, "load", never)
    with pytest.raises(artifacts.ArtifactError) as info:
        artifacts.load_recommender(path, keys.verifier())
    assert not isinstance(info.value, artifacts.RecommenderInvalid)
    with pytest.raises(artifacts.ArtifactError):
        artifacts.verify(path, keys.verifier())


def resign(path: Path, keys, fname: str, data: bytes) -> None:
    """Replace a file and sign the result properly: what a holder of a leaked key could do."""
    (path / fname).write_bytes(data)
    doc = json.loads((path / "manifest.json").read_text())
    doc["files"][fname] = {"sha256": sha256_hex(data), "size": len(data)}
    (path / "manifest.json").write_text(json.dumps(doc))
    for sig in (HMAC_SIGNATURE_FILE, OPENSSF_SIGNATURE_FILE):
        (path / sig).unlink(missing_ok=True)
    keys.signer().sign(path)
    artifacts.verify(path, keys.verifier())  # the signature is valid


def test_signed_object_array_is_refused_without_running_code(keys, store, tmp_path):
    path = save(store, keys)
    marker = tmp_path / "pwned"
    evil = np.array([_Marker(pathlib.Path(marker))] * 60, dtype=object)
    resign(path, keys, "popularity.npy", _npy(evil, allow_pickle=True))

    with pytest.raises(artifacts.RecommenderInvalid, match=r"popularity\.npy: dtype"):
        artifacts.load_recommender(path, keys.verifier())
    assert not marker.exists(), "loading ran code from the artifact"
    # and the same bytes would have run code under a pickle-enabled load
    np.load(path / "popularity.npy", allow_pickle=True)
    assert marker.exists()


@pytest.mark.parametrize(
    ("fname", "data", "match"),
    [
        ("user_factors.npy", _npy(np.ones((40, 8), np.float64)), "dtype must be float32"),
        ("item_factors.npy", _npy(np.ones((60, 4), np.float32)), "one rank"),
        ("seen_items.npy", _npy(np.full(120, 99, np.int32)), "item rows"),
        ("popularity.npy", b"not an npy file", "not a valid .npy"),
        ("ids.json", b'{"users": [1, "u1"], "items": []}', "all strings or all integers"),
        ("ids.json", b"[1, 2", "not valid JSON"),
    ],
)
def test_signed_but_malformed_files_are_refused(keys, store, fname, data, match):
    path = save(store, keys)
    resign(path, keys, fname, data)
    with pytest.raises(artifacts.RecommenderInvalid, match=match):
        artifacts.load_recommender(path, keys.verifier())


def test_loading_never_unpickles(keys, store, monkeypatch):
    path = save(store, keys)
    calls = []
    real_load = np.load

    def guarded_load(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return real_load(*args, **kwargs)

    def forbidden(*_a, **_k):
        raise AssertionError("pickle used while loading a recommender")

    monkeypatch.setattr(np, "load", guarded_load)
    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    factors, _ = artifacts.load_recommender(path, keys.verifier())
    assert factors.rank == 8
    assert calls == [False] * 5


# --- refused at save: nothing is written --------------------------------------------------------


def _with(**changes) -> recommender.Factors:
    f = make_factors()
    return recommender.Factors(**{**f.__dict__, **changes})


@pytest.mark.parametrize(
    ("factors", "kw", "match"),
    [
        (_with(user_ids=["u0"] * 40), {}, "duplicate"),
        (_with(item_ids=[True] * 60), {}, "all strings or all integers"),
        (_with(popularity=np.zeros(60, dtype=object)), {}, "dtype"),
        (_with(user_factors=np.full((40, 8), np.nan, np.float32)), {}, "NaN"),
        (_with(seen_indptr=np.zeros(41, np.int64)), {}, "rise from 0"),
        (make_factors(), {"rank": 4}, "rank 4"),
        (make_factors(), {"cold_start": "error"}, "cold_start"),
    ],
)
def test_bad_factors_are_refused_at_save(keys, store, factors, kw, match):
    with pytest.raises(artifacts.ArtifactError, match=match):
        save(store, keys, factors, **kw)
    assert not (store / "recs").exists() or not any((store / "recs").iterdir())


def test_save_needs_a_signer(store):
    with pytest.raises(artifacts.SignerMissing):
        artifacts.save_recommender(
            store, "recs", make_factors(), signer=None, rank=8, implicit=False, cold_start="nan"
        )


def test_cli_verifies_and_inspects_a_recommender(keys, store):
    from .command import run

    path = save(store, keys, implicit=True)
    key = str(keys.verifying)
    verified = run("verify", str(path), "--key", key, cwd=store)
    assert verified.returncode == 0, verified.stderr
    shown = run("inspect", str(path), "--key", key, cwd=store)
    assert shown.returncode == 0, shown.stderr
    assert "recommender (ALS factors, no pickle)" in shown.stdout
    assert "rank 8, implicit feedback, cold start 'nan'" in shown.stdout
    assert "40 users (string), 60 items (string), 120 training interactions" in shown.stdout
    assert "test         ndcg@10 0.4200, rmse 0.9100" in shown.stdout
