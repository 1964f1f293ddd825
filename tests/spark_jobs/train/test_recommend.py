"""``train --task recommendation`` end to end: ALS on planted data → verified pickle-free artifact.

Jobs run in-process through ``spark_jobs.cli.main`` on the shared test session, so exit codes
and the one-line error are asserted without a JVM per case. Held-out interactions are recovered
from the artifact itself (generated pairs minus the training pairs it records as seen), so the
test recomputes the job's ranking metrics independently and compares them with a random ranking.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

import artifacts
from serving import create_app
from spark_jobs.cli import main
from spark_jobs.train import factors as factors_mod

from ..rating_data import ratings, to_csv

pytestmark = pytest.mark.spark

K = 10
FAST = ("--rank", "6", "--max-iter", "6", "-k", str(K))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("ratings")
    explicit = ratings(users=300, items=150, per_user=20, string_ids=True, seed=1)
    implicit = ratings(users=300, items=150, per_user=20, implicit=True, string_ids=False, seed=2)
    implicit.to_parquet(root / "plays.parquet", index=False)
    return {
        "explicit": (explicit, to_csv(explicit, root / "ratings.csv")),
        "implicit": (implicit, str(root / "plays.parquet")),
    }


def _train(store, key, data, *argv) -> int:
    return main(
        ["--task", "recommendation", "--data", data, "--user-col", "u", "--item-col", "i",
         "--rating-col", "r", "--output", str(store), "--version", "v1",
         "--signing-key", str(key), *argv]
    )  # fmt: skip


def _error(caplog) -> str:
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1, lines
    return lines[0]


def _held_out(frame: pd.DataFrame, factors, threshold: float | None) -> dict[int, set[int]]:
    """User row → relevant held-out item rows: generated pairs the artifact did not train on."""
    users = {u: r for r, u in enumerate(factors.user_ids)}
    items = {i: r for r, i in enumerate(factors.item_ids)}
    relevant: dict[int, set[int]] = {}
    for u, i, r in frame.itertuples(index=False):
        if u not in users or i not in items:
            continue  # cold: not scored by the job either
        row, col = users[u], items[i]
        if col in set(factors.seen(row)):
            continue
        if (r > 0) if threshold is None else (r >= threshold):
            relevant.setdefault(row, set()).add(col)
    return relevant


def _ndcg(lists: dict[int, list[int]], relevant: dict[int, set[int]], k: int) -> float:
    gains = 1 / np.log2(np.arange(2, k + 2))
    values = []
    for user, wanted in relevant.items():
        hits = [j in wanted for j in lists[user][:k]]
        values.append(gains[: len(hits)][hits].sum() / gains[: min(len(wanted), k)].sum())
    return float(np.mean(values))


def _top_k(factors, user: int, k: int) -> list[int]:
    scores = factors.user_factors[user].astype(np.float64) @ factors.item_factors.T
    scores[factors.seen(user)] = -np.inf
    return list(np.argsort(-scores, kind="stable")[:k])


def _random_lists(factors, users, k: int, seed: int = 0) -> dict[int, list[int]]:
    rng = np.random.default_rng(seed)
    n_items = len(factors.item_ids)
    lists = {}
    for user in users:
        unseen = np.setdiff1d(np.arange(n_items), factors.seen(user))
        lists[user] = list(rng.permutation(unseen)[:k])
    return lists


def _check_ranking(frame, factors, test: dict, threshold: float | None) -> None:
    """The job's NDCG@k matches ours and beats a random ranking of unseen items by far."""
    relevant = _held_out(frame, factors, threshold)
    assert test["users_ranked"] == len(relevant)
    ours = _ndcg({u: _top_k(factors, u, K) for u in relevant}, relevant, K)
    assert test[f"ndcg@{K}"] == pytest.approx(ours, abs=0.01)
    baseline = np.mean(
        [_ndcg(_random_lists(factors, relevant, K, seed), relevant, K) for seed in range(5)]
    )
    assert test[f"ndcg@{K}"] > 3 * baseline, (test, baseline)
    assert 0 < test[f"precision@{K}"] <= 1
    assert 0 < test[f"recall@{K}"] <= 1


def _verify(path, key):
    return artifacts.load_recommender(path, artifacts.load_verifier(key))


