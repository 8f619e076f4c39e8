"""When the build installs straight into a mounted host directory, and who gets the files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from builder.docker.output_mount import (
    CONTAINER_DIR,
    OutputMount,
    collect_output,
    container_target,
    mount_plan,
)
from builder.incontainer.install import OUTPUT_TOKEN
from builder.ui import NullUI

LOCAL: dict[str, Any] = {
    "is_local": True,
    "desktop": False,
    "security_options": ("name=seccomp,profile=builtin",),
    "environment": {},
    "os_name": "posix",
    "ids": (1000, 1001),
}


def test_a_rootful_local_engine_mounts_and_hands_the_tree_to_this_user() -> None:
    assert mount_plan(**LOCAL) == (True, "1000:1001")


def test_root_on_this_machine_needs_no_hand_over_from_a_rootful_engine() -> None:
    assert mount_plan(**{**LOCAL, "ids": (0, 0)}) == (True, None)
    assert mount_plan(**{**LOCAL, "ids": (0, 1001)}) == (True, "0:1001")


def test_a_rootless_engine_mounts_without_changing_owners() -> None:
    options = ("name=seccomp,profile=default", "name=rootless", "name=cgroupns")
    assert mount_plan(**{**LOCAL, "security_options": options}) == (True, None)


@pytest.mark.parametrize(
    "change",
    [
        {"is_local": False},  # tcp:// or ssh:// engines see another machine's files
        {"desktop": True},  # Docker Desktop: a VM with its own file sharing
        {"os_name": "nt"},
        {"security_options": ("name=userns",)},  # remapped uids would own the files
        {"environment": {"LAMBDA_BUILDER_OUTPUT_MOUNT": "0"}},
    ],
)
def test_everything_else_copies_through_the_engine(change: dict[str, Any]) -> None:
    assert mount_plan(**{**LOCAL, **change}) == (False, None)


def test_the_pipeline_installs_into_the_mount_or_its_workspace(tmp_path: Path) -> None:
    mount = OutputMount(tmp_path, None)
    assert container_target(mount, "/lambda-builder/target") == CONTAINER_DIR
    assert container_target(None, "/lambda-builder/target") == "/lambda-builder/target"
    assert mount.volumes == {str(tmp_path): {"bind": CONTAINER_DIR, "mode": "rw,z"}}


class CopyingBox:
    def __init__(self) -> None:
        self.copied: list[tuple[str, Path]] = []

    def copy_out(self, source: Any, destination: Path) -> None:
        self.copied.append((str(source), destination))


def test_a_removed_token_means_the_tree_is_already_here(tmp_path: Path) -> None:
    box = CopyingBox()
    collect_output(box, OutputMount(tmp_path, None), CONTAINER_DIR, tmp_path, NullUI(), "t")  # type: ignore[arg-type]
    assert box.copied == []


def test_a_token_left_in_place_means_the_engine_wrote_elsewhere(tmp_path: Path) -> None:
    (tmp_path / OUTPUT_TOKEN).write_text("x")
    box = CopyingBox()
    collect_output(box, OutputMount(tmp_path, None), CONTAINER_DIR, tmp_path, NullUI(), "t")  # type: ignore[arg-type]
    assert box.copied == [(CONTAINER_DIR, tmp_path)]
    assert not (tmp_path / OUTPUT_TOKEN).exists()


def test_without_a_mount_the_tree_is_always_copied(tmp_path: Path) -> None:
    box = CopyingBox()
    collect_output(box, None, "/lambda-builder/target", tmp_path, NullUI(), "t")  # type: ignore[arg-type]
    assert box.copied == [("/lambda-builder/target", tmp_path)]
