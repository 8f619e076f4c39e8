"""Wheel and sdist file names, and whether a wheel runs on a Lambda target."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar")

# The glibc version each legacy manylinux alias stands for.
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(.+)$")


def canonical_name(name: str) -> str:
    """PEP 503 normalisation, so ``Ruamel.Yaml_Clib`` and ``ruamel-yaml-clib`` match."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Target:
    """What a wheel must fit: CPython ``major.minor`` on ``machine`` with at most ``glibc``."""

    major: int
    minor: int
    machine: str  # x86_64 or aarch64
    glibc: tuple[int, int]

    @property
    def abi(self) -> str:
        return f"cp{self.major}{self.minor}"

    def describe(self) -> str:
        return f"manylinux_{self.glibc[0]}_{self.glibc[1]}_{self.machine} {self.abi}"


@dataclass(frozen=True)
class DistFile:
    """A downloaded or built distribution file, named the way PyPI names them."""

    filename: str
    name: str  # canonical
    version: str
    is_wheel: bool
    tags: tuple[tuple[str, str, str], ...] = ()


def parse_filename(filename: str) -> DistFile | None:
    """Parse a wheel or sdist file name; None for anything else."""
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        if len(parts) not in (5, 6):
            return None
        name, version = parts[0], parts[1]
        py, abi, plat = parts[-3:]
        tags = tuple(
            (i, a, p) for i in py.split(".") for a in abi.split(".") for p in plat.split(".")
        )
        return DistFile(filename, canonical_name(name), version, True, tags)
    for suffix in SDIST_SUFFIXES:
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            name, sep, version = stem.rpartition("-")
            if not sep or not name:
                return None
            return DistFile(filename, canonical_name(name), version, False)
    return None


def platform_glibc(platform: str, machine: str) -> tuple[int, int] | None:
    """The glibc a manylinux platform tag needs on ``machine``; None if not manylinux for it."""
    match = _MANYLINUX.match(platform)
    if match:
        if match.group(3) != machine:
            return None
        return int(match.group(1)), int(match.group(2))
    legacy, _, arch = platform.partition("_")
    if legacy in _LEGACY_MANYLINUX and arch == machine:
        return _LEGACY_MANYLINUX[legacy]
    return None


def is_platform_compatible(platform: str, target: Target) -> bool:
    if platform in ("any", f"linux_{target.machine}"):
        return True
    needed = platform_glibc(platform, target.machine)
    return needed is not None and needed <= target.glibc


def _python_minor(interpreter: str, prefix: str) -> int | None:
    """``cp312`` -> 12 for ``prefix='cp'`` on Python 3; None when it is not Python 3."""
    digits = interpreter[len(prefix) :]
    if not interpreter.startswith(prefix) or not digits.startswith("3"):
        return None
    rest = digits[1:]
    if rest == "":
        return -1  # plain "py3"
    return int(rest) if rest.isdigit() else None


def is_tag_compatible(tag: tuple[str, str, str], target: Target) -> bool:
    interpreter, abi, platform = tag
    if not is_platform_compatible(platform, target):
        return False
    if interpreter.startswith("py"):
        minor = _python_minor(interpreter, "py")
        return minor is not None and minor <= target.minor and abi in ("none", "abi3")
    minor = _python_minor(interpreter, "cp")
    if minor is None or minor < 0:
        return False
    if abi == target.abi:
        return minor == target.minor
    if abi == "abi3":
        return minor <= target.minor
    # pip accepts cpXY-none-* only for its own XY; older CPython versions need abi3.
    return abi == "none" and minor == target.minor


def local_glibc() -> tuple[int, int]:
    """This machine's glibc, (0, 0) when there is none (musl, macOS)."""
    try:
        text = (os.confstr("CS_GNU_LIBC_VERSION") or "").split()[-1]  # "glibc 2.34"
        major, minor = text.split(".")[:2]
        return int(major), int(minor)
    except (ValueError, OSError, AttributeError, IndexError):
        return (0, 0)


def could_run_on(filename: str, machine: str, python: tuple[int, int] | None = None) -> bool:
    """False only for a wheel that no Linux on ``machine`` can install: every platform tag
    names another OS, libc or architecture, or (given CPython ``python``) every interpreter tag
    names one that CPython cannot load. Anything else (sdists, odd names) is kept for pip to
    judge."""
    if filename[-4:].lower() != ".whl":
        return True
    parts = filename[:-4].split("-")
    if len(parts) not in (5, 6):
        return True
    return _tags_could_run_on(parts[-3], parts[-2], parts[-1], machine, python)


@functools.lru_cache(maxsize=4096)
def _tags_could_run_on(
    interpreters: str, abis: str, platforms: str, machine: str, python: tuple[int, int] | None
) -> bool:
    """Decided once per tag set: a project page repeats the same few for every release."""
    if not any(
        platform == "any"
        or (platform.startswith(("linux_", "manylinux")) and platform.endswith("_" + machine))
        for platform in platforms.lower().split(".")
    ):
        return False
    return python is None or _cpython_could_load(interpreters.lower(), abis.lower(), python)


def _cpython_could_load(interpreters: str, abis: str, python: tuple[int, int]) -> bool:
    """pip on CPython X.Y takes ``py*`` tags, ``cpXY`` and older ``cp3*`` with the stable
    ABI: never another implementation's (``pp310``), Python 2's or a newer minor's."""
    if python[0] != 3:
        return True
    stable = "abi3" in abis.split(".")
    for interpreter in interpreters.split("."):
        if interpreter.startswith("py"):
            return True
        minor = _python_minor(interpreter, "cp")
        if minor is None:
            continue
        if minor in (-1, python[1]) or (stable and minor < python[1]):
            return True
    return False


def is_pure(dist: DistFile) -> bool:
    """A wheel that runs on any machine: no ABI, platform ``any``."""
    return dist.is_wheel and all(abi == "none" and plat == "any" for _i, abi, plat in dist.tags)


def is_wheel_compatible(dist: DistFile, target: Target) -> bool:
    return dist.is_wheel and any(is_tag_compatible(tag, target) for tag in dist.tags)


def explicit_platforms(target: Target) -> list[str]:
    """Every platform tag the target accepts, for pip's literal ``--platform`` matching.

    pip compares ``--platform`` values literally against wheel tags, so a wheel tagged only
    ``manylinux_2_24_aarch64`` is found only if that exact tag is passed: list them all.
    """
    first_minor = 5 if target.machine == "x86_64" else 17
    tags = [
        f"manylinux_2_{minor}_{target.machine}"
        for minor in range(target.glibc[1], first_minor - 1, -1)
    ]
    tags += [
        f"{legacy}_{target.machine}"
        for legacy, glibc in _LEGACY_MANYLINUX.items()
        if glibc <= target.glibc and (target.machine == "x86_64" or legacy == "manylinux2014")
    ]
    tags.append(f"linux_{target.machine}")
    return tags
