"""A local engine installs straight into this machine's directory: same tree, this user's files.

A remote engine copies through the archive endpoint instead (test_container_build covers a tcp
engine with no bind mount at all); here the same local build runs both ways.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import docker
import pytest

from builder import BuildConfig, build_dependencies
from builder.docker import output_mount
from builder.docker.output_mount import CONTAINER_DIR
from tests.support.recording_ui import RecordingUI
from tests.support.standins import ensure_standin

pytestmark = pytest.mark.docker
LABEL = "org.lambda-builder.build"
REQUIREMENTS = "cextpkg==1.0\nneedspure==1.0\n"


@pytest.fixture(scope="module")
def standin_311() -> str:
    return ensure_standin("python3.11", "x86_64")


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def build(cli: Any, root: Path, image: str, **env: str) -> tuple[Any, dict[str, Any]]:
    root.mkdir(parents=True)
    (root / "requirements.txt").write_text(REQUIREMENTS)
    result = cli(
        "build", "-r", str(root / "requirements.txt"), "-o", str(root / "out"),
        "--report", str(root / "report.json"), "--runtime", "python3.11",
        "--base-image", image, "--zip", str(root / "deps.zip"), "--no-cache",
        env={**env, "BUILDER_KEEP_CONTAINER": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [target] = json.loads((root / "report.json").read_text())["targets"]
    return result, target


def kept_container_binds() -> list[str]:
    """Where the kept build container had host directories mounted; the container goes."""
    [kept] = docker.from_env().containers.list(all=True, filters={"label": LABEL})
    try:
        return [m["Destination"] for m in kept.attrs["Mounts"] if m["Type"] == "bind"]
    finally:
        kept.remove(force=True)


def test_mounted_and_copied_outputs_are_the_same_bytes(
    cli: Any, tmp_path: Path, standin_311: str
) -> None:
    mounted, mounted_report = build(cli, tmp_path / "mounted", standin_311)
    assert kept_container_binds() == [CONTAINER_DIR]
    copied, copied_report = build(
        cli, tmp_path / "copied", standin_311, LAMBDA_BUILDER_OUTPUT_MOUNT="0"
    )
    assert kept_container_binds() == []
    assert "copying the dependencies out of the container" not in mounted.stderr
    assert "copying the dependencies out of the container" in copied.stderr
    assert {p["name"]: p["how"] for p in mounted_report["packages"]} == {
        "cextpkg": "built-from-sdist",
        "needspure": "wheel",
        "purepkg": "wheel",
    }
    assert mounted_report["packages"] == copied_report["packages"]
    assert tree(tmp_path / "mounted" / "out") == tree(tmp_path / "copied" / "out")
    mounted_zip = (tmp_path / "mounted" / "deps.zip").read_bytes()
    assert mounted_zip == (tmp_path / "copied" / "deps.zip").read_bytes()


def test_a_rootful_engine_hands_every_file_to_the_user_who_built(
    monkeypatch: pytest.MonkeyPatch, hermetic: None, tmp_path: Path, standin_311: str
) -> None:
    # The engine writes as root. Run as root, the test asks for another owner so that a tree
    # left to root would show; run as anyone else, the owner is that user.
    uid, gid = (os.getuid(), os.getgid()) if os.getuid() else (4242, 4343)
    monkeypatch.setattr(output_mount.os, "getuid", lambda: uid)
    monkeypatch.setattr(output_mount.os, "getgid", lambda: gid)
    (tmp_path / "requirements.txt").write_text(REQUIREMENTS)
    config = BuildConfig(base_image=standin_311, use_cache=False)
    ui = RecordingUI()
    report = build_dependencies(
        tmp_path / "deps", tmp_path / "requirements.txt", "python3.11", ui=ui, config=config
    )
    assert {p.name for p in report.packages} == {"cextpkg", "needspure", "purepkg"}
    # Directories of the output are made by this process; the files come from the engine.
    paths = [path for path in (tmp_path / "deps").rglob("*") if path.is_file()]
    assert len(paths) > 10
    owners = {
        p.relative_to(tmp_path).as_posix(): (p.lstat().st_uid, p.lstat().st_gid) for p in paths
    }
    assert {k: v for k, v in owners.items() if v != (uid, gid)} == {}
    assert not any("copying the dependencies out" in step for step in ui.steps)


def test_a_mount_the_engine_cannot_see_falls_back_to_copying(
    monkeypatch: pytest.MonkeyPatch, hermetic: None, tmp_path: Path, standin_311: str
) -> None:
    """A snap-confined daemon has its own /tmp: the container writes a directory we never see.

    Simulated by planning the mount but not mounting it: the pipeline installs into the
    container's own directory, the planted token stays here, and the tree is copied out.
    """
    monkeypatch.setattr(output_mount.OutputMount, "volumes", property(lambda self: {}))
    (tmp_path / "requirements.txt").write_text(REQUIREMENTS)
    ui = RecordingUI()
    config = BuildConfig(base_image=standin_311, use_cache=False)
    build_dependencies(
        tmp_path / "deps", tmp_path / "requirements.txt", "python3.11", ui=ui, config=config
    )
    assert any("copying the dependencies out" in step for step in ui.steps)
    assert (tmp_path / "deps" / "needspure" / "__init__.py").is_file()
    assert sorted(p.name for p in (tmp_path / "deps").iterdir() if p.name.startswith(".")) == []
