"""The predict job's settings: one dataclass, one parser, environment then command line.

Precedence: defaults in code → ``SPARK_JOBS_VERIFY_KEY`` (the verification key path) → options.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from spark_jobs.errors import UsageError

ENV_VERIFY_KEY = "SPARK_JOBS_VERIFY_KEY"
INPUT_FORMATS = ("auto", "parquet", "csv", "table", "images", "idx")
OUTPUT_FORMATS = ("parquet", "csv")
MODES = ("error", "overwrite")
ON_ERROR = ("fail", "skip", "null")
SKEW = ("error", "warn")
DEFAULT_BATCH = 10_000


@dataclass(frozen=True)
class PredictSettings:
    """Everything one scoring run needs; ``validate`` rejects what would only fail later."""

    model: str
    """``STORE/NAME`` (newest version) or ``STORE/NAME/VERSION``."""
    data: str
    output: str
    verify_key: str | None = None
    signature_scheme: str = "auto"
    format: str = "parquet"
    """Output format; CSV holds one probability column per class instead of an array."""
    input_format: str = "auto"
    keep: tuple[str, ...] = ()
    """Input columns copied next to the predictions (ids); images keep ``origin`` by default."""
    drop: tuple[str, ...] = ()
    """Input columns neither scored nor kept (anything else unknown to the model is refused)."""
    mode: str = "error"
    on_error: str = "fail"
    batch_size: int = DEFAULT_BATCH
    """Rows per Arrow batch (``spark.sql.execution.arrow.maxRecordsPerBatch``): one vectorised
    predict per batch. Bigger batches amortise more per-call overhead but cost worker memory."""
    probability_columns: bool = False
    """Also write ``probability_<class>`` columns (always on for CSV output)."""
    user_col: str = "user"
    """Recommenders: the column of user ids; one output row per input row."""
    k: int = 10
    """Recommenders: items per user."""
    include_seen: bool = False
    """Recommenders: also rank the items a user had in training (excluded by default)."""
    features_col: str = "features"
    """Vector models: the column holding each row's feature vector (an ML vector or an array of
    numbers). Without it, the model's named features are read from columns of those names."""
    version_skew: str = "error"

    def validate(self) -> PredictSettings:
        checks = [
            (self.format in OUTPUT_FORMATS, f"--format must be one of {', '.join(OUTPUT_FORMATS)}"),
            (self.input_format in INPUT_FORMATS, f"--input-format: one of {INPUT_FORMATS}"),
            (self.mode in MODES, f"--mode must be one of {', '.join(MODES)}"),
            (self.on_error in ON_ERROR, f"--on-error must be one of {', '.join(ON_ERROR)}"),
            (self.version_skew in SKEW, f"--version-skew must be one of {', '.join(SKEW)}"),
            (self.batch_size >= 1, "--batch-size must be >= 1"),
            (self.k >= 1, "--k must be >= 1"),
            (bool(self.data), "--data is required"),
            (bool(self.output), "--output is required"),
            (self.verify_key is not None, f"no verification key: --verify-key or {ENV_VERIFY_KEY}"),
            (not set(self.keep) & set(self.drop), "a column cannot be both kept and dropped"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        return self

    def model_ref(self) -> tuple[str, str, str | None]:
        """(store, name, version or None for the newest) from ``--model``.

        ``STORE/NAME/VERSION`` when the path is an artifact directory (it has a manifest),
        otherwise ``STORE/NAME``.
        """
        path = Path(self.model.rstrip("/"))
        if len(path.parts) < 2:
            raise UsageError(f"--model {self.model!r}: expected STORE/NAME[/VERSION]")
        if (path / "manifest.json").is_file() and len(path.parts) >= 3:
            return str(path.parent.parent), path.parent.name, path.name
        return str(path.parent), path.name, None


def _columns(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def build_parser() -> argparse.ArgumentParser:
    d = PredictSettings(model="", data="", output="")
    p = argparse.ArgumentParser(
        prog="spark-submit.sh predict",
        description="Score a table or images on Spark with a signed model artifact and write "
        "the predictions next to the kept columns.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", required=True, help="STORE/NAME (newest) or STORE/NAME/VERSION")
    p.add_argument("--verify-key", help=f"HMAC secret or public PEM (env {ENV_VERIFY_KEY})")
    p.add_argument(
        "--signature-scheme", default=d.signature_scheme, choices=("auto", "openssf", "hmac-sha256")
    )
    p.add_argument("--data", required=True, help="Parquet/CSV path, table name, image folder, IDX")
    p.add_argument("--input-format", default=d.input_format, choices=INPUT_FORMATS)
    p.add_argument("--output", required=True, help="where the predictions go (a directory)")
    p.add_argument("--format", default=d.format, choices=OUTPUT_FORMATS, help="output format")
    p.add_argument("--keep", type=_columns, default=(), help="columns to copy, e.g. id,date")
    p.add_argument("--drop", type=_columns, default=(), help="input columns to ignore")
    p.add_argument(
        "--features-col", default=d.features_col, help="vector models: the vector/array column"
    )
    p.add_argument("--user-col", default=d.user_col, help="recommenders: the user id column")
    p.add_argument("--k", type=int, default=d.k, help="recommenders: items per user")
    p.add_argument(
        "--include-seen", action="store_true", help="recommenders: also rank training items"
    )
    p.add_argument("--mode", default=d.mode, choices=MODES, help="if the output exists")
    p.add_argument("--on-error", default=d.on_error, choices=ON_ERROR, help="bad rows")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="rows per Arrow batch")
    p.add_argument(
        "--probability-columns", action="store_true", help="one probability column per class"
    )
    p.add_argument("--version-skew", default=d.version_skew, choices=SKEW)
    return p


def from_args(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> PredictSettings:
    env = os.environ if env is None else env
    args = vars(build_parser().parse_args(argv))
    if args["verify_key"] is None:
        args["verify_key"] = env.get(ENV_VERIFY_KEY) or None
    return PredictSettings(**args).validate()


__all__ = ["PredictSettings", "build_parser", "from_args"]
