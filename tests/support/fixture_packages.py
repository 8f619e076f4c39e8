"""Build real wheel and sdist files for tests with the standard library only."""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import itertools
import re
import stat
import tarfile
import textwrap
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal, Union

__all__ = [
    "BROKEN_MARKER",
    "DATA_SCHEMES",
    "MISSING_HEADER",
    "SDIST_KINDS",
    "FileContent",
    "FileEntry",
    "SdistKind",
    "canonical_name",
    "executable",
    "expand_tag",
    "module_name",
    "pre311_sdist",
    "pure_wheel",
    "record_hash",
    "sdist",
    "sdist_filename",
    "sha256_of",
    "tagged_wheel",
    "wheel_filename",
    "write_wheel",
]

SdistKind = Literal["pure", "c-extension", "optional-c", "broken"]
SDIST_KINDS: tuple[SdistKind, ...] = ("pure", "c-extension", "optional-c", "broken")

DATA_SCHEMES = frozenset({"purelib", "platlib", "scripts", "headers", "data"})
"""The directories allowed directly under a wheel's ``.data`` directory."""

BROKEN_MARKER = "lambda_builder_broken_fixture"
"""An identifier on the line of the "broken" sdist's C file that has the syntax error."""

MISSING_HEADER = "lambda_builder_fixture_missing_header.h"
"""The header the "optional-c" sdist includes; it exists on no system."""

# Fixed timestamps make the files byte-for-byte reproducible, so their hashes are stable.
_ZIP_DATE_TIME = (2020, 1, 1, 0, 0, 0)
_TAR_MTIME = 1577836800  # 2020-01-01T00:00:00Z


@dataclass(frozen=True)
class FileEntry:
    """File content with an explicit Unix permission mode (e.g. 0o755 for executables)."""

    content: str | bytes
    mode: int = 0o644


FileContent = Union[str, bytes, FileEntry]
"""What a file in a wheel can be given as: text (UTF-8), bytes, or a :class:`FileEntry`."""


def executable(content: str | bytes) -> FileEntry:
    """Return ``content`` as a file with mode 0o755."""
    return FileEntry(content, 0o755)


def canonical_name(name: str) -> str:
    """Return the PEP 503 normalised form of a project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def module_name(name: str) -> str:
    """Return the importable top-level package name the fixtures use for project ``name``."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _escape_version(version: str) -> str:
    return version.replace("-", "_")


def sdist_filename(name: str, version: str) -> str:
    """Return the file name of the sdist :func:`sdist` builds (``name-version.tar.gz``)."""
    return f"{module_name(name)}-{_escape_version(version)}.tar.gz"


def wheel_filename(name: str, version: str, tag: str) -> str:
    """Return a wheel file name; ``tag`` is ``interpreter-abi-platform`` (may be compressed)."""
    expand_tag(tag)
    return f"{module_name(name)}-{_escape_version(version)}-{tag}.whl"


def expand_tag(tag: str) -> list[str]:
    """Expand a compressed tag set such as ``cp311-cp311-a.b`` into its single tags."""
    parts = tag.split("-")
    if len(parts) != 3 or not all(parts) or any("" in part.split(".") for part in parts):
        raise ValueError(f"not a wheel tag (interpreter-abi-platform): {tag!r}")
    interpreters, abis, platforms = (part.split(".") for part in parts)
    return [
        f"{interpreter}-{abi}-{platform}"
        for interpreter, abi, platform in itertools.product(interpreters, abis, platforms)
    ]


