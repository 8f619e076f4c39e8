"""The directory a pipeline run works in: staged program, inputs, job, result and output.

The same layout serves both runners: on the host it is used in place; for a container it is
uploaded whole to ``/lambda-builder`` and the job's paths are written for that root.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath, PurePosixPath
from typing import Literal, TypeVar

from builder.architectures import Architecture
from builder.config import BuildConfig, IndexConfig
from builder.credentials import CredentialLookup, complete_pip_env
from builder.errors import PipelineError
from builder.host import sources
from builder.incontainer.pip_server import LAZY_FLAG
from builder.job import JobSpec, PipelineResult, target_spec
from builder.requirements_file import IndexOptions, ParsedRequirements, flatten
from builder.runtimes import Runtime

AnyPath = TypeVar("AnyPath", bound=PurePath)

PROGRAM_NAME = "lambda_builder_pipeline"
PROGRAM_SOURCE = Path(__file__).parents[1] / "incontainer"


@dataclass(frozen=True)
class Workspace:
    host_dir: Path  # where the files are on this machine
    run_root: str  # where the pipeline sees them (the same path on the host)

    def run(self, *parts: str) -> str:
        return (
            str(PurePosixPath(self.run_root, *parts))
            if self.run_root.startswith("/")
            else os.path.join(self.run_root, *parts)
        )

    @property
    def job_file(self) -> Path:
        return self.host_dir / "job.json"

    @property
    def result_file(self) -> Path:
        return self.host_dir / "result.json"

    @property
    def target_dir(self) -> Path:
        return self.host_dir / "target"

    def work_mount(self, volume: str) -> dict[str, dict[str, str]]:
        """A split build's shared work directory: ``volume`` mounted where the pipeline works."""
        return {volume: {"bind": self.run("work"), "mode": "rw"}}

    def command(self, python: str) -> list[str]:
        return [python, "-m", PROGRAM_NAME, self.run("job.json"), self.run("result.json")]

    def environment(self) -> dict[str, str]:
        return {"PYTHONPATH": self.run("program"), "PYTHONDONTWRITEBYTECODE": "1"}


PIP_SERVER_SOCKET = "/tmp/lambda-builder-pip.sock"


def pip_server_process(python: str, lazy: bool = False) -> list[str]:
    """A build container's first process: pip imported while the job is copied in (``lazy``:
    at the first pip call, for an emulated container that may run none)."""
    source = (PROGRAM_SOURCE / "pip_server.py").read_text(encoding="utf-8")
    return [python, "-c", source, PIP_SERVER_SOCKET, *([LAZY_FLAG] if lazy else [])]


def stage_program(destination: Path) -> None:
    shutil.copytree(
        PROGRAM_SOURCE,
        destination / PROGRAM_NAME,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )


def pip_environment(
    index: IndexConfig,
    options: IndexOptions | None,
    map_link: dict[str, str],
    keyring: CredentialLookup | None = None,
) -> dict[str, str]:
    """pip's index settings as ``PIP_*`` variables; the command line wins over the file."""
    options = options or IndexOptions()
    env: dict[str, str] = {}
    index_url = index.index_url or options.index_url
    if index_url:
        env["PIP_INDEX_URL"] = index_url
    extras = list(options.extra_index_urls) + list(index.extra_index_urls)
    links = [map_link.get(link, link) for link in [*options.find_links, *index.find_links]]
    for key, values in (
        ("PIP_EXTRA_INDEX_URL", extras),
        ("PIP_FIND_LINKS", links),
        ("PIP_TRUSTED_HOST", [*options.trusted_hosts, *index.trusted_hosts]),
        ("PIP_ONLY_BINARY", options.only_binary),
        ("PIP_NO_BINARY", options.no_binary),
    ):
        if values:
            env[key] = " ".join(dict.fromkeys(values))
    for key, flag in (
        ("PIP_NO_INDEX", options.no_index),
        ("PIP_PRE", options.pre),
        ("PIP_PREFER_BINARY", options.prefer_binary),
        ("PIP_REQUIRE_HASHES", options.require_hashes),
    ):
        if flag:
            env[key] = "1"
    return complete_pip_env(env, os.environ, keyring)  # from the same host, netrc, keyring


def download_set(parsed: ParsedRequirements) -> ParsedRequirements:
    """What the first pip pass downloads: no local directories when every dependency is listed.

    A lock's export lists (and pins) the dependencies of its local projects, and so does
    hash-checking mode, which also refuses directories ("Can't verify hashes ... point to
    directories"). Those projects are built alone by the local-project pass: resolving them
    would make pip read their own metadata, where a Poetry package names a path dependency by
    its host path and a git dependency by its branch instead of the locked commit.
    """
    if not (parsed.is_complete or parsed.hashes()):
        return parsed
    kept = [line for line in parsed.requirements if not (line.path and line.path.is_dir())]
    return replace(parsed, requirements=kept)


