"""Training on Spark MLlib: ``./spark-submit.sh train``, one signed artifact per run.

``job`` reads the data and dispatches to one module per path, each shaped alike — fit (with
the held-out evaluation), export with a parity check, the lineage of what was trained:
``vector`` (label + feature vectors, 28x28 images), ``tabular`` (named, typed columns) and
``recommend`` (ratings → ALS factor arrays). The rest serves them: ``split``, ``augment`` and
``printed`` (training rows), ``models`` (MLlib pipelines), ``calibration`` and ``evaluate``
(held-out figures), ``factors`` and ``ranking`` (the recommender's export and metrics).

The command line and settings are ``spark_jobs.cli`` and ``spark_jobs.settings``.
"""
