"""Generated ratings with planted structure, so recommendation metrics mean something.

Users and items each belong to one of ``clusters`` groups. A user mostly interacts with items
of their own group (``affinity`` of their interactions) and, for explicit ratings, rates those
high (about 4.5 of 5) and the others low (about 1.5). A model that finds the groups ranks a
user's held-out items far above what a random ranking would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def ratings(
    users: int = 600,
    items: int = 300,
    per_user: int = 30,
    clusters: int = 5,
    affinity: float = 0.85,
    implicit: bool = False,
    string_ids: bool = True,
    seed: int = 0,
) -> pd.DataFrame:
    """Columns ``u``, ``i``, ``r``: one row per (user, item) interaction, no duplicates."""
    rng = np.random.default_rng(seed)
    user_group = np.arange(users) % clusters
    item_group = rng.permutation(np.arange(items) % clusters)
    by_group = [np.flatnonzero(item_group == g) for g in range(clusters)]
    rows = []
    for user in range(users):
        own = by_group[user_group[user]]
        n_own = min(len(own), round(per_user * affinity))
        chosen = set(rng.choice(own, size=n_own, replace=False).tolist())
        while len(chosen) < per_user:
            chosen.add(int(rng.integers(items)))
        for item in sorted(chosen):
            match = item_group[item] == user_group[user]
            if implicit:
                value = float(rng.integers(3, 10) if match else rng.integers(1, 3))
            else:
                value = float(np.clip(np.round((4.5 if match else 1.5) + rng.normal(0, 0.5)), 1, 5))
            rows.append((user, item, value))
    frame = pd.DataFrame(rows, columns=["u", "i", "r"])
    if string_ids:
        frame["u"] = frame["u"].map(lambda n: f"user-{n:04d}")
        frame["i"] = frame["i"].map(lambda n: f"item/{n:04d}")
    else:  # sparse integer ids: index positions must not be mistaken for ids
        frame["u"] = frame["u"] * 7 + 1000
        frame["i"] = frame["i"] * 13 + 5
    return frame


def to_csv(frame: pd.DataFrame, path: Path) -> str:
    frame.to_csv(path, index=False)
    return str(path)
