"""The pure parts of the recommendation job: top-K ties, unseen top-K, and its settings."""

from __future__ import annotations

import numpy as np
import pytest

from spark_jobs.errors import UsageError
from spark_jobs.settings import from_args
from spark_jobs.train.factors import TOLERANCE, _compare_top_k
from spark_jobs.train.ranking import top_k_unseen

SCORES = np.array([0.9, 0.5, 0.7, 0.7, 0.1], dtype=np.float32)
SCALE = np.ones(5)


@pytest.mark.parametrize(
    ("spark_top", "ok", "ties"),
    [
        ([(0, 0.9), (2, 0.7)], True, 0),
        ([(0, 0.9), (3, 0.7)], True, 1),  # 2 and 3 tie at the boundary: either is right
        ([(0, 0.9), (3, 0.7 + TOLERANCE / 2)], True, 1),
        ([(0, 0.9), (1, 0.5)], False, 1),  # 0.5 is no tie of 0.7
        ([(0, 0.9), (2, 0.7 + 10 * TOLERANCE)], False, 0),  # a score Spark disagrees on
        ([(0, 0.9)], False, 0),  # too short
    ],
)
def test_top_k_sets_are_equal_up_to_ties(spark_top, ok, ties):
    result = _compare_top_k(SCORES, SCALE, spark_top, 2)
    assert (result["ok"], result["ties"]) == (ok, ties)


def test_top_k_of_a_small_catalogue_is_all_items():
    spark_top = [(0, 0.9), (2, 0.7), (3, 0.7), (1, 0.5), (4, 0.1)]
    assert _compare_top_k(SCORES, SCALE, spark_top, 10)["ok"]
    assert not _compare_top_k(SCORES, SCALE, spark_top[:4], 10)["ok"]


def test_unseen_top_k_matches_brute_force_and_runs_out_of_items():
    rng = np.random.default_rng(0)
    users, items = rng.normal(size=(300, 4)), rng.normal(size=(40, 4))
    users, items = users.astype(np.float32), items.astype(np.float32)
    seen = [np.sort(rng.choice(40, size=rng.integers(0, 38), replace=False)) for _ in range(300)]
    indptr = np.concatenate([[0], np.cumsum([len(s) for s in seen])]).astype(np.int64)
    flat = np.concatenate(seen).astype(np.int32)
    rows = np.array([5, 299, 0, 17, 123])
    lists = top_k_unseen(users, items, indptr, flat, rows, 6)
    for row, got in zip(rows, lists, strict=True):
        scores = users[row] @ items.T
        unseen = np.setdiff1d(np.arange(40), seen[row])
        expected = unseen[np.argsort(-scores[unseen], kind="stable")][:6]
        assert got.tolist() == expected.tolist()
        assert len(got) == min(6, 40 - len(seen[row]))


def test_recommendation_settings_have_als_defaults():
    s = from_args(
        ["--task", "recommendation", "--data", "/d/ratings.csv", "--signing-key", "k", "-k", "5"],
        env={},
    )
    assert (s.max_iter, s.reg_param, s.rank, s.k, s.cold_start) == (10, 0.1, 10, 5, "drop")
    assert (s.user_col, s.item_col, s.rating_col, s.name) == ("user", "item", "rating", "ratings")
    classifier = from_args(["--signing-key", "k"], env={})
    assert (classifier.max_iter, classifier.reg_param) == (100, 0.0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--implicit"], "--implicit needs --task recommendation"),
        (["--task", "recommendation", "--model", "lr"], "--model does not apply"),
        (["--task", "recommendation", "--rank", "0"], "--rank"),
        (["--task", "recommendation", "--item-col", "user"], "three different columns"),
        (["--task", "recommendation", "--augment", "2"], "--augment does not apply"),
        (["--task", "recommendation", "--printed", "2"], "--printed does not apply"),
    ],
)
def test_bad_recommendation_options_are_usage_errors(argv, message):
    with pytest.raises(UsageError, match=message):
        from_args([*argv, "--data", "r.csv", "--signing-key", "k"], env={})
