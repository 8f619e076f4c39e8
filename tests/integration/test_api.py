"""The Python API keeps the classic shape: build_dependencies(artifacts, requirements, runtime)."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder import (
    BuildConfig,
    MissingDependenciesError,
    PythonPipDependencyBuilder,
    build_dependencies,
)
from tests.support.recording_ui import RecordingUI

HOST = BuildConfig(use_container=False, use_cache=False)


def test_build_dependencies_installs_and_reports_through_the_ui(
    hermetic: None, tmp_path: Path
) -> None:
    (tmp_path / "requirements.txt").write_text("needspure==1.0\n")
    ui = RecordingUI()
    report = build_dependencies(
        tmp_path / "deps", tmp_path / "requirements.txt", "python3.11", ui=ui, config=HOST
    )
    assert {(p.name, p.how) for p in report.packages} == {
        ("needspure", "wheel"),
        ("purepkg", "wheel"),
    }
    assert (tmp_path / "deps" / "purepkg" / "__init__.py").is_file()
    assert any("downloading the dependency closure" in step for step in ui.steps)


def test_missing_dependencies_raise_with_each_reason(hermetic: None, tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("m228pkg==1.0\n")
    builder = PythonPipDependencyBuilder("python3.11", HOST)
    with pytest.raises(MissingDependenciesError) as caught:
        builder.build_dependencies(tmp_path / "deps", tmp_path / "requirements.txt")
    [missing] = caught.value.missing
    assert missing["name"] == "m228pkg" and "manylinux_2_26_x86_64 cp311" in missing["reason"]
    assert caught.value.exit_code == 4 and not (tmp_path / "deps").exists()
