"""``spark-submit.sh predict`` on a recommender artifact: top-K per user of a table.

The artifact is made from generated factors (no ALS training); the job runs in-process on the
session's local Spark. Each written row must equal serving's ``:recommend`` answer for its user.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import artifacts
from serving import create_app
from spark_jobs.errors import DataError, UsageError
from spark_jobs.predict.job import run
from spark_jobs.predict.output import SUMMARY_FILE
from spark_jobs.predict.settings import PredictSettings
from tests.artifacts.recommender_data import make_factors


@pytest.fixture(scope="module")
def rec_store(tmp_path_factory, hmac_key) -> tuple[Path, object, object]:
    store = tmp_path_factory.mktemp("topk-store")
    signer = artifacts.load_signer(hmac_key)
    strs, ints = make_factors(string_ids=True), make_factors(string_ids=False, seed=1)
    artifacts.save_recommender(
        store, "recs", strs, signer=signer, version="1", rank=8, implicit=True, cold_start="nan"
    )
    artifacts.save_recommender(
        store, "recs-int", ints, signer=signer, version="1", rank=8, implicit=False,
        cold_start="drop",
    )  # fmt: skip
    return store, strs, ints


def settings(store, name, key, data, out, **overrides) -> PredictSettings:
    return PredictSettings(
        model=f"{store}/{name}", verify_key=str(key), data=str(data), output=str(out),
        **overrides,
    ).validate()  # fmt: skip


def served(store: Path, key: Path, name: str, users: list, k: int, exclude_seen: bool) -> list:
    app = create_app(
        {
            "model_store": store, "verify_key_file": key, "auth_enabled": False,
            "rate_limit_enabled": False, "reload_interval": 0, "max_recommend_users": 256,
        }
    )  # fmt: skip
    reply = app.test_client().post(
        f"/v1/models/{name}:recommend",
        json={"users": users, "k": k, "exclude_seen": exclude_seen},
    )
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_json()


@pytest.mark.parametrize(
    ("name", "exclude_seen"), [("recs", True), ("recs-int", False)], ids=["strings", "ints"]
)
def test_top_k_per_user_equals_the_served_answers(
    spark, rec_store, hmac_key, tmp_path, name, exclude_seen
):
    store, strs, ints = rec_store
    factors = strs if name == "recs" else ints
    unknown = "nobody" if name == "recs" else 10**9
    users = [*factors.user_ids[:30], unknown]
    frame = pd.DataFrame({"row": range(len(users)), "user": users})
    data = tmp_path / "users.parquet"
    frame.to_parquet(data)
    out = tmp_path / "top"
    extra = {} if exclude_seen else {"include_seen": True}

    summary = run(
        settings(store, name, hmac_key, data, out, keep=("row",), k=7, batch_size=8, **extra),
        spark,
    )

    got = pd.read_parquet(out).sort_values("row").reset_index(drop=True)
    expected = served(store, hmac_key, name, users, 7, exclude_seen)
    assert got["user"].tolist() == users
    for row, answer in zip(got.itertuples(), expected, strict=True):
        assert [e["item"] for e in row.recommendations] == [e["item"] for e in answer["items"]]
        scores = [e["score"] for e in row.recommendations]
        assert scores == pytest.approx([e["score"] for e in answer["items"]], rel=1e-6)
        assert row.cold_start == answer["cold_start"]
    assert got["cold_start"].tolist() == [False] * 30 + [True]
    assert set(got["model_version"]) == {"1"}
    assert summary["rows_read"] == 31
    assert summary["cold_start_users"] == 1
    assert json.loads((out / SUMMARY_FILE).read_text())["k"] == 7


def test_null_users_follow_on_error(spark, rec_store, hmac_key, tmp_path):
    store, strs, _ = rec_store
    data = tmp_path / "users.parquet"
    pd.DataFrame({"user": [strs.user_ids[0], None, strs.user_ids[1]]}).to_parquet(data)

    with pytest.raises(DataError, match="the user id is null"):
        run(settings(store, "recs", hmac_key, data, tmp_path / "failed"), spark)
    assert not (tmp_path / "failed").exists()

    summary = run(settings(store, "recs", hmac_key, data, tmp_path / "out", on_error="skip"), spark)
    assert summary["bad_rows"] == 1
    assert len(pd.read_parquet(tmp_path / "out")) == 2


@pytest.mark.parametrize(
    ("frame", "overrides", "error", "match"),
    [
        (pd.DataFrame({"user": [1, 2]}), {}, DataError, r"is bigint; the model's user ids are str"),
        (pd.DataFrame({"u": ["a"]}), {}, DataError, r"no user column 'user' \(--user-col\)"),
        (pd.DataFrame({"user": ["a"], "x": [1]}), {}, DataError, r"unknown column\(s\) x"),
        (pd.DataFrame({"user": ["a"]}), {"format": "csv"}, UsageError, "use --format parquet"),
    ],
    ids=["id-type", "no-user-column", "unknown-column", "csv-output"],
)
def test_refused_before_scoring(spark, rec_store, hmac_key, tmp_path, frame, overrides, error,
                                match):  # fmt: skip
    store, _, _ = rec_store
    data = tmp_path / "users.parquet"
    frame.to_parquet(data)
    with pytest.raises(error, match=match):
        run(settings(store, "recs", hmac_key, data, tmp_path / "out", **overrides), spark)
    assert not (tmp_path / "out").exists()


def test_tampered_recommender_is_refused_before_spark(rec_store, hmac_key, tmp_path):
    import shutil

    from spark_jobs.predict.errors import ModelRefused

    store, _, _ = rec_store
    copy = tmp_path / "store"
    shutil.copytree(store / "recs", copy / "recs")
    target = copy / "recs" / "1" / "popularity.npy"
    data = bytearray(target.read_bytes())
    data[-1] ^= 1
    target.write_bytes(bytes(data))
    with pytest.raises(ModelRefused, match="DigestMismatch"):
        run(settings(copy, "recs", hmac_key, tmp_path / "none.parquet", tmp_path / "out"))
