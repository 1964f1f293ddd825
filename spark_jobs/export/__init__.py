"""Export fitted Spark MLlib models to plain scikit-learn estimators, with a parity check.

The exported objects are stock scikit-learn classes with their learned attributes set
from Spark's, so an artifact loads with ``joblib.load`` wherever scikit-learn is
installed — this project and pyspark are not needed to use it.  Tabular pipelines
(Imputer / StringIndexer / OneHotEncoder → VectorAssembler → …) export to a Pipeline that
takes a pandas DataFrame in the frame form of ``artifacts.schema``; ``to_frame`` builds
that form from Spark rows, and the result carries the typed input and output schema.
``export_onnx`` (optional) turns such an estimator into an ONNX graph, checked against
onnxruntime.
"""

from .errors import ExportError, ParityError, UnsupportedStage
from .exporter import ExportResult, export_model
from .frame import to_frame
from .onnx_export import OnnxExport, export_onnx
from .parity import check_parity

__all__ = [
    "ExportError",
    "ExportResult",
    "OnnxExport",
    "ParityError",
    "UnsupportedStage",
    "check_parity",
    "export_model",
    "export_onnx",
    "to_frame",
]
