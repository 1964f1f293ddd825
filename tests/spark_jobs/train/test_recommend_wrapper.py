"""``./spark-submit.sh train --task recommendation`` through the wrapper, on a local master.

test_recommend.py runs the job in process on the shared test session; this is the one run as a
user runs it: the wrapper zips the code, spark-submit starts its own driver JVM (local[2]), and
the signed pickle-free artifact it writes is verified by ``artifacts`` and answers
``:recommend`` from the app.
"""

from __future__ import annotations

import numpy as np
import pytest

import artifacts
from serving import create_app

from ..rating_data import ratings, to_csv
from ..wrapper import output, submit

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_wrapper_trains_a_recommender_the_app_serves(tmp_path, hmac_key):
    frame = ratings(users=120, items=60, per_user=12, string_ids=True, seed=5)
    data = to_csv(frame, tmp_path / "ratings.csv")
    store = tmp_path / "store"
    result = submit(
        "train", "--master", "local[2]",
        "--conf", "spark.sql.shuffle.partitions=4", "--conf", "spark.ui.enabled=false",
        "--task", "recommendation", "--data", data,
        "--user-col", "u", "--item-col", "i", "--rating-col", "r",
        "--rank", "4", "--max-iter", "5", "-k", "5", "--parity-rows", "200",
        "--output", str(store), "--name", "shop", "--version", "v1",
        "--signing-key", str(hmac_key),
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, output(result)[-3000:]
    assert "artifact written" in output(result)

    path = store / "shop" / "v1"
    factors, manifest = artifacts.load_recommender(path, artifacts.load_verifier(hmac_key))
    assert manifest["kind"] == "recommender"
    assert manifest["recommender"]["rank"] == 4
    assert manifest["recommender"]["user_id_type"] == "string"
    assert manifest["parity"]["passed"] is True
    assert manifest["lineage"]["spark"]["master"] == "local[2]"
    assert factors.user_factors.shape == (len(factors.user_ids), 4)
    assert set(factors.user_ids) <= set(frame.u)
    assert not list(path.glob("*.joblib*")), "a recommender artifact holds no pickle"

    app = create_app(
        {"model_store": store, "verify_key_file": hmac_key, "auth_enabled": False,
         "rate_limit_enabled": False, "reload_interval": 0}
    )  # fmt: skip
    client = app.test_client()
    row = 3
    user = factors.user_ids[row]
    reply = client.post("/v1/models/shop:recommend", json={"user": user, "k": 5})
    assert reply.status_code == 200, reply.json
    assert reply.json["cold_start"] is False
    items = [entry["item"] for entry in reply.json["items"]]
    scores = factors.item_factors @ factors.user_factors[row]
    scores[factors.seen(row)] = -np.inf
    expected = [factors.item_ids[j] for j in np.argsort(-scores, kind="stable")[:5]]
    assert items == expected
    assert not {factors.item_ids[j] for j in factors.seen(row)} & set(items)

    cold = client.post("/v1/models/shop:recommend", json={"user": "never-seen", "k": 5})
    assert cold.status_code == 200, cold.json
    assert cold.json["cold_start"] is True
    assert len(cold.json["items"]) == 5
