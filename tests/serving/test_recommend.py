"""Recommender models through the Flask test client: top-K, exclude_seen, cold start, pair
scores, V2, and clear 4xx for bad input — next to an sklearn model in the same store."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import artifacts
from serving import create_app
from tests.artifacts.recommender_data import make_factors

VECTOR = {"type": "vector", "features": 4, "dtype": "float64"}


@pytest.fixture(scope="module")
def rec_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("rec-store")
    key = artifacts.generate_keys("hmac-sha256", root / "keys")["secret"]
    signer = artifacts.load_signer(key)
    store = root / "store"
    strs, ints = make_factors(string_ids=True), make_factors(string_ids=False, seed=1)
    artifacts.save_recommender(
        store, "recs", strs, signer=signer, version="1", rank=8, implicit=True, cold_start="nan"
    )
    artifacts.save_recommender(
        store, "recs-int", ints, signer=signer, version="1", rank=8, implicit=False,
        cold_start="drop",
    )  # fmt: skip
    x = np.random.default_rng(0).random((40, 4))
    clf = LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(int))
    artifacts.save(clf, store, "clf", version="1", signer=signer, input_schema=VECTOR)
    return store, key, strs, ints


@pytest.fixture(scope="module")
def app(rec_store):
    store, key, _, _ = rec_store
    return create_app(
        {
            "model_store": store,
            "verify_key_file": key,
            "auth_enabled": False,
            "rate_limit_enabled": False,
            "reload_interval": 0,
            "default_model": "recs",
            "max_recommend_k": 60,
            "max_recommend_users": 4,
            "max_batch": 8,
        }
    )


@pytest.fixture
def client(app):
    return app.test_client()


def expected_top(factors, user_row: int, k: int, exclude_seen: bool) -> list:
    scores = factors.user_factors[user_row].astype(np.float64) @ factors.item_factors.T
    if exclude_seen:
        scores[factors.seen(user_row)] = -np.inf
    order = [j for j in np.argsort(-scores, kind="stable") if np.isfinite(scores[j])]
    return [factors.item_ids[j] for j in order[:k]]


def test_registry_serves_recommenders_next_to_sklearn(client):
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    for name in ("recs", "recs-int", "clf"):
        assert client.get(f"/v1/models/{name}").json["ready"] is True
    assert client.post("/v1/models/clf:predict", json={"instances": [[0.9, 0, 0, 0]]}).json == {
        "predictions": [1]
    }


@pytest.mark.parametrize("exclude_seen", [True, False])
def test_top_k_matches_brute_force(client, rec_store, exclude_seen):
    _, _, strs, _ = rec_store
    body = {"user": "u3", "k": 5, "exclude_seen": exclude_seen}
    reply = client.post("/v1/models/recs:recommend", json=body)
    assert reply.status_code == 200, reply.json
    doc = reply.json
    assert doc["user"] == "u3"
    assert doc["cold_start"] is False
    items = [entry["item"] for entry in doc["items"]]
    assert items == expected_top(strs, 3, 5, exclude_seen)
    seen = {strs.item_ids[j] for j in strs.seen(3)}
    if exclude_seen:
        assert not seen & set(items)
    scores = [entry["score"] for entry in doc["items"]]
    assert scores == sorted(scores, reverse=True)
    expected = strs.user_factors[3] @ strs.item_factors[strs.item_ids.index(items[0])]
    assert scores[0] == pytest.approx(float(expected), rel=1e-5)


def test_planted_groups_come_first(client):
    doc = client.post("/v1/models/recs:recommend", json={"user": "u2", "k": 3}).json
    assert all(int(entry["item"][1:]) % 8 == 2 for entry in doc["items"])


def test_exclude_seen_can_leave_fewer_than_k(client, rec_store):
    _, _, strs, _ = rec_store
    unseen = 60 - len(strs.seen(0))
    doc = client.post("/v1/models/recs:recommend", json={"user": "u0", "k": 60}).json
    assert len(doc["items"]) == unseen
    body = {"user": "u0", "k": 60, "exclude_seen": False}
    assert len(client.post("/v1/models/recs:recommend", json=body).json["items"]) == 60
    outputs = {o["name"]: o for o in v2(client, "recs", ["u0"], k=60).json["outputs"]}
    assert outputs["item"]["shape"] == [1, 60]
    assert outputs["item"]["data"][unseen:] == [""] * (60 - unseen)
    assert outputs["score"]["data"][unseen:] == [None] * (60 - unseen)
    assert None not in outputs["score"]["data"][:unseen]


def test_cold_start_user_gets_popular_items(client, rec_store):
    _, _, strs, _ = rec_store
    doc = client.post("/v1/models/recs:recommend", json={"user": "nobody", "k": 4}).json
    assert doc["cold_start"] is True
    popular = np.lexsort((np.arange(60), -strs.popularity))[:4]
    assert [e["item"] for e in doc["items"]] == [strs.item_ids[j] for j in popular]
    assert [e["score"] for e in doc["items"]] == pytest.approx(strs.popularity[popular].tolist())


def test_batch_of_users_in_order_with_integer_ids(client, rec_store):
    _, _, _, ints = rec_store
    users = [ints.user_ids[5], 999_999, ints.user_ids[0]]
    reply = client.post("/v1/models/recs-int:recommend", json={"users": users, "k": 3})
    assert reply.status_code == 200, reply.json
    docs = reply.json
    assert [d["user"] for d in docs] == users
    assert [d["cold_start"] for d in docs] == [False, True, False]
    assert [e["item"] for e in docs[0]["items"]] == expected_top(ints, 5, 3, True)
    assert all(isinstance(e["item"], int) for d in docs for e in d["items"])


def test_pair_scores_follow_the_nan_policy(client, rec_store):
    _, _, strs, _ = rec_store
    pairs = [
        {"user": "u1", "item": "i9"},
        {"user": "u1", "item": "nope"},
        {"user": "x", "item": "i1"},
    ]
    reply = client.post("/v1/models/recs:predict", json={"instances": pairs})
    assert reply.status_code == 200, reply.json
    scores = reply.json["predictions"]
    assert scores[0] == pytest.approx(float(strs.user_factors[1] @ strs.item_factors[9]), rel=1e-5)
    assert scores[1:] == [None, None]


def test_pair_scores_follow_the_drop_policy(client, rec_store):
    _, _, _, ints = rec_store
    u, i = ints.user_ids[2], ints.item_ids[4]
    pairs = [{"user": u, "item": -5}, {"user": u, "item": i}]
    doc = client.post("/v1/models/recs-int:predict", json={"instances": pairs}).json
    assert doc["dropped"] == [0]
    assert doc["predictions"] == [pytest.approx(float(ints.user_factors[2] @ ints.item_factors[4]))]


def v2(client, name, users, datatype="BYTES", **params):
    body = {
        "inputs": [{"name": "user", "datatype": datatype, "shape": [len(users)], "data": users}],
        "parameters": params,
    }
    return client.post(f"/v2/models/{name}/infer", json=body)


def test_v2_infer_and_metadata(client, rec_store):
    _, _, strs, ints = rec_store
    reply = v2(client, "recs", ["u3", "ghost"], k=4)
    assert reply.status_code == 200, reply.json
    outputs = {o["name"]: o for o in reply.json["outputs"]}
    assert outputs["item"]["shape"] == [2, 4]
    assert outputs["item"]["datatype"] == "BYTES"
    assert outputs["item"]["data"][:4] == expected_top(strs, 3, 4, True)
    assert outputs["score"]["datatype"] == "FP32"
    assert outputs["cold_start"]["data"] == [False, True]

    reply = v2(client, "recs-int", [ints.user_ids[1]], datatype="INT64", k=2, exclude_seen=False)
    outputs = {o["name"]: o for o in reply.json["outputs"]}
    assert outputs["item"]["datatype"] == "INT64"
    assert outputs["item"]["data"] == expected_top(ints, 1, 2, False)

    meta = client.get("/v2/models/recs").json
    assert meta["inputs"] == [{"name": "user", "datatype": "BYTES", "shape": [-1]}]
    assert [o["name"] for o in meta["outputs"]] == ["item", "score", "cold_start"]
    assert meta["parameters"]["task"] == "recommendation"
    assert meta["parameters"]["cold_start"] == "nan"


@pytest.mark.parametrize(
    ("path", "body", "status", "fragment"),
    [
        ("/v1/models/recs:recommend", {"user": "u1", "k": 0}, 400, "at least 1"),
        ("/v1/models/recs:recommend", {"user": "u1", "k": "5"}, 400, "must be an integer"),
        ("/v1/models/recs:recommend", {"user": "u1", "k": 2.5}, 400, "must be an integer"),
        ("/v1/models/recs:recommend", {"user": "u1", "k": True}, 400, "must be an integer"),
        ("/v1/models/recs:recommend", {"user": "u1", "k": 61}, 400, "at most 60"),
        ("/v1/models/recs:recommend", {"user": 12}, 400, "ids of this model are strings"),
        ("/v1/models/recs-int:recommend", {"user": "12"}, 400, "are integers"),
        ("/v1/models/recs-int:recommend", {"user": True}, 400, "are integers"),
        ("/v1/models/recs:recommend", {"users": ["a"] * 5}, 413, "at most 4"),
        ("/v1/models/recs:recommend", {"users": []}, 400, "non-empty list"),
        ("/v1/models/recs:recommend", {"users": "u1"}, 400, "non-empty list"),
        ("/v1/models/recs:recommend", {"k": 3}, 400, "exactly one of"),
        ("/v1/models/recs:recommend", {"user": "u1", "users": ["u1"]}, 400, "exactly one of"),
        ("/v1/models/recs:recommend", {"user": "u1", "exclude_seen": "yes"}, 400, "true or false"),
        ("/v1/models/clf:recommend", {"user": "u1"}, 400, "not a recommender"),
        ("/v1/models/nope:recommend", {"user": "u1"}, 404, "no model named"),
        ("/v1/models/recs:predict", {"instances": [["u1", "i1"]]}, 400, "instances[0]"),
        ("/v1/models/recs:predict", {"instances": [{"user": "u1", "item": 3}]}, 400, "strings"),
        ("/v1/models/recs:predict", {"instances": [{"user": "u", "item": "i"}] * 9}, 413, "8"),
        ("/invocations?model=recs", {"instances": [[1, 2]]}, 400, "is a recommender"),
        ("/predict?model=recs", {"pixels": [0.0] * 784}, 400, "is a recommender"),
    ],
)
def test_bad_input_is_a_clear_4xx(client, path, body, status, fragment):
    reply = client.post(path, json=body)
    assert reply.status_code == status, reply.json
    assert reply.mimetype == "application/problem+json"
    assert fragment in reply.json["detail"]


def test_upload_to_a_recommender_is_refused(client):
    reply = client.post(
        "/predict", data={"file": (io.BytesIO(b"\x89PNG"), "x.png")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert reply.status_code == 400
    assert "is a recommender" in reply.json["detail"]


@pytest.mark.parametrize(
    ("users", "datatype", "params", "fragment"),
    [
        (["u1"], "BYTES", {"k": -1}, "at least 1"),
        (["u1"], "BYTES", {"k": "3"}, "must be an integer"),
        ([1], "INT64", {}, "user ids are BYTES"),
        (["a", "b", "c", "d", "e"], "BYTES", {}, "at most 4"),
    ],
)
def test_v2_bad_input_is_a_clear_4xx(client, users, datatype, params, fragment):
    reply = v2(client, "recs", users, datatype=datatype, **params)
    assert 400 <= reply.status_code < 500, reply.json
    assert fragment in reply.json["detail"]


def test_v2_integer_model_takes_decimal_bytes_but_not_words(client, rec_store):
    _, _, _, ints = rec_store
    good = v2(client, "recs-int", [str(ints.user_ids[0])], k=1)
    assert good.status_code == 200, good.json
    bad = v2(client, "recs-int", ["alice"], k=1)
    assert bad.status_code == 400
    assert "integers" in bad.json["detail"]


def test_tampered_recommender_is_not_served(rec_store, tmp_path):
    store, key, _, _ = rec_store
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    path = copy / "recs" / "1" / "item_factors.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    app = create_app(
        {"model_store": copy, "verify_key_file": key, "auth_enabled": False,
         "rate_limit_enabled": False, "reload_interval": 0}
    )  # fmt: skip
    client = app.test_client()
    assert client.post("/v1/models/recs:recommend", json={"user": "u1"}).status_code == 404
    assert client.post("/v1/models/recs-int:recommend", json={"user": 1000}).status_code == 200
    readyz = client.get("/readyz").get_data(as_text=True)
    assert "recs" in readyz


def test_hot_reload_swaps_in_a_new_recommender_version(rec_store, tmp_path):
    store, key, strs, _ = rec_store
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    admin = tmp_path / "admin-keys"
    admin.write_text("admin-" + "k" * 30 + "\n")
    app = create_app(
        {"model_store": copy, "verify_key_file": key, "auth_enabled": True,
         "admin_keys_file": admin, "rate_limit_enabled": False, "reload_interval": 0}
    )  # fmt: skip
    client = app.test_client()
    headers = {"Authorization": "Bearer admin-" + "k" * 30}
    before = client.post("/v1/models/recs:recommend", json={"user": "u1"}, headers=headers)
    assert before.status_code == 200, before.json
    flipped = artifacts.Factors(**{**strs.__dict__, "user_factors": -strs.user_factors})
    artifacts.save_recommender(
        copy, "recs", flipped, signer=artifacts.load_signer(key), version="2", rank=8,
        implicit=True, cold_start="nan",
    )  # fmt: skip
    reload = client.post("/admin/reload", headers=headers)
    assert reload.json["added"] == ["recs/2"]
    after = client.post("/v1/models/recs:recommend", json={"user": "u1"}, headers=headers)
    items = [entry["item"] for entry in after.json["items"]]
    assert items == expected_top(flipped, 1, 10, True)
    assert items != [entry["item"] for entry in before.json["items"]]


def test_v2_binary_outputs(client, rec_store):
    _, _, strs, _ = rec_store
    body = {
        "inputs": [{"name": "user", "datatype": "BYTES", "shape": [1, 1], "data": [["u4"]]}],
        "outputs": [{"name": "item", "parameters": {"binary_data": True}}, {"name": "score"}],
        "parameters": {"k": 3},
    }
    reply = client.post("/v2/models/recs/infer", json=body)
    assert reply.status_code == 200, reply.get_data()
    header_length = int(reply.headers["Inference-Header-Content-Length"])
    raw = reply.get_data()
    header = json.loads(raw[:header_length])
    assert [o["name"] for o in header["outputs"]] == ["item", "score"]
    blob, items = raw[header_length:], []
    while blob:
        size = int.from_bytes(blob[:4], "little")
        items.append(blob[4 : 4 + size].decode())
        blob = blob[4 + size :]
    assert items == expected_top(strs, 4, 3, True)
    assert len(header["outputs"][1]["data"]) == 3


def test_metrics_count_answers_and_cold_starts(client):
    def count(cold: str) -> float:
        text = client.get("/metrics").get_data(as_text=True)
        labels = ('model="recs"', 'version="1"', f'cold_start="{cold}"')
        found = [
            row
            for row in text.splitlines()
            if row.startswith("model_server_recommendations_total{")
            and all(label in row for label in labels)
        ]
        return float(found[0].split()[-1]) if found else 0.0

    before = (count("false"), count("true"))
    client.post("/v1/models/recs:recommend", json={"users": ["u1", "u2", "who"]})
    v2(client, "recs", ["nobody"])
    assert (count("false"), count("true")) == (before[0] + 2, before[1] + 2)
