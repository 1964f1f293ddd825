"""``python -m serving.auth …``: see :mod:`serving.auth.cli`."""

import sys

from .cli import main

sys.exit(main())
