"""``./spark-submit.sh export``: a saved MLlib PipelineModel → a signed scikit-learn artifact.

For pipelines fitted elsewhere (``model.write().save(path)``): load the PipelineModel from
any Hadoop path, read sample rows with the pipeline's input columns, export to
scikit-learn with the parity check on those rows, and write the artifact exactly as
``train`` does (typed input/output schema, parity in the manifest, lineage with the
pipeline's path and digest).  Every unsupported stage or setting is listed in one message
(exit 4) and nothing is written.

Exit codes are the train job's: 0 ok, 1 unexpected, 2 usage (option, signing key, existing
version), 3 bad data (pipeline or sample unreadable), 4 export or parity, 5 artifact write.

From a notebook, the same in two calls::

    from spark_jobs.export import export_model
    import artifacts

    result = export_model(PipelineModel.load(path), sample_df, label_col="y")
    artifacts.save(result.estimator, "model-store", "my-model",
                   signer=artifacts.load_signer("signing-key.pem"),
                   input_schema=result.input_schema, output_schema=result.output_schema,
                   parity=result.parity)
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from spark_jobs import lineage
from spark_jobs.boundary import run_job
from spark_jobs.destination import signer_for, write_artifact
from spark_jobs.errors import (
    DataError,
    UsageError,
)
from spark_jobs.progress import stage
from spark_jobs.session import data_errors, get_session
from spark_jobs.settings import ENV_SIGNING_KEY, check_identity, default_version

log = logging.getLogger("spark_jobs")

SAMPLE_FORMATS = ("auto", "csv", "parquet")


@dataclass(frozen=True)
class ExportSettings:
    """One export run; ``validate`` rejects what would only fail after Spark starts."""

    pipeline: str
    """Saved PipelineModel directory (local path or any Hadoop URI)."""
    sample: str
    """Rows with the pipeline's input columns, for the parity check and the schema."""
    name: str
    signing_key: str | None = None
    signature_scheme: str = "auto"
    label_col: str = "label"
    features_col: str = "features"
    output: str = "model-store"
    version: str = "default"
    limit: int = 500
    format: str = "auto"

    def validate(self) -> ExportSettings:
        checks = [
            (self.limit >= 1, "--limit must be >= 1"),
            (self.format in SAMPLE_FORMATS, f"--format must be one of {SAMPLE_FORMATS}"),
            (self.signing_key is not None, f"no signing key: --signing-key or {ENV_SIGNING_KEY}"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        check_identity(self.name, self.version)
        return self

    @property
    def artifact_dir(self) -> Path:
        return Path(self.output) / self.name / self.version

    @property
    def sample_format(self) -> str:
        if self.format != "auto":
            return self.format
        lowered = self.sample.rstrip("/").lower()
        return "csv" if lowered.endswith((".csv", ".csv.gz", ".tsv")) else "parquet"


def build_parser() -> argparse.ArgumentParser:
    d = ExportSettings(pipeline="", sample="", name="")
    p = argparse.ArgumentParser(
        prog="spark-submit.sh export",
        description="Export a saved Spark MLlib PipelineModel to scikit-learn, check parity "
        "on sample rows and write a signed artifact into a model store.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--pipeline", required=True, help="saved PipelineModel path/URI")
    p.add_argument("--sample", required=True, help="CSV (header) or Parquet rows to check on")
    p.add_argument("--format", default=d.format, choices=SAMPLE_FORMATS, help="of --sample")
    p.add_argument("--limit", type=int, default=d.limit, help="sample rows used")
    p.add_argument("--label-col", default=d.label_col, help="label column (if in the sample)")
    p.add_argument("--features-col", default=d.features_col, help="vector pipelines")
    p.add_argument("--name", required=True, help="model name in the store")
    p.add_argument("--version", help="artifact version (default: UTC timestamp)")
    p.add_argument("--output", default=d.output, help="model store directory")
    p.add_argument("--signing-key", help=f"private PEM or HMAC secret (env {ENV_SIGNING_KEY})")
    p.add_argument(
        "--signature-scheme", default=d.signature_scheme, choices=("auto", "openssf", "hmac-sha256")
    )
    return p


def from_args(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> ExportSettings:
    """Defaults → ``SPARK_JOBS_SIGNING_KEY`` → options."""
    env = os.environ if env is None else env
    args = vars(build_parser().parse_args(argv))
    args["version"] = args["version"] or default_version()
    args["signing_key"] = args["signing_key"] or env.get(ENV_SIGNING_KEY) or None
    return ExportSettings(**args).validate()


def _read(spark, settings: ExportSettings):
    """The PipelineModel and the sample rows, or a DataError naming what is unreadable."""
    from pyspark.ml import PipelineModel

    with data_errors(settings.pipeline):
        model = PipelineModel.load(settings.pipeline)
    with data_errors(settings.sample):
        reader = spark.read
        if settings.sample_format == "csv":
            reader = reader.option("header", True).option("inferSchema", True)
        sample = reader.format(settings.sample_format).load(settings.sample)
        sample = sample.limit(settings.limit).cache()
        rows = sample.count()
    if not rows:
        raise DataError(f"{settings.sample}: no rows to check parity on")
    return model, sample, rows


def _export(model, sample, settings: ExportSettings):
    from spark_jobs.export import export_model

    return export_model(  # raises ExportError (exit 4)
        model,
        sample,
        features_col=settings.features_col,
        label_col=settings.label_col,
        schema_df=sample,
    )


def _lineage(settings: ExportSettings, model, rows: int, spark) -> dict:
    conf = spark.sparkContext.getConf()
    return {
        "pipeline": {
            "source": settings.pipeline,
            "sha256": lineage.digest(settings.pipeline),
            "stages": [type(s).__name__ for s in model.stages],
        },
        "data": {
            "source": settings.sample,
            "format": settings.sample_format,
            "sha256": lineage.digest(settings.sample),
            "rows": rows,
        },
        "params": dataclasses.asdict(settings),  # the key's path, never the key
        "spark": {
            "version": spark.version,
            "master": conf.get("spark.master", "unknown"),
            "app_id": spark.sparkContext.applicationId,
        },
    }


def run(settings: ExportSettings, spark=None) -> Path:
    """Load, export, check parity, sign and save; returns the artifact directory."""
    signer = signer_for(settings.signing_key, settings.signature_scheme, settings.artifact_dir)
    spark = spark or get_session(f"export-{settings.name}")
    timings: dict[str, float] = {}
    with stage("read", timings) as st:
        model, sample, rows = _read(spark, settings)
        st.rows, st.facts = rows, {"stages": len(model.stages)}
    with stage("export", timings) as st:
        result = _export(model, sample, settings)
        st.facts = {k: result.parity.get(k) for k in ("rows", "label_agreement", "passed")}
    with stage("save", timings):
        record = _lineage(settings, model, rows, spark)
        record["timings_s"] = dict(timings)
        path = write_artifact(
            result.estimator,
            settings.output,
            settings.name,
            version=settings.version,
            signer=signer,
            input_schema=result.input_schema,
            output_schema=result.output_schema,
            parity=dict(result.parity),
            lineage=record,
        )
    sample.unpersist()
    log.info("artifact written: %s (parity on %s rows)", path, result.parity.get("rows"))
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Run one export; returns the process exit code."""
    return run_job("export", lambda: run(from_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
