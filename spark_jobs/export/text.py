"""Text stages → one stock ``CountVectorizer`` (plus a ``TfidfTransformer`` for IDF).

The shape that exports is one string column through::

    Tokenizer | RegexTokenizer → [StopWordsRemover] → [NGram] → CountVectorizerModel → [IDFModel]

and every piece is a plain sklearn parameter, so the artifact needs nothing but sklearn
where it is served:

* Tokenizer lowercases and splits on Java's ``\\s`` (ASCII whitespace only, unlike
  Python's ``\\s``) with ``String.split`` semantics: consecutive separators give empty
  tokens, a leading separator a leading empty token, trailing empty tokens are dropped and
  the empty document is one empty token.  Two linear regular expressions reproduce that,
  both stock sklearn parameters (the artifact still unpickles with nothing but sklearn and
  the standard library): ``strip_accents`` — sklearn's hook for normalising after
  lowercasing — is ``functools.partial(re.sub, TRAILING_SPACE, r"\1")``, which drops
  trailing whitespace (the trailing empty tokens) and turns a blank document into one
  separator; ``TOKENIZER_PATTERN`` then finds each token at the start or after a separator
  with ``re.findall`` (its one capturing group makes the empty tokens).  Neither scans a run
  of whitespace more than once, so tokenising is linear in the document; an earlier pattern
  looked ahead for the next word at every separator, which was quadratic (60k spaces took
  about 20 s).
* RegexTokenizer exports when its pattern is one character class (``\\s``, ``\\W``,
  ``[^a-z]``, … optionally followed by ``+``) with ``minTokenLength >= 1``: its tokens are
  then the runs of characters outside (``gaps``) or inside the class, at least
  ``minTokenLength`` long — a class rewritten with explicit ASCII members, because Java's
  ``\\w``/``\\s``/``\\d`` are ASCII and Python's are Unicode.  Any other pattern is refused:
  Java and Python regular expressions differ in too many corners to claim equality.
* StopWordsRemover → ``stop_words``, lowercased by the JVM with Spark's own locale when
  it compares case-insensitively (then the tokens must already be lowercase, as the
  Tokenizer makes them).  sklearn removes stop words before forming n-grams, so the
  remover must come before NGram, as in the shape above.
* NGram(n) → ``ngram_range=(n, n)``: both join n consecutive tokens with one space.
* CountVectorizerModel → ``vocabulary`` in Spark's index order and ``binary``; a
  ``minTF`` other than 1 (a per-document filter) has no sklearn form and is refused.
* IDFModel → ``TfidfTransformer(norm=None, sublinear_tf=False)`` whose ``idf_`` is set to
  Spark's ``idf`` vector after fitting (Spark's ``log((m + 1) / (df + 1))`` without the +1,
  and 0 below ``minDocFreq``); both multiply each count by it.

Lowercasing is Python's ``str.lower`` at serving time against Java's ``toLowerCase`` in
Spark; they agree outside special casing rules (Turkish dotless i and similar), and the
parity check, which runs the messy-whitespace and mixed-case edge rows of ``edges``,
proves it on the data at hand.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from pyspark.ml.feature import (
    CountVectorizerModel,
    IDFModel,
    NGram,
    RegexTokenizer,
    StopWordsRemover,
    Tokenizer,
)
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.pipeline import Pipeline

from .checks import describe
from .errors import UnsupportedStage

TOKENIZER_TYPES = (Tokenizer, RegexTokenizer)
TEXT_STAGE_TYPES = (*TOKENIZER_TYPES, StopWordsRemover, NGram, CountVectorizerModel, IDFModel)

JAVA_SPACE = " \t\n\x0b\f\r"  # java.util.regex \s without UNICODE_CHARACTER_CLASS
_WS = re.escape(JAVA_SPACE)
# Trailing whitespace, deleted (Java drops trailing empty tokens); a blank document becomes
# its first character, which the pattern below reads as no token at all.  Each alternative
# starts only at the text's start or a run's start, so every run is scanned once.
TRAILING_SPACE = rf"\A([{_WS}])[{_WS}]*\Z|(?<![{_WS}])[{_WS}]+\Z"
# A token starts the text or follows a separator: the run of other characters there, empty
# between two separators.  After TRAILING_SPACE the only text ending in a separator is the
# blank document's one separator, which yields nothing (Java's "  ".split is empty) while
# the empty document yields one empty token.
TOKENIZER_PATTERN = rf"(?:\A(?![{_WS}]\Z)|(?<=[{_WS}])(?!\Z))([^{_WS}]*)"
#: CountVectorizer's ``strip_accents`` for a Tokenizer: stdlib only, so it pickles by reference.
TOKENIZER_NORMALISER = partial(re.sub, TRAILING_SPACE, r"\1")

_CLASS_ESCAPES = {
    "s": frozenset(JAVA_SPACE),
    "w": frozenset(string.ascii_letters + string.digits + "_"),
    "d": frozenset(string.digits),
}
_LITERAL_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_PUNCTUATION_ESCAPES = frozenset("\\.[]^$|?*+(){}/&,:;!'\"#%@=<>~`")


def is_text_shape(shape: tuple[type, ...]) -> bool:
    """Whether a recipe's stage types are tokenizer → [remover] → [n-gram] → CV → [IDF]."""
    rest = list(shape)
    if not rest or rest.pop(0) not in TOKENIZER_TYPES:
        return False
    for optional in (StopWordsRemover, NGram):
        if rest and rest[0] is optional:
            rest.pop(0)
    if not rest or rest.pop(0) is not CountVectorizerModel:
        return False
    return rest in ([], [IDFModel])


