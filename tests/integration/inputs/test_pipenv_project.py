"""A pipenv project (Pipfile and the Pipfile.lock pipenv writes) built from Pipfile.lock."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.inputs.projects import packages, write_pipenv_project
from tests.integration.inputs.test_poetry_project import build, call_handler
from tests.support.catalog import Catalog


def test_pipfile_lock_installs_default_packages_and_copies_the_app(
    catalog: Catalog, tmp_path: Path
) -> None:
    root = write_pipenv_project(tmp_path / "app", catalog, catalog.index.url)
    result, report = build(root, tmp_path)
    assert result.returncode == 0, result.stderr
    assert report["input_kind"] == "Pipfile.lock"
    assert packages(report) == {"needspure": "1.0", "purepkg": "1.0"}
    assert call_handler(tmp_path / "out", "app") == "needspure 1.0"
    result, report = build(root, tmp_path / "dev", "--group", "dev")
    assert result.returncode == 0, result.stderr
    assert packages(report)["hashpkg"] == "1.0"


def test_pipfile_changed_after_locking_fails_clearly(catalog: Catalog, tmp_path: Path) -> None:
    root = write_pipenv_project(tmp_path / "app", catalog, catalog.index.url)
    pipfile = root / "Pipfile"
    pipfile.write_text(
        pipfile.read_text().replace('needspure = "==1.0"', 'needspure = "==1.0"\narmonly = "*"')
    )
    result, _ = build(root, tmp_path)
    assert result.returncode == 3
    assert "out of date with its Pipfile" in result.stderr and "pipenv lock" in result.stderr


def test_pipfile_lock_hash_mismatch_in_a_package_is_refused(
    catalog: Catalog, tmp_path: Path
) -> None:
    root = write_pipenv_project(tmp_path / "app", catalog, catalog.index.url)
    lock = json.loads((root / "Pipfile.lock").read_text())
    lock["default"]["purepkg"]["hashes"] = ["sha256:" + "0" * 64]
    (root / "Pipfile.lock").write_text(json.dumps(lock))
    result, report = build(root, tmp_path)
    assert result.returncode == 4, result.stderr
    assert report["missing"][0]["name"] == "(hash check)"
