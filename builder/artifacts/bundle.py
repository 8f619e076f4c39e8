"""Turning an assembled bundle into what users deploy: slimmed, zipped, measured, verified.

``finish_bundle`` works on the staged directory before it replaces the previous output, and
writes zips to temporary files that ``commit`` moves into place only when everything passed.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from builder.architectures import Architecture
from builder.artifacts import slim as slimming
from builder.artifacts.sizes import check_unzipped, measure, read_owners, zipped_warning
from builder.artifacts.zips import BundleFile, Collected, collect_files, write_zip, zip_date_time
from builder.config import BuildConfig
from builder.docker.runtime_python import ScriptRun, run_script
from builder.errors import ArtifactError
from builder.replacing import replace_bytes
from builder.report import ArtifactRecord, SizeReport, VerificationReport
from builder.runtimes import Runtime
from builder.ui import BuildUI

BYTECODE_SCRIPT = Path(__file__).parents[1] / "incontainer" / "bytecode.py"


@dataclass
class BundleOutcome:
    artifacts: list[ArtifactRecord] = field(default_factory=list)
    sizes: SizeReport | None = None
    verification: VerificationReport | None = None
    pending: list[tuple[Path, Path]] = field(default_factory=list)  # (temporary, final)

    def commit(self) -> None:
        for temporary, final in self.pending:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, final)
        self.pending.clear()

    def discard(self) -> None:
        for temporary, _final in self.pending:
            temporary.unlink(missing_ok=True)
        self.pending.clear()


@dataclass(frozen=True)
class Target:
    runtime: Runtime
    architecture: Architecture
    config: BuildConfig
    name: str  # python3.12/arm64
    ui: BuildUI

    @property
    def image(self) -> str | None:
        """The runtime image for compiling and checking; None in host mode."""
        if not self.config.use_container:
            return None
        return self.runtime.base_image(self.architecture, self.config.base_image)


def layer_prefix(layout: str, runtime: Runtime) -> str:
    """Where Lambda looks in a layer: ``python/``, or the versioned site-packages below it."""
    if layout == "site-packages":
        return f"python/lib/python{runtime.version}/site-packages/"
    return "python/"


def finish_bundle(
    staged: Path,
    dependencies: Path,
    *,
    runtime: Runtime,
    architecture: Architecture,
    config: BuildConfig,
    target: str,
    ui: BuildUI,
) -> BundleOutcome:
    """Slim, zip, size-check and verify ``staged`` (source + dependencies).

    ``dependencies`` is never changed (it may be an entry of the build cache): when the layer,
    --slim or --exclude need a dependency tree to change, they get a private copy.
    """
    outcome = BundleOutcome()
    options = config.artifacts
    private = None
    if options.layer_zip_path is not None or options.slim or options.excludes:
        private = Path(tempfile.mkdtemp(dir=staged.parent, prefix=f".{staged.name}-layer-"))
        shutil.copytree(dependencies, private, symlinks=True, dirs_exist_ok=True)
    try:
        _finish(
            outcome,
            staged,
            dependencies,
            private,
            Target(runtime, architecture, config, target, ui),
        )
    except BaseException:
        outcome.discard()
        raise
    finally:
        if private is not None:
            shutil.rmtree(private, ignore_errors=True)
    return outcome


def _finish(
    outcome: BundleOutcome,
    staged: Path,
    original: Path,
    dependencies: Path | None,
    target: Target,
) -> None:
    """``dependencies`` is the private copy, present when the layer, slim or exclude need it."""
    options = target.config.artifacts
    _drop_previous_zips(staged, target)
    removed_files, removed_bytes = slimming.exclude(staged, options.excludes)
    slimmed, rehashed = slimming.SlimResult(), slimming.Rehashed()
    if dependencies is not None:
        slimming.exclude(dependencies, options.excludes)
        if options.slim:
            target.ui.step(target.name, "slimming: tests, docs, stubs, debug symbols")
            slimmed, rehashed = slimming.slim(staged, dependencies, target.config.compile_bytecode)
    if target.config.compile_bytecode:
        compile_source(staged, dependencies or original, target)
    files = _collected(slimming.normalise_metadata(staged, rehashed), target)
    private = None if dependencies is None else slimming.normalise_metadata(dependencies, rehashed)
    outcome.sizes = measure(
        files,
        read_owners(staged),
        removed_files=removed_files + slimmed.removed_files,
        removed_bytes=removed_bytes + slimmed.removed_bytes + slimmed.stripped_bytes,
        stripped_files=len(slimmed.stripped),
    )
    check_unzipped(outcome.sizes, "bundle", target.name)
    if options.zip_path is not None:
        _write(outcome, "function-zip", files, options.zip_path, "", target, staged.parent)
    if options.layer_zip_path is not None:
        assert dependencies is not None and private is not None
        layer = _collected(private, target)
        check_unzipped(measure(layer, read_owners(dependencies)), "layer", target.name)
        prefix = layer_prefix(options.layer_layout, target.runtime)
        _write(outcome, "layer-zip", layer, options.layer_zip_path, prefix, target, staged.parent)
    if options.verify:
        outcome.verification = verify(staged, target)


def _collected(collected: Collected, target: Target) -> list[BundleFile]:
    if collected.skipped:
        target.ui.warning(
            target.name,
            "left out links that leave the bundle, dangle or loop: "
            + ", ".join(collected.skipped[:10]),
        )
    return collected.files


def _drop_previous_zips(staged: Path, target: Target) -> None:
    """A zip written into the source directory last time must not be zipped into this one."""
    options = target.config.artifacts
    for final in (options.zip_path, options.layer_zip_path):
        if final is None or not final.is_file():
            continue
        for candidate in list(staged.rglob(final.name)):
            if candidate.is_file() and filecmp.cmp(candidate, final, shallow=False):
                candidate.unlink()
                target.ui.warning(
                    target.name,
                    f"left the previous {final.name} out of the "
                    "bundle (it sits in the source directory)",
                )


def temporary_path(final: Path, anchor: Path) -> Path:
    """Where a zip is written before ``commit`` renames it to ``final``.

    Beside the output directory (``anchor``), which is never swapped: a temporary inside the
    output directory (``-o build --zip build/app.zip``) would leave with the old output. Beside
    the zip only when that is another file system, where a rename could not move it.
    """
    existing = next(path for path in (final.parent, *final.parent.parents) if path.exists())
    directory = anchor
    if existing.stat().st_dev != anchor.stat().st_dev:
        final.parent.mkdir(parents=True, exist_ok=True)
        directory = final.parent
    descriptor, name = tempfile.mkstemp(dir=directory, prefix=f".{final.name}.", suffix=".tmp")
    os.close(descriptor)
    return Path(name)


def _write(
    outcome: BundleOutcome,
    kind: Literal["function-zip", "layer-zip"],
    files: list[BundleFile],
    final: Path,
    prefix: str,
    target: Target,
    anchor: Path,
) -> None:
    target.ui.step(target.name, f"writing {kind} {final}")
    temporary = temporary_path(final, anchor)
    outcome.pending.append((temporary, final))  # listed first: a failure below removes it
    summary = write_zip(files, temporary, prefix=prefix, date_time=zip_date_time(os.environ))
    os.chmod(temporary, 0o644)
    outcome.artifacts.append(
        ArtifactRecord(
            kind=kind,
            path=str(final),
            sha256=summary.sha256,
            size=summary.size,
            unzipped_size=summary.unzipped_size,
            entries=summary.entries,
        )
    )
    warning = zipped_warning(kind, final, summary.size)
    if warning:
        target.ui.warning(target.name, warning)


def compile_source(staged: Path, dependencies: Path, target: Target) -> None:
    """Compile the user's .py files with the target's Python, like the dependencies were.

    Only files that did not come from the dependencies go: the pipeline compiled those
    already. The work runs in the runtime image (or on this host in host mode).
    """
    sources = [
        item
        for item in collect_files(staged).files
        if item.relative.endswith(".py")
        and not _is_dependency_file(item.relative, staged, dependencies)
    ]
    if not sources:
        return
    target.ui.step(target.name, f"compiling {len(sources)} source files with the target Python")
    with tempfile.TemporaryDirectory(prefix="lambda-builder-bytecode-") as temporary:
        work = Path(temporary)
        for item in sources:
            destination = work / "tree" / item.relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item.path, destination)
        run = ScriptRun(BYTECODE_SCRIPT, ("tree",))
        code, lines = run_script(
            run,
            work,
            image=target.image,
            runtime=target.runtime,
            architecture=target.architecture,
            target=target.name,
            ui=target.ui,
        )
        if code != 0:
            raise ArtifactError(
                "compiling the source to bytecode failed:\n" + "\n".join(lines[-15:]),
                target=target.name,
            )
        for line in lines:
            target.ui.warning(target.name, line)
        for compiled in sorted((work / "tree").rglob("__pycache__/*.pyc")):
            destination = staged / compiled.relative_to(work / "tree")
            destination.parent.mkdir(parents=True, exist_ok=True)
            replace_bytes(destination, compiled.read_bytes())


def _is_dependency_file(relative: str, staged: Path, dependencies: Path) -> bool:
    theirs = dependencies / relative
    return theirs.is_file() and filecmp.cmp(staged / relative, theirs, shallow=False)


def verify(staged: Path, target: Target) -> VerificationReport:
    from builder.artifacts.verify import VerifyOptions, describe, verify_bundle

    options = VerifyOptions(target.runtime, target.architecture, target.image)
    report = verify_bundle(staged, options, target.name, target.ui)
    if not report.ok:
        raise ArtifactError(
            "the bundle failed verification:\n  " + "\n  ".join(describe(report)[1:-1]),
            target=target.name,
            hint="each line names the file and its package; pin a version with "
            "a wheel for this runtime, or leave it out with --exclude",
        )
    return report
