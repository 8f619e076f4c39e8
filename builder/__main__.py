"""``python -m builder`` is the ``lambda-builder`` command."""

import sys

from builder.cli.main import entry

sys.exit(entry())
