"""Project fixtures for the input tests: a uv workspace, a Poetry project, a pipenv project.

Locks are made by the real tools (uv, Poetry) against a local index on 127.0.0.1, in an
environment that ignores this machine's own pip, uv and Poetry configuration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from builder.inputs.pipfile_lock import pipfile_hash
from builder.inputs.project import load_toml
from tests.support.catalog import Catalog

SETUPTOOLS_BACKEND = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
"""


def tool_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """uv and Poetry see only what the test gives them: no user config, caches or keyring."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "UV_", "POETRY_"))
    }
    env.update(
        {
            # Not UV_NO_CONFIG: it would hide [tool.uv] in the project too; no user config instead.
            "PIP_CONFIG_FILE": os.devnull,
            "XDG_CONFIG_HOME": str(home / "config"),
            "UV_CACHE_DIR": str(home / "uv"),
            "UV_PYTHON_DOWNLOADS": "never",
            "POETRY_CONFIG_DIR": str(home / "poetry-config"),
            "POETRY_CACHE_DIR": str(home / "poetry-cache"),
            "POETRY_VIRTUALENVS_PATH": str(home / "venvs"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "NETRC": str(home / "no-netrc"),
        }
    )
    env.update(extra or {})
    return env


def run_tool(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result.stdout


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def write_uv_workspace(root: Path, index_table: str = "") -> Path:
    """Two Lambda packages (src and flat layout) on one common library; dev groups aside."""
    write(
        root / "pyproject.toml",
        textwrap.dedent("""\
        [project]
        name = "shop"
        version = "0.1.0"
        requires-python = ">=3.9"
        dependencies = []

        [dependency-groups]
        dev = ["hashpkg==1.0"]

        [tool.uv.workspace]
        members = ["packages/*"]
        """)
        + textwrap.dedent(index_table),
    )
    write(
        root / "packages/common/pyproject.toml",
        """\
        [project]
        name = "shop-common"
        version = "0.1.0"
        requires-python = ">=3.9"
        dependencies = ["needspure>=1.0"]
        """
        + SETUPTOOLS_BACKEND,
    )
    write(
        root / "packages/common/src/shop_common/__init__.py",
        """\
        import needspure

        def greeting(who):
            return f"hello {who} from shop_common with {needspure.VALUE}"
        """,
    )
    for member, layout in (("orders", "src/"), ("payments", "")):
        write(
            root / f"packages/{member}/pyproject.toml",
            f"""\
            [project]
            name = "{member}"
            version = "0.1.0"
            requires-python = ">=3.9"
            dependencies = ["shop-common"]

            [dependency-groups]
            test = ["datapkg==1.0"]

            [tool.uv.sources]
            shop-common = {{ workspace = true }}
            """
            + SETUPTOOLS_BACKEND,
        )
        write(root / f"packages/{member}/{layout}{member}/__init__.py", "")
        write(
            root / f"packages/{member}/{layout}{member}/handler.py",
            f"""\
            from shop_common import greeting

            def handler(event, context):
                return greeting("{member}")
            """,
        )
    return root


def write_poetry_project(root: Path, source_url: str, source_name: str = "local") -> Path:
    """A src-layout function with a path dependency, a dev group, an extra and a source."""
    write(
        root / "pyproject.toml",
        f"""\
        [project]
        name = "poetry-fn"
        version = "0.1.0"
        requires-python = ">=3.9"
        dependencies = ["needspure>=1.0", "common-lib"]

        [project.optional-dependencies]
        files = ["datapkg>=1.0"]

        [tool.poetry.dependencies]
        common-lib = {{ path = "libs/common-lib", develop = true }}

        [tool.poetry.group.dev.dependencies]
        hashpkg = "*"

        [[tool.poetry.source]]
        name = "{source_name}"
        url = "{source_url}"
        priority = "primary"
        """
        + SETUPTOOLS_BACKEND,
    )
    write(root / "src/poetry_fn/__init__.py", "")
    write(
        root / "src/poetry_fn/handler.py",
        """\
        import common_lib

        def handler(event, context):
            return common_lib.answer()
        """,
    )
    write(
        root / "libs/common-lib/pyproject.toml",
        """\
        [project]
        name = "common-lib"
        version = "0.2.0"
        dependencies = ["purepkg>=1.0"]
        """
        + SETUPTOOLS_BACKEND,
    )
    write(
        root / "libs/common-lib/common_lib/__init__.py",
        """\
        import purepkg

        def answer():
            return f"common_lib with {purepkg.VALUE}"
        """,
    )
    return root


def write_pipenv_project(root: Path, catalog: Catalog, index_url: str) -> Path:
    """A Pipfile and the Pipfile.lock pipenv writes for it (real file hashes)."""
    write(
        root / "Pipfile",
        f"""\
        [[source]]
        url = "{index_url}"
        verify_ssl = true
        name = "local"

        [packages]
        needspure = "==1.0"

        [dev-packages]
        hashpkg = "*"
        """,
    )
    write(
        root / "app.py",
        "import needspure\n\ndef handler(event, context):\n    return needspure.VALUE\n",
    )

    def entry(key: str, version: str) -> dict[str, object]:
        return {"hashes": [catalog.hash(key)], "index": "local", "version": f"=={version}"}

    lock = {
        "_meta": {
            "hash": {"sha256": pipfile_hash(load_toml(root / "Pipfile"), canonicalize_name)},
            "pipfile-spec": 6,
            "requires": {},
            "sources": [{"name": "local", "url": index_url, "verify_ssl": True}],
        },
        "default": {
            "needspure": entry("needspure", "1.0"),
            "purepkg": {**entry("purepkg", "1.0"), "markers": "python_version >= '3.8'"},
        },
        "develop": {"hashpkg": entry("hashpkg", "1.0")},
    }
    (root / "Pipfile.lock").write_text(json.dumps(lock, indent=4, sort_keys=True) + "\n")
    return root


def packages(report: dict[str, Any]) -> dict[str, str]:
    """Name -> version of what a build report says it installed."""
    return {str(p["name"]): str(p["version"]) for p in report["packages"]}
