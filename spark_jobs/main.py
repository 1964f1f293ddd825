"""Driver entry point for ``spark-submit`` (``./spark-submit.sh train`` passes this file).

spark-submit runs a file, not a module; this file only hands over to ``spark_jobs.cli``.
The script's own folder is dropped from ``sys.path`` so the package's modules cannot shadow
top-level ones; ``spark_jobs`` itself comes from ``--py-files`` or the installed package.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
if os.path.basename(_HERE) == "spark_jobs":  # run from a source tree: make the package importable
    sys.path.append(os.path.dirname(_HERE))

from spark_jobs.cli import main  # noqa: E402 - sys.path must be fixed first

if __name__ == "__main__":
    sys.exit(main())
