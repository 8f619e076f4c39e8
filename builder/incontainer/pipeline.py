"""The dependency algorithm: download, sort, fetch compatible wheels, build, fall back, install."""

from __future__ import annotations

import json
import os
import platform
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from . import pip_commands as cmd
from .builds import build_pure_here, build_sdists
from .bytecode import compile_tree
from .cache import BuildCache, sources_scope
from .install import claim_target, hand_over, install_wheels
from .markers import foreign_marker_uses
from .passes import (
    Outcome,
    Runner,
    compiler_tail,
    download_hint,
    legacy_builds,
    list_dists,
    metadata_failure,
    missing_from_download_failure,
)
from .pip_shim import MARKERS_VARIABLE, WHEEL_MACHINE_VARIABLE
from .protocol import Job, MissingPackage, PackageResult, PipelineFailure, Result, emit
from .source_lock import building_in
from .state import Sorted, load_state, save_state
from .tags import (
    DistFile,
    canonical_name,
    explicit_platforms,
    is_wheel_compatible,
    local_glibc,
    parse_filename,
)
from .unprepared import newer_release, unpreparable_missing

T = TypeVar("T")


class Pipeline:
    def __init__(self, job: Job, runner: Runner):
        self.job = job
        self.run = runner
        self.cache = BuildCache(job.cache_dir, sources_scope({**os.environ, **job.pip_env}))
        self.state = Sorted()
        self.result = Result()

    def path(self, *parts: str) -> str:
        return os.path.join(self.job.work_dir, *parts)

    def pip_env(self) -> dict[str, str]:
        env = dict(self.job.pip_env)
        if self.cache.enabled:
            # The cache joins, never replaces, the find-links the user configured.
            links = [
                env.get("PIP_FIND_LINKS", os.environ.get("PIP_FIND_LINKS", "")),
                self.cache.files_dir,
            ]
            env["PIP_FIND_LINKS"] = " ".join(link for link in links if link)
        return env

    def pip(self, argv: list[str], extra_env: dict[str, str] | None = None) -> Outcome:
        env = self.pip_env()
        env.update(extra_env or {})
        env[WHEEL_MACHINE_VARIABLE] = self.job.target.machine
        if self.job.cross_markers is not None:
            env[MARKERS_VARIABLE] = json.dumps(self.job.cross_markers)
        return self.run(argv, env)

    def choose(self, name: str, path: str, how: str, detail: str = "") -> None:
        self.state.chosen[name] = (path, how, detail)
        self.state.built_on[name] = self.job.runs_on

    @property
    def is_cross(self) -> bool:
        """Resolving natively for another machine: builds are left to the target's image."""
        return self.job.cross_markers is not None

    def download_all_command(self, requirements: str, dest: str, isolate: bool) -> list[str]:
        if self.is_cross:
            return cmd.cross_download_all(
                requirements,
                dest,
                self.job.target,
                self.job.cross_platforms,
                isolate,
            )
        return cmd.download_all(requirements, dest, isolate)

    # --- pass 1 -------------------------------------------------------------------------
    def download_all(self) -> bool:
        """The closure as pip picks it; False when what is missing leaves nothing to go on."""
        if not self.job.requirements_file:
            return True
        emit("step", step="download", message="downloading the dependency closure")
        dest = self.path("downloads")
        requirements: str | None = self.job.requirements_file
        # sdists' metadata first as the image's own pip prepared it (see legacy_builds); a
        # failure, such as a build backend the image lacks, is retried the isolated way.
        isolate = not legacy_builds()
        while requirements:
            outcome = self.pip(self.download_all_command(requirements, dest, isolate))
            self.cache.store_downloads(dest)
            if outcome.ok:
                for dist, path in list_dists(dest):
                    self.sort(dist, path, how="wheel")
                return True
            if not isolate:
                isolate = True
                continue
            requirements = self.skip_unpreparable(requirements, outcome)
        return False

    def skip_unpreparable(self, requirements: str, outcome: Outcome) -> str | None:
        """Record why pass 1 failed; when a top-level requirement's sdist cannot even produce
        its metadata, a requirements file without it, so the rest still resolve."""
        failed = metadata_failure(outcome.collecting + outcome.tail)
        if failed is None:
            missing = missing_from_download_failure(outcome.tail)
            if not missing:
                raise PipelineFailure(
                    "pip-download",
                    "pip could not download the requirements:\n" + "\n".join(outcome.tail[-12:]),
                    download_hint(outcome.tail),
                )
            self.result.missing.extend(missing)
            return None
        if any(canonical_name(m.name) == canonical_name(failed.name) for m in self.result.missing):
            return None  # dropped once already: another requirement needs it too
        with open(requirements, encoding="utf-8") as stream:
            rest = cmd.without_requirement(stream.read(), failed.name)
        newer = (
            newer_release(self.pip, self.path("unprepared"), failed.name, failed.version)
            if failed.version
            else None
        )
        self.result.missing.append(
            unpreparable_missing(failed, self.job.runtime, newer, top_level=rest is not None)
        )
        if rest is None:
            return None
        path = self.path("unprepared", f"requirements-{len(self.result.missing)}.txt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(rest)
        return path

    def sort(self, dist: DistFile, path: str, how: str, detail: str = "") -> None:
        self.state.versions.setdefault(dist.name, dist.version)
        if dist.is_wheel and is_wheel_compatible(dist, self.job.target):
            if dist.name not in self.state.chosen:
                self.choose(dist.name, path, how, detail)
        elif dist.is_wheel:
            self.state.incompatible.setdefault(dist.name, path)
        else:
            self.state.sdists.setdefault(dist.name, path)

    # --- local projects -----------------------------------------------------------------
    def build_local_projects(self) -> None:
        for number, project in enumerate(self.job.local_projects):
            emit("step", step="build-local", message=f"building local project {project}")
            dest = self.path("local", str(number))
            with building_in(project):  # builds write into it: one at a time
                outcome = self.pip(cmd.build_wheel(project, dest))
            wheels = list_dists(dest)
            if not outcome.ok or not wheels:
                raise PipelineFailure(
                    "local-build",
                    f"local project {project} failed to build:\n{compiler_tail(outcome.tail)}",
                    "check that the directory holds a pyproject.toml or setup.py that builds",
                )
            for dist, path in wheels:
                self.state.versions[dist.name] = dist.version
                if is_wheel_compatible(dist, self.job.target):
                    self.choose(dist.name, path, "built-from-sdist", f"local project {project}")
                else:  # compiled for this machine while resolving for another: build there
                    self.state.sdists[dist.name] = project

    # --- passes 2 and 3 -----------------------------------------------------------------
    def pinned(self, name: str) -> tuple[str, bool]:
        """A spec for ``name==version``; a requirements file with hashes when the user gave some."""
        version = self.state.versions[name]
        hashes = self.job.hashes.get(name, [])
        if not hashes:
            return f"{name}=={version}", False
        path = self.path("pins", f"{name}.txt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(cmd.pinned_requirement_lines(name, version, hashes))
        return path, True

    def wants_source(self, name: str) -> bool:
        """The user's ``--no-binary`` wins over the explicit-wheel pass."""
        raw = self.pip_env().get("PIP_NO_BINARY", os.environ.get("PIP_NO_BINARY", ""))
        values = raw.replace(",", " ").split()
        return ":all:" in values or name in {canonical_name(v) for v in values}

    def first_pass_covers_target(self) -> bool:
        """Whether pass 1 could pick every wheel Lambda accepts: then a package it took as an
        sdist has no Lambda wheel of that version, and asking again is a wasted round trip."""
        wanted = set(explicit_platforms(self.job.target))
        if self.is_cross:
            return wanted <= set(self.job.cross_platforms)
        here = local_glibc()
        return platform.machine() == self.job.target.machine and here >= self.job.target.glibc

    def download_compatible_wheels(self) -> None:
        names = [name for name in self.state.unresolved() if not self.wants_source(name)]
        if self.first_pass_covers_target():
            names = [name for name in names if name in self.state.incompatible]
        for name in names:
            emit("step", step="compatible-wheel", message=f"looking for a Lambda wheel of {name}")
        for name, found in self.each(names, self.compatible_wheel):
            if found is not None:
                self.choose(name, found[0], "compatible-wheel", found[1])

    def compatible_wheel(self, name: str) -> tuple[str, str] | None:
        spec, hashed = self.pinned(name)
        dest = self.path("explicit", name)
        self.pip(cmd.download_compatible_wheel(spec, self.job.target, dest, hashed))
        self.cache.store_downloads(dest)
        for dist, path in list_dists(dest):
            if dist.name == name and is_wheel_compatible(dist, self.job.target):
                return path, dist.filename
        return None

    def download_missing_sdists(self) -> None:
        names = [name for name in self.state.unresolved() if name not in self.state.sdists]
        for name in names:
            emit("step", step="sdist", message=f"fetching the source of {name}")
        for name, path in self.each(names, self.sdist_of):
            if path is not None:
                self.state.sdists[name] = path

    def sdist_of(self, name: str) -> str | None:
        spec, hashed = self.pinned(name)
        dest = self.path("sdists", name)
        self.pip(cmd.download_sdist(name, spec, dest, hashed))
        self.cache.store_downloads(dest)
        for dist, path in list_dists(dest):
            if dist.name == name and not dist.is_wheel:
                return path
        return None

    def each(self, names: list[str], work: Callable[[str], T]) -> list[tuple[str, T]]:
        """``work`` for every name, as many at once as there are CPUs: each is its own pip
        process writing its own directory, so they cannot meet."""
        if len(names) < 2:
            return [(name, work(name)) for name in names]
        with ThreadPoolExecutor(max_workers=min(len(names), os.cpu_count() or 1)) as pool:
            return list(zip(names, pool.map(work, names)))

    # --- passes 6 and 7 -----------------------------------------------------------------
    def apply_allowlist(self) -> None:
        for name in self.state.unresolved():
            wheel = self.state.incompatible.get(name)
            if name in self.job.allowlist and wheel:
                detail = (
                    f"{os.path.basename(wheel)} is tagged for another platform; {name} "
                    "falls back to pure Python when its compiled parts cannot load"
                )
                self.choose(name, wheel, "allowlisted", detail)
                self.result.warnings.append(f"{name}: {detail}")

    def record_missing(self) -> None:
        target = self.job.target.describe()
        for name in self.state.unresolved():
            version = self.state.versions.get(name, "")
            if name in self.state.sdists:
                reason = "sdist build failed"
                hint = (
                    "the package needs headers or libraries the Lambda image lacks: look for a "
                    "version with a Lambda-compatible wheel, or pin one that builds"
                )
                detail = self.state.failures.get(name, "")
            else:
                wheel = os.path.basename(self.state.incompatible.get(name, ""))
                reason = f"no compatible wheel for {target}, and no sdist to build"
                hint = "pin a version that publishes a manylinux wheel for this target"
                detail = f"only found {wheel}" if wheel else ""
            self.result.missing.append(MissingPackage(name, version, reason, hint, detail))

    # --- pass 8 -------------------------------------------------------------------------
    def install(self) -> None:
        emit("step", step="install", message=f"installing {len(self.state.chosen)} wheels")
        wheels = [path for path, _how, _detail in self.state.chosen.values()]
        claim_target(self.job.target_dir)
        try:
            plan = install_wheels(wheels, self.job.target_dir)
            if self.job.compile_bytecode:
                self.result.warnings += compile_tree(self.job.target_dir)
        finally:
            if self.job.output_owner:
                hand_over(self.job.target_dir, self.job.output_owner)
        if plan.dropped:
            self.result.warnings.append(
                f"left out {len(plan.dropped)} scripts/headers/data files that have no place "
                "in a Lambda bundle"
            )
        self.record_packages()

    def record_packages(self) -> None:
        for name in sorted(self.state.chosen):
            path, how, detail = self.state.chosen[name]
            version = self.state.versions.get(name) or _version_of(path)
            where = self.state.built_on.get(name, self.job.runs_on)
            self.result.packages.append(
                PackageResult(name, version, os.path.basename(path), how, detail, where)
            )

    def check_foreign_markers(self) -> None:
        if not self.job.foreign_marker_keys:
            return
        wheels = [path for path, _h, _d in self.state.chosen.values()]
        uses = foreign_marker_uses(wheels, self.job.foreign_marker_keys)
        if uses:
            raise PipelineFailure(
                "environment-mismatch",
                "these dependencies choose their own dependencies by markers this host "
                "evaluates differently from Lambda:\n  " + "\n  ".join(uses),
                "drop --no-container so the markers are evaluated inside the Lambda image",
            )

    def execute(self, phase: str = "all") -> Result:
        """Run the passes; ``phase`` splits them for cross resolution (see ``PHASES``)."""
        if phase == "build":  # in the target's image, which a split build only runs emulated
            self.job.runs_on = "emulated"
            self.state = load_state(self.state_file, self.result)
            build_sdists(self)
            save_state(self.state_file, self.state, self.result)
            return self.result
        if phase == "finish":
            self.state = load_state(self.state_file, self.result)
        else:
            if not self.download_all():
                self.result.status = "missing"
                return self.result
            self.build_local_projects()
            self.download_compatible_wheels()
            self.download_missing_sdists()
            pending = [n for n in self.state.unresolved() if n in self.state.sdists]
            if self.is_cross and pending:
                build_pure_here(self, pending)
                pending = [n for n in self.state.unresolved() if n in self.state.sdists]
            if self.is_cross and pending:
                self.result.status, self.result.pending = "build-needed", pending
                save_state(self.state_file, self.state, self.result)
                return self.result
            build_sdists(self)
        self.apply_allowlist()
        self.record_missing()
        self.check_foreign_markers()
        if self.result.missing:
            self.result.status = "missing"
            self.record_packages()  # what did resolve, so one report shows everything at once
            return self.result
        self.install()
        return self.result

    @property
    def state_file(self) -> str:
        return self.path("state.json")

    def is_final(self, phase: str) -> bool:
        """Intermediate files stay while a later phase still needs them."""
        return phase != "build" and self.result.status != "build-needed"

    def clean(self) -> None:
        """Every intermediate file goes; only the target directory and the cache stay."""
        for part in ("downloads", "explicit", "sdists", "built", "local", "pins", "unprepared"):
            shutil.rmtree(self.path(part), ignore_errors=True)
        if os.path.exists(self.state_file):
            os.remove(self.state_file)


# "all" runs every pass in one place. Cross resolution splits them: "resolve" (native; stops
# with status build-needed when sources must be compiled), "build" (in the target's image),
# "finish" (native again: allow-list, missing packages, install).
PHASES = ("all", "resolve", "build", "finish")


def _version_of(wheel_path: str) -> str:
    dist = parse_filename(os.path.basename(wheel_path))
    return dist.version if dist else ""
