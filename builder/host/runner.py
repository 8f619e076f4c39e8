"""Running the pipeline directly on this machine, when it matches the target."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from builder.architectures import Architecture, host_architecture
from builder.config import BuildConfig
from builder.errors import EnvironmentMismatchError
from builder.events import relay_line
from builder.host import keyrings
from builder.host import workspace as ws
from builder.host.build_cache import build_identity, build_key, open_store, run_cached
from builder.job import PipelineResult
from builder.pip_settings import forwarded_settings
from builder.requirements_file import ParsedRequirements, marker_variables
from builder.runtimes import Runtime
from builder.ui import BuildUI

_ARCH_KEYS = ["platform_machine"]
_OS_KEYS = ["sys_platform", "platform_system", "os_name", "platform_release"]


def find_python(runtime: Runtime) -> str:
    """This interpreter when it is the runtime's version, else ``python3.X`` from PATH."""
    if sys.version_info[:2] == (runtime.major, runtime.minor):
        return sys.executable
    found = shutil.which(f"python{runtime.version}")
    if found and _runs_with_pip(found, runtime):
        return found
    raise EnvironmentMismatchError(
        f"--no-container needs Python {runtime.version} for {runtime.name}; this is "
        f"{platform.python_version()} and no python{runtime.version} is on PATH",
        hint=f"drop --no-container to build in the Lambda image, or install Python "
        f"{runtime.version}",
    )


def _runs_with_pip(python: str, runtime: Runtime) -> bool:
    """Whether ``python`` really is the runtime's version with pip (pyenv shims may not be)."""
    check = f"import sys, pip; sys.exit(sys.version_info[:2] != ({runtime.major}, {runtime.minor}))"
    try:
        return (
            subprocess.run([python, "-c", check], capture_output=True, timeout=60).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def foreign_keys(architecture: Architecture) -> list[str]:
    """Marker variables whose value on this host differs from Lambda's."""
    keys = [] if host_architecture(platform.machine()) is architecture else list(_ARCH_KEYS)
    if sys.platform != "linux":
        keys += _OS_KEYS
    return keys


def check_markers(parsed: ParsedRequirements | None, keys: list[str], target: str) -> None:
    used = sorted(marker_variables(parsed) & set(keys)) if parsed else []
    if used:
        raise EnvironmentMismatchError(
            f"the requirements use environment markers ({', '.join(used)}) that this "
            f"{platform.system()}/{platform.machine()} host would evaluate differently from "
            "Lambda, so the bundle could hold the wrong packages",
            hint="drop --no-container: the build then runs in the Lambda image for the target",
            target=target,
        )


def run_on_host(
    runtime: Runtime,
    architecture: Architecture,
    config: BuildConfig,
    parsed: ParsedRequirements | None,
    scratch: Path,
    ui: BuildUI,
) -> tuple[PipelineResult, Path, str, str | None]:
    target = f"{runtime.name}/{architecture.value}"
    keyring = keyrings.index_keyring(config.keyring_provider)
    python = find_python(runtime)
    keys = foreign_keys(architecture)
    check_markers(parsed, keys, target)
    workspace = ws.Workspace(scratch, str(scratch))
    cache = (
        str(config.cache_dir / f"{runtime.name}-{architecture.value}")
        if config.use_cache and config.cache_dir
        else None
    )
    ws.prepare(
        workspace,
        runtime=runtime,
        architecture=architecture,
        config=config,
        parsed=parsed,
        copy_inputs=False,
        cache_dir=cache,
        foreign_marker_keys=keys,
        allow_builds=host_architecture(platform.machine()) is architecture,
        runs_on="host",
        keyring=keyring,
    )
    for message in keyrings.take_warnings(keyring):
        ui.warning(target, message)
    store = open_store(config)
    environment = forwarded_settings(os.environ).environment
    identity = build_identity(runtime, architecture, f"host {python}", environment)
    local = parsed.local_paths() if parsed else []
    cached = run_cached(
        store,
        lambda: build_key(workspace.host_dir, workspace.run_root, identity, local),
        lambda: _run_job(python, workspace, target, ui),
        target,
        ui,
    )
    warning = newer_glibc_warning(cached.result, runtime)
    if warning:
        ui.warning(target, warning)
    return cached.result, cached.tree, cached.state, cached.key


def _run_job(
    python: str, workspace: ws.Workspace, target: str, ui: BuildUI
) -> tuple[PipelineResult, Path]:
    env = dict(os.environ)
    env.update(workspace.environment())
    process = subprocess.Popen(
        workspace.command(python),
        env=env,
        cwd=workspace.host_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    assert process.stdout is not None
    for line in process.stdout:
        relay_line(line, target, ui)
    process.wait()
    return ws.read_result(workspace, target), workspace.target_dir


def newer_glibc_warning(result: PipelineResult, runtime: Runtime) -> str | None:
    """Code compiled here links against this host's glibc, which Lambda may not have."""
    built = [p.name for p in result.packages if p.how == "built-from-sdist"]
    try:
        host = tuple(int(part) for part in result.glibc.split(".")[:2])
    except ValueError:
        return None
    if not built or host <= runtime.glibc:
        return None
    return (
        f"{', '.join(built)} compiled against this host's glibc {result.glibc}, newer than "
        f"{runtime.name}'s {runtime.glibc_text}: check the bundle with `lambda-builder "
        "verify`, or build in the container"
    )
