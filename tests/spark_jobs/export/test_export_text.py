"""Text stages: tokenizers, stop words, n-grams, CountVectorizer and IDF against Spark.

Every expected value comes from Spark's own ``transform`` on the same rows: the tokens of
Tokenizer/RegexTokenizer against the exported CountVectorizer's analyzer, the assembled
feature vector against the exported ColumnTransformer, and the predictions against the
exported pipeline.
"""

from __future__ import annotations

import csv
import io
import pickle

import numpy as np
import pandas as pd
import pytest
from pyspark.ml import Pipeline as SparkPipeline
from pyspark.ml.classification import LogisticRegression, NaiveBayes
from pyspark.ml.feature import (
    IDF,
    CountVectorizer,
    HashingTF,
    NGram,
    OneHotEncoder,
    RegexTokenizer,
    StopWordsRemover,
    StringIndexer,
    Tokenizer,
    VectorAssembler,
)
from sklearn.feature_extraction.text import CountVectorizer as SkCountVectorizer

import artifacts
from serving import create_app
from spark_jobs.export import UnsupportedStage, export_model
from spark_jobs.export.text import TOKENIZER_PATTERN, normalizer, token_pattern

from .text_rows import MESSY, SCHEMA, documents


@pytest.fixture(scope="module")
def docs(spark):
    train = spark.createDataFrame(documents(150, seed=0), SCHEMA).cache()
    test = spark.createDataFrame(documents(40, seed=1), SCHEMA).cache()
    return train, test


def _tokens(spark, tokenizer, texts: list[str]) -> list[list[str]]:
    frame = spark.createDataFrame([(t,) for t in texts], "text string")
    out = tokenizer.setInputCol("text").setOutputCol("tokens").transform(frame)
    return [list(row["tokens"]) for row in out.select("tokens").collect()]


def _analyzer(tokenizer) -> object:
    lowercase = isinstance(tokenizer, Tokenizer) or tokenizer.getToLowercase()
    return SkCountVectorizer(
        token_pattern=token_pattern(tokenizer),
        strip_accents=normalizer(tokenizer),
        lowercase=lowercase,
    ).build_analyzer()


def test_tokenizer_pattern_reproduces_java_split(spark):
    long_run = "a" + " " * 20_000 + "B\t\t" + "\n" * 20_000  # quadratic before issue 27
    texts = [*MESSY, "x  ", "  ", "\t\ta", "a\u2028b", "a \u0085 b", long_run, " " * 20_000]
    expected = _tokens(spark, Tokenizer(), texts)
    assert token_pattern(Tokenizer()) == TOKENIZER_PATTERN
    analyze = _analyzer(Tokenizer())
    assert [analyze(t) for t in texts] == expected
    assert ["", "", "lead", "and", "trail"] in expected  # leading empty tokens are Spark's


@pytest.mark.parametrize(
    ("pattern", "gaps", "min_length", "lower"),
    [
        (r"\s+", True, 1, True),
        (r"\s", True, 1, False),
        (r"\W+", True, 2, True),
        (r"[^a-z0-9]+", True, 1, True),
        (r"[,;!() ]", True, 1, False),
        (r"\w+", False, 1, True),
        (r"[a-zA-Z_]+", False, 3, False),
        (r"\d", False, 1, True),
        (r"\S+", False, 1, True),
    ],
)
def test_regex_tokenizer_patterns_reproduce_spark(spark, pattern, gaps, min_length, lower):
    stage = RegexTokenizer(pattern=pattern, gaps=gaps, minTokenLength=min_length, toLowercase=lower)
    expected = _tokens(spark, stage, MESSY)
    analyze = _analyzer(stage)
    assert [analyze(t) for t in MESSY] == expected


def _lr() -> LogisticRegression:
    return LogisticRegression(maxIter=15, regParam=0.01)


def _assembled_matches_spark(result, model, test, features: str = "features") -> None:
    """The exported ColumnTransformer's matrix is Spark's assembled vector, bit for bit."""
    rows = model.transform(test).select(*result.input_cols, features, "probability").collect()
    frame = pd.DataFrame({c: [r[c] for r in rows] for c in result.input_cols})
    for column in result.input_schema.columns:
        if not column.categorical:
            frame[column.name] = frame[column.name].astype(np.float64)
    columns = result.estimator.steps[0][1]
    np.testing.assert_array_equal(
        columns.transform(frame), np.vstack([r[features].toArray() for r in rows])
    )
    proba = np.vstack([r["probability"].toArray() for r in rows])
    np.testing.assert_allclose(result.estimator.predict_proba(frame), proba, rtol=0, atol=1e-9)


