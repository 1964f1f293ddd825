"""Generated ALS factors for tests and benchmarks: no Spark needed.

Users and items fall into a few planted taste groups, so a user's top items are predictable:
users of group g score items of group g highest.
"""

from __future__ import annotations

import numpy as np

from artifacts.recommender import Factors


def make_factors(
    n_users: int = 40,
    n_items: int = 60,
    rank: int = 8,
    *,
    string_ids: bool = True,
    seen_per_user: int = 3,
    seed: int = 0,
) -> Factors:
    rng = np.random.default_rng(seed)
    groups = rank
    centres = np.eye(rank, dtype=np.float32) * 2.0
    user_group = np.arange(n_users) % groups
    item_group = np.arange(n_items) % groups
    noise = 0.05
    uf = centres[user_group] + rng.normal(0, noise, (n_users, rank)).astype(np.float32)
    itf = centres[item_group] + rng.normal(0, noise, (n_items, rank)).astype(np.float32)
    seen = [
        np.sort(rng.choice(n_items, size=min(seen_per_user, n_items), replace=False))
        for _ in range(n_users)
    ]
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(s) for s in seen])
    items = np.concatenate(seen).astype(np.int32) if seen else np.zeros(0, np.int32)
    popularity = np.bincount(items, minlength=n_items).astype(np.float32)
    popularity += np.linspace(0.5, 0.0, n_items, dtype=np.float32)  # a strict order, no ties
    if string_ids:
        user_ids: list = [f"u{i}" for i in range(n_users)]
        item_ids: list = [f"i{j}" for j in range(n_items)]
    else:
        user_ids = [1000 + 3 * i for i in range(n_users)]
        item_ids = [7 + 5 * j for j in range(n_items)]
    return Factors(
        user_ids=user_ids,
        item_ids=item_ids,
        user_factors=uf.astype(np.float32),
        item_factors=itf.astype(np.float32),
        seen_indptr=indptr,
        seen_items=items,
        popularity=popularity,
    )
