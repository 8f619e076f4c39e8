"""A Poetry package with a path dependency beside it and a git dependency, built from its lock.

The project is the classic Poetry shape: ``[tool.poetry]`` dependencies, the poetry-core backend
and a sibling library at ``../common-lib``. poetry-core writes the library into the root's
metadata as ``common-lib @ file:///<host path>`` and the git dependency at its branch, not the
locked commit, so the root must be built on its own (``--no-deps``) from what the lock says.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, run_cli
from tests.integration.inputs.projects import packages, run_tool, tool_env, write
from tests.support.catalog import Catalog
from tests.support.git_repository import GitServer, publish_repository
from tests.support.package_index import PackageIndex, hermetic_pip_env
from tests.support.standins import ensure_standin

POETRY_CORE = "poetry-core==2.5.0"
POETRY_BACKEND = """\
[build-system]
requires = ["poetry-core>=2.0"]
build-backend = "poetry.core.masonry.api"
"""
EXPECTED = {
    "git-fn": "0.1.0",
    "common-lib": "0.2.0",
    "gitpkg": "0.3.0",
    "needspure": "1.0",
    "purepkg": "1.0",
}
CALL = "print(h.handler({}, None))"
ANSWER = "common_lib with purepkg 1.0; gitpkg 0.3.0; needspure 1.0"


def poetry_core_wheel(cache: Path) -> Path:
    """The build backend the container's isolated builds fetch from the local index."""
    found = sorted(cache.glob("poetry_core-*.whl"))
    if found:
        return found[-1]
    cache.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    result = subprocess.run(
        [*command, "--dest", str(cache), POETRY_CORE],
        env=hermetic_pip_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return sorted(cache.glob("poetry_core-*.whl"))[-1]


@pytest.fixture(scope="module")
def index(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    wheel = poetry_core_wheel(REPO_ROOT / ".pytest_cache" / "d" / "lambda-builder-tool-wheels")
    with PackageIndex(tmp_path_factory.mktemp("poetry-git-index")) as served:
        served.add_all([*catalog.files, wheel])
        yield served


@pytest.fixture(scope="module")
def git_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("git")
    publish_repository(
        root,
        "gitpkg",
        {
            "pyproject.toml": """\
            [project]
            name = "gitpkg"
            version = "0.3.0"
            dependencies = ["purepkg>=1.0"]

            [build-system]
            requires = ["setuptools"]
            build-backend = "setuptools.build_meta"
            """,
            "gitpkg/__init__.py": 'VERSION = "0.3.0"\n',
        },
    )
    with GitServer(root) as server:
        yield server.url("gitpkg")


def write_project(root: Path, index_url: str, git_url: str) -> Path:
    """``root/fn`` depends on ``root/common-lib`` (a sibling) and on a git repository."""
    fn = root / "fn"
    write(
        fn / "pyproject.toml",
        f"""\
        [tool.poetry]
        name = "git-fn"
        version = "0.1.0"
        description = "a function"
        authors = []
        packages = [{{ include = "git_fn", from = "src" }}]

        [tool.poetry.dependencies]
        python = ">=3.9"
        needspure = ">=1.0"
        common-lib = {{ path = "../common-lib", develop = false }}
        gitpkg = {{ git = "{git_url}", branch = "main" }}

        [tool.poetry.group.dev.dependencies]
        hashpkg = "*"

        [[tool.poetry.source]]
        name = "local"
        url = "{index_url}"
        priority = "primary"
        """
        + POETRY_BACKEND,
    )
    write(fn / "src/git_fn/__init__.py", "")
    write(
        fn / "src/git_fn/handler.py",
        """\
        import common_lib
        import gitpkg
        import needspure

        def handler(event, context):
            return f"{common_lib.answer()}; gitpkg {gitpkg.VERSION}; {needspure.VALUE}"
        """,
    )
    write(
        root / "common-lib/pyproject.toml",
        """\
        [tool.poetry]
        name = "common-lib"
        version = "0.2.0"
        description = "shared code"
        authors = []

        [tool.poetry.dependencies]
        python = ">=3.9"
        purepkg = ">=1.0"
        """
        + POETRY_BACKEND,
    )
    write(
        root / "common-lib/common_lib/__init__.py",
        """\
        import purepkg

        def answer():
            return f"common_lib with {purepkg.VALUE}"
        """,
    )
    return fn


@pytest.fixture(scope="module")
def project(index: PackageIndex, git_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    fn = write_project(tmp_path_factory.mktemp("poetry-git"), index.url, git_url)
    run_tool(["poetry", "lock"], fn, tool_env(tmp_path_factory.mktemp("poetry-git-home")))
    lock = (fn / "poetry.lock").read_text()
    assert 'type = "git"' in lock and 'type = "directory"' in lock
    return fn


def build(
    root: Path, tmp_path: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    report = tmp_path / "report.json"
    command = ["build", str(root), "-o", str(tmp_path / "out"), "--report", str(report)]
    result = run_cli(
        [*command, "--runtime", "python3.11", "--no-cache", *args], tool_env(tmp_path / "home")
    )
    data = json.loads(report.read_text())["targets"][0] if report.exists() else {}
    return result, data


def check_report(report: dict[str, Any], mode: str) -> None:
    assert report["mode"] == mode
    assert report["input_kind"] == "poetry.lock"
    assert packages(report) == EXPECTED
    how = {p["name"]: p["how"] for p in report["packages"]}
    assert how["git-fn"] == how["common-lib"] == how["gitpkg"] == "built-from-sdist"
    assert any("hash checking is off because gitpkg" in w for w in report["warnings"])


def test_package_with_path_and_git_dependencies_builds_on_host(
    project: Path, tmp_path: Path
) -> None:
    result, report = build(project, tmp_path, "--no-container")
    assert result.returncode == 0, result.stderr
    check_report(report, "host")
    out = tmp_path / "out"
    code = f"import sys; sys.path.insert(0, {str(out)!r}); import git_fn.handler as h; "
    run = subprocess.run(
        [sys.executable, "-I", "-c", code + CALL],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ANSWER
    assert not (out / "src").exists() and not (out / "pyproject.toml").exists()


@pytest.mark.docker
def test_package_with_path_and_git_dependencies_builds_in_the_lambda_image(
    project: Path, tmp_path: Path
) -> None:
    image = ensure_standin("python3.11", "x86_64")
    result, report = build(project, tmp_path, "--base-image", image)
    assert result.returncode == 0, result.stderr
    check_report(report, "container")
    out = tmp_path / "out"
    code = "import sys; sys.path.insert(0, '/var/task'); import git_fn.handler as h; "
    python = ["--entrypoint", "/var/lang/bin/python3", image, "-c"]
    run = subprocess.run(
        ["docker", "run", "--rm", "-v", f"{out}:/var/task:ro", *python, code + CALL],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ANSWER
    assert not (out / "src").exists() and not (out / "pyproject.toml").exists()
