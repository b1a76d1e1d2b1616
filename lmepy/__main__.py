"""``python -m lmepy fit ...``: the ``lmepy`` command without its console script."""

import sys

from lmepy.cli import main

sys.exit(main())