@pytest.fixture(scope="module")
def tfidf(docs):
    """Text (stop words, TF-IDF) next to a number and a one-hot colour, and its export."""
    train, test = docs
    model = SparkPipeline(
        stages=[
            Tokenizer(inputCol="text", outputCol="tokens"),
            StopWordsRemover(inputCol="tokens", outputCol="kept"),
            CountVectorizer(inputCol="kept", outputCol="counts"),
            IDF(inputCol="counts", outputCol="tfidf", minDocFreq=3),
            StringIndexer(inputCol="colour", outputCol="colour_i"),
            OneHotEncoder(inputCol="colour_i", outputCol="colour_v"),
            VectorAssembler(inputCols=["tfidf", "x", "colour_v"], outputCol="features"),
            _lr(),
        ]
    ).fit(train)
    return model, export_model(model, test)


def test_tfidf_with_stop_words_next_to_other_columns(docs, tfidf):
    _, test = docs
    model, result = tfidf
    assert result.parity["passed"]
    assert result.parity["label_agreement"] == 1.0
    assert result.parity["synthesized_rows"] > 0  # the messy-text edge rows
    assert result.input_cols == ["text", "x", "colour"]
    text = result.input_schema.column("text")
    assert text.text
    assert text.categories == ()
    assert not text.nullable
    assert result.input_schema.to_dict()["columns"][0]["text"] is True
    idf = model.stages[3].idf.toArray()
    assert (idf == 0).any()  # minDocFreq zeroes rare terms, and the export copies that
    _assembled_matches_spark(result, model, test)


class _Modules(pickle.Unpickler):
    """Unpickles while recording the module of every global the pickle names."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.modules: set[str] = set()

    def find_class(self, module: str, name: str) -> object:
        self.modules.add(module.split(".")[0])
        return super().find_class(module, name)


def test_text_export_pickles_nothing_but_sklearn_and_the_standard_library(tfidf):
    """The Tokenizer's normaliser is a partial of re.sub: no project code in the artifact."""
    _, result = tfidf
    reader = _Modules(pickle.dumps(result.estimator))
    loaded = reader.load()
    assert reader.modules <= {"sklearn", "numpy", "scipy", "functools", "re", "builtins",
                              "copyreg", "_codecs"}, reader.modules  # fmt: skip
    assert {"functools", "re"} <= reader.modules
    frame = pd.DataFrame({"text": ["A  b  ", "   ", ""], "x": [0.0] * 3, "colour": ["r"] * 3})
    np.testing.assert_array_equal(
        loaded.predict_proba(frame), result.estimator.predict_proba(frame)
    )


def test_ngrams_feed_naive_bayes_without_an_assembler(docs):
    train, test = docs
    model = SparkPipeline(
        stages=[
            Tokenizer(inputCol="text", outputCol="tokens"),
            StopWordsRemover(inputCol="tokens", outputCol="kept", stopWords=["THE", "a"]),
            NGram(n=2, inputCol="kept", outputCol="pairs"),
            CountVectorizer(inputCol="pairs", outputCol="features"),
            NaiveBayes(),
        ]
    ).fit(train)
    result = export_model(model, test)
    assert result.parity["passed"]
    assert result.parity["label_agreement"] == 1.0
    assert result.input_cols == ["text"]
    assert any(" " in term for term in model.stages[3].vocabulary)
    _assembled_matches_spark(result, model, test)


def test_empty_tokens_count_as_in_spark(docs):
    """Double spaces make Spark's Tokenizer emit "" tokens; the vocabulary holds one."""
    train, test = docs
    model = SparkPipeline(
        stages=[
            Tokenizer(inputCol="text", outputCol="tokens"),
            CountVectorizer(inputCol="tokens", outputCol="features"),
            _lr(),
        ]
    ).fit(train)
    assert "" in model.stages[1].vocabulary
    result = export_model(model, test)
    assert result.parity["passed"]
    _assembled_matches_spark(result, model, test)


def test_regex_tokenizer_binary_counts_and_idf(docs):
    train, test = docs
    model = SparkPipeline(
        stages=[
            RegexTokenizer(inputCol="text", outputCol="tokens", pattern=r"\W+", minTokenLength=2),
            CountVectorizer(inputCol="tokens", outputCol="counts", binary=True),
            IDF(inputCol="counts", outputCol="features"),
            _lr(),
        ]
    ).fit(train)
    result = export_model(model, test)
    assert result.parity["passed"]
    assert result.parity["max_proba_error"] < 1e-9
    _assembled_matches_spark(result, model, test)


