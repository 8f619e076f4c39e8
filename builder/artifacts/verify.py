"""Checking a bundle before Lambda does: ELF machine and glibc, imports, and a handler call."""

from __future__ import annotations

import json
import keyword
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.architectures import Architecture
from builder.artifacts.elf import ElfError, ElfFile, read_elf, version_text
from builder.artifacts.sizes import attribute, read_owners
from builder.artifacts.zips import BundleFile, collect_files
from builder.docker.runtime_python import Layout, ScriptRun, run_script
from builder.report import HandlerOutcome, ImportOutcome, Problem, VerificationReport
from builder.runtimes import Runtime
from builder.ui import BuildUI

PROBE = Path(__file__).parents[1] / "incontainer" / "runtime_probe.py"
# Top-level modules that are tooling, never function code: importing them would run a build.
NOT_IMPORTED = {
    "setup": "a packaging script",
    "conftest": "pytest configuration",
    "noxfile": "a task runner file",
    "__main__": "a program entry point",
}
_EXTENSIONS = (".so", ".pyd")


@dataclass(frozen=True)
class VerifyOptions:
    runtime: Runtime
    architecture: Architecture
    image: str | None  # the runtime image; None runs the imports with this host's Python
    handler: str | None = None
    event: Any = None


def detect_layout(root: Path) -> Layout:
    """A layer holds a single ``python/`` directory; anything else is a function bundle."""
    entries = [entry.name for entry in root.iterdir()]
    return "layer" if entries == ["python"] and (root / "python").is_dir() else "function"


def import_roots(root: Path, layout: Layout, runtime: Runtime) -> list[Path]:
    if layout == "function":
        return [root]
    site = root / "python" / "lib" / f"python{runtime.version}" / "site-packages"
    return [site, root / "python"] if site.is_dir() else [root / "python"]


def layout_problems(root: Path, layout: Layout, runtime: Runtime) -> list[Problem]:
    """A layer with site-packages only for other Pythons gives this runtime none of them.

    One layer may carry several ``python/lib/python3.X`` trees for several runtimes; only a
    layer without this runtime's tree is a problem.
    """
    lib = root / "python" / "lib"
    if layout != "layer" or not lib.is_dir():
        return []
    wanted = f"python{runtime.version}"
    found = sorted(entry.name for entry in lib.iterdir() if entry.name.startswith("python"))
    if not found or wanted in found:
        return []
    return [
        Problem(
            kind="layout",
            path=f"python/lib/{found[0]}" if len(found) == 1 else "python/lib",
            detail=f"holds site-packages for {', '.join(found)}, but {runtime.name} only looks "
            f"in python/lib/{wanted}/site-packages",
        )
    ]


def module_name(file_name: str) -> str | None:
    """``app.py`` -> app, ``_speedups.cpython-311-x86_64-linux-gnu.so`` -> _speedups."""
    if file_name.endswith(".py") or file_name.endswith(_EXTENSIONS):
        name = file_name.split(".", 1)[0]
        return name if name.isidentifier() and not keyword.iskeyword(name) else None
    return None


def has_python(directory: Path) -> bool:
    return any(path.name.endswith((".py", *_EXTENSIONS)) for path in directory.rglob("*"))


def _package_name(entry: Path, roots: Sequence[Path], ignored: set[Path]) -> str | None:
    """A directory's importable name; not ``lib/`` holding a layer's site-packages, say."""
    if entry in ignored or any(other.is_relative_to(entry) for other in roots):
        return None
    name = entry.name
    if not name.isidentifier() or keyword.iskeyword(name) or name == "__pycache__":
        return None
    return name if has_python(entry) else None


def top_level_names(
    roots: Sequence[Path], ignored: Iterable[Path] = ()
) -> tuple[list[str], list[str]]:
    """Every top-level package and module under ``roots``; and what is left out, with why."""
    names: set[str] = set()
    for root in roots:
        for entry in sorted(root.iterdir()):
            name = (
                _package_name(entry, roots, set(ignored))
                if entry.is_dir()
                else module_name(entry.name)
            )
            if name is not None:
                names.add(name)
    skipped = [f"{name}: {NOT_IMPORTED[name]}" for name in sorted(names & set(NOT_IMPORTED))]
    return sorted(names - set(NOT_IMPORTED)), skipped


def owners_by_path(root: Path, roots: Sequence[Path]) -> dict[str, str]:
    """The package of every file, keyed by its path in the bundle."""
    result: dict[str, str] = {}
    for import_root in roots:
        prefix = import_root.relative_to(root).as_posix()
        prefix = "" if prefix == "." else prefix + "/"
        attributed = attribute(collect_files(import_root).files, read_owners(import_root))
        for relative, owner in attributed.items():
            result.setdefault(prefix + relative, owner)
    return result


def file_problems(
    elf: ElfFile, where: str, package: str, runtime: Runtime, architecture: Architecture
) -> list[Problem]:
    """What keeps one ELF file from loading on the runtime: its machine, its glibc needs."""
    problems = []
    if elf.machine != architecture.elf_machine:
        detail = f"built for {elf.machine_name}, but {architecture.value} Lambda runs "
        detail += architecture.machine
        problems.append(Problem(kind="machine", path=where, package=package, detail=detail))
    too_new = [version for version in elf.glibc_versions if version[:2] > runtime.glibc]
    if too_new:
        needed = ", ".join(f"GLIBC_{version_text(version)}" for version in too_new)
        detail = f"needs {needed}, newer than glibc {runtime.glibc_text} of {runtime.name} "
        detail += f"({runtime.amazon_linux})"
        problems.append(Problem(kind="glibc", path=where, package=package, detail=detail))
    return problems


