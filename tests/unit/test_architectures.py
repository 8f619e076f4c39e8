"""Every spelling of a Lambda architecture, and what each architecture is called elsewhere."""

from __future__ import annotations

import json

import pytest

from builder.architectures import Architecture, host_architecture, parse_architecture
from builder.errors import UsageError


@pytest.mark.parametrize(
    ("spelling", "architecture"),
    [
        ("x86_64", Architecture.X86_64),
        ("amd64", Architecture.X86_64),
        ("X64", Architecture.X86_64),
        ("linux/amd64", Architecture.X86_64),
        (" x86_64 ", Architecture.X86_64),
        ("arm64", Architecture.ARM64),
        ("aarch64", Architecture.ARM64),
        ("ARM64", Architecture.ARM64),
        ("linux/arm64", Architecture.ARM64),
        ("linux/arm64/v8", Architecture.ARM64),
    ],
)
def test_every_common_spelling_is_understood(spelling: str, architecture: Architecture) -> None:
    assert parse_architecture(spelling) is architecture


@pytest.mark.parametrize("spelling", ["i686", "armv7l", "linux/arm/v7", "ppc64le", "", "x86"])
def test_unknown_architecture_error_gives_the_valid_names(spelling: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_architecture(spelling)
    assert caught.value.message == f"unknown architecture {spelling!r}"
    assert caught.value.hint and "x86_64 or arm64" in caught.value.hint


def test_each_architecture_knows_its_names_in_every_vocabulary() -> None:
    x86, arm = Architecture.X86_64, Architecture.ARM64
    assert (x86.value, x86.machine, x86.docker_platform, x86.docker_arch) == (
        "x86_64",
        "x86_64",
        "linux/amd64",
        "amd64",
    )
    assert (arm.value, arm.machine, arm.docker_platform, arm.docker_arch) == (
        "arm64",
        "aarch64",
        "linux/arm64",
        "arm64",
    )
    assert (x86.elf_machine, arm.elf_machine) == (62, 183)
    assert (x86.qemu_binfmt, arm.qemu_binfmt) == ("qemu-x86_64", "qemu-aarch64")


def test_architecture_serialises_as_its_aws_name() -> None:
    assert json.dumps([Architecture.ARM64, Architecture.X86_64]) == '["arm64", "x86_64"]'
    assert Architecture("x86_64") is Architecture.X86_64


@pytest.mark.parametrize(
    ("machine", "architecture"),
    [
        ("x86_64", Architecture.X86_64),
        ("AMD64", Architecture.X86_64),  # Windows
        ("arm64", Architecture.ARM64),  # macOS
        ("aarch64", Architecture.ARM64),  # Linux
        ("i686", None),
        ("armv7l", None),
    ],
)
def test_host_architecture_from_platform_machine(
    machine: str, architecture: Architecture | None
) -> None:
    assert host_architecture(machine) is architecture
