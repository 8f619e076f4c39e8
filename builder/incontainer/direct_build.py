"""A setup.py-only sdist built by calling setuptools' legacy backend in one process.

``pip wheel --no-build-isolation`` builds such an sdist with the interpreter's own setuptools
too, but starts pip, then one process per backend hook (metadata, then the wheel), each
importing setuptools again. Under QEMU that is ~15 s of a netifaces build that takes ~30 s;
natively, about half a second per sdist. This does the same build (same backend, same
environment, pip's unpacking rules) in a single process, so the wheel is byte-identical.

``python -m <package>.direct_build SDIST UNPACK_DIR WHEEL_DIR``; exit status 0 (the wheel is
in WHEEL_DIR), 1 (the build failed: its output says why), or ``UNSUPPORTED`` when this
interpreter or archive needs pip's own path (no PEP 706 tar filter, no setuptools, a zip).
"""

from __future__ import annotations

import importlib
import os
import sys
import tarfile
import traceback
from collections.abc import Callable

UNSUPPORTED = 3
TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar")


class Unsupported(Exception):
    """Leave this sdist to pip (which explains a bad archive better than we would)."""


def unpack(sdist: str, location: str) -> str:
    """Extract as pip does (PEP 706's data filter where this Python has it; modes from the
    umask, plus +x where the archive had any) and return the project directory (the
    archive's one top-level folder)."""
    if not sdist.lower().endswith(TAR_SUFFIXES):
        raise Unsupported
    umask = os.umask(0)
    os.umask(umask)
    os.makedirs(location, exist_ok=True)
    try:
        with tarfile.open(sdist) as archive:
            if hasattr(tarfile, "data_filter"):
                archive.extractall(location, filter=_pip_like(0o777 & ~umask))
            else:
                _extract_plain(archive, location, umask)
    except (tarfile.TarError, OSError) as error:
        raise Unsupported from error
    entries = os.listdir(location)
    if len(entries) == 1 and os.path.isdir(os.path.join(location, entries[0])):
        return os.path.join(location, entries[0])
    return location


def _pip_like(executable: int) -> Callable[[tarfile.TarInfo, str], tarfile.TarInfo]:
    def keep(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
        had_x = member.mode & 0o111
        member = tarfile.data_filter(member, path)
        if member.isfile() and had_x:
            return member.replace(mode=executable, deep=False)
        return member.replace(mode=None, deep=False)  # type: ignore[arg-type]

    return keep


def _extract_plain(archive: tarfile.TarFile, location: str, umask: int) -> None:
    """Pythons without the filter (3.11.2 in Debian): regular files and directories only,
    every one inside ``location``; anything else (links, devices) is left to pip."""
    root = os.path.realpath(location)
    members = archive.getmembers()
    for member in members:
        path = os.path.realpath(os.path.join(root, member.name))
        if not (member.isfile() or member.isdir()) or os.path.commonpath([root, path]) != root:
            raise Unsupported
    for member in members:
        archive.extract(member, location, set_attrs=False)
        path = os.path.join(location, member.name)
        executable = member.isdir() or (member.isfile() and member.mode & 0o111)
        os.chmod(path, (0o777 if executable else 0o666) & ~umask)
        if member.isfile():
            os.utime(path, (member.mtime, member.mtime))


def build(source: str, wheel_dir: str) -> str:
    """The legacy backend's build_wheel, run from the project directory as pip's hook is."""
    try:
        build_meta = importlib.import_module("setuptools.build_meta")  # the interpreter's own
    except ImportError as error:
        raise Unsupported from error
    os.makedirs(wheel_dir, exist_ok=True)
    os.chdir(source)
    return str(build_meta.__legacy__.build_wheel(os.path.abspath(wheel_dir)))


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        sys.stderr.write("usage: python -m <package>.direct_build SDIST UNPACK_DIR WHEEL_DIR\n")
        return 2
    sdist, location, wheel_dir = (os.path.abspath(path) for path in argv)
    # pip's hooks run from a script elsewhere: the directory we were started in is not theirs.
    here = os.getcwd()
    sys.path[:] = [entry for entry in sys.path if entry not in ("", here)]
    try:
        name = build(unpack(sdist, location), wheel_dir)
    except Unsupported:
        return UNSUPPORTED
    except SystemExit as stop:  # distutils' way of saying "error: command 'gcc' failed"
        print(stop.code if isinstance(stop.code, str) else f"setup.py exited ({stop.code})")
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    print(f"built {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
