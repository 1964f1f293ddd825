"""Text rows for the text-stage export tests: messy whitespace, a label that leans on words."""

from __future__ import annotations

import numpy as np

WORDS = ["Spark", "model", "the", "a", "serve", "REST", "fast", "slow", "über", "naïve", "é"]


# whitespace Java's \s does (tab, CR, LF, FF, VT) and does not (NBSP, EM SPACE) split on
MESSY = [
    "",
    " ",
    "a",
    "  lead and trail  ",
    "double  space\ttab\t\ttabs",
    "nb\u00a0sp em\u2003space",
    "line\nfeed\r\ncr\x0bvt\x0cff",
    "UPPER lower MiXeD Straße ΣΊΣΥΦΟΣ",
    "punct, and; stuff! (here) a-b_c 42x",
    "   ",
]


def documents(n: int, seed: int) -> list[tuple]:
    """(text, x, colour, label) rows; the label leans on a few words so LR learns something."""
    rng = np.random.default_rng(seed)
    separators = [" ", " ", " ", "  ", "\t", " \u00a0"]
    rows = []
    for i in range(n):
        k = int(rng.integers(0, 9))
        words = [str(rng.choice(WORDS)) for _ in range(k)]
        text = "".join(w + str(rng.choice(separators)) for w in words).rstrip(" ")
        if i % 7 == 0:
            text = " " + text + "  "
        label = float(("fast" in words) or ("serve" in words and "slow" not in words))
        rows.append((text, float(rng.normal()), str(rng.choice(["r", "g", "b"])), label))
    rows += [(text, 0.5, "r", float(i % 2)) for i, text in enumerate(MESSY)]
    return rows


SCHEMA = "text string, x double, colour string, label double"
