"""Passes 4 and 5: sdists built into wheels, natively and then without a C compiler; and, when
resolving for another machine, the pure-Python ones built right here."""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from functools import partial
from typing import TYPE_CHECKING

from . import pip_commands as cmd
from .direct_build import UNSUPPORTED
from .passes import Outcome, compiler_tail, legacy_builds, list_dists
from .protocol import PipelineFailure, emit
from .tags import is_pure, is_wheel_compatible, parse_filename

if TYPE_CHECKING:
    from .pipeline import Pipeline

VARIANTS = (("native", "built-from-sdist"), ("no-c", "built-without-c-extensions"))


def built_wheels(pipeline: Pipeline, name: str, variant: str) -> tuple[list[str], list[str]]:
    """What ``name``'s sdist builds into (cached by content), or pip's last lines on failure."""
    sdist = pipeline.state.sdists[name]
    wheels = pipeline.cache.lookup_built(sdist, variant)
    if wheels:
        return wheels, []
    dest = pipeline.path("built", variant, name)
    extra = cmd.build_environment({**os.environ, **pipeline.job.pip_env}, variant == "no-c")
    # A setup.py-only sdist builds as the image's own pip built it (see legacy_builds), and
    # the isolated way only if that fails; a declared build system is always isolated.
    isolate = not legacy_builds() or _declares_build_system(sdist)
    outcome = None if isolate else _direct(pipeline, name, variant, sdist, dest, extra)
    if outcome is None:
        outcome = pipeline.pip(cmd.build_wheel(sdist, dest, isolate), extra)
    if not outcome.ok and not isolate:
        outcome = pipeline.pip(cmd.build_wheel(sdist, dest), extra)
    wheels = [path for _dist, path in list_dists(dest)]
    if not outcome.ok or not wheels:
        return [], outcome.tail
    pipeline.cache.store_built(sdist, variant, wheels)
    return wheels, []


def _direct(
    pipeline: Pipeline, name: str, variant: str, sdist: str, dest: str, extra: dict[str, str]
) -> Outcome | None:
    """The non-isolated build without pip's processes; None where pip must do it."""
    unpacked = pipeline.path("unpacked", variant, name)
    shutil.rmtree(unpacked, ignore_errors=True)
    try:
        outcome = pipeline.pip(cmd.direct_build(sdist, unpacked, dest), extra)
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)
    return None if outcome.returncode == UNSUPPORTED else outcome


def usable_wheel(pipeline: Pipeline, wheels: list[str], pure: bool = False) -> str | None:
    for wheel in wheels:
        dist = parse_filename(os.path.basename(wheel))
        if dist is None or (pure and not is_pure(dist)):
            continue
        if is_wheel_compatible(dist, pipeline.job.target):
            return wheel
    return None


def build_one(pipeline: Pipeline, name: str, variant: str) -> str | None:
    """Build the sdist of ``name``; the compatible wheel's path, or None (reason recorded)."""
    wheels, failure = built_wheels(pipeline, name, variant)
    if not wheels:
        # The first (native) failure explains the problem; the retry without a compiler only
        # ever adds "no such compiler".
        pipeline.state.failures.setdefault(name, compiler_tail(failure))
        return None
    wheel = usable_wheel(pipeline, wheels)
    if wheel is None:
        pipeline.state.incompatible[name] = wheels[0]
        reason = f"built {os.path.basename(wheels[0])}, not usable"
        pipeline.state.failures.setdefault(name, reason)
    return wheel


def build_sdists(pipeline: Pipeline) -> None:
    state, job = pipeline.state, pipeline.job
    for variant, how in VARIANTS:
        todo = [name for name in state.unresolved() if name in state.sdists]
        if todo and not job.allow_builds:
            raise PipelineFailure(
                "environment-mismatch",
                "these packages must be built from source, which host mode can only do on "
                f"a {job.target.machine} machine: {', '.join(todo)}",
                "drop --no-container so the build runs in the Lambda image",
            )
        label = "without a C compiler" if variant == "no-c" else "from source"
        for name in todo:
            emit("step", step=f"build-{variant}", message=f"building {name} {label}")
        # Concurrent builds matter most under QEMU. Each writes only its own entries.
        for name, wheel in pipeline.each(todo, partial(build_one, pipeline, variant=variant)):
            if wheel is not None:
                pipeline.choose(name, wheel, how, os.path.basename(state.sdists[name]))
                state.failures.pop(name, None)


# Sources that only a compiler turns into something importable (Cargo.toml: a Rust crate).
NATIVE_SOURCE_SUFFIXES = (".c", ".cc", ".cpp", ".cxx", ".pyx", ".rs", ".f", ".f90", ".f95")
NATIVE_SOURCE_NAMES = ("Cargo.toml",)


def _member_names(sdist: str) -> list[str] | None:
    try:
        if sdist.endswith(".zip"):
            with zipfile.ZipFile(sdist) as archive:
                return archive.namelist()
        with tarfile.open(sdist) as archive:
            return archive.getnames()
    except (OSError, tarfile.TarError, zipfile.BadZipFile):
        return None  # unreadable here: let the build say what is wrong


def _declares_build_system(sdist: str) -> bool:
    """A pyproject.toml at the top of the archive: pip then builds it isolated, whatever its
    version (unreadable here: assume so)."""
    names = _member_names(sdist)
    return names is None or any(
        name.count("/") <= 1 and name.rsplit("/", 1)[-1] == "pyproject.toml" for name in names
    )


def has_native_sources(sdist: str) -> bool:
    """Whether the archive ships compiled-language sources: then its wheel is very likely not
    pure, and building it here first would only add a native compile before the emulated one.
    A wrong guess costs time, never correctness: the target's image builds it either way."""
    names = _member_names(sdist) or []
    return any(
        name.lower().endswith(NATIVE_SOURCE_SUFFIXES)
        or name.rsplit("/", 1)[-1] in NATIVE_SOURCE_NAMES
        for name in names
    )


def build_pure_here(pipeline: Pipeline, names: list[str]) -> None:
    """Cross resolution: an sdist that builds into a pure-Python wheel here needs no emulation
    (the same Python version builds the same pure wheel). Anything compiled, or any failure,
    is left to the target's image, which decides as it always did."""
    names = [n for n in names if not has_native_sources(pipeline.state.sdists[n])]
    for name in names:
        emit("step", step="build-here", message=f"trying {name} natively (pure Python?)")
    # Its own cache variant: the target's "native" entries never hold this machine's wheels.
    for name, wheels in pipeline.each(names, partial(_here, pipeline)):
        wheel = usable_wheel(pipeline, wheels, pure=True)
        if wheel is not None:
            sdist = os.path.basename(pipeline.state.sdists[name])
            pipeline.choose(name, wheel, "built-from-sdist", sdist)


def _here(pipeline: Pipeline, name: str) -> list[str]:
    return built_wheels(pipeline, name, "here")[0]