# --- settings checks (parameters only, so the registry can list them all at once) -------------


def check_regex_tokenizer(stage: Any) -> None:
    """Refuse a RegexTokenizer whose tokens a CountVectorizer pattern cannot reproduce."""
    if stage.getMinTokenLength() < 1 and stage.getGaps():
        raise UnsupportedStage(
            f"{describe(stage)}: minTokenLength={stage.getMinTokenLength()} keeps empty tokens "
            "between separators, which scikit-learn cannot produce; use minTokenLength >= 1"
        )
    _regex_token_pattern(stage)


def check_count_vectorizer(model: Any) -> None:
    """minTF filters terms per document (or by a fraction of its length): no sklearn form."""
    min_tf = float(model.getMinTF())
    if min_tf not in (0.0, 1.0):
        raise UnsupportedStage(
            f"{describe(model)}: minTF={min_tf:g} filters terms per document, which "
            "scikit-learn's CountVectorizer cannot do; refit with minTF=1.0"
        )
    if not model.vocabulary:
        raise UnsupportedStage(f"{describe(model)} has an empty vocabulary")


def check_links(stages: list[Any]) -> None:
    """Settings that depend on two stages of one text path."""
    tokenizer = stages[0]
    lowercased = isinstance(tokenizer, Tokenizer) or tokenizer.getToLowercase()
    for stage in stages:
        if isinstance(stage, StopWordsRemover) and not stage.getCaseSensitive() and not lowercased:
            raise UnsupportedStage(
                f"{describe(stage)}: caseSensitive=False after {describe(tokenizer)} with "
                "toLowercase=False compares lowercased tokens, which scikit-learn cannot do; "
                "lowercase in the tokenizer or compare case-sensitively"
            )


# --- the sklearn steps --------------------------------------------------------------------------


def text_pipeline(stages: list[Any]) -> Pipeline:
    """The unfitted steps for one text path (stages in pipeline order, already checked)."""
    tokenizer, counts = stages[0], _first(stages, CountVectorizerModel)
    lowercase = isinstance(tokenizer, Tokenizer) or tokenizer.getToLowercase()
    pattern = token_pattern(tokenizer)
    remover, ngram = _first(stages, StopWordsRemover), _first(stages, NGram)
    n = ngram.getN() if ngram is not None else 1
    vectorizer = CountVectorizer(
        lowercase=lowercase,
        token_pattern=pattern,
        strip_accents=normalizer(tokenizer),
        stop_words=stop_words(remover) if remover is not None else None,
        ngram_range=(n, n),
        vocabulary=list(counts.vocabulary),
        binary=bool(counts.getBinary()),
        dtype=np.float64,
    )
    steps: list[tuple[str, Any]] = [("counts", vectorizer)]
    if _first(stages, IDFModel) is not None:
        # smooth_idf only shapes what fitting learns (no division by a zero count on the
        # dummy row); set_idf replaces it, and transform only multiplies by idf_
        steps.append(("idf", TfidfTransformer(norm=None, smooth_idf=True, sublinear_tf=False)))
    return Pipeline(steps)


def set_idf(fitted: Pipeline, stages: list[Any]) -> None:
    """Copy Spark's idf vector into the fitted TfidfTransformer (if the path has an IDF)."""
    model = _first(stages, IDFModel)
    if model is not None:
        fitted.named_steps["idf"].idf_ = np.asarray(model.idf.toArray(), dtype=np.float64)


def stop_words(remover: Any) -> list[str]:
    """The words sklearn must drop: as given, or lowercased by the JVM in Spark's locale."""
    words = [w for w in remover.getStopWords() if w is not None]
    if remover.getCaseSensitive():
        return words
    from pyspark import SparkContext

    jvm = SparkContext._active_spark_context._jvm
    locale = jvm.java.util.Locale(remover.getLocale())
    lower = jvm.org.apache.commons.lang3.StringUtils.lowerCase
    return [lower(word, locale) for word in words]


def _first(stages: list[Any], kind: type) -> Any:
    return next((s for s in stages if isinstance(s, kind)), None)