def elf_problems(
    files: Iterable[BundleFile],
    owners: dict[str, str],
    runtime: Runtime,
    architecture: Architecture,
) -> tuple[int, list[Problem], tuple[int, ...] | None]:
    """Every ELF file's problems; how many ELF files there are; the newest glibc they need."""
    count, problems, newest = 0, [], None
    for item in files:
        package = owners.get(item.relative, "")
        try:
            elf = read_elf(item.path)
        except (ElfError, OSError, ValueError) as error:
            detail = f"not a readable ELF file: {error}"
            problems.append(
                Problem(kind="unreadable", path=item.relative, package=package, detail=detail)
            )
            continue
        if elf is None:
            continue
        count += 1
        if elf.max_glibc is not None and (newest is None or elf.max_glibc > newest):
            newest = elf.max_glibc
        problems += file_problems(elf, item.relative, package, runtime, architecture)
    return count, problems, newest


def _probe(
    root: Path, layout: Layout, modules: list[str], options: VerifyOptions, target: str, ui: BuildUI
) -> tuple[dict[str, Any], list[str]]:
    with tempfile.TemporaryDirectory(prefix="lambda-builder-verify-") as temporary:
        work = Path(temporary)
        request = {"modules": modules, "handler": options.handler, "event": options.event}
        (work / "request.json").write_text(json.dumps(request), encoding="utf-8")
        run = ScriptRun(PROBE, ("request.json", "result.json"), bundle=root, layout=layout)
        _code, lines = run_script(
            run,
            work,
            image=options.image,
            runtime=options.runtime,
            architecture=options.architecture,
            target=target,
            ui=ui,
        )
        for line in lines:
            ui.log(target, line)
        result_file = work / "result.json"
        if not result_file.is_file():
            return {}, lines
        data: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
        return data, lines


def _outcomes(
    data: dict[str, Any], lines: list[str], modules: list[str]
) -> tuple[list[ImportOutcome], HandlerOutcome | None]:
    if not data:
        tail = "\n".join(lines[-15:])
        crashed = ImportOutcome(
            name="(all)",
            ok=False,
            error=f"the interpreter stopped without a result "
            f"(a crash while importing {', '.join(modules)}?):\n{tail}",
        )
        return [crashed], None
    imports = [ImportOutcome.model_validate(item) for item in data.get("imports", [])]
    handler = data.get("handler")
    return imports, HandlerOutcome.model_validate(handler) if handler else None


def verify_bundle(
    root: Path, options: VerifyOptions, target: str, ui: BuildUI
) -> VerificationReport:
    """Every check on a bundle directory (a function bundle, or a layer holding ``python/``)."""
    runtime, architecture = options.runtime, options.architecture
    layout = detect_layout(root)
    roots = import_roots(root, layout, runtime)
    collected = collect_files(root)
    ui.step(target, f"checking ELF files of {len(collected.files)} files")
    count, problems, newest = elf_problems(
        collected.files, owners_by_path(root, roots), runtime, architecture
    )
    problems = layout_problems(root, layout, runtime) + problems
    site_dirs = (root / "python" / "lib").glob("python*/site-packages")
    modules, skipped = top_level_names(
        roots, [root / "python" / "lib"] if layout == "layer" and any(site_dirs) else []
    )
    where = options.image or f"this host's python{runtime.version}"
    ui.step(target, f"importing {len(modules)} top-level names in {where}")
    data, lines = _probe(root, layout, modules, options, target, ui)
    imports, handler = _outcomes(data, lines, modules)
    ok = not problems and all(item.ok for item in imports) and (handler is None or handler.ok)
    return VerificationReport(
        ok=ok,
        runtime=runtime.name,
        architecture=architecture.value,
        layout=layout,
        glibc_limit=runtime.glibc_text,
        max_glibc=version_text(newest) if newest else None,
        where=where,
        python=str(data.get("python", "")),
        elf_files=count,
        problems=problems,
        imports=imports,
        skipped=skipped + [f"{path}: a link that leaves the bundle" for path in collected.skipped],
        handler=handler,
    )


def describe(report: VerificationReport) -> list[str]:
    """Lines for a terminal: what was checked, every failure, and the handler's result."""
    glibc = f", needing glibc <= {report.max_glibc}" if report.max_glibc else ""
    lines = [
        f"{report.runtime}/{report.architecture} {report.layout} bundle: "
        f"{report.elf_files} ELF files{glibc} (runtime has {report.glibc_limit}); "
        f"{sum(i.ok for i in report.imports)}/{len(report.imports)} imports ok in "
        f"{report.where}"
    ]
    lines += [f"  skipped {item}" for item in report.skipped]
    lines += [f"  FAIL {line}" for line in report.failures]
    if report.handler is not None and report.handler.ok:
        lines += [f"  {line}" for line in report.handler.output.rstrip().splitlines()[-20:]]
        result = json.dumps(report.handler.result, indent=2, sort_keys=True)
        lines.append(f"handler {report.handler.handler} returned: {result}")
    lines.append("verification: ok" if report.ok else "verification: FAILED")
    return lines
