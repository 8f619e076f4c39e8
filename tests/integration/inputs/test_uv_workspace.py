"""A uv workspace, locked by uv against the local index, built one Lambda package at a time."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.integration.inputs.projects import packages, run_tool, tool_env, write_uv_workspace
from tests.support import fixture_packages as fp
from tests.support.catalog import Catalog
from tests.support.package_index import PackageIndex
from tests.support.standins import ensure_standin

HOST = ["--runtime", "python3.11", "--no-container", "--no-cache"]


@pytest.fixture(scope="module")
def index(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    """The catalog on an index of its own: a test adds a newer purepkg after locking."""
    with PackageIndex(tmp_path_factory.mktemp("uv-index")) as served:
        served.add_all(catalog.files)
        yield served


@pytest.fixture(scope="module")
def workspace(index: PackageIndex, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("uv-home")
    root = write_uv_workspace(tmp_path_factory.mktemp("uv") / "shop")
    run_tool(["uv", "lock", "--default-index", index.url], root, tool_env(home))
    return root


def build(
    root: Path, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    report = tmp_path / "report.json"
    result = run_cli(
        ["build", str(root), "-o", str(tmp_path / "out"), "--report", str(report), *args],
        tool_env(tmp_path / "home", env),
    )
    data = json.loads(report.read_text())["targets"][0] if report.exists() else {}
    return result, data


def call_handler(bundle: Path, module: str) -> str:
    code = (
        f"import sys; sys.path.insert(0, {str(bundle)!r}); import {module}; "
        f"print({module}.handler({{}}, None))"
    )
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("member", ["orders", "payments"])
def test_each_lambda_package_builds_with_only_its_dependencies(
    workspace: Path, tmp_path: Path, member: str
) -> None:
    result, report = build(workspace, tmp_path, "--package", member, *HOST)
    assert result.returncode == 0, result.stderr
    other = {"orders": "payments", "payments": "orders"}[member]
    assert packages(report) == {
        member: "0.1.0",
        "shop-common": "0.1.0",
        "needspure": "1.0",
        "purepkg": "1.0",
    }
    assert report["input_kind"] == "uv.lock"
    assert report["input"] == str(workspace / "uv.lock")
    out = tmp_path / "out"
    assert (
        call_handler(out, f"{member}.handler")
        == f"hello {member} from shop_common with needspure 1.0"
    )
    # The workspace is installed as wheels, not copied: no src/, packages/ or other member.
    assert not (out / "packages").exists() and not (out / "src").exists()
    assert not (out / other).exists() and not (out / "uv.lock").exists()


def test_dev_groups_are_left_out_unless_asked(workspace: Path, tmp_path: Path) -> None:
    result, report = build(workspace, tmp_path / "plain", "--package", "orders", *HOST)
    assert result.returncode == 0, result.stderr
    assert "datapkg" not in packages(report) and "hashpkg" not in packages(report)
    result, report = build(
        workspace, tmp_path / "test", "--package", "orders", "--group", "test", *HOST
    )
    assert result.returncode == 0, result.stderr
    assert packages(report)["datapkg"] == "1.0"


def test_locked_versions_are_installed_even_when_the_index_has_newer(
    workspace: Path, index: PackageIndex, tmp_path: Path
) -> None:
    newer = index.add(fp.pure_wheel(tmp_path / "dists", "purepkg", "1.1"))
    try:
        result, report = build(workspace, tmp_path, "--package", "payments", *HOST)
    finally:
        index.remove(newer.name)
    assert result.returncode == 0, result.stderr
    assert packages(report)["purepkg"] == "1.0"


def test_workspace_root_without_package_says_to_pick_one(workspace: Path, tmp_path: Path) -> None:
    result, _ = build(workspace, tmp_path, *HOST)
    assert result.returncode == 2
    assert "--package NAME" in result.stderr and "orders, payments" in result.stderr


def test_lock_out_of_date_with_pyproject_fails_clearly(
    workspace: Path, index: PackageIndex, tmp_path: Path
) -> None:
    stale = tmp_path / "stale"
    shutil.copytree(workspace, stale)
    member = stale / "packages" / "orders" / "pyproject.toml"
    member.write_text(member.read_text().replace('["shop-common"]', '["shop-common", "armonly"]'))
    result, report = build(
        stale, tmp_path, "--package", "orders", *HOST, env={"UV_DEFAULT_INDEX": index.url}
    )
    assert result.returncode == 3, result.stderr
    assert "uv.lock is out of date with pyproject.toml" in result.stderr
    assert "needs to be updated" in result.stderr  # uv's own words, from `--locked`
    assert "hint: run `uv lock`" in result.stderr
    assert report == {} and not (tmp_path / "out").exists()


@pytest.mark.docker
def test_member_builds_in_the_lambda_image(workspace: Path, tmp_path: Path) -> None:
    image = ensure_standin("python3.11", "x86_64")
    result, report = build(
        workspace,
        tmp_path,
        "--package",
        "orders",
        "--runtime",
        "python3.11",
        "--base-image",
        image,
        "--no-cache",
    )
    assert result.returncode == 0, result.stderr
    assert report["mode"] == "container"
    assert set(packages(report)) == {"orders", "shop-common", "needspure", "purepkg"}
    out = tmp_path / "out"
    code = (
        "import sys; sys.path.insert(0, '/var/task'); import orders.handler as h; "
        "print(h.handler({}, None))"
    )
    run = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "-v",
            f"{out}:/var/task:ro",
            "--entrypoint",
            "/var/lang/bin/python3",
            image,
            "-c",
            code,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "hello orders from shop_common with needspure 1.0"
