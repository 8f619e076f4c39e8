"""Deployable artifacts: zips and layers, slimming, sizes and limits, ELF checks, verification.

Only ``zips`` writes zip files. It may import the core and ``builder.docker.runtime_python`` (to
run checks in the runtime image); never ``builder.api`` or ``builder.cli``.
"""

from builder.artifacts.bundle import BundleOutcome, finish_bundle

__all__ = ["BundleOutcome", "finish_bundle"]
