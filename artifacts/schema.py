"""The typed input and output schema of an artifact: the one definition everyone uses.

An artifact's manifest carries ``input_schema`` and ``output_schema``. spark_jobs writes them,
serving and batch scoring validate requests against them, ``artifacts inspect`` prints them.
No other module spells out their keys.

Input schema kinds:

- ``tabular`` — an ordered list of named, typed columns. The exported estimator is a scikit-learn
  ``Pipeline`` that takes a pandas DataFrame with exactly these columns, in this order, in the
  *frame form* below (``artifacts.runtime.tabular.to_frame`` builds it from JSON records).
- ``image/mnist-28x28`` — 784 float pixels in [0, 1] (the demo's digits).
- ``vector`` — n anonymous (or positionally named) floats: numeric models exported from a
  VectorAssembler over numbers, and artifacts written before tabular schemas existed.

Frame form of a tabular row (what the estimator receives):

- ``double``/``long`` columns: float64, a missing value is NaN;
- categorical columns (``categories`` is set; string and boolean columns always are): Python
  ``str`` values exactly as Spark casts them to string (booleans ``"true"``/``"false"``, a
  categorical long ``3`` → ``"3"``), a missing value is ``None``;
- text columns (``text`` is true): a string column the model tokenises (Spark's Tokenizer or
  RegexTokenizer → CountVectorizer), so it has no fixed label set. It is a categorical column
  with no categories and ``unseen: "keep"`` — every value is accepted as it is, an empty
  string is a document with no words, not a missing value — which is also how a server
  that predates ``text`` reads it;
- ``categories`` lists the values seen in training in the encoder's index order; a value outside
  it is *unseen* and follows the trained policy (``unseen``: ``"keep"`` — scored as Spark's
  StringIndexer ``handleInvalid='keep'`` bucket — or ``"error"`` — refused with a 400).

Output schema: ``task`` (classification, regression, clustering, recommendation), ``label`` (the
label column's name, if any), ``classes`` (classification: original labels in the order of
``predict_proba``'s columns) and ``target`` (regression: the value's type and observed range).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ManifestInvalid

TABULAR = "tabular"
IMAGE_MNIST = "image/mnist-28x28"
VECTOR = "vector"
INPUT_KINDS = (TABULAR, IMAGE_MNIST, VECTOR)

DOUBLE, LONG, STRING, BOOLEAN = "double", "long", "string", "boolean"
COLUMN_TYPES = (DOUBLE, LONG, STRING, BOOLEAN)
NUMERIC_TYPES = (DOUBLE, LONG)
UNSEEN_POLICIES = ("keep", "error")

CLASSIFICATION, REGRESSION, CLUSTERING, RECOMMENDATION = (
    "classification",
    "regression",
    "clustering",
    "recommendation",
)
TASKS = (CLASSIFICATION, REGRESSION, CLUSTERING, RECOMMENDATION)

MNIST_FEATURES = 784


@dataclass(frozen=True)
class Column:
    """One named, typed input column of a tabular model."""

    name: str
    type: str
    nullable: bool = True
    categories: tuple[str, ...] | None = None
    range: tuple[float, float] | None = None
    unseen: str = "keep"
    text: bool = False

    def __post_init__(self) -> None:
        if self.text:  # free text: no label set, every value accepted
            object.__setattr__(self, "categories", ())
        if not isinstance(self.name, str) or not self.name:
            raise ManifestInvalid(f"input column name must be a non-empty string: {self.name!r}")
        if self.type not in COLUMN_TYPES:
            raise ManifestInvalid(
                f"input column {self.name!r} has type {self.type!r}; use one of {COLUMN_TYPES}"
            )
        if self.type in (STRING, BOOLEAN) and self.categories is None:
            raise ManifestInvalid(f"{self.type} column {self.name!r} needs its categories")
        if self.unseen not in UNSEEN_POLICIES:
            raise ManifestInvalid(f"column {self.name!r}: unseen must be one of {UNSEEN_POLICIES}")
        if self.text and (self.type != STRING or self.unseen != "keep"):
            raise ManifestInvalid(
                f"text column {self.name!r} must be a string column that keeps unseen values"
            )

    @property
    def categorical(self) -> bool:
        return self.categories is not None

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "type": self.type, "nullable": self.nullable}
        if self.categories is not None:
            doc["categories"] = list(self.categories)
            doc["unseen"] = self.unseen
        if self.text:
            doc["text"] = True
        if self.range is not None:
            doc["range"] = [float(self.range[0]), float(self.range[1])]
        return doc

    @classmethod
    def from_dict(cls, doc: Any) -> Column:
        if not isinstance(doc, dict):
            raise ManifestInvalid(f"an input column must be an object, got {doc!r}")
        cats = doc.get("categories")
        rng = doc.get("range")
        try:
            return cls(
                name=doc.get("name"),
                type=doc.get("type"),
                nullable=bool(doc.get("nullable", True)),
                categories=None if cats is None else tuple(str(c) for c in cats),
                range=None if rng is None else (float(rng[0]), float(rng[1])),
                unseen=doc.get("unseen", "keep"),
                text=bool(doc.get("text", False)),
            )
        except (TypeError, ValueError, IndexError) as exc:
            raise ManifestInvalid(f"input column {doc.get('name')!r} is malformed: {exc}") from None


@dataclass(frozen=True)
class InputSchema:
    """What a model takes: tabular columns, MNIST images, or a plain numeric vector."""

    kind: str
    columns: tuple[Column, ...] = ()
    features: int = 0
    dtype: str = "float64"
    range: tuple[float, float] | None = None
    names: tuple[str, ...] | None = None  # vector only: positional names, if known

    def __post_init__(self) -> None:
        if self.kind not in INPUT_KINDS:
            raise ManifestInvalid(f"unknown input schema type {self.kind!r}")
        if self.kind == TABULAR:
            if not self.columns:
                raise ManifestInvalid("a tabular input schema needs at least one column")
            names = [c.name for c in self.columns]
            if len(set(names)) != len(names):
                raise ManifestInvalid("tabular input column names must be unique")
        elif self.features <= 0:
            raise ManifestInvalid(f"{self.kind} input schema needs a positive 'features'")

    # constructors -------------------------------------------------------------------------
    @classmethod
    def mnist(cls) -> InputSchema:
        return cls(IMAGE_MNIST, features=MNIST_FEATURES, dtype="float32", range=(0.0, 1.0))

    @classmethod
    def tabular(cls, columns: list[Column] | tuple[Column, ...]) -> InputSchema:
        return cls(TABULAR, columns=tuple(columns))

    @classmethod
    def vector(
        cls, features: int, names: list[str] | None = None, value_range: tuple | None = None
    ) -> InputSchema:
        return cls(
            VECTOR,
            features=int(features),
            names=tuple(names) if names else None,
            range=tuple(value_range) if value_range else None,
        )

    # views ---------------------------------------------------------------------------------
    @property
    def is_image(self) -> bool:
        return self.kind == IMAGE_MNIST

    @property
    def is_tabular(self) -> bool:
        return self.kind == TABULAR

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    # (de)serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        if self.kind == TABULAR:
            return {"type": TABULAR, "columns": [c.to_dict() for c in self.columns]}
        doc: dict[str, Any] = {"type": self.kind, "features": self.features, "dtype": self.dtype}
        if self.range is not None:
            doc["range"] = [_num(self.range[0]), _num(self.range[1])]
        if self.names:
            doc["names"] = list(self.names)
        return doc

    @classmethod
    def from_dict(cls, doc: Any) -> InputSchema:
        """Parse a manifest's ``input_schema``, including the forms older artifacts used."""
        if not isinstance(doc, dict):
            raise ManifestInvalid("input_schema must be an object")
        kind = doc.get("type")
        if kind == TABULAR and "columns" not in doc:  # before typed columns: positional numbers
            kind = VECTOR
        if kind == TABULAR:
            cols = doc.get("columns")
            if not isinstance(cols, list):
                raise ManifestInvalid("tabular input_schema 'columns' must be a list")
            return cls.tabular([Column.from_dict(c) for c in cols])
        if kind not in (IMAGE_MNIST, VECTOR):
            raise ManifestInvalid(f"unknown input schema type {kind!r}")
        rng = doc.get("range")
        names = doc.get("names") or doc.get("feature_names")
        try:
            return cls(
                kind,
                features=int(doc.get("features") or 0),
                dtype=str(doc.get("dtype", "float64")),
                range=None if rng is None else (float(rng[0]), float(rng[1])),
                names=tuple(str(n) for n in names) if names else None,
            )
        except (TypeError, ValueError, IndexError) as exc:
            raise ManifestInvalid(f"input_schema is malformed: {exc}") from None