def record_hash(data: bytes) -> str:
    """Return the ``sha256=<urlsafe base64, unpadded>`` digest a wheel RECORD line uses."""
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sha256_of(path: Path) -> str:
    """Return ``sha256:<hex>`` of a file, as used in ``--hash`` requirement options."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def _as_entry(content: FileContent) -> FileEntry:
    return content if isinstance(content, FileEntry) else FileEntry(content)


def _as_bytes(content: str | bytes) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


def _check_relative(path: str) -> str:
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts or "\\" in path:
        raise ValueError(f"archive paths must be relative POSIX paths: {path!r}")
    return pure.as_posix()


def _check_requirements(requires: Iterable[str]) -> list[str]:
    result = []
    for requirement in requires:
        if not requirement.strip() or "\n" in requirement or "\r" in requirement:
            raise ValueError(f"bad requirement string: {requirement!r}")
        result.append(requirement.strip())
    return result


def _metadata(name: str, version: str, requires: Iterable[str], summary: str) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {summary}",
    ]
    lines.extend(f"Requires-Dist: {requirement}" for requirement in requires)
    return "\n".join(lines) + "\n"


def _module_source(name: str, version: str, tag: str | None = None) -> str:
    lines = [f'"""The {name} test fixture package."""', "", f"VALUE = {f'{name} {version}'!r}"]
    if tag is not None:
        lines.append(f"TAG = {tag!r}")
    return "\n".join(lines) + "\n"


def write_wheel(
    dest: Path,
    name: str,
    version: str,
    tag: str,
    files: Mapping[str, FileContent],
    *,
    requires: Iterable[str] = (),
    data_files: Mapping[str, FileContent] | None = None,
    root_is_purelib: bool | None = None,
) -> Path:
    """Write a wheel with arbitrary ``tag``, root ``files`` and ``.data`` ``data_files``.

    ``data_files`` keys start with a scheme from :data:`DATA_SCHEMES`, e.g.
    ``"scripts/tool"`` or ``"purelib/extra.py"``; files under ``scripts/`` default to mode
    0o755.  ``Root-Is-Purelib`` defaults to true only when every platform tag is ``any``.
    The dist-info directory (METADATA, WHEEL, RECORD) is generated.
    """
    tags = expand_tag(tag)
    requirements = _check_requirements(requires)
    if root_is_purelib is None:
        root_is_purelib = all(single.endswith("-any") for single in tags)
    distribution = f"{module_name(name)}-{_escape_version(version)}"
    dist_info = f"{distribution}.dist-info"
    data_dir = f"{distribution}.data"

    entries: dict[str, FileEntry] = {}
    for path, content in files.items():
        relative = _check_relative(path)
        if relative.split("/")[0] in (dist_info, data_dir):
            raise ValueError(f"{path!r}: the .dist-info and .data directories are generated")
        entries[relative] = _as_entry(content)
    for path, content in (data_files or {}).items():
        relative = _check_relative(path)
        scheme = relative.split("/")[0]
        if scheme not in DATA_SCHEMES or "/" not in relative:
            raise ValueError(f"data file {path!r} must be under one of {sorted(DATA_SCHEMES)}")
        entry = _as_entry(content)
        if scheme == "scripts" and not isinstance(content, FileEntry):
            entry = FileEntry(entry.content, 0o755)
        entries[f"{data_dir}/{relative}"] = entry

    wheel_text = "Wheel-Version: 1.0\nGenerator: lambda-builder-tests (0)\n"
    wheel_text += f"Root-Is-Purelib: {'true' if root_is_purelib else 'false'}\n"
    wheel_text += "".join(f"Tag: {single}\n" for single in tags)
    summary = f"{name} test fixture wheel"
    entries[f"{dist_info}/METADATA"] = FileEntry(_metadata(name, version, requirements, summary))
    entries[f"{dist_info}/WHEEL"] = FileEntry(wheel_text)

    record_path = f"{dist_info}/RECORD"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / wheel_filename(name, version, tag)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, entry in entries.items():
            data = _as_bytes(entry.content)
            _write_zip_member(archive, path, data, entry.mode)
            writer.writerow([path, record_hash(data), str(len(data))])
        writer.writerow([record_path, "", ""])
        _write_zip_member(archive, record_path, record.getvalue().encode("utf-8"), 0o644)
    return target


def _write_zip_member(archive: zipfile.ZipFile, path: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(path, date_time=_ZIP_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, so installers honour the mode bits below
    info.external_attr = (stat.S_IFREG | (mode & 0o7777)) << 16
    archive.writestr(info, data)


def pure_wheel(
    dest: Path,
    name: str = "purepkg",
    version: str = "1.0",
    requires: Iterable[str] = (),
    extra_files: Mapping[str, FileContent] | None = None,
    *,
    data_files: Mapping[str, FileContent] | None = None,
) -> Path:
    """Write a ``py3-none-any`` wheel with ``<module>/__init__.py`` defining ``VALUE``.

    ``VALUE`` is ``"<name> <version>"``; ``extra_files`` adds (or replaces) files at the
    wheel root and ``data_files`` adds ``.data`` files (see :func:`write_wheel`).
    """
    files: dict[str, FileContent] = {
        f"{module_name(name)}/__init__.py": _module_source(name, version)
    }
    files.update(extra_files or {})
    return write_wheel(
        dest, name, version, "py3-none-any", files, requires=requires, data_files=data_files
    )


def tagged_wheel(
    dest: Path,
    name: str,
    version: str,
    tag: str,
    requires: Iterable[str] = (),
    files: Mapping[str, FileContent] | None = None,
    *,
    data_files: Mapping[str, FileContent] | None = None,
) -> Path:
    """Write a wheel claiming ``tag`` (compressed tag sets allowed) with pure Python inside.

    Without ``files`` the wheel holds ``<module>/__init__.py`` defining ``VALUE`` (as in
    :func:`pure_wheel`) and ``TAG`` (the tag string given).
    """
    if files is None:
        files = {f"{module_name(name)}/__init__.py": _module_source(name, version, tag)}
    return write_wheel(dest, name, version, tag, files, requires=requires, data_files=data_files)


_PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
"""

