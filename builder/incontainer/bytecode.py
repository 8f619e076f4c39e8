"""Compile a bundle's .py files with this (the target's) Python into reproducible .pyc files.

Standard library only: the pipeline imports it, and it also runs alone as a script
(``python bytecode.py ROOT``) to compile a user's source in the runtime image.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.util import cache_from_source

# co_filename inside each .pyc: the same whatever temporary directory the bundle was built in.
# Python replaces it with the real path when it loads a .pyc next to its source.
EMBEDDED_ROOT = "/var/task"

# Hash-checked .pyc: valid as long as the source bytes match, whatever the zip's fixed
# timestamps say. A fresh interpreter with PYTHONHASHSEED=0 marshals frozenset constants in a
# fixed order before Python 3.11 (https://github.com/python/cpython/issues/81777) and starts
# every compile with the same interned strings.
_COMPILE = """
import compileall, py_compile, sys
compileall.compile_dir(
    sys.argv[1], maxlevels=sys.getrecursionlimit(), quiet=2, stripdir=sys.argv[1],
    prependdir=sys.argv[2], invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
    workers=1)
"""


def uncompiled(root: str) -> list[str]:
    """Sources under ``root`` that have no .pyc for this interpreter."""
    missing = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in sorted(files):
            path = os.path.join(directory, name)
            if name.endswith(".py") and not os.path.isfile(cache_from_source(path)):
                missing.append(os.path.relpath(path, root).replace(os.sep, "/"))
    return missing


def compile_tree(root: str, embedded_root: str = EMBEDDED_ROOT) -> list[str]:
    """Write ``__pycache__/*.pyc`` for every .py under ``root``; warnings for files that fail.

    A file that does not compile (Python 2 syntax in a template, a test fixture) would not
    import either, so it is reported and left without a .pyc, as pip does.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env["PYTHONHASHSEED"] = "0"
    process = subprocess.run(
        [sys.executable, "-c", _COMPILE, root, embedded_root],
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    if process.returncode != 0:
        tail = "\n".join((process.stdout + process.stderr).strip().splitlines()[-10:])
        return [f"compiling bytecode failed; the bundle ships without .pyc files:\n{tail}"]
    failed = uncompiled(root)
    if not failed:
        return []
    shown = ", ".join(failed[:5]) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
    return [
        f"{len(failed)} files have no .pyc because they do not compile on Python "
        f"{sys.version_info[0]}.{sys.version_info[1]}: {shown}"
    ]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python bytecode.py ROOT\n")
        return 2
    for warning in compile_tree(argv[0]):
        sys.stdout.write(warning + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
