"""The pip command lines of each pipeline pass, as pure functions."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping

from .tags import Target, canonical_name, explicit_platforms

# CC/CXX pointing nowhere makes setuptools' build_ext fail to find a compiler, which is what
# packages with optional C speedups test for before falling back to pure Python.
NO_COMPILER_ENV = {
    "CC": "/nonexistent/lambda-builder-no-cc",
    "CXX": "/nonexistent/lambda-builder-no-cxx",
    "LDSHARED": "/nonexistent/lambda-builder-no-cc -shared",
}

# Debug info records the random directory pip builds in, so two builds of one sdist differ in
# every compiled file. Without it they are byte-identical (and smaller, which Lambda likes).
# A build environment that sets its own flags keeps them.
REPRODUCIBLE_FLAGS = {"CFLAGS": "-g0", "CXXFLAGS": "-g0"}


def build_environment(environment: Mapping[str, str], no_compiler: bool) -> dict[str, str]:
    """What a sdist build adds to the environment it inherits."""
    extra = {name: flags for name, flags in REPRODUCIBLE_FLAGS.items() if name not in environment}
    if no_compiler:
        extra.update(NO_COMPILER_ENV)
    return extra


# Every pip call goes through the shim (trimmed index pages; markers when cross-resolving).
PIP_SHIM = f"{__package__}.pip_shim"


def pip(*args: str) -> list[str]:
    return [sys.executable, "-m", PIP_SHIM, *args]


NO_ISOLATION = ("--no-build-isolation",)


def download_all(requirements_file: str, dest: str, isolate: bool = True) -> list[str]:
    """Pass 1: the whole closure, as pip would pick it on this interpreter."""
    isolation = () if isolate else NO_ISOLATION
    return pip(
        "download", "--progress-bar", "off", *isolation, "-r", requirements_file, "--dest", dest
    )


def target_options(target: Target, platforms: list[str]) -> list[str]:
    """pip's options that pick wheels for ``target`` on any machine."""
    options: list[str] = []
    for platform in platforms:
        options += ["--platform", platform]
    options += ["--implementation", "cp", "--python-version", f"{target.major}.{target.minor}"]
    for abi in (target.abi, "abi3", "none"):
        options += ["--abi", abi]
    return options


def cross_download_all(
    requirements_file: str,
    dest: str,
    target: Target,
    platforms: list[str],
    isolate: bool = True,
) -> list[str]:
    """Pass 1 run natively for another machine (the shim gives pip the target's markers)."""
    return pip(
        "download",
        "--progress-bar",
        "off",
        *(() if isolate else NO_ISOLATION),
        *target_options(target, platforms),
        "-r",
        requirements_file,
        "--dest",
        dest,
    )


def _pinned(spec_or_file: str, hashed: bool) -> list[str]:
    if hashed:
        return ["--require-hashes", "-r", spec_or_file]
    return [spec_or_file]


def download_compatible_wheel(
    spec_or_file: str, target: Target, dest: str, hashed: bool = False
) -> list[str]:
    """Pass 2: a wheel for exactly this target, whatever machine pip runs on."""
    return pip(
        "download",
        "--progress-bar",
        "off",
        "--no-deps",
        "--only-binary=:all:",
        *target_options(target, explicit_platforms(target)),
        "--dest",
        dest,
        *_pinned(spec_or_file, hashed),
    )


def download_sdist(name: str, spec_or_file: str, dest: str, hashed: bool = False) -> list[str]:
    """Pass 3: the source of a package whose only wheel does not fit, so it can be built.

    ``--no-binary`` names the package alone: ``:all:`` would also reach the isolated build
    environment and refuse the setuptools wheel the sdist needs to build.
    """
    return pip(
        "download",
        "--progress-bar",
        "off",
        "--no-deps",
        f"--no-binary={name}",
        "--dest",
        dest,
        *_pinned(spec_or_file, hashed),
    )


def index_versions(name: str) -> list[str]:
    """The releases of ``name`` the index offers this interpreter, newest first."""
    return pip("index", "versions", name)


def download_release(name: str, version: str, dest: str) -> list[str]:
    """Whether one release of ``name`` installs here: a wheel for it, or an sdist whose
    metadata step succeeds on this interpreter."""
    return pip(
        "download", "--progress-bar", "off", "--no-deps", "--dest", dest, f"{name}=={version}"
    )


def build_wheel(source: str, dest: str, isolate: bool = True) -> list[str]:
    isolation = () if isolate else NO_ISOLATION
    return pip(
        "wheel", "--progress-bar", "off", *isolation, "--no-deps", "--wheel-dir", dest, source
    )


DIRECT_BUILD = f"{__package__}.direct_build"


def direct_build(sdist: str, unpack_dir: str, dest: str) -> list[str]:
    """A setup.py-only sdist built without pip (see direct_build): same backend, one process."""
    return [sys.executable, "-m", DIRECT_BUILD, sdist, unpack_dir, dest]


def pinned_requirement_lines(name: str, version: str, hashes: list[str]) -> str:
    options = " ".join(f"--hash={value}" for value in hashes)
    return f"{name}=={version} {options}".rstrip() + "\n"


_REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def without_requirement(text: str, name: str) -> str | None:
    """A requirements file's text without its lines for ``name``; None when it has none
    (``name`` came in as someone's dependency)."""
    kept, dropped = [], False
    for line in text.splitlines():
        match = None if line.lstrip().startswith(("-", "#")) else _REQUIREMENT_NAME.match(line)
        if match and canonical_name(match.group(1)) == canonical_name(name):
            dropped = True
        else:
            kept.append(line)
    return "\n".join(kept) + "\n" if dropped else None
