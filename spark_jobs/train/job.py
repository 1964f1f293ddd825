"""The training job: check → read → fit and evaluate → export → sign and save.

``run(settings)`` is the whole job and dispatches to one module per path, each shaped alike —
``fit`` (held-out evaluation included), ``export`` with a parity check, ``lineage_data``:

- ``--task recommendation`` → :mod:`spark_jobs.train.recommend` (ratings, ALS, factor arrays),
  which runs its own stages: it reads ratings, checkpoints ALS, evaluates with the exported
  factors and writes a recommender artifact;
- a table (named, typed columns) → :mod:`spark_jobs.train.tabular`;
- label + feature vectors (images, IDX, LIBSVM, the MNIST sample) → :mod:`spark_jobs.train.vector`.

The last two share this module's read and save; their ``prepare`` resolves and checks the
settings for the data before anything is fitted.

Everything that can be checked before Spark starts (signing key, target version, exporter)
is checked first, so a mistake costs seconds, not a training run.
"""

from __future__ import annotations

import logging
from pathlib import Path

from spark_jobs import lineage, sources
from spark_jobs.destination import signer_for, write_artifact
from spark_jobs.errors import ExportError
from spark_jobs.progress import stage
from spark_jobs.session import data_errors, get_session
from spark_jobs.settings import RECOMMENDATION, JobSettings
from spark_jobs.train import recommend, tabular, vector

log = logging.getLogger(__name__)


def _preflight(settings: JobSettings):
    """Signer loaded, version free, exporter importable — or a UsageError/ExportError now."""
    signer = signer_for(settings.signing_key, settings.signature_scheme, settings.artifact_dir)
    try:
        from spark_jobs.export import export_model  # a missing dependency is exit 4, not 1
    except ImportError as exc:
        raise ExportError(f"the scikit-learn exporter is unavailable: {exc}") from exc
    return signer, export_model


def _read(spark, settings: JobSettings, timings: dict) -> sources.Dataset | sources.TabularDataset:
    _, source = sources.resolve_source(settings)
    with stage("read", timings) as st, data_errors(source):
        data = sources.read(spark, settings)
        st.rows, st.facts = data.rows, {"format": data.format, "features": data.num_features}
        if isinstance(data, sources.TabularDataset):
            st.facts.update(task=data.task, dropped_label_rows=data.dropped_labels)
    return data


def run(settings: JobSettings, spark=None) -> Path:
    """Train, export and save one model; returns the artifact directory."""
    if settings.task == RECOMMENDATION:
        return recommend.run(settings, spark)
    signer, export_model = _preflight(settings)
    spark = spark or get_session(f"train-{settings.artifact_name}")
    timings: dict[str, float] = {}
    data = _read(spark, settings, timings)
    path = tabular if isinstance(data, sources.TabularDataset) else vector
    settings = path.prepare(settings, data)
    trained = path.fit(spark, settings, data, timings)
    exported = path.export(export_model, trained, data, settings, timings)
    with stage("save", timings):
        record = lineage.record(
            {"source": data.source, "format": data.format, **path.lineage_data(data)},
            rows=trained.sizes,
            params=settings.to_lineage(),
            model_params={type(s).__name__: lineage.params(s) for s in trained.model.stages},
            spark=spark,
        )
        record["timings_s"] = dict(timings)
        artifact = write_artifact(
            exported.estimator,
            settings.output,
            settings.artifact_name,
            version=settings.version,
            signer=signer,
            input_schema=exported.input_schema,
            output_schema=exported.output_schema,
            metrics=trained.metrics,
            parity=exported.parity,
            lineage=record,
            extra_files=trained.pictures,
        )
    data.frame.unpersist()
    log.info("artifact written: %s (%s)", artifact, path.summary(trained, data))
    return artifact
