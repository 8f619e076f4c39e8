"""Command-line options more than one command takes, defined once."""

from __future__ import annotations

import argparse
import os

ENV_PREFIX = "LAMBDA_BUILDER_"


def add_target_arguments(parser: argparse.ArgumentParser, *, several: bool) -> None:
    """``--runtime`` and ``--arch``, defaulting to LAMBDA_BUILDER_RUNTIME / _ARCH."""
    plural = "; several comma-separated" if several else ""
    parser.add_argument(
        "--runtime",
        default=os.environ.get(f"{ENV_PREFIX}RUNTIME"),
        help=f"python3.9 ... python3.14{plural}",
    )
    parser.add_argument(
        "--arch",
        default=os.environ.get(f"{ENV_PREFIX}ARCH", "x86_64"),
        help=f"x86_64 or arm64{plural} (default: x86_64)",
    )
