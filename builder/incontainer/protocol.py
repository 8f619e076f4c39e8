"""The job read from JSON, the result written as JSON, and progress events on stdout."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from typing import Any

from .tags import Target

SCHEMA_VERSION = 1
EVENT_PREFIX = "@@lambda-builder "

# Packages whose wheels claim an incompatible platform but whose C parts are optional at import
# time: each falls back to pure Python when its compiled module cannot load.
#   sqlalchemy: the cextensions (and cython modules in 2.x) are optional speedups.
#   pyyaml: `yaml` imports `_yaml` (libyaml bindings) in a try block and uses the pure parser.
#   pyrsistent: pvectorc is optional; the pure-Python pvector is used without it.
DEFAULT_ALLOWLIST = ("sqlalchemy", "pyyaml", "pyrsistent")


class PipelineFailure(Exception):
    """A pass cannot go on; ``kind`` names which failure it is for the report."""

    def __init__(self, kind: str, message: str, hint: str = ""):
        super().__init__(message)
        self.kind, self.message, self.hint = kind, message, hint


class JobError(Exception):
    """The job file is unusable: an internal error between host and pipeline."""


# Set by the host for a container: "MACHINE MAJOR.MINOR" it must run on. Checked before any
# work, so a wrong --base-image costs one Python start rather than a separate probe per build.
EXPECT_VARIABLE = "LAMBDA_BUILDER_EXPECT"


@dataclass
class Job:
    target: Target
    runtime: str
    work_dir: str
    target_dir: str
    requirements_file: str | None = None
    hashes: dict[str, list[str]] = field(default_factory=dict)
    local_projects: list[str] = field(default_factory=list)
    pip_env: dict[str, str] = field(default_factory=dict)
    cache_dir: str | None = None
    allowlist: tuple[str, ...] = DEFAULT_ALLOWLIST
    foreign_marker_keys: list[str] = field(default_factory=list)
    allow_builds: bool = True
    compile_bytecode: bool = False
    verbose: bool = False
    # Resolving for another machine (see pip_shim): the target's marker environment, and the
    # platform tags pip in the target image would accept. Builds are then left to that image.
    cross_markers: dict[str, str] | None = None
    cross_platforms: list[str] = field(default_factory=list)
    runs_on: str = "native"  # native | emulated | host: recorded per package as built_on
    # "uid:gid" when target_dir is this machine's directory mounted from a rootful engine's host
    output_owner: str | None = None


def read_job(path: str) -> Job:
    with open(path, encoding="utf-8") as stream:
        data = json.load(stream)
    if data.get("schema_version") != SCHEMA_VERSION:
        raise JobError(
            f"job schema {data.get('schema_version')!r} is not {SCHEMA_VERSION}: "
            "host and pipeline come from different versions of lambda-builder"
        )
    target = data["target"]
    return Job(
        target=Target(
            int(target["major"]), int(target["minor"]), target["machine"], tuple(target["glibc"])
        ),
        runtime=data["runtime"],
        work_dir=data["work_dir"],
        target_dir=data["target_dir"],
        requirements_file=data.get("requirements_file"),
        hashes={k: list(v) for k, v in data.get("hashes", {}).items()},
        local_projects=list(data.get("local_projects", [])),
        pip_env=dict(data.get("pip_env", {})),
        cache_dir=data.get("cache_dir"),
        allowlist=tuple(data.get("allowlist", DEFAULT_ALLOWLIST)),
        foreign_marker_keys=list(data.get("foreign_marker_keys", [])),
        allow_builds=bool(data.get("allow_builds", True)),
        compile_bytecode=bool(data.get("compile_bytecode", False)),
        verbose=bool(data.get("verbose", False)),
        cross_markers=data.get("cross_markers"),
        cross_platforms=list(data.get("cross_platforms", [])),
        runs_on=str(data.get("runs_on", "native")),
        output_owner=data.get("output_owner"),
    )


@dataclass
class PackageResult:
    name: str
    version: str
    wheel: str
    how: str
    detail: str = ""
    built_on: str = ""


@dataclass
class MissingPackage:
    name: str
    version: str
    reason: str
    hint: str
    detail: str = ""


@dataclass
class Result:
    status: str = "ok"  # ok | missing | error | build-needed (cross resolution, see pipeline)
    python: str = ""
    pip: str = ""  # the pip that resolved, downloaded and built
    machine: str = ""
    glibc: str = ""
    packages: list[PackageResult] = field(default_factory=list)
    missing: list[MissingPackage] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: dict[str, str] | None = None
    pending: list[str] = field(default_factory=list)  # sources the target image must build

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema_version"] = SCHEMA_VERSION
        return data


def write_result(result: Result, path: str) -> None:
    """Write atomically, so a reader never sees half a result."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(dir=directory, prefix=".result-")
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        json.dump(result.to_json(), stream, indent=2, sort_keys=True)
    os.replace(temp, path)


def emit(event: str, **fields: Any) -> None:
    """A progress event for the host, one JSON object on a prefixed stdout line."""
    fields["event"] = event
    sys.stdout.write(EVENT_PREFIX + json.dumps(fields, sort_keys=True) + "\n")
    sys.stdout.flush()
