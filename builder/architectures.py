"""The one place that knows every spelling of a Lambda architecture."""

from __future__ import annotations

import enum

from builder.errors import UsageError


class Architecture(str, enum.Enum):
    """A Lambda architecture, valued as AWS writes it."""

    X86_64 = "x86_64"
    ARM64 = "arm64"

    @property
    def machine(self) -> str:
        """What ``uname -m`` and ``platform_machine`` say on this architecture."""
        return "x86_64" if self is Architecture.X86_64 else "aarch64"

    @property
    def docker_platform(self) -> str:
        return "linux/amd64" if self is Architecture.X86_64 else "linux/arm64"

    @property
    def docker_arch(self) -> str:
        """The ``Architecture`` field Docker records on an image."""
        return "amd64" if self is Architecture.X86_64 else "arm64"

    @property
    def elf_machine(self) -> int:
        """``e_machine`` in an ELF header: EM_X86_64 or EM_AARCH64."""
        return 62 if self is Architecture.X86_64 else 183

    @property
    def qemu_binfmt(self) -> str:
        return "qemu-x86_64" if self is Architecture.X86_64 else "qemu-aarch64"


_ALIASES = {
    "x86_64": Architecture.X86_64,
    "amd64": Architecture.X86_64,
    "x64": Architecture.X86_64,
    "linux/amd64": Architecture.X86_64,
    "arm64": Architecture.ARM64,
    "aarch64": Architecture.ARM64,
    "linux/arm64": Architecture.ARM64,
    "linux/arm64/v8": Architecture.ARM64,
}


def parse_architecture(text: str) -> Architecture:
    """Accept any common spelling; reject others with the valid AWS names."""
    try:
        return _ALIASES[text.strip().lower()]
    except KeyError:
        raise UsageError(
            f"unknown architecture {text!r}",
            hint="use x86_64 or arm64 (amd64 and aarch64 are accepted too)",
        ) from None


def host_architecture(machine: str) -> Architecture | None:
    """The architecture of a host from ``platform.machine()``, or None when Lambda has none."""
    return _ALIASES.get(machine.strip().lower())
