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
from spark_jobs.destination import (
    ENV_SIGNING_KEY,
    check_identity,
    default_version,
    scheme_option,
    signer_for,
    signing_key_option,
    store_option,
    version_option,
    write_artifact,
)
from spark_jobs.errors import DataError, UsageError
from spark_jobs.export.exporter import export_model
from spark_jobs.options import build_parser as build_options_parser
from spark_jobs.options import option
from spark_jobs.progress import stage
from spark_jobs.session import data_errors, get_session

log = logging.getLogger("spark_jobs")

SAMPLE_FORMATS = ("auto", "csv", "parquet")


@dataclass(frozen=True, kw_only=True)
class ExportSettings:
    """One export run; each field is also its ``--option`` (declared as in ``JobSettings``);
    ``validate`` rejects what would only fail after Spark starts."""

    pipeline: str = option(
        required=True,
        help="saved PipelineModel path/URI",
        doc="Saved PipelineModel directory (local path or any Hadoop URI).",
    )
    sample: str = option(
        required=True,
        help="CSV (header) or Parquet rows to check on",
        doc="Rows with the pipeline's input columns, for the parity check and the schema.",
    )
    format: str = option(
        "auto",
        choices=SAMPLE_FORMATS,
        help="of --sample",
        doc="Format of `--sample`; `auto`: CSV for `.csv`/`.csv.gz`/`.tsv`, else Parquet.",
    )
    limit: int = option(
        500, type=int, help="sample rows used", doc="Sample rows read and checked for parity."
    )
    label_col: str = option(
        "label",
        help="label column (if in the sample)",
        doc="The label column, if the sample has one.",
    )
    features_col: str = option(
        "features", help="vector pipelines", doc="Vector pipelines: the features column."
    )
    name: str = option(
        required=True, help="model name in the store", doc="The artifact's model name."
    )
    version: str = version_option()
    output: str = store_option()
    signing_key: str | None = signing_key_option()
    signature_scheme: str = scheme_option()

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
    """The command line, built from the ``ExportSettings`` fields."""
    return build_options_parser(
        ExportSettings,
        prog="spark-submit.sh export",
        description="Export a saved Spark MLlib PipelineModel to scikit-learn, check parity "
        "on sample rows and write a signed artifact into a model store.",
    )


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
    return export_model(  # raises ExportError (exit 4)
        model,
        sample,
        features_col=settings.features_col,
        label_col=settings.label_col,
        schema_df=sample,
    )


def _lineage(settings: ExportSettings, model, rows: int, spark) -> dict:
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
        "spark": lineage.spark_facts(spark),
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
