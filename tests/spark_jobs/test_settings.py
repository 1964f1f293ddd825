"""Settings: defaults, environment precedence, and early rejection of bad options."""

from __future__ import annotations

import re

import pytest

from spark_jobs.errors import UsageError
from spark_jobs.settings import IMAGE_PRINTED, JobSettings, build_parser, from_args


def test_defaults_train_a_calibrated_augmented_mlp_on_bundled_sample_into_model_store():
    s = from_args([], env={"SPARK_JOBS_SIGNING_KEY": "/keys/k"})
    assert (s.data, s.format, s.model_for("classification", image=True), s.output, s.name) == (
        None,
        "auto",
        "mlp",
        "model-store",
        "mnist",
    )
    assert (s.layers, s.augment_for(image=True), s.calibration) == ((128,), 4, "temperature")
    assert (s.model_for("classification"), s.augment_for(image=False)) == ("lr", 1)
    assert (s.printed_for(digits=True), s.printed_for(digits=False)) == (IMAGE_PRINTED, 0)
    assert (s.task, s.impute, s.max_classes, s.model_for("regression")) == (
        "auto",
        "median",
        50,
        "linear",
    )
    assert s.signing_key == "/keys/k"
    assert re.fullmatch(r"\d{8}T\d{6}Z", s.version)


def test_command_line_beats_environment():
    s = from_args(["--signing-key", "/cli/k"], env={"SPARK_JOBS_SIGNING_KEY": "/env/k"})
    assert s.signing_key == "/cli/k"


def test_missing_signing_key_is_a_usage_error():
    with pytest.raises(UsageError, match="signing key"):
        from_args([], env={})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--augment", "0"], "--augment"),
        (["--printed", "-1"], "--printed must be >= 0"),
        (["--test-fraction", "0.7", "--val-fraction", "0.4"], "fractions"),
        (["--name", "../etc"], "--name"),
        (["--limit", "0"], "--limit"),
        (["--version", "a b"], "--version"),
        (["--version", "latest"], "'latest' is reserved"),
        (["--version", "1..2"], "invalid version"),
    ],
)
def test_bad_values_are_rejected_before_training(argv, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        from_args([*argv, "--signing-key", "k"], env={})


def test_list_options_parse():
    s = from_args(["--layers", "64,32", "--classes", "0,1,2", "--signing-key", "k"], env={})
    assert s.layers == (64, 32)
    assert s.classes == (0.0, 1.0, 2.0)


def test_unknown_model_exits_with_usage_code():
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--model", "xgboost"])
    assert exc.value.code == 2


def test_lineage_params_are_json_friendly():
    params = JobSettings(signing_key="k", classes=(0.0, 1.0)).to_lineage()
    assert params["classes"] == [0.0, 1.0]
    assert isinstance(params["layers"], list)


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["--data", "/d/diabetes.csv"], "diabetes"),
        (["--data", "s3a://bucket/x/Penguins Größe.csv.gz"], "Penguins-Gr-e"),
        (["--data", "/d/sales.parquet/"], "sales"),
        (["--data", "warehouse.sales_2024", "--format", "table"], "sales_2024"),
        (["--data", "/d/train-images-idx3-ubyte"], "mnist"),
        (["--data", "/d/digits.csv", "--as-image"], "mnist"),
        (["--data", "/d/..hidden.csv"], "hidden"),
        (["--data", "/d/diabetes.csv", "--name", "mine"], "mine"),
    ],
)
def test_default_name_comes_from_the_data(argv, name):
    s = from_args([*argv, "--signing-key", "k"], env={})
    assert s.name == s.artifact_name == name


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--task", "regression", "--model", "lr"], "--model lr does not do regression"),
        (["--task", "classification", "--model", "glm"], "does not do classification"),
        (["--max-classes", "1"], "--max-classes"),
    ],
)
def test_model_must_fit_the_task(argv, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        from_args([*argv, "--signing-key", "k"], env={})
    with pytest.raises(UsageError, match="use one of linear, glm"):
        JobSettings(model="mlp").model_for("regression")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--model", "lr"], ("lr", 1, 0)),  # an explicit model trains without augmentation
        (["--augment", "2"], ("mlp", 2, IMAGE_PRINTED)),
        (["--printed", "0"], ("mlp", 4, 0)),
        (["--model", "nb", "--augment", "3", "--printed", "5"], ("nb", 3, 5)),
    ],
)
def test_explicit_options_replace_the_image_recipe(argv, expected):
    s = from_args([*argv, "--signing-key", "k"], env={})
    recipe = (s.model_for("classification", image=True), s.augment_for(image=True))
    assert (*recipe, s.printed_for(digits=True)) == expected


def test_a_negative_printed_count_is_refused_in_one_line():
    with pytest.raises(UsageError) as exc:
        JobSettings(signing_key="k", printed=-3).validate()
    assert str(exc.value) == "--printed must be >= 0"
    assert "--printed" in build_parser().format_help()


def test_calibration_choice_is_checked():
    assert from_args(["--calibration", "none", "--signing-key", "k"], env={}).calibration == "none"
    with pytest.raises(UsageError, match="--calibration must be one of temperature, none"):
        JobSettings(signing_key="k", calibration="platt").validate()


def test_tabular_options_parse():
    s = from_args(
        ["--features", "a, b", "--exclude", "id", "--categorical", "zip", "--impute", "mode",
         "--family", "poisson", "--schema", "a DOUBLE", "--signing-key", "k"],
        env={},
    )  # fmt: skip
    assert (s.features, s.exclude, s.categorical) == (("a", "b"), ("id",), ("zip",))
    assert (s.impute, s.family, s.schema) == ("mode", "poisson", "a DOUBLE")
    assert s.to_lineage()["features"] == ["a", "b"]
