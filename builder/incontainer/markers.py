"""Which dependencies choose their own dependencies by environment markers."""

from __future__ import annotations

import re
import zipfile

_REQUIRES = re.compile(r"^Requires-Dist:\s*(.+)$", re.MULTILINE)


def wheel_requirements(wheel: str) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.count("/") == 1 and name.endswith(".dist-info/METADATA"):
                text = archive.read(name).decode("utf-8", "replace")
                return [m.group(1).strip() for m in _REQUIRES.finditer(text)]
    return []


def foreign_marker_uses(wheels: list[str], keys: list[str]) -> list[str]:
    """``wheel: requirement`` for every requirement whose marker reads one of ``keys``.

    Such a marker was evaluated by pip on this host; where the host differs from Lambda in one
    of ``keys`` the bundle may hold the wrong dependencies, so the caller refuses.
    """
    uses = []
    for wheel in sorted(wheels):
        for requirement in wheel_requirements(wheel):
            _spec, _sep, marker = requirement.partition(";")
            if any(re.search(rf"\b{re.escape(key)}\b", marker) for key in keys):
                uses.append(f"{wheel.rsplit('/', 1)[-1]}: {requirement}")
    return uses
