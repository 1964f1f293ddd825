"""Driver entry point for ``spark-submit`` (``./spark-submit.sh predict`` passes this file).

As ``spark_jobs/main.py``: the script's own folder is dropped from ``sys.path`` so the
package's modules (``settings``, ``job`` …) cannot shadow top-level ones, and a source tree's
root is added so ``spark_jobs`` imports without ``--py-files``.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
_ROOT = os.path.dirname(os.path.dirname(_HERE))
if os.path.basename(os.path.dirname(_HERE)) == "spark_jobs":
    sys.path.append(_ROOT)

from spark_jobs.predict.cli import main  # noqa: E402 - sys.path must be fixed first

if __name__ == "__main__":
    sys.exit(main())
