"""Batch scoring on Spark with a signed artifact: ``./spark-submit.sh predict``.

The driver verifies and loads the artifact through :mod:`artifacts` exactly as serving does
(signature, digests, identity, version skew) before any executor work; executors receive the
verified model as broadcast bytes and unpickle them at most once per Python worker
(:mod:`spark_jobs.predict.scoring`). Rows are scored in ``mapInPandas`` on Arrow batches with
one vectorised ``predict_proba``/``predict`` call per batch, and the result is written to a
hidden temporary path beside the output and renamed into place only on success
(:mod:`spark_jobs.predict.output`).

Modules: ``settings`` (command line), ``scoring`` (executor side, no pyspark), ``output``
(atomic write and summary), ``job`` (the driver), ``cli``/``main`` (the process boundary).
"""
