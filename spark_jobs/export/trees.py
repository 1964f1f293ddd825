"""Tree models: DecisionTree / RandomForest / GBT, classification and regression → sklearn.

The node arrays come from the model's own saved form (``model.write().save`` then the
``data/`` parquet), which holds every threshold and leaf statistic as the exact doubles
Spark predicts with.  They are packed into ``sklearn.tree._tree.Tree`` objects through
the same ``__setstate__`` path joblib uses when it unpickles a fitted tree.

Both libraries send ``x <= threshold`` left and NaN right, but sklearn casts X to
float32 before comparing, while Spark compares doubles.  Spark's thresholds are often
training values themselves (e.g. 43/255 for a pixel), so keeping the double threshold
would send ``x == threshold`` right whenever float32 rounding nudges x up.  Each
threshold is therefore stored rounded to float32 as well: the test becomes
``f32(x) <= f32(t)``, which agrees with ``x <= t`` for every x except one strictly above t
that rounds to the same float32 as t (a window of half a float32 ulp).  The parity run
would catch such a row.

Categorical splits whose left set is not a prefix or suffix of the category indices
become threshold splits on derived membership features (see ``category_splits``); a
model with such splits exports as a Pipeline: the derived-features step, then the model.
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.tree._tree import NODE_DTYPE, Tree

from . import category_splits
from .category_splits import MembershipSplit
from .checks import describe, reject_class_thresholds, require_binary
from .errors import UnsupportedStage

TREE_LEAF = -1
TREE_UNDEFINED = -2


@dataclass(frozen=True)
class SavedTrees:
    """Node rows per tree (in tree order) and the ensemble weights Spark saved."""

    nodes: list[list[dict[str, Any]]]
    weights: list[float]


@dataclass(frozen=True)
class Features:
    """What the sklearn trees see: the model's features, then one per scattered split.

    ``derived`` maps each scattered split to its column; ``step`` computes those columns
    (None when the model has no scattered split and the trees read X as it is).
    """

    n_features: int
    derived: dict[MembershipSplit, int]
    step: ColumnTransformer | None

    @property
    def width(self) -> int:
        return self.n_features + len(self.derived)


def tree_features(model: Any, saved: SavedTrees) -> Features:
    """The derived membership columns the saved trees need (see ``category_splits``)."""
    n_features = int(model.numFeatures)
    splits = category_splits.collect(saved.nodes)
    if not splits:
        return Features(n_features, {}, None)
    derived = {split: n_features + i for i, split in enumerate(splits)}
    return Features(n_features, derived, category_splits.derived_features(n_features, splits))


def with_features(model: Any, features: Features, estimator: Any) -> Any:
    """The estimator alone, or after the step that derives its membership columns."""
    if features.step is None:
        return estimator
    return Pipeline([(f"{model.uid}_categorical_splits", features.step), (model.uid, estimator)])


@dataclass(frozen=True)
class TreeReader:
    """Where tree models are saved to be read back.

    ``work_dir=None`` uses a temporary directory on the driver, which is right for local
    masters.  On a cluster whose executors do not share the driver's disk, pass a
    directory every node can reach (``hdfs://…``, ``s3a://…``); the exporter writes one
    ``spark-export-<uuid>`` directory there per model and leaves it for the caller to clean.
    """

    spark: Any
    work_dir: str | None = None


def read_saved_trees(model: Any, reader: TreeReader) -> SavedTrees:
    """Save ``model`` and read its node parquet back (see TreeReader for where)."""
    if reader.work_dir is None:
        with tempfile.TemporaryDirectory(prefix="spark-export-") as tmp:
            return _save_and_read(model, reader.spark, str(Path(tmp) / "model"))
    path = f"{reader.work_dir.rstrip('/')}/spark-export-{uuid.uuid4().hex}"
    return _save_and_read(model, reader.spark, path)


def _save_and_read(model: Any, spark: Any, path: str) -> SavedTrees:
    """A single tree saves bare node rows; an ensemble saves ``(treeID, nodeData)`` rows
    plus a ``treesMetadata`` table whose third column is each tree's weight."""
    model.write().save(path)
    rows = [row.asDict(recursive=True) for row in spark.read.parquet(f"{path}/data").collect()]
    if not hasattr(model, "treeWeights"):
        return SavedTrees(nodes=[_sorted_nodes(rows)], weights=[1.0])
    meta = spark.read.parquet(f"{path}/treesMetadata").collect()
    weights = {int(r[0]): float(r[2]) for r in meta}
    per_tree: dict[int, list[dict[str, Any]]] = {tree_id: [] for tree_id in weights}
    for row in rows:
        per_tree[int(row["treeID"])].append(row["nodeData"])
    order = sorted(per_tree)
    return SavedTrees(
        nodes=[_sorted_nodes(per_tree[i]) for i in order], weights=[weights[i] for i in order]
    )


def _sorted_nodes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order node rows by id and check the ids are 0..n-1 with the root at 0."""
    rows = sorted(rows, key=lambda r: r["id"])
    if [r["id"] for r in rows] != list(range(len(rows))):
        raise UnsupportedStage("saved tree node ids are not contiguous from 0")
    return rows


def spark_normalize(stats: list[float]) -> np.ndarray:
    """Class counts → distribution, summing left to right and dividing as Spark does."""
    total = 0.0
    for value in stats:
        total += value
    return np.array([value / total for value in stats], dtype=np.float64)


def float32_threshold(threshold: float) -> float:
    """The threshold as sklearn's float32 inputs see it (see the module docstring)."""
    with np.errstate(over="ignore"):
        return float(np.float32(threshold))


def build_tree(
    owner: Any,
    rows: list[dict[str, Any]],
    n_features: int,
    values: np.ndarray,
    n_classes: int,
    derived: dict[MembershipSplit, int] | None = None,
) -> Tree:
    """Pack node rows and per-node output ``values`` (n_nodes × n_classes) into a Tree.

    ``derived``: the column of each scattered categorical split (see ``Features``).
    """
    nodes = np.zeros(len(rows), dtype=NODE_DTYPE)
    for i, row in enumerate(rows):
        nodes[i]["impurity"] = row["impurity"]
        nodes[i]["n_node_samples"] = row["rawCount"]
        nodes[i]["weighted_n_node_samples"] = row["rawCount"]
        if row["leftChild"] < 0:
            nodes[i]["left_child"] = nodes[i]["right_child"] = TREE_LEAF
            nodes[i]["feature"] = TREE_UNDEFINED
            nodes[i]["threshold"] = TREE_UNDEFINED
            continue
        membership = category_splits.scattered(row["split"])
        if membership is not None and derived and membership in derived:
            feature, threshold, swap = derived[membership], category_splits.DERIVED_THRESHOLD, False
        else:
            threshold, swap = split_threshold(owner, row["split"])
            feature = row["split"]["featureIndex"]
        left, right = row["leftChild"], row["rightChild"]
        nodes[i]["left_child"], nodes[i]["right_child"] = (right, left) if swap else (left, right)
        nodes[i]["feature"] = feature
        nodes[i]["threshold"] = threshold
    tree = Tree(n_features, np.array([n_classes], dtype=np.intp), 1)
    tree.__setstate__(
        {
            "max_depth": _depth(nodes),
            "node_count": len(rows),
            "nodes": nodes,
            "values": values.reshape(len(rows), 1, n_classes),
        }
    )
    return tree


def split_threshold(owner: Any, split: dict[str, Any]) -> tuple[float, bool]:
    """A saved split as ``(sklearn threshold, swap children?)``.

    Continuous: ``x <= t`` left in both (threshold rounded as the module docstring says).
    Categorical over categories ``0 … k-1`` (one-hot binary features are categorical
    with k = 2 for Spark's trees): left iff x is in Spark's left set.  A left set that is
    a prefix ``{0 … j}`` is ``x <= j + 0.5``; a suffix ``{j … k-1}`` is the same test
    with the children swapped.  Other sets have no single-threshold form on x and are
    refused here; ``build_tree`` sends them to derived features instead.
    """
    values = split["leftCategoriesOrThreshold"]
    k = split["numCategories"]
    if k == -1:
        return float32_threshold(values[0]), False
    left = sorted(int(v) for v in values)
    if left == list(range(len(left))):
        return len(left) - 0.5, False
    if left == list(range(k - len(left), k)):
        return k - len(left) - 0.5, True
    raise UnsupportedStage(
        f"{describe(owner)}: categorical split on feature {split['featureIndex']} "
        f"(left categories {left} of {k}) has no sklearn threshold equivalent; "
        "one-hot encode the feature or drop its categorical metadata"
    )


def _depth(nodes: np.ndarray) -> int:
    """Depth of the tree rooted at node 0 (a lone leaf has depth 0)."""
    depth, stack = 0, [(0, 0)]
    while stack:
        index, level = stack.pop()
        depth = max(depth, level)
        if nodes[index]["left_child"] != TREE_LEAF:
            stack.append((int(nodes[index]["left_child"]), level + 1))
            stack.append((int(nodes[index]["right_child"]), level + 1))
    return depth


def _classifier_tree(
    owner: Any, rows: list[dict[str, Any]], features: Features, classes: np.ndarray
) -> DecisionTreeClassifier:
    """One fitted DecisionTreeClassifier whose leaves hold Spark's normalised class stats."""
    values = np.stack([spark_normalize(r["impurityStats"]) for r in rows])
    if values.shape[1] != len(classes):
        raise UnsupportedStage(
            f"{describe(owner)}: {values.shape[1]} classes but {len(classes)} labels"
        )
    n_features = features.width
    estimator = DecisionTreeClassifier()
    estimator.tree_ = build_tree(owner, rows, n_features, values, len(classes), features.derived)
    estimator.classes_ = classes
    estimator.n_classes_ = len(classes)
    estimator.n_outputs_ = 1
    estimator.n_features_in_ = n_features
    estimator.max_features_ = n_features
    return estimator


def convert_decision_tree(model: Any, classes: np.ndarray, reader: TreeReader) -> Any:
    """DecisionTreeClassificationModel: probability = the leaf's normalised class counts."""
    reject_class_thresholds(model)
    saved = read_saved_trees(model, reader)
    features = tree_features(model, saved)
    return with_features(
        model, features, _classifier_tree(model, saved.nodes[0], features, classes)
    )


def convert_random_forest(model: Any, classes: np.ndarray, reader: TreeReader) -> Any:
    """RandomForestClassificationModel: the mean of per-tree normalised leaf distributions.

    Spark sums each tree's normalised class counts and normalises the sum;
    RandomForestClassifier averages its trees' ``predict_proba`` — the same numbers.
    """
    reject_class_thresholds(model)
    saved = read_saved_trees(model, reader)
    features = tree_features(model, saved)
    trees = [_classifier_tree(model, rows, features, classes) for rows in saved.nodes]
    estimator = RandomForestClassifier(n_estimators=len(trees))
    estimator.estimators_ = trees
    estimator.estimator_ = DecisionTreeClassifier()
    estimator.classes_ = classes
    estimator.n_classes_ = len(classes)
    estimator.n_outputs_ = 1
    estimator.n_features_in_ = features.width
    return with_features(model, features, estimator)


def _regression_tree(
    owner: Any, rows: list[dict[str, Any]], features: Features, weight: float = 1.0
) -> DecisionTreeRegressor:
    """One fitted DecisionTreeRegressor whose leaves hold ``weight`` × Spark's prediction."""
    n_features = features.width
    values = np.array([[weight * r["prediction"]] for r in rows], dtype=np.float64)
    tree = DecisionTreeRegressor(criterion="squared_error")
    tree.tree_ = build_tree(owner, rows, n_features, values, 1, features.derived)
    tree.n_outputs_ = 1
    tree.n_features_in_ = n_features
    tree.max_features_ = n_features
    return tree


def _boosted(estimator: Any, model: Any, saved: SavedTrees) -> Any:
    """Fill a GradientBoosting* estimator with Spark's trees, leaf values pre-weighted;
    the result reads the derived membership columns too when there are any."""
    features = tree_features(model, saved)
    n_features = features.width
    stages = [
        _regression_tree(model, rows, features, weight)
        for rows, weight in zip(saved.nodes, saved.weights, strict=True)
    ]
    estimator.estimators_ = np.empty((len(stages), 1), dtype=object)
    for i, stage in enumerate(stages):
        estimator.estimators_[i, 0] = stage
    estimator.init_ = "zero"
    estimator.n_trees_per_iteration_ = 1
    estimator.n_estimators_ = len(stages)
    estimator.n_features_in_ = n_features
    estimator.max_features_ = n_features
    estimator._loss = estimator._get_loss(sample_weight=None)
    return with_features(model, features, estimator)


def convert_gbt(model: Any, classes: np.ndarray, reader: TreeReader) -> Any:
    """GBTClassificationModel (binary) → GradientBoostingClassifier with ``init="zero"``.

    Spark: margin m = Σ wᵢ·treeᵢ(x), P(1) = 1 / (1 + exp(−2m)), label 1 iff m > 0.
    sklearn: raw r = learning_rate · Σ valueᵢ(x), P(1) = expit(r).  Storing wᵢ·leaf as
    each regression tree's leaf value and using learning_rate=2 gives r = 2m exactly
    (doubling is exact in floating point).
    """
    reject_class_thresholds(model)
    require_binary(model, classes)
    saved = read_saved_trees(model, reader)
    estimator = GradientBoostingClassifier(
        n_estimators=len(saved.nodes), learning_rate=2.0, init="zero", max_depth=model.getMaxDepth()
    )
    estimator.classes_ = classes
    estimator.n_classes_ = 2
    return _boosted(estimator, model, saved)


def convert_decision_tree_regressor(model: Any, reader: TreeReader) -> Any:
    """DecisionTreeRegressionModel: the prediction is the leaf's value."""
    saved = read_saved_trees(model, reader)
    features = tree_features(model, saved)
    return with_features(model, features, _regression_tree(model, saved.nodes[0], features))


def convert_random_forest_regressor(model: Any, reader: TreeReader) -> Any:
    """RandomForestRegressionModel: Spark sums the trees in order and divides by their
    number; RandomForestRegressor (single job) accumulates in order from zero, then
    divides — the same operations."""
    saved = read_saved_trees(model, reader)
    features = tree_features(model, saved)
    trees = [_regression_tree(model, rows, features) for rows in saved.nodes]
    estimator = RandomForestRegressor(n_estimators=len(trees))
    estimator.estimators_ = trees
    estimator.estimator_ = DecisionTreeRegressor()
    estimator.n_outputs_ = 1
    estimator.n_features_in_ = features.width
    return with_features(model, features, estimator)


def convert_gbt_regressor(model: Any, reader: TreeReader) -> Any:
    """GBTRegressionModel → GradientBoostingRegressor with ``init="zero"``.

    Spark predicts Σ wᵢ·treeᵢ(x) with w = (1, stepSize, stepSize, …) as saved; the leaf
    values hold wᵢ·leaf, so learning_rate=1 and a zero start give the same sum.
    """
    saved = read_saved_trees(model, reader)
    estimator = GradientBoostingRegressor(
        n_estimators=len(saved.nodes), learning_rate=1.0, init="zero", max_depth=model.getMaxDepth()
    )
    return _boosted(estimator, model, saved)
