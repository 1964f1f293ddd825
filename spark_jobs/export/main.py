"""Driver entry point for ``spark-submit`` (``./spark-submit.sh export`` passes this file).

As ``spark_jobs/main.py``: the script's own folder is dropped from ``sys.path`` so the
package's modules (``errors``, ``inputs`` …) cannot shadow top-level ones; ``spark_jobs``
itself comes from ``--py-files`` or, run from a source tree, from the tree's root.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
_ROOT = os.path.dirname(os.path.dirname(_HERE))
if os.path.basename(os.path.dirname(_HERE)) == "spark_jobs":  # a source tree: import from it
    sys.path.append(_ROOT)

from spark_jobs.export.command import main  # noqa: E402 - sys.path must be fixed first

if __name__ == "__main__":
    sys.exit(main())