_SETUP_PY = '''\
"""Build script of the {name} test fixture ({kind})."""

import os
import shlex
import shutil

from setuptools import Extension, setup


def compiler_available():
    """Whether the C compiler named by $CC (default cc) can be found."""
    command = os.environ.get("CC", "").strip() or "cc"
    try:
        argv = shlex.split(command)
    except ValueError:
        return False
    return bool(argv) and shutil.which(argv[0]) is not None


EXTENSIONS = {extensions}

setup(
    name={name!r},
    version={version!r},
    description={description!r},
    packages=[{module!r}],
    install_requires={requires!r},
    ext_modules=EXTENSIONS,
    zip_safe=False,
)
'''

_C_MODULE = """\
#define PY_SSIZE_T_CLEAN
#include <Python.h>
{extra_include}
static PyObject *
answer(PyObject *self, PyObject *Py_UNUSED(ignored))
{{
    return PyLong_FromLong(42);
}}

static PyMethodDef methods[] = {{
    {{"answer", answer, METH_NOARGS, "Return 42."}},
    {{NULL, NULL, 0, NULL}}
}};

static struct PyModuleDef module = {{
    PyModuleDef_HEAD_INIT, "{qualified}", "Test fixture extension module.", -1, methods
}};

PyMODINIT_FUNC
PyInit_{short}(void)
{{
    return PyModule_Create(&module);
}}
"""

_BROKEN_C = f"""\
#include <Python.h>

/* Deliberate syntax error: this fixture must fail to compile. */
static int {BROKEN_MARKER} = ;

PyMODINIT_FUNC
PyInit__native(void)
{{
    return NULL;
}}
"""


def _c_module(module: str, short: str, extra_include: str = "") -> str:
    return _C_MODULE.format(qualified=f"{module}.{short}", short=short, extra_include=extra_include)


def _sdist_sources(name: str, version: str, kind: SdistKind) -> tuple[str, dict[str, str]]:
    """Return the setup.py ``EXTENSIONS`` expression and the package files for ``kind``."""
    module = module_name(name)
    value = f"VALUE = {f'{name} {version}'!r}\n"
    if kind == "pure":
        return "[]", {f"{module}/__init__.py": _module_source(name, version)}
    if kind == "c-extension":
        init = (
            f'"""The {name} test fixture: needs its compiled extension."""\n\n'
            "from ._native import answer\n\n" + value
        )
        extension = f"[Extension({module + '._native'!r}, [{module + '/_native.c'!r}])]"
        return extension, {
            f"{module}/__init__.py": init,
            f"{module}/_native.c": _c_module(module, "_native"),
        }
    if kind == "optional-c":
        init = textwrap.dedent(
            f'''\
            """The {name} test fixture: works with or without its optional extension."""

            try:
                from ._speedups import answer
            except ImportError:
                HAS_SPEEDUPS = False

                def answer():
                    """Return 42 (pure Python fallback)."""
                    return 42
            else:
                HAS_SPEEDUPS = True

            '''
        )
        extension = (
            f"[Extension({module + '._speedups'!r}, [{module + '/_speedups.c'!r}])]"
            " if compiler_available() else []"
        )
        source = _c_module(module, "_speedups", f'#include "{MISSING_HEADER}"\n')
        return extension, {f"{module}/__init__.py": init + value, f"{module}/_speedups.c": source}
    if kind == "broken":
        init = f'"""The {name} test fixture: cannot be built."""\n\nfrom ._native import answer\n'
        extension = f"[Extension({module + '._native'!r}, [{module + '/_native.c'!r}])]"
        return extension, {f"{module}/__init__.py": init + value, f"{module}/_native.c": _BROKEN_C}
    raise ValueError(f"unknown sdist kind {kind!r}; expected one of {SDIST_KINDS}")


