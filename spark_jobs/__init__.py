"""PySpark training jobs: read data, fit an MLlib pipeline, export it to scikit-learn, sign it.

The driver entry point is ``spark_jobs/main.py`` (run through ``./spark-submit.sh train``);
``spark_jobs.job.run`` does the work given one ``spark_jobs.settings.JobSettings``.
"""