def staged_locations(paths: Iterable[AnyPath]) -> dict[AnyPath, tuple[str, ...]]:
    """Where each local input goes under the workspace, as path parts.

    The inputs keep their places relative to each other (below their common ancestor), so a
    project built in the container finds its ``../lib`` where it does on this machine.
    Inputs on different drives (Windows) get one numbered tree per drive.
    """
    chosen = sorted(set(paths))
    anchors = sorted({path.anchor for path in chosen})
    locations: dict[AnyPath, tuple[str, ...]] = {}
    for number, anchor in enumerate(anchors):
        group = [path for path in chosen if path.anchor == anchor]
        base = group[0]
        for path in group[1:]:
            while base != path and base not in path.parents:
                base = base.parent
        if base in group:  # one input, or one enclosing the others: keep its own name
            base = base.parent
        prefix = (str(number),) if len(anchors) > 1 else ()
        for path in group:
            locations[path] = ("inputs", *prefix, *path.relative_to(base).parts)
    return locations


def _copy_inputs(workspace: Workspace, paths: Iterable[Path]) -> dict[str, str]:
    """Copy local inputs into the workspace; return host path -> run path."""
    mapping: dict[str, str] = {}
    for path, parts in staged_locations(paths).items():
        destination = workspace.host_dir.joinpath(*parts)
        # Sorted, an enclosing input comes first and usually brings this one along already.
        if not destination.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                sources.copy_tree(path, destination)
            else:
                shutil.copy2(path, destination)
        mapping[str(path)] = workspace.run(*parts)
    return mapping


_LOOPBACK_HOST = re.compile(r"(://(?:[^/@\s]*@)?)(127\.0\.0\.1|localhost|\[::1\])(?=[:/\s]|$)")


def rewrite_loopback(environment: dict[str, str], alias: str | None) -> dict[str, str]:
    """Point URLs at this machine's loopback to ``alias`` (the host as a container sees it).

    Where containers do not share the host's network (Docker Desktop runs them in a VM), an
    index on http://127.0.0.1:PORT is reached as http://host.docker.internal:PORT instead.
    pip trusts plain HTTP on loopback only, so the alias becomes a trusted host too.
    """
    if alias is None:
        return dict(environment)
    rewritten = {
        key: _LOOPBACK_HOST.sub(rf"\g<1>{alias}", value) for key, value in environment.items()
    }
    if rewritten != environment:
        hosts = rewritten.get("PIP_TRUSTED_HOST", "").split()
        rewritten["PIP_TRUSTED_HOST"] = " ".join(dict.fromkeys([*hosts, alias]))
    return rewritten


def prepare(
    workspace: Workspace,
    *,
    runtime: Runtime,
    architecture: Architecture,
    config: BuildConfig,
    parsed: ParsedRequirements | None,
    copy_inputs: bool,
    cache_dir: str | None,
    foreign_marker_keys: Sequence[str] = (),
    allow_builds: bool = True,
    loopback_alias: str | None = None,
    cross_markers: dict[str, str] | None = None,
    cross_platforms: Sequence[str] = (),
    runs_on: Literal["native", "emulated", "host"] = "native",
    keyring: CredentialLookup | None = None,
    target_dir: str | None = None,
    output_owner: str | None = None,
) -> None:
    """Write everything the pipeline needs; the job file may hold credentials, so it is 0600.

    ``target_dir`` replaces the workspace's ``target`` (an output mounted from this machine).
    """
    host = workspace.host_dir
    for name in ("program", "work", "target"):
        (host / name).mkdir(parents=True, exist_ok=True)
    stage_program(host / "program")
    local = parsed.local_paths() if parsed else []
    local += [Path(link) for link in config.index.find_links if os.path.isdir(link)]
    mapping = _copy_inputs(workspace, local) if copy_inputs else {str(p): str(p) for p in local}
    requirements_file = None
    if parsed is not None:
        flat, constraints = flatten(
            download_set(parsed), lambda p: mapping[str(p)], workspace.run("constraints.txt")
        )
        (host / "requirements.txt").write_text(flat, encoding="utf-8")
        (host / "constraints.txt").write_text(constraints, encoding="utf-8")
        requirements_file = workspace.run("requirements.txt")
    job = JobSpec(
        runtime=runtime.name,
        target=target_spec(runtime, architecture),
        work_dir=workspace.run("work"),
        target_dir=target_dir or workspace.run("target"),
        requirements_file=requirements_file,
        hashes=parsed.hashes() if parsed else {},
        local_projects=[mapping[str(p)] for p in parsed.local_projects()] if parsed else [],
        pip_env=rewrite_loopback(
            pip_environment(config.index, parsed.index if parsed else None, mapping, keyring),
            loopback_alias,
        ),
        cache_dir=cache_dir,
        allowlist=config.allowlist,
        foreign_marker_keys=list(foreign_marker_keys),
        allow_builds=allow_builds,
        compile_bytecode=config.compile_bytecode,
        verbose=config.verbose,
        cross_markers=cross_markers,
        cross_platforms=list(cross_platforms),
        runs_on=runs_on,
        output_owner=output_owner,
    )
    fd = os.open(workspace.job_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(job.model_dump_json(indent=2))


def read_result(workspace: Workspace, target: str) -> PipelineResult:
    try:
        data = json.loads(workspace.result_file.read_text(encoding="utf-8"))
        return PipelineResult.model_validate(data)
    except FileNotFoundError:
        raise PipelineError(
            "the pipeline stopped without writing a result",
            target=target,
            hint="run again with --verbose to see its output",
        ) from None
    except ValueError as error:
        raise PipelineError(
            f"the pipeline wrote an unreadable result: {error}", target=target
        ) from None
