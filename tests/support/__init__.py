"""Test helpers: real fixture distributions and a local PEP 503 package index."""

from .fixture_packages import (
    BROKEN_MARKER,
    MISSING_HEADER,
    SDIST_KINDS,
    FileEntry,
    SdistKind,
    canonical_name,
    executable,
    module_name,
    pure_wheel,
    sdist,
    sha256_of,
    tagged_wheel,
    write_wheel,
)
from .package_index import (
    AccessRecord,
    PackageIndex,
    build_tools_wheels,
    hermetic_pip_env,
)

__all__ = [
    "BROKEN_MARKER",
    "MISSING_HEADER",
    "SDIST_KINDS",
    "AccessRecord",
    "FileEntry",
    "PackageIndex",
    "SdistKind",
    "build_tools_wheels",
    "canonical_name",
    "executable",
    "hermetic_pip_env",
    "module_name",
    "pure_wheel",
    "sdist",
    "sha256_of",
    "tagged_wheel",
    "write_wheel",
]
