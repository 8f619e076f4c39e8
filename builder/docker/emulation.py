"""Recognising a missing QEMU emulation, and telling the user how to enable it."""

from __future__ import annotations

import platform

from builder.architectures import Architecture, host_architecture
from builder.errors import DockerError


def is_exec_format_error(text: str) -> bool:
    lowered = text.lower()
    return "exec format error" in lowered or "exec user process caused" in lowered


def is_foreign(architecture: Architecture) -> bool:
    return host_architecture(platform.machine()) is not architecture


def enable_commands(architecture: Architecture) -> list[str]:
    arch = "arm64" if architecture is Architecture.ARM64 else "amd64"
    return [
        f"docker run --privileged --rm tonistiigi/binfmt --install {arch}",
        "# or, on Debian/Ubuntu hosts:",
        "sudo apt-get install -y qemu-user-static binfmt-support",
        f"sudo update-binfmts --enable {architecture.qemu_binfmt}",
    ]


def emulation_error(architecture: Architecture) -> DockerError:
    commands = "\n    ".join(enable_commands(architecture))
    return DockerError(
        f"this Docker engine cannot run {architecture.value} ({architecture.docker_platform}) "
        "containers: QEMU emulation is not enabled",
        hint=f"enable it with:\n    {commands}\nthen run the build again "
        "(Docker Desktop has it built in)",
    )
