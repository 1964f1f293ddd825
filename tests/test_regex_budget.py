"""Every regular expression that runs on a client's input costs time linear in it (issue 27).

The exported text models tokenise client text with the patterns ``spark_jobs.export.text``
writes into the artifact; each is fed 100k characters of its worst cases (long runs of
separators, of token characters, and alternations of both) through the same scikit-learn
analyzer the served model runs, and must finish within a generous CPU bound. A quadratic
pattern takes seconds here (the Tokenizer pattern before issue 27: ~19 s on 60k spaces).

The event loop's request-line pattern (``serving.framing``) gets the same treatment; the other
regular expressions in ``serving/`` and ``artifacts/`` are listed with why they never see a
client's bytes, so that a new one has to be classified here. No Spark session: the patterns are
plain strings.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from sklearn.feature_extraction.text import CountVectorizer

from serving.framing import parse_head
from spark_jobs.export.text import (
    TOKENIZER_NORMALISER,
    TOKENIZER_PATTERN,
    regex_token_pattern,
)

N = 100_000
BOUND_SECONDS = 0.5
REPO = Path(__file__).resolve().parents[1]

WORST_TEXTS = {
    "spaces": " " * N,
    "spaces-then-word": " " * N + "x",
    "word-then-spaces": "x" + " " * N,
    "mixed-separators": "\t\n\x0b\x0c\r " * (N // 6) + "x",
    "letters": "a" * N,
    "letter-space": "a " * (N // 2),
    "two-letters-comma": "ab," * (N // 3),
    "digits": "1" * N,
    "underscores": "_" * N,
    "no-break-spaces": "\u00a0" * N,
    "accented": "é " * (N // 2),
}

#: Every RegexTokenizer setting the exporter accepts, by shape: (pattern, gaps, minTokenLength).
REGEX_TOKENIZERS = [
    (r"\s+", True, 1),
    (r"\s", True, 1),
    (r"\W+", True, 2),
    (r"[^a-z0-9]+", True, 1),
    (r"[,;!() ]", True, 1),
    (r"\w+", False, 1),
    (r"[a-zA-Z_]+", False, 3),
    (r"\d", False, 1),
    (r"\S+", False, 1),
    (r"\s+", True, 50),
]


def _analyzers() -> dict[str, object]:
    tokenizer = CountVectorizer(token_pattern=TOKENIZER_PATTERN, strip_accents=TOKENIZER_NORMALISER)
    found = {"Tokenizer": tokenizer.build_analyzer()}
    for pattern, gaps, length in REGEX_TOKENIZERS:
        token = regex_token_pattern(pattern, gaps, length, "RegexTokenizer")
        name = f"RegexTokenizer({pattern!r}, gaps={gaps}, minTokenLength={length})"
        found[name] = CountVectorizer(token_pattern=token).build_analyzer()
    return found


ANALYZERS = _analyzers()


@pytest.mark.parametrize("text", WORST_TEXTS)
@pytest.mark.parametrize("analyzer", ANALYZERS)
def test_exported_tokenizers_are_linear(analyzer, text):
    analyze, document = ANALYZERS[analyzer], WORST_TEXTS[text]
    started = time.process_time()
    analyze(document)
    assert time.process_time() - started < BOUND_SECONDS


REQUEST_LINES = {
    "long-path": b"GET /" + b"a" * N + b" HTTP/1.1",
    "long-path-no-version": b"GET /" + b"a" * N,
    "long-query": b"GET /?" + b"a" * N + b" HTTP/1.1",
    "long-query-no-version": b"GET /?" + b"?#" * (N // 2),
    "spaces": b"GET " + b" " * N + b"HTTP/1.1",
}


@pytest.mark.parametrize("line", REQUEST_LINES)
def test_request_line_is_linear(line):
    """The event loop matches each request line (up to 64 KiB of head) before any thread runs."""
    started = time.process_time()
    parse_head(REQUEST_LINES[line] + b"\r\nHost: x\r\n\r\n")
    assert time.process_time() - started < BOUND_SECONDS


def test_request_line_still_splits_path_and_query():
    head = parse_head(b"POST /v2/models/m/infer?x=1#f HTTP/1.1\r\nHost: x\r\n\r\n")
    assert head is not None
    assert head.path == "/v2/models/m/infer"


#: Modules of serving/ and artifacts/ that use ``re``, and why each is safe or who tests it.
REGEX_MODULES = {
    "serving/framing.py": "request lines (client input): test_request_line_is_linear",
    "serving/auth/users.py": "user names from the users file and the admin CLI, bounded {0,63}",
    "serving/reload.py": "version directory names in the model store",
    "artifacts/store.py": "version directory names in the model store",
    "artifacts/layout.py": "model names from the store and settings, bounded {0,127}",
    "artifacts/signing/hmac_scheme.py": "signature files of artifacts",
    "artifacts/signing/ec_keys.py": "key files mounted by the operator",
    "artifacts/signing/keys.py": "key files mounted by the operator",
    "artifacts/signing/openssf.py": "error messages of the model_signing library",
}


def test_every_regex_module_is_classified():
    uses = re.compile(r"^\s*(?:import re\b|from re import)", re.M)
    found = {
        str(path.relative_to(REPO))
        for package in ("serving", "artifacts")
        for path in (REPO / package).rglob("*.py")
        if uses.search(path.read_text(encoding="utf-8"))
    }
    assert found == set(REGEX_MODULES), "classify the new module's patterns here"