@pytest.mark.slow
def test_explicit_string_ids_csv(spark, files, tmp_path, hmac_key, caplog):
    frame, data = files["explicit"]
    assert _train(tmp_path, hmac_key, data, *FAST) == 0, _error(caplog)
    factors, manifest = _verify(tmp_path / "ratings" / "v1", hmac_key)
    trained = set(frame.u)
    assert set(factors.user_ids) <= trained
    assert all(isinstance(u, str) for u in factors.user_ids)
    assert factors.user_ids == sorted(factors.user_ids)
    assert factors.user_factors.dtype == np.float32
    assert factors.user_factors.shape[1] == 6
    info = manifest["recommender"]
    assert (info["rank"], info["implicit"], info["cold_start"]) == (6, False, "drop")
    assert manifest["parity"]["passed"] is True
    assert manifest["parity"]["scores"]["max_relative_error"] <= 1e-5
    test = manifest["metrics"]["test"]
    # predicting every rating as the mean is the baseline RMSE: the spread of the ratings
    assert test["rmse"] < 0.6 * frame.r.std()
    _check_ranking(frame, factors, test, test["relevance_threshold"])
    lineage = manifest["lineage"]
    assert lineage["data"]["columns"] == {"user": "u", "item": "i", "rating": "r"}
    assert lineage["data"]["sha256"]
    assert lineage["rows"]["train"] == factors.seen_items.size
    assert lineage["model_params"]["ALS"]["rank"] == 6


@pytest.mark.slow
def test_implicit_integer_ids_parquet_served_by_the_app(spark, files, tmp_path, hmac_key, caplog):
    frame, data = files["implicit"]
    argv = (*FAST, "--implicit", "--alpha", "5", "--cold-start", "nan", "--name", "plays")
    assert _train(tmp_path, hmac_key, data, *argv) == 0, _error(caplog)
    factors, manifest = _verify(tmp_path / "plays" / "v1", hmac_key)
    assert all(isinstance(u, int) for u in factors.user_ids + factors.item_ids)
    assert factors.item_ids == sorted(set(frame.i) & set(factors.item_ids))
    test = manifest["metrics"]["test"]
    assert "rmse" not in test
    assert manifest["recommender"]["cold_start"] == "nan"
    _check_ranking(frame, factors, test, None)
    pairs = frame.groupby("i").u.nunique()  # popularity: distinct training users per item
    assert (factors.popularity <= pairs.loc[factors.item_ids].to_numpy()).all()
    assert factors.popularity.sum() == factors.seen_items.size

    app = create_app(
        {"model_store": tmp_path, "verify_key_file": hmac_key, "auth_enabled": False,
         "rate_limit_enabled": False, "reload_interval": 0}
    )  # fmt: skip
    user = factors.user_ids[7]
    reply = app.test_client().post("/v1/models/plays:recommend", json={"user": user, "k": 5})
    assert reply.status_code == 200, reply.json
    items = [entry["item"] for entry in reply.json["items"]]
    assert items == [factors.item_ids[j] for j in _top_k(factors, 7, 5)]
    assert len(items) == 5
    assert not {factors.item_ids[j] for j in factors.seen(7)} & set(items)


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    frame = ratings(users=20, items=10, per_user=3, string_ids=True, seed=3)
    return frame.astype({"r": object})


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("u", None, "missing user id (column 'u')"),
        ("i", "  ", "missing item id (column 'i')"),
        ("r", "five", "non-numeric rating (column 'r')"),
        ("r", None, "missing rating (column 'r')"),
        ("r", "inf", "not a finite number"),
    ],
)
def test_bad_records_exit_3_naming_the_record(
    spark, small_csv, tmp_path, hmac_key, caplog, column, value, problem
):
    frame = small_csv.copy()
    frame.loc[17, column] = value
    data = to_csv(frame, tmp_path / "bad.csv")
    assert _train(tmp_path / "store", hmac_key, data) == 3
    message = _error(caplog)
    assert problem in message, message
    assert "record 18: " in message, message
    shown = {"u": frame.u[17], "i": frame.i[17], "r": frame.r[17]}
    if column == "r" and value is not None:
        assert f"r={value!r}" in message
        assert f"u={shown['u']!r}" in message
    assert "(1 such records)" in message
    assert not (tmp_path / "store").exists()


def test_missing_column_is_a_usage_error(spark, small_csv, tmp_path, hmac_key, caplog):
    data = to_csv(small_csv, tmp_path / "r.csv")
    assert _train(tmp_path / "store", hmac_key, data, "--item-col", "product") == 2
    assert "no item column 'product'" in _error(caplog)
    assert not (tmp_path / "store").exists()


@pytest.mark.slow
def test_parity_failure_exits_4_and_writes_nothing(
    spark, files, tmp_path, hmac_key, caplog, monkeypatch
):
    collect = factors_mod.collect

    def drifted(*args):
        exported = collect(*args)
        exported.item_factors[:] *= np.float32(1 + 1e-4)  # a drift no float32 rounding explains
        return exported

    monkeypatch.setattr(factors_mod, "collect", drifted)
    _, data = files["explicit"]
    assert _train(tmp_path / "store", hmac_key, data, *FAST) == 4
    assert "disagree with Spark's transform" in _error(caplog)
    assert not (tmp_path / "store").exists()
