# syntax=docker/dockerfile:1
# The Spark image for training on Kubernetes (`./spark-submit.sh train` in k8s mode, or the chart's
# optional SparkApplication / Job). Driver and executors both run it; the code sits at
# /opt/spark-model-server and is passed to spark-submit as local:// paths.
#
#   docker build -f docker/spark.Dockerfile -t spark-model-server-spark:0.1.0 .
#
# The official image's python3 is Ubuntu 22.04's 3.10, older than the project's floor (3.11),
# so the jobs run in a Python 3.11 virtualenv that PYSPARK_PYTHON points at. PySpark itself comes
# from the image's Spark distribution (/opt/spark/python), matching the JVM side exactly.

ARG SPARK_IMAGE=apache/spark:4.1.0-scala2.13-java17-python3-ubuntu
FROM ${SPARK_IMAGE}

USER 0
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3.11 python3.11-venv \
    && rm -rf /var/lib/apt/lists/*

ENV VIRTUAL_ENV=/opt/venv \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# Only the jobs' runtime dependencies: pyspark is deliberately not installed from PyPI.
RUN python3.11 -m venv "$VIRTUAL_ENV" \
    && "$VIRTUAL_ENV/bin/pip" install \
       'numpy>=1.26,<3' 'scikit-learn>=1.5,<2' 'joblib>=1.3,<2' 'model-signing>=1.1,<2' \
       'pyopenssl>=24,<27' 'cryptography>=42' 'pillow>=10.3,<14' \
       'mlxtend>=0.23,<1' 'pandas>=2.1,<4' 'pyarrow>=14'

COPY --chown=185:185 spark_jobs/ /opt/spark-model-server/spark_jobs/
COPY --chown=185:185 artifacts/ /opt/spark-model-server/artifacts/
COPY --chown=185:185 spark-submit.sh /opt/spark-model-server/

ENV PYSPARK_PYTHON=/opt/venv/bin/python \
    PYSPARK_DRIVER_PYTHON=/opt/venv/bin/python \
    PYTHONPATH=/opt/spark-model-server \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /opt/spark/work-dir
# 185 is the `spark` user of the official image.
USER 185
