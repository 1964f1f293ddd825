"""PySpark jobs: train and export models to signed scikit-learn artifacts, and score in batch.

Each job is a package with its own settings and driver: ``train`` (entry ``spark_jobs/main.py``,
``./spark-submit.sh train``; ``spark_jobs.train.job.run`` does the work given one
``spark_jobs.settings.JobSettings``), ``export`` (``spark_jobs/export/main.py``) and
``predict`` (``spark_jobs/predict/main.py``). ``sources`` reads the data; the top-level
modules are what the jobs share.
"""
