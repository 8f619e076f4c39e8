"""Installing straight into a host directory when the engine shares this machine's files.

Copying a 100 MB dependency tree out through the engine's archive endpoint costs a second
write of every file plus Python's tar parsing (about 2 s for numpy and pandas). A local Linux
engine can bind-mount the output directory instead, so the pipeline's install is the only
write. Three things make that safe:

- ownership: a rootful engine writes as root, so the pipeline hands the tree to this user
  (``output_owner``); a rootless engine's root already is this user.
- reach: the engine may not see this machine's temporary directory (a snap-confined daemon has
  its own /tmp, colima shares only $HOME). A token file planted here and removed by the
  pipeline proves the container wrote here; when it is still present, the tree is copied out
  as on a remote engine.
- user-namespace remapping (``userns-remap``) would leave files owned by a shifted uid: no mount.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from builder.docker.engine import Engine
from builder.incontainer.install import OUTPUT_TOKEN
from builder.ui import BuildUI

if TYPE_CHECKING:
    from builder.docker.container import BuildContainer

CONTAINER_DIR = "/lambda-builder-output"
SWITCH = "LAMBDA_BUILDER_OUTPUT_MOUNT"  # "0": always copy through the engine


@dataclass(frozen=True)
class OutputMount:
    host_dir: Path
    owner: str | None  # "uid:gid" the pipeline hands the tree to; None when root is this user

    @property
    def volumes(self) -> dict[str, dict[str, str]]:
        # "z": on an SELinux host the container may write a directory labelled for it.
        return {str(self.host_dir): {"bind": CONTAINER_DIR, "mode": "rw,z"}}


def mount_plan(
    *,
    is_local: bool,
    desktop: bool,
    security_options: tuple[str, ...],
    environment: Mapping[str, str],
    os_name: str = os.name,
    ids: tuple[int, int] | None = None,
) -> tuple[bool, str | None]:
    """Whether to mount the output, and the "uid:gid" the pipeline hands the tree to (None:
    the engine's root already is this user)."""
    if environment.get(SWITCH, "1") == "0" or os_name != "posix" or not is_local or desktop:
        return False, None
    names = {option.split(",")[0].removeprefix("name=") for option in security_options}
    if "userns" in names:
        return False, None
    if "rootless" in names:
        return True, None
    uid, gid = ids if ids is not None else (os.getuid(), os.getgid())
    if (uid, gid) == (0, 0):  # root here too: what the container wrote is already ours
        return True, None
    return True, f"{uid}:{gid}"


def plan_output_mount(engine: Engine, host_dir: Path) -> OutputMount | None:
    """Create ``host_dir`` with its token when the engine can write it directly; else None."""
    mounted, owner = mount_plan(
        is_local=engine.is_local,
        desktop=engine.desktop,
        security_options=engine.security_options,
        environment=os.environ,
    )
    if not mounted:
        return None
    host_dir.mkdir(parents=True, exist_ok=True)
    (host_dir / OUTPUT_TOKEN).write_text(secrets.token_hex(16), encoding="utf-8")
    return OutputMount(host_dir, owner)


def container_target(mount: OutputMount | None, workspace_target: str) -> str:
    """Where the pipeline installs: the mounted directory, or its workspace's ``target``."""
    return CONTAINER_DIR if mount is not None else workspace_target


def collect_output(
    box: BuildContainer,
    mount: OutputMount | None,
    container_dir: str,
    output: Path,
    ui: BuildUI,
    target: str,
) -> None:
    """Bring the installed tree to ``output``, unless the pipeline already wrote it there."""
    if mount is not None:
        token = mount.host_dir / OUTPUT_TOKEN
        if not token.exists():
            return
        token.unlink()  # the container wrote elsewhere: copy, as from a remote engine
    ui.step(target, "copying the dependencies out of the container")
    box.copy_out(PurePosixPath(container_dir), output)
