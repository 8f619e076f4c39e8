"""The job sent to the pipeline and the result it sends back, as validated models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from builder.architectures import Architecture
from builder.incontainer.protocol import SCHEMA_VERSION
from builder.runtimes import Runtime


class TargetSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    major: int
    minor: int
    machine: str
    glibc: tuple[int, int]


class JobSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = SCHEMA_VERSION
    runtime: str
    target: TargetSpec
    work_dir: str
    target_dir: str
    requirements_file: str | None = None
    hashes: dict[str, list[str]] = Field(default_factory=dict)
    local_projects: list[str] = Field(default_factory=list)
    pip_env: dict[str, str] = Field(default_factory=dict)
    cache_dir: str | None = None
    allowlist: tuple[str, ...] = ()
    foreign_marker_keys: list[str] = Field(default_factory=list)
    allow_builds: bool = True
    compile_bytecode: bool = False
    verbose: bool = False
    cross_markers: dict[str, str] | None = None
    cross_platforms: list[str] = Field(default_factory=list)
    runs_on: Literal["native", "emulated", "host"] = "native"
    output_owner: str | None = None  # "uid:gid": the installed tree is handed to this user


def target_spec(runtime: Runtime, architecture: Architecture) -> TargetSpec:
    return TargetSpec(
        major=runtime.major, minor=runtime.minor, machine=architecture.machine, glibc=runtime.glibc
    )


How = Literal[
    "wheel", "compatible-wheel", "built-from-sdist", "built-without-c-extensions", "allowlisted"
]


class PackageOutcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str
    wheel: str
    how: How
    detail: str = ""
    # Where pip handled it: "native" (this machine's architecture), "emulated" (QEMU),
    # "host" (--no-container).
    built_on: Literal["native", "emulated", "host", ""] = ""


class MissingOutcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str
    reason: str
    hint: str
    detail: str = ""


class PipelineResult(BaseModel):
    """What the pipeline wrote to its result file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int
    status: Literal["ok", "missing", "error", "build-needed"]
    python: str = ""
    pip: str = ""
    machine: str = ""
    glibc: str = ""
    packages: list[PackageOutcome] = Field(default_factory=list)
    missing: list[MissingOutcome] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    error: dict[str, str] | None = None
    pending: list[str] = Field(default_factory=list)