@dataclass(frozen=True)
class OutputSchema:
    """What a model returns."""

    task: str
    label: str | None = None
    classes: tuple[Any, ...] | None = None
    target: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ManifestInvalid(f"unknown task {self.task!r}; use one of {TASKS}")
        if self.task == CLASSIFICATION and not self.classes:
            raise ManifestInvalid("a classification output schema needs its classes")

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"task": self.task, "label": self.label}
        if self.classes is not None:
            doc["classes"] = list(self.classes)
        if self.target:
            doc["target"] = dict(self.target)
        return doc

    @classmethod
    def from_dict(cls, doc: Any) -> OutputSchema:
        if not isinstance(doc, dict):
            raise ManifestInvalid("output_schema must be an object")
        classes = doc.get("classes")
        return cls(
            task=doc.get("task"),
            label=doc.get("label"),
            classes=None if classes is None else tuple(classes),
            target=dict(doc.get("target") or {}),
        )


def input_schema(manifest: dict[str, Any]) -> InputSchema:
    """The manifest's input schema (legacy forms included)."""
    return InputSchema.from_dict(manifest.get("input_schema") or {})


def output_schema(manifest: dict[str, Any]) -> OutputSchema:
    """The manifest's output schema; artifacts without one were classifiers with ``classes``."""
    doc = manifest.get("output_schema")
    if doc is not None:
        return OutputSchema.from_dict(doc)
    classes = manifest.get("classes")
    if not classes:
        raise ManifestInvalid("manifest has neither output_schema nor classes")
    return OutputSchema(CLASSIFICATION, label=None, classes=tuple(classes))


def as_dict(schema: InputSchema | OutputSchema | dict[str, Any]) -> dict[str, Any]:
    """Accept a schema object or an already-serialised dict (validated by a round trip)."""
    if isinstance(schema, InputSchema | OutputSchema):
        return schema.to_dict()
    if isinstance(schema, dict):
        parser = OutputSchema if "task" in schema else InputSchema
        return parser.from_dict(schema).to_dict()
    raise TypeError(f"expected a schema, got {type(schema).__name__}")


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)