def normalizer(tokenizer: Any) -> Callable[[str], str] | None:
    """The CountVectorizer ``strip_accents`` step the tokenizer needs after lowercasing: for
    Tokenizer, TRAILING_SPACE deleted (a pickled ``partial`` of ``re.sub``); else none."""
    if isinstance(tokenizer, Tokenizer):
        return TOKENIZER_NORMALISER
    return None


def token_pattern(tokenizer: Any) -> str:
    """The CountVectorizer ``token_pattern`` giving the tokenizer's tokens (lowercasing aside)."""
    if isinstance(tokenizer, Tokenizer):
        return TOKENIZER_PATTERN
    return _regex_token_pattern(tokenizer)


# --- RegexTokenizer patterns --------------------------------------------------------------------


def _regex_token_pattern(stage: Any) -> str:
    """The CountVectorizer token_pattern equal to the stage's tokens, or UnsupportedStage."""
    return regex_token_pattern(
        stage.getPattern(), stage.getGaps(), int(stage.getMinTokenLength()), describe(stage)
    )


def regex_token_pattern(pattern: str, gaps: bool, min_length: int, stage: str) -> str:
    """The token_pattern for a RegexTokenizer's settings (``stage`` names it in errors)."""
    parsed = _one_class(pattern)
    if parsed is None:
        raise UnsupportedStage(
            f"{stage}: pattern {pattern!r} is not a single character class such as "
            r"'\s+', '\W+' or '[^a-z]+'; Java and Python regular expressions cannot be "
            "proven equal for it"
        )
    members, negated, repeated = parsed
    length = max(1, min_length)
    if gaps:  # tokens: runs of the characters the class does not match
        negated = not negated
    elif not repeated and length > 1:
        raise UnsupportedStage(
            f"{stage}: pattern {pattern!r} matches single characters, so "
            f"minTokenLength={length} leaves no tokens"
        )
    elif not repeated:
        return _render(members, negated)
    token = _render(members, negated)
    outside = _render(members, not negated)
    # a maximal run: it starts the text or follows a character outside the class
    return rf"(?:(?<={outside})|\A){token}{{{length},}}"


def _render(members: frozenset[str], negated: bool) -> str:
    body = "".join(re.escape(c) for c in sorted(members))
    if not body:
        return r"[\s\S]" if negated else r"(?!)"
    return f"[{'^' if negated else ''}{body}]"


def _one_class(pattern: str) -> tuple[frozenset[str], bool, bool] | None:
    """(members, negated, followed by '+') for one Java character class, else None."""
    repeated = pattern.endswith("+") and not pattern.endswith("\\+")
    body = pattern[:-1] if repeated else pattern
    if len(body) == 2 and body[0] == "\\":
        letter = body[1]
        if letter.lower() in _CLASS_ESCAPES:
            return _CLASS_ESCAPES[letter.lower()], letter.isupper(), repeated
        return None
    if len(body) >= 3 and body[0] == "[" and body[-1] == "]":
        inner = body[1:-1]
        negated = inner.startswith("^")
        members = _class_members(inner[1:] if negated else inner)
        return None if members is None else (members, negated, repeated)
    return None


def _class_members(inner: str) -> frozenset[str] | None:
    """The characters of a bracket expression's body; None for anything but plain members,
    ranges and the \\s \\w \\d escapes (no nesting, intersections or negated escapes)."""
    items: list[str] = []  # single characters, or a whole class as a "\\x" marker
    i = 0
    while i < len(inner):
        char = inner[i]
        if char == "\\":
            if i + 1 >= len(inner):
                return None
            nxt = inner[i + 1]
            if nxt in _CLASS_ESCAPES:
                items.append("\\" + nxt)
            elif nxt in _LITERAL_ESCAPES:
                items.append(_LITERAL_ESCAPES[nxt])
            elif nxt in _PUNCTUATION_ESCAPES:
                items.append(nxt)
            else:
                return None
            i += 2
            continue
        if char in "[]&" or not _plain(char):
            return None
        items.append(char)
        i += 1
    return _expand(items)


def _expand(items: list[str]) -> frozenset[str] | None:
    members: set[str] = set()
    i = 0
    while i < len(items):
        item = items[i]
        if len(item) == 2:  # \s \w \d
            members |= _CLASS_ESCAPES[item[1]]
            i += 1
        elif i + 2 < len(items) and items[i + 1] == "-" and len(items[i + 2]) == 1:
            low, high = ord(item), ord(items[i + 2])
            if low > high:
                return None
            members |= {chr(c) for c in range(low, high + 1)}
            i += 3
        else:
            members.add(item)
            i += 1
    return frozenset(members)


def _plain(char: str) -> bool:
    """A literal that means itself in both dialects: printable, in the Basic Multilingual
    Plane (Java counts surrogate pairs as two chars in some places)."""
    return char.isprintable() and ord(char) < 0xD800
