"""A Poetry project locked by real Poetry against the local index, built from poetry.lock."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.integration.inputs.projects import (
    packages,
    run_tool,
    tool_env,
    write_poetry_project,
)
from tests.support.catalog import Catalog

HOST = ["--runtime", "python3.11", "--no-container", "--no-cache"]


@pytest.fixture(scope="module")
def poetry_project(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_poetry_project(tmp_path_factory.mktemp("poetry") / "fn", catalog.index.url)
    run_tool(["poetry", "lock"], root, tool_env(tmp_path_factory.mktemp("poetry-home")))
    assert 'lock-version = "2.1"' in (root / "poetry.lock").read_text()
    return root


def build(
    root: Path, tmp_path: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    report = tmp_path / "report.json"
    result = run_cli(
        ["build", str(root), "-o", str(tmp_path / "out"), "--report", str(report), *HOST, *args],
        tool_env(tmp_path / "home"),
    )
    data = json.loads(report.read_text())["targets"][0] if report.exists() else {}
    return result, data


def call_handler(bundle: Path, module: str) -> str:
    code = (
        f"import sys; sys.path.insert(0, {str(bundle)!r}); import {module} as m; "
        "print(m.handler({}, None))"
    )
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_poetry_project_builds_its_package_and_path_dependency(
    poetry_project: Path, tmp_path: Path
) -> None:
    result, report = build(poetry_project, tmp_path)
    assert result.returncode == 0, result.stderr
    assert report["input_kind"] == "poetry.lock"
    assert packages(report) == {
        "poetry-fn": "0.1.0",
        "common-lib": "0.2.0",
        "needspure": "1.0",
        "purepkg": "1.0",
    }
    out = tmp_path / "out"
    assert call_handler(out, "poetry_fn.handler") == "common_lib with purepkg 1.0"
    assert not (out / "src").exists() and not (out / "libs").exists()


def test_poetry_groups_and_extras_are_opt_in(poetry_project: Path, tmp_path: Path) -> None:
    result, report = build(poetry_project, tmp_path / "plain")
    assert result.returncode == 0, result.stderr
    assert "hashpkg" not in packages(report) and "datapkg" not in packages(report)
    result, report = build(poetry_project, tmp_path / "asked", "--group", "dev", "--extra", "files")
    assert result.returncode == 0, result.stderr
    assert packages(report)["hashpkg"] == "1.0" and packages(report)["datapkg"] == "1.0"


def test_poetry_lock_out_of_date_fails_clearly(poetry_project: Path, tmp_path: Path) -> None:
    stale = tmp_path / "stale"
    shutil.copytree(poetry_project, stale)
    pyproject = stale / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('"needspure>=1.0"', '"needspure>=1.0", "armonly"')
    )
    result, _ = build(stale, tmp_path)
    assert result.returncode == 3, result.stderr
    assert "poetry.lock is out of date with pyproject.toml" in result.stderr
    assert "poetry lock" in result.stderr
    assert not (tmp_path / "out").exists()
