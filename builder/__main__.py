"""``python -m builder`` is the ``lambda-builder`` command."""

import sys

from builder.cli.main import main

sys.exit(main())
