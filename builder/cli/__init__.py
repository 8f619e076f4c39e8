"""The command line: argument parsing, the commands, and every error turned into a message.

Owns all printing and exit codes. It may import anything below it (``builder.api`` and the
gateways, the core); nothing in ``builder`` imports ``builder.cli``.
"""

from builder.cli.main import entry, main

__all__ = ["entry", "main"]
