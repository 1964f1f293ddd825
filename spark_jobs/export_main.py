"""Driver entry point for ``spark-submit`` (``./spark-submit.sh export`` passes this file).

As ``spark_jobs/main.py``: the script's own folder is dropped from ``sys.path`` so the
package's modules cannot shadow top-level ones; ``spark_jobs`` itself comes from
``--py-files`` or, run from a source tree, from the tree's root.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
if os.path.basename(_HERE) == "spark_jobs":  # run from a source tree: make the package importable
    sys.path.append(os.path.dirname(_HERE))

from spark_jobs.export_job import main  # noqa: E402 - sys.path must be fixed first

if __name__ == "__main__":
    sys.exit(main())
