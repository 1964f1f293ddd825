"""The converter registry: one entry per Spark class, the README's table, refusals by name."""

from __future__ import annotations

import re

import pytest
from pyspark.ml import PipelineModel
from pyspark.ml import classification as sc
from pyspark.ml import feature as sf

from spark_jobs.export import UnsupportedStage, export_model, registry
from spark_jobs.export.columns import COLUMN_STAGE_TYPES

from ..conftest import ROOT

BEGIN, END = "<!-- coverage:begin -->", "<!-- coverage:end -->"


def test_readme_coverage_table_is_the_registry():
    """Regenerate with ``python -c 'from spark_jobs.export import registry;
    print(registry.coverage_table())'`` and paste between the README's markers."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()
    assert block == registry.coverage_table()


def test_every_class_is_registered_once_with_a_known_role():
    classes = [entry.spark for entry in registry.ENTRIES]
    assert len(classes) == len(set(classes))
    assert {entry.role for entry in registry.ENTRIES} <= set(registry.ROLES)
    for entry in registry.ENTRIES:
        needs_converter = entry.role in (*registry.PREDICTORS, registry.VECTOR)
        assert (entry.convert is not None) == needs_converter, entry.spark.__name__


def test_column_entries_are_the_column_stages_the_columns_module_builds():
    assert set(registry.types(registry.COLUMN)) == set(COLUMN_STAGE_TYPES)


def test_refused_stages_are_named_with_their_reason_in_one_message(spark, tabular_binary):
    text = spark.createDataFrame([(["a", "b"],)], "words array<string>")
    word2vec = sf.Word2Vec(vectorSize=2, minCount=1, inputCol="words", outputCol="w2v").fit(text)
    lr = sc.LogisticRegression(maxIter=5).fit(tabular_binary.train)
    model = PipelineModel(
        stages=[
            sf.SQLTransformer(statement="SELECT * FROM __THIS__"),
            sf.HashingTF(inputCol="words", outputCol="tf"),
            word2vec,
            lr,
        ]
    )

    with pytest.raises(UnsupportedStage) as caught:
        export_model(model, tabular_binary.test)

    message = str(caught.value)
    for name in ("SQLTransformer", "HashingTF", "Word2VecModel"):
        assert re.search(rf"{name}\(uid=\w+\) has no exact scikit-learn mapping \(.+?\)", message)
