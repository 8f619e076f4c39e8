"""The one table of Lambda Python runtimes: version, ABI, Amazon Linux generation, glibc, image."""

from __future__ import annotations

from dataclasses import dataclass

from builder.architectures import Architecture
from builder.errors import UsageError

LAMBDA_IMAGE_REPOSITORY = "public.ecr.aws/lambda/python"


@dataclass(frozen=True)
class Runtime:
    """A Lambda Python runtime as AWS names it (``python3.12``)."""

    name: str
    major: int
    minor: int
    amazon_linux: str
    glibc: tuple[int, int]
    deprecated: bool = False

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def abi(self) -> str:
        return f"cp{self.major}{self.minor}"

    @property
    def glibc_text(self) -> str:
        return f"{self.glibc[0]}.{self.glibc[1]}"

    def base_image(self, architecture: Architecture, template: str | None = None) -> str:
        """The Lambda image, or ``template`` with ``{version}``, ``{suffix}``, ``{arch}`` filled.

        ``mirror.example.com/lambda/python:{version}{suffix}`` names every runtime and
        architecture the way the public repository does (``3.12`` and ``3.12-arm64``).
        """
        suffix = "-arm64" if architecture is Architecture.ARM64 else ""
        if template is None:
            return f"{LAMBDA_IMAGE_REPOSITORY}:{self.version}{suffix}"
        try:
            return template.format(version=self.version, suffix=suffix, arch=architecture.value)
        except (KeyError, IndexError, ValueError) as error:
            raise UsageError(
                f"--base-image {template!r}: cannot fill in {error}",
                hint="placeholders are {version}, {suffix} and {arch}",
            ) from None


_AL2 = ("Amazon Linux 2", (2, 26))
_AL2023 = ("Amazon Linux 2023", (2, 34))

RUNTIMES: dict[str, Runtime] = {
    runtime.name: runtime
    for runtime in (
        Runtime("python3.8", 3, 8, *_AL2, deprecated=True),
        Runtime("python3.9", 3, 9, *_AL2),
        Runtime("python3.10", 3, 10, *_AL2),
        Runtime("python3.11", 3, 11, *_AL2),
        Runtime("python3.12", 3, 12, *_AL2023),
        Runtime("python3.13", 3, 13, *_AL2023),
        Runtime("python3.14", 3, 14, *_AL2023),
    )
}


def get_runtime(name: str) -> Runtime:
    """Look a runtime up by its AWS name; ``3.12`` is accepted for ``python3.12``."""
    key = name.strip().lower()
    if not key.startswith("python"):
        key = f"python{key}"
    try:
        return RUNTIMES[key]
    except KeyError:
        valid = ", ".join(RUNTIMES)
        raise UsageError(
            f"unknown runtime {name!r}",
            hint=f"use one of: {valid}",
        ) from None


def deprecation_warning(runtime: Runtime) -> str | None:
    if not runtime.deprecated:
        return None
    return (
        f"{runtime.name} is deprecated by AWS: functions on it can no longer be created or "
        "updated after the deprecation dates; move to python3.12 or later"
    )