def sdist(
    dest: Path,
    name: str,
    version: str,
    kind: SdistKind = "pure",
    requires: Iterable[str] = (),
    setup_py_only: bool = False,
) -> Path:
    """Write ``name-version.tar.gz``: a setuptools project (setup.py + pyproject.toml, or
    ``setup_py_only``: no pyproject.toml, as netifaces or crcmod publish theirs).

    Kinds: ``"pure"``; ``"c-extension"`` (``<module>._native.answer() == 42``, the package
    fails to import without it); ``"optional-c"`` (its C file includes
    :data:`MISSING_HEADER`, so the build fails when the compiler in ``$CC`` (default ``cc``)
    exists and gives a pure wheel with ``HAS_SPEEDUPS = False`` when it does not);
    ``"broken"`` (metadata generation works, compiling fails on a line containing
    :data:`BROKEN_MARKER`).  ``requires`` become ``install_requires``/``Requires-Dist``.
    """
    requirements = _check_requirements(requires)
    extensions, package_files = _sdist_sources(name, version, kind)
    module = module_name(name)
    description = f"{name} test fixture sdist ({kind})"
    setup_py = _SETUP_PY.format(
        name=name,
        kind=kind,
        version=version,
        description=description,
        module=module,
        requires=requirements,
        extensions=extensions,
    )
    members: dict[str, str] = {
        "PKG-INFO": _metadata(name, version, requirements, description),
        **({} if setup_py_only else {"pyproject.toml": _PYPROJECT}),
        "setup.py": setup_py,
        **package_files,
    }
    return _write_sdist(dest, name, version, members)


_PRE_311_SETUP_PY = '''\
"""Build script of the {name} test fixture: it runs on Python 3.10 and older only."""

# wrapt 1.13 did this; inspect.formatargspec was removed in Python 3.11.
from inspect import formatargspec  # noqa: F401

from setuptools import setup

setup(name={name!r}, version={version!r}, packages=[{module!r}])
'''


def pre311_sdist(dest: Path, name: str, version: str) -> Path:
    """Write a setup.py-only sdist whose setup.py fails on Python 3.11 and later.

    Like ``wrapt==1.13.3``'s, the setup.py imports ``inspect.formatargspec``, so pip's
    metadata step ("python setup.py egg_info" or the PEP 517 hook) fails before any build.
    """
    module = module_name(name)
    members = {
        "PKG-INFO": _metadata(name, version, [], f"{name} test fixture sdist (pre-3.11)"),
        "setup.py": _PRE_311_SETUP_PY.format(name=name, version=version, module=module),
        f"{module}/__init__.py": _module_source(name, version),
    }
    return _write_sdist(dest, name, version, members)


def _write_sdist(dest: Path, name: str, version: str, members: Mapping[str, str]) -> Path:
    module = module_name(name)
    top = sdist_filename(name, version)[: -len(".tar.gz")]
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / sdist_filename(name, version)
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in (top, f"{top}/{module}"):
            _add_tar_member(tar, directory, None)
        for path, text in members.items():
            _add_tar_member(tar, f"{top}/{path}", text.encode("utf-8"))
    target.write_bytes(gzip.compress(tar_bytes.getvalue(), mtime=0))
    return target


def _add_tar_member(tar: tarfile.TarFile, path: str, data: bytes | None) -> None:
    info = tarfile.TarInfo(path)
    info.mtime = _TAR_MTIME
    info.uname = info.gname = "root"
    if data is None:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
    else:
        info.mode = 0o644
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