def test_unsupported_text_settings_are_listed_together(docs):
    train, _ = docs
    model = SparkPipeline(
        stages=[
            RegexTokenizer(inputCol="text", outputCol="tokens", pattern=r"\s+|,"),
            CountVectorizer(inputCol="tokens", outputCol="counts", minTF=2.0),
            HashingTF(inputCol="tokens", outputCol="hashed", numFeatures=16),
            VectorAssembler(inputCols=["counts", "hashed"], outputCol="features"),
            _lr(),
        ]
    ).fit(train)
    with pytest.raises(UnsupportedStage) as caught:
        export_model(model, train.limit(20))
    message = str(caught.value)
    assert "RegexTokenizer" in message
    assert "single character class" in message
    assert "minTF=2" in message
    assert "HashingTF" in message


def test_stop_words_after_ngrams_are_refused(docs):
    train, _ = docs
    model = SparkPipeline(
        stages=[
            Tokenizer(inputCol="text", outputCol="tokens"),
            NGram(n=2, inputCol="tokens", outputCol="pairs"),
            StopWordsRemover(inputCol="pairs", outputCol="kept"),
            CountVectorizer(inputCol="kept", outputCol="counts"),
            VectorAssembler(inputCols=["counts"], outputCol="features"),
            _lr(),
        ]
    ).fit(train)
    with pytest.raises(UnsupportedStage, match=r"Tokenizer.*NGram.*StopWordsRemover"):
        export_model(model, train.limit(20))


def test_case_insensitive_stop_words_need_lowercased_tokens(docs):
    train, _ = docs
    model = SparkPipeline(
        stages=[
            RegexTokenizer(inputCol="text", outputCol="tokens", toLowercase=False),
            StopWordsRemover(inputCol="tokens", outputCol="kept"),
            CountVectorizer(inputCol="kept", outputCol="features"),
            _lr(),
        ]
    ).fit(train)
    with pytest.raises(UnsupportedStage, match="caseSensitive=False"):
        export_model(model, train.limit(20))


# --- served ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(docs, tfidf, tmp_path_factory):
    """The TF-IDF export saved as a signed artifact; the app, the rows and Spark's answers."""
    _, test = docs
    model, result = tfidf
    root = tmp_path_factory.mktemp("text-served")
    key = artifacts.generate_keys("hmac-sha256", root / "keys")["secret"]
    artifacts.save(result.estimator, root / "store", "reviews", version="1",
                   signer=artifacts.load_signer(key), input_schema=result.input_schema,
                   output_schema=result.output_schema, parity=result.parity)  # fmt: skip
    rows = model.transform(test).collect()
    records = [{"text": r["text"], "x": r["x"], "colour": r["colour"]} for r in rows]
    classes = np.asarray(result.classes)
    labels = classes[[int(r["prediction"]) for r in rows]].tolist()
    proba = np.vstack([r["probability"].toArray() for r in rows])
    config = {"model_store": root / "store", "verify_key_file": key, "auth_enabled": False,
              "rate_limit_enabled": False, "reload_interval": 0}  # fmt: skip
    return create_app(config).test_client(), records, labels, proba


def test_served_text_model_answers_sparks_labels_on_every_protocol(served):
    client, records, labels, _ = served
    split = {"columns": ["text", "x", "colour"], "data": [list(r.values()) for r in records]}
    bodies = [{"dataframe_records": records}, {"dataframe_split": split}]
    for body in bodies:
        reply = client.post("/invocations", json=body)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        assert reply.get_json()["predictions"] == labels
    reply = client.post("/v1/models/reviews:predict", json={"instances": records})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.get_json()["predictions"] == labels


def test_served_text_model_reads_csv_with_empty_documents(served):
    """An empty CSV cell in a text column is the empty document Spark tokenised, not a gap."""
    client, records, labels, _ = served
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["text", "x", "colour"])
    writer.writerows([r["text"], repr(r["x"]), r["colour"]] for r in records)
    assert any(r["text"] == "" for r in records)
    reply = client.post("/invocations", data=out.getvalue(), content_type="text/csv")
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.get_json()["predictions"] == labels


def test_served_text_model_on_v2_takes_bytes_and_returns_sparks_probabilities(served):
    client, records, labels, proba = served
    datatypes = {"text": "BYTES", "x": "FP64", "colour": "BYTES"}
    inputs = [
        {"name": n, "datatype": d, "shape": [len(records)], "data": [r[n] for r in records]}
        for n, d in datatypes.items()
    ]
    reply = client.post("/v2/models/reviews/infer", json={"inputs": inputs})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    outputs = {o["name"]: o for o in reply.get_json()["outputs"]}
    assert outputs["label"]["data"] == labels
    served_proba = np.array(outputs["probabilities"]["data"]).reshape(proba.shape)
    assert outputs["probabilities"]["datatype"] == "FP32"  # hence float32's precision
    np.testing.assert_allclose(served_proba, proba, rtol=0, atol=1e-7)
    meta = client.get("/v2/models/reviews").get_json()
    text_input = next(i for i in meta["inputs"] if i["name"] == "text")
    assert text_input["datatype"] == "BYTES"
