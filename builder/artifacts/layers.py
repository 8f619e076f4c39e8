"""One layer zip for several targets: their layer zips united, each path holding one content.

Lambda publishes one zip per layer version for all its compatible runtimes and architectures.
Targets whose files coincide (pure Python on x86_64 and arm64, or each runtime under its own
``python/lib/python3.X/site-packages/``) merge; a path whose bytes differ between targets cannot
serve both, and is an error naming the path and what to do instead.
"""

from __future__ import annotations

import filecmp
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from builder.artifacts.sizes import UNZIPPED_LIMIT, megabytes
from builder.artifacts.zips import (
    BundleFile,
    ZipSummary,
    collect_files,
    extract_zip,
    write_zip,
    zip_date_time,
)
from builder.errors import ArtifactError


@dataclass(frozen=True)
class LayerPart:
    """One target's layer zip: ``runtime`` and ``architecture`` as AWS writes them."""

    runtime: str
    architecture: str
    zip_path: Path

    @property
    def name(self) -> str:
        return f"{self.runtime}/{self.architecture}"


def conflict_hint(first: LayerPart, second: LayerPart) -> str:
    if first.runtime == second.runtime:
        return (
            "the architectures need different files (native code): publish one layer per "
            f"architecture, e.g. --layer-name NAME-{second.architecture} "
            f"--arch {second.architecture}"
        )
    return (
        "the runtimes need different files: --layer-layout site-packages gives each runtime "
        "its own python/lib/python3.X/site-packages/, or publish one layer per runtime"
    )


def check_layer_size(unzipped: int) -> None:
    """The merged layer must still fit Lambda's unzipped limit, before anything is uploaded."""
    if unzipped <= UNZIPPED_LIMIT:
        return
    raise ArtifactError(
        f"the layer is {megabytes(unzipped)} ({unzipped:,} bytes) unzipped; Lambda allows "
        f"{megabytes(UNZIPPED_LIMIT)} ({UNZIPPED_LIMIT:,} bytes) for a function and all its "
        "layers",
        hint="publish fewer runtimes or architectures per layer, or use --slim and --exclude",
    )


def merge_layer_zips(parts: Sequence[LayerPart], destination: Path) -> ZipSummary:
    """Write one zip holding every part's entries; the same path must have the same bytes."""
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".layer-merge-") as work:
        chosen: dict[str, tuple[LayerPart, BundleFile]] = {}
        for number, part in enumerate(parts):
            root = Path(work) / str(number)
            extract_zip(part.zip_path, root)
            for item in collect_files(root).files:
                seen = chosen.get(item.relative)
                if seen is None:
                    chosen[item.relative] = (part, item)
                elif not _same(seen[1], item):
                    raise ArtifactError(
                        f"one layer zip cannot serve {seen[0].name} and {part.name}: "
                        f"{item.relative} differs between them",
                        hint=conflict_hint(seen[0], part),
                    )
        files = [item for _part, item in chosen.values()]
        check_layer_size(sum(item.size for item in files))
        return write_zip(files, destination, date_time=zip_date_time(os.environ))


def _same(first: BundleFile, second: BundleFile) -> bool:
    return first.executable == second.executable and filecmp.cmp(
        first.path, second.path, shallow=False
    )
