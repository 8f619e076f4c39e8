"""An sdist that cannot even produce its metadata here: what to report, and a newer release."""

from __future__ import annotations

import os
from collections.abc import Callable

from . import pip_commands as cmd
from .passes import Outcome, Unpreparable, newer_versions, oldest_that_works
from .protocol import MissingPackage, emit
from .tags import canonical_name


def unpreparable_missing(
    failed: Unpreparable, runtime: str, newer: str | None, top_level: bool
) -> MissingPackage:
    name = failed.name
    if newer and top_level:
        hint = f"{name} {newer} or newer is on the index: require {name}>={newer}"
    elif newer:
        hint = (
            f"{name} {newer} or newer is on the index: upgrade the package that requires "
            f"{name} {failed.version}, or pin {name}>={newer}"
        )
    else:
        hint = (
            f"found no newer release of {name} whose metadata step works under {runtime}: "
            "replace it, or build for a runtime it supports"
        )
    reason = f"the sdist's metadata step fails under {runtime}"
    return MissingPackage(name, failed.version, reason, hint, failed.detail)


def newer_release(
    pip: Callable[[list[str]], Outcome], scratch: str, name: str, version: str
) -> str | None:
    """The oldest release after ``version`` that downloads and prepares on this Python."""
    emit("step", step="download", message=f"looking for a newer {name} that prepares here")
    listed = pip(cmd.index_versions(name))
    candidates = newer_versions(listed.tail, version) if listed.ok else None

    def works(candidate: str) -> bool:
        dest = os.path.join(scratch, f"{canonical_name(name)}-{candidate}")
        return pip(cmd.download_release(name, candidate, dest)).ok

    return oldest_that_works(candidates or [], works)
