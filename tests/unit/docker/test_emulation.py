"""Recognising missing QEMU emulation and telling the user how to enable it."""

from __future__ import annotations

import pytest

from builder.architectures import Architecture
from builder.docker.emulation import (
    emulation_error,
    enable_commands,
    is_exec_format_error,
    is_foreign,
)


@pytest.mark.parametrize(
    "text",
    [
        "exec /lambda-entrypoint.sh: exec format error",
        "standard_init_linux.go:228: exec user process caused: Exec Format Error",
        "EXEC USER PROCESS CAUSED: no such file",
        "fork/exec /bin/sh: EXEC FORMAT ERROR",
    ],
)
def test_exec_format_errors_are_recognised_in_any_case(text: str) -> None:
    assert is_exec_format_error(text)


@pytest.mark.parametrize("text", ["", "no such image", "permission denied", "format error"])
def test_other_failures_are_not_exec_format_errors(text: str) -> None:
    assert not is_exec_format_error(text)


@pytest.mark.parametrize(
    ("machine", "architecture", "foreign"),
    [
        ("x86_64", Architecture.X86_64, False),
        ("x86_64", Architecture.ARM64, True),
        ("arm64", Architecture.ARM64, False),
        ("aarch64", Architecture.X86_64, True),
        ("i686", Architecture.X86_64, True),
    ],
)
def test_foreign_means_the_host_machine_is_another_architecture(
    monkeypatch: pytest.MonkeyPatch, machine: str, architecture: Architecture, foreign: bool
) -> None:
    monkeypatch.setattr("builder.docker.emulation.platform.machine", lambda: machine)
    assert is_foreign(architecture) is foreign


def test_enable_commands_install_the_right_emulator() -> None:
    arm = enable_commands(Architecture.ARM64)
    assert arm[0] == "docker run --privileged --rm tonistiigi/binfmt --install arm64"
    assert arm[-1] == "sudo update-binfmts --enable qemu-aarch64"
    x86 = enable_commands(Architecture.X86_64)
    assert x86[0].endswith("--install amd64")
    assert x86[-1] == "sudo update-binfmts --enable qemu-x86_64"


def test_emulation_error_names_the_platform_and_gives_every_command() -> None:
    error = emulation_error(Architecture.ARM64)
    assert error.exit_code == 7
    assert "cannot run arm64 (linux/arm64) containers" in error.message
    assert "QEMU" in error.message
    assert error.hint is not None
    for command in enable_commands(Architecture.ARM64):
        assert f"\n    {command}" in error.hint
    assert "Docker Desktop" in error.hint
