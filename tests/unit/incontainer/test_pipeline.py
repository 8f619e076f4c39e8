"""The dependency algorithm, driven by a fake pip that answers each pass from a table."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from builder.incontainer import pip_commands
from builder.incontainer import pipeline as pipeline_module
from builder.incontainer.cache import BuildCache
from builder.incontainer.passes import Outcome
from builder.incontainer.pip_shim import WHEEL_MACHINE_VARIABLE
from builder.incontainer.pipeline import Pipeline
from builder.incontainer.protocol import EVENT_PREFIX, Job, PipelineFailure, Result
from builder.incontainer.tags import Target, explicit_platforms, parse_filename
from tests.support.fixture_packages import pure_wheel, tagged_wheel
from tests.unit.incontainer.pip_output import pip_output

PY311 = Target(3, 11, "x86_64", (2, 26))
X86_ONLY = "cp311-cp311-manylinux_2_17_x86_64"
TOO_NEW = "cp311-cp311-manylinux_2_28_x86_64"  # glibc 2.28 > 2.26
MAC_ONLY = "cp311-cp311-macosx_11_0_arm64"
GCC_ERROR = "fastc/_native.c:3:1: error: unknown type name 'nope'"


@dataclass(frozen=True)
class Reply:
    files: tuple[Path, ...] = ()
    returncode: int = 0
    tail: tuple[str, ...] = ()


@dataclass(frozen=True)
class Call:
    kind: str  # download-all | explicit | sdist | release | index | build-native | build-no-c
    subject: str  # the package name; the project path for local builds; "*" for download-all
    argv: list[str]
    env: dict[str, str]


def _value_after(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def _classify(argv: list[str], env: dict[str, str]) -> tuple[str, str, str]:
    """Which pass a pip command line belongs to, about which package, writing where."""
    no_compiler = env.get("CC") == pip_commands.NO_COMPILER_ENV["CC"]
    if argv[1:3] == ["-m", pip_commands.DIRECT_BUILD]:  # a setup.py-only sdist, without pip
        dist = parse_filename(os.path.basename(argv[3]))
        kind = "build-no-c" if no_compiler else "build-native"
        return kind, dist.name if dist else argv[3], argv[5]
    assert argv[1] == "-m" and argv[2] == "builder.incontainer.pip_shim", argv
    if argv[3:5] == ["index", "versions"]:
        return "index", argv[5], ""
    if argv[3] == "wheel":
        source = argv[-1]
        dist = parse_filename(os.path.basename(source))
        kind = "build-no-c" if no_compiler else "build-native"
        return kind, dist.name if dist else source, _value_after(argv, "--wheel-dir")
    assert argv[3] == "download", argv
    dest = _value_after(argv, "--dest")
    if "--no-deps" not in argv:
        return "download-all", "*", dest
    if "--require-hashes" in argv:
        spec = Path(_value_after(argv, "-r")).read_text(encoding="utf-8").split()[0]
    else:
        spec = argv[-1]
    if "--platform" in argv:
        return "explicit", spec.split("==")[0], dest
    if any(arg.startswith("--no-binary") for arg in argv):
        return "sdist", spec.split("==")[0], dest
    return "release", spec, dest  # one exact release: "name==version"


class FakePip:
    """Stands in for pip: records every call and drops the prepared files into the directory
    the command line names (``--dest`` or ``--wheel-dir``), as pip would. Several replies for
    one call are given in turn, the last one for every call after."""

    def __init__(self) -> None:
        self.replies: dict[tuple[str, str], list[Reply]] = {}
        self.calls: list[Call] = []

    def on(
        self, kind: str, subject: str, *files: Path, returncode: int = 0, tail: Sequence[str] = ()
    ) -> None:
        reply = Reply(tuple(files), returncode, tuple(tail))
        self.replies.setdefault((kind, subject), []).append(reply)

    def __call__(self, argv: list[str], env: dict[str, str]) -> Outcome:
        kind, subject, dest = _classify(argv, env)
        self.calls.append(Call(kind, subject, list(argv), dict(env)))
        queued = self.replies.get((kind, subject), [Reply(returncode=1, tail=("no such file",))])
        reply = queued.pop(0) if len(queued) > 1 else queued[0]
        if dest:
            os.makedirs(dest, exist_ok=True)
        for file in reply.files:
            shutil.copy(file, dest)
        return Outcome(reply.returncode, list(reply.tail))

    def passes(self) -> list[tuple[str, str]]:
        return [(call.kind, call.subject) for call in self.calls]

    def call(self, kind: str, subject: str) -> Call:
        (found,) = [c for c in self.calls if (c.kind, c.subject) == (kind, subject)]
        return found


def _sdist(stock: Path, name: str, version: str = "1.0", content: bytes = b"") -> Path:
    stock.mkdir(parents=True, exist_ok=True)
    path = stock / f"{name}-{version}.tar.gz"
    path.write_bytes(content or f"sdist of {name} {version}".encode())
    return path


def _job(tmp_path: Path, **changes: object) -> Job:
    (tmp_path / "work").mkdir(exist_ok=True)
    job = Job(
        target=PY311,
        runtime="python3.11",
        work_dir=str(tmp_path / "work"),
        target_dir=str(tmp_path / "target"),
        requirements_file=str(tmp_path / "requirements.txt"),
    )
    return dataclasses.replace(job, **changes)  # type: ignore[arg-type]


def _execute(job: Job, pip: FakePip) -> Result:
    return Pipeline(job, pip).execute()


def _hows(result: Result) -> dict[str, str]:
    return {package.name: package.how for package in result.packages}


# --- pass 1 ----------------------------------------------------------------------------------


def test_compatible_wheels_from_the_first_pass_are_installed_as_wheel(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on(
        "download-all",
        "*",
        pure_wheel(stock, "purepkg", "1.2"),
        tagged_wheel(stock, "fastc", "3.0", X86_ONLY),
    )
    job = _job(tmp_path)
    result = _execute(job, pip)
    assert result.status == "ok" and result.missing == []
    assert [(p.name, p.version, p.wheel, p.how) for p in result.packages] == [
        ("fastc", "3.0", f"fastc-3.0-{X86_ONLY}.whl", "wheel"),
        ("purepkg", "1.2", "purepkg-1.2-py3-none-any.whl", "wheel"),
    ]
    assert pip.passes() == [("download-all", "*")]
    assert _value_after(pip.calls[0].argv, "-r") == job.requirements_file
    assert (tmp_path / "target" / "fastc" / "__init__.py").is_file()
    assert (tmp_path / "target" / "purepkg-1.2.dist-info" / "RECORD").is_file()


def test_no_requirements_file_installs_nothing_and_runs_no_pip(tmp_path: Path) -> None:
    pip = FakePip()
    result = _execute(_job(tmp_path, requirements_file=None), pip)
    assert result.status == "ok" and result.packages == []
    assert pip.calls == []


NOT_FOUND = ["ERROR: No matching distribution found for nosuchpkg==9.9"]


def test_not_found_on_the_index_stops_after_the_first_pass(tmp_path: Path) -> None:
    pip = FakePip()
    pip.on("download-all", "*", returncode=1, tail=NOT_FOUND)
    result = _execute(_job(tmp_path), pip)
    assert result.status == "missing"
    assert [(m.name, m.version, m.reason) for m in result.missing] == [
        ("nosuchpkg", "==9.9", "not found on the index")
    ]
    assert pip.passes() == [("download-all", "*")]
    assert not (tmp_path / "target").exists()


def test_unexplained_download_failure_raises_with_pips_last_lines(tmp_path: Path) -> None:
    pip = FakePip()
    tail = [f"line {number}" for number in range(30)] + ["OSError: No space left on device"]
    pip.on("download-all", "*", returncode=2, tail=tail)
    with pytest.raises(PipelineFailure) as caught:
        _execute(_job(tmp_path), pip)
    failure = caught.value
    assert failure.kind == "pip-download"
    assert "No space left on device" in failure.message
    assert "line 5" not in failure.message, "only the last lines, not the whole log"
    assert "--verbose" in failure.hint


# --- pass 1: an sdist whose metadata step fails ---------------------------------------------

INDEX_LISTS = ["argspecpkg (2.0)", "Available versions: 2.0, 1.2, 1.1, 1.0"]


def _requirements(job: Job, text: str) -> None:
    assert job.requirements_file is not None
    Path(job.requirements_file).write_text(text, encoding="utf-8")


def test_top_level_sdist_without_metadata_is_missing_and_the_rest_still_resolve(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", returncode=1, tail=pip_output("pip23-setup-py-top-level"))
    pip.on("download-all", "*", pure_wheel(stock, "purepkg"))
    pip.on("index", "argspecpkg", tail=INDEX_LISTS)
    pip.on("release", "argspecpkg==1.1", returncode=1, tail=["error: metadata-generation-failed"])
    pip.on("release", "argspecpkg==1.2", _sdist(stock, "argspecpkg", "1.2"))
    job = _job(tmp_path)
    _requirements(job, "-c /w/constraints.txt\npurepkg==1.0\nargspecpkg==1.0 --hash=sha256:aa\n")
    result = _execute(job, pip)
    assert result.status == "missing"
    (missing,) = result.missing
    assert (missing.name, missing.version) == ("argspecpkg", "1.0")
    assert missing.reason == "the sdist's metadata step fails under python3.11"
    assert missing.hint.startswith("argspecpkg 1.2 or newer is on the index")
    assert "formatargspec" in missing.detail
    assert _hows(result) == {"purepkg": "wheel"}, "what resolved is reported too"
    assert not (tmp_path / "target").exists()
    retry = [call for call in pip.calls if call.kind == "download-all"][1]
    rest = Path(_value_after(retry.argv, "-r")).read_text(encoding="utf-8")
    assert rest == "-c /w/constraints.txt\npurepkg==1.0\n"
    assert [kind for kind, _ in pip.passes()][:2] == ["download-all", "index"]


def test_dependency_without_metadata_is_named_and_nothing_else_is_tried(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", returncode=1, tail=pip_output("pip25-get-requires-transitive"))
    pip.on("index", "argspecpkg", tail=INDEX_LISTS)
    pip.on("release", "argspecpkg==1.2", _sdist(stock, "argspecpkg", "1.2"))
    job = _job(tmp_path)
    _requirements(job, "purepkg==1.0\nneedsargspec==1.0\n")
    result = _execute(job, pip)
    assert result.status == "missing" and result.packages == []
    (missing,) = result.missing
    assert (missing.name, missing.version) == ("argspecpkg", "1.0")
    assert "upgrade the package that requires argspecpkg 1.0" in missing.hint
    assert "from needsargspec==1.0" in missing.detail
    assert [kind for kind, _ in pip.passes()].count("download-all") == 1


def test_top_level_package_also_needed_by_another_is_reported_once(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", returncode=1, tail=pip_output("pip23-setup-py-top-level"))
    pip.on("index", "argspecpkg", returncode=1, tail=['ERROR: unknown command "index"'])
    job = _job(tmp_path)
    _requirements(job, "argspecpkg==1.0\nneedsargspec==1.0\n")
    result = _execute(job, pip)
    assert [(m.name, m.version) for m in result.missing] == [("argspecpkg", "1.0")]
    assert "no newer release of argspecpkg" in result.missing[0].hint
    assert [kind for kind, _ in pip.passes()] == ["download-all", "index", "download-all"]


def test_a_failure_after_the_retry_is_reported_beside_the_unpreparable_package(
    tmp_path: Path,
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", returncode=1, tail=pip_output("pip26-get-requires-top-level"))
    pip.on("download-all", "*", returncode=1, tail=NOT_FOUND)
    pip.on("index", "argspecpkg", tail=["argspecpkg (1.0)", "Available versions: 1.0"])
    job = _job(tmp_path)
    _requirements(job, "purepkg==1.0\nargspecpkg==1.0\nnosuchpkg==9.9\n")
    result = _execute(job, pip)
    assert result.status == "missing"
    assert [(m.name, m.reason) for m in result.missing] == [
        ("argspecpkg", "the sdist's metadata step fails under python3.11"),
        ("nosuchpkg", "not found on the index"),
    ]
    assert not any(kind == "release" for kind, _ in pip.passes()), "no newer release to try"


# --- pass 2: an explicit wheel for the target ------------------------------------------------


def test_incompatible_wheel_is_replaced_by_an_explicit_compatible_wheel(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", tagged_wheel(stock / "first", "fastc", "3.0", TOO_NEW))
    older = "cp311-cp311-manylinux_2_24_x86_64"
    pip.on("explicit", "fastc", tagged_wheel(stock / "explicit", "fastc", "3.0", older))
    result = _execute(_job(tmp_path), pip)
    (package,) = result.packages
    assert (package.how, package.wheel) == ("compatible-wheel", f"fastc-3.0-{older}.whl")
    assert package.detail == f"fastc-3.0-{older}.whl"
    assert pip.passes() == [("download-all", "*"), ("explicit", "fastc")]
    argv = pip.call("explicit", "fastc").argv
    assert argv[-1] == "fastc==3.0"
    platforms = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--platform"]
    assert platforms == explicit_platforms(PY311)
    assert "--require-hashes" not in argv


def test_explicit_pass_ignores_incompatible_and_other_packages_files(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", tagged_wheel(stock / "first", "fastc", "3.0", TOO_NEW))
    pip.on(
        "explicit",
        "fastc",
        tagged_wheel(stock / "explicit", "fastc", "3.0", "cp311-cp311-manylinux_2_31_x86_64"),
        tagged_wheel(stock / "explicit", "other", "1.0", X86_ONLY),
    )
    result = _execute(_job(tmp_path), pip)
    assert result.status == "missing"
    assert [m.name for m in result.missing] == ["fastc"]
    assert _hows(result) == {}


@pytest.mark.parametrize("no_binary", ["Fast_C", "other,fast.c", ":all:"])
def test_no_binary_for_a_package_skips_the_explicit_wheel_pass(
    tmp_path: Path, stock: Path, monkeypatch: pytest.MonkeyPatch, no_binary: str
) -> None:
    monkeypatch.delenv("PIP_NO_BINARY", raising=False)
    pip = FakePip()
    pip.on("download-all", "*", tagged_wheel(stock, "fast-c", "3.0", TOO_NEW))
    pip.on("explicit", "fast-c", tagged_wheel(stock / "explicit", "fast-c", "3.0", X86_ONLY))
    pip.on("sdist", "fast-c", _sdist(stock, "fast-c", "3.0"))
    pip.on("build-native", "fast-c", tagged_wheel(stock / "b", "fast-c", "3.0", X86_ONLY))
    result = _execute(_job(tmp_path, pip_env={"PIP_NO_BINARY": no_binary}), pip)
    assert _hows(result) == {"fast-c": "built-from-sdist"}
    assert [kind for kind, _ in pip.passes()] == ["download-all", "sdist", "build-native"]


# --- pass 3 and 4: sdists and builds ---------------------------------------------------------


def test_incompatible_wheel_without_explicit_wheel_is_built_from_its_sdist(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", tagged_wheel(stock / "first", "fastc", "3.0", TOO_NEW))
    sdist = _sdist(stock, "fastc", "3.0")
    pip.on("sdist", "fastc", sdist)
    built = tagged_wheel(stock / "built", "fastc", "3.0", "cp311-cp311-linux_x86_64")
    pip.on("build-native", "fastc", built)
    result = _execute(_job(tmp_path), pip)
    (package,) = result.packages
    assert (package.how, package.wheel, package.detail) == (
        "built-from-sdist",
        built.name,
        "fastc-3.0.tar.gz",
    )
    assert pip.passes() == [
        ("download-all", "*"),
        ("explicit", "fastc"),
        ("sdist", "fastc"),
        ("build-native", "fastc"),
    ]
    sdist_argv = pip.call("sdist", "fastc").argv
    assert "--no-binary=fastc" in sdist_argv and "--no-binary=:all:" not in sdist_argv
    build_argv = pip.call("build-native", "fastc").argv
    assert build_argv[-1].endswith("fastc-3.0.tar.gz")


def test_sdist_from_the_first_pass_is_built_without_fetching_it_again(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", _sdist(stock, "srconly"))
    pip.on("build-native", "srconly", pure_wheel(stock / "built", "srconly"))
    result = _execute(_job(tmp_path), pip)
    assert _hows(result) == {"srconly": "built-from-sdist"}
    # pip here accepts every wheel Lambda does: choosing the sdist means there is no such wheel.
    assert [kind for kind, _ in pip.passes()] == ["download-all", "build-native"]


def test_sdist_from_the_first_pass_is_asked_for_a_wheel_when_pip_here_accepts_fewer(
    tmp_path: Path, stock: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline_module, "local_glibc", lambda: (2, 17))  # older than 2.26
    pip = FakePip()
    pip.on("download-all", "*", _sdist(stock, "srconly"))
    pip.on("explicit", "srconly", tagged_wheel(stock, "srconly", "1.0", X86_ONLY))
    result = _execute(_job(tmp_path), pip)
    assert _hows(result) == {"srconly": "compatible-wheel"}
    assert [kind for kind, _ in pip.passes()] == ["download-all", "explicit"]


def test_independent_lookups_run_at_once(tmp_path: Path, stock: Path) -> None:
    pip = FakePip()
    pip.on(
        "download-all",
        "*",
        tagged_wheel(stock, "one", "1.0", TOO_NEW),
        tagged_wheel(stock, "two", "1.0", TOO_NEW),
    )
    pip.on("explicit", "one", tagged_wheel(stock / "x", "one", "1.0", X86_ONLY))
    pip.on("explicit", "two", tagged_wheel(stock / "x", "two", "1.0", X86_ONLY))
    both_running = threading.Barrier(2, timeout=10)  # broken if the lookups run one by one

    def concurrent_pip(argv: list[str], env: dict[str, str]) -> Outcome:
        if "--platform" in argv:
            both_running.wait()
        return pip(argv, env)

    result = Pipeline(_job(tmp_path), concurrent_pip).execute()
    assert _hows(result) == {"one": "compatible-wheel", "two": "compatible-wheel"}
    assert sorted(pip.passes()) == [("download-all", "*"), ("explicit", "one"), ("explicit", "two")]


def test_native_build_failure_is_retried_without_a_compiler(tmp_path: Path, stock: Path) -> None:
    pip = FakePip()
    pip.on("download-all", "*", _sdist(stock, "optc"))
    pip.on("build-native", "optc", returncode=1, tail=[GCC_ERROR])
    pip.on("build-no-c", "optc", pure_wheel(stock / "built", "optc"))
    result = _execute(_job(tmp_path), pip)
    assert result.status == "ok"
    (package,) = result.packages
    assert (package.how, package.detail) == ("built-without-c-extensions", "optc-1.0.tar.gz")
    native, no_c = pip.call("build-native", "optc"), pip.call("build-no-c", "optc")
    assert "CC" not in native.env
    for key, value in pip_commands.NO_COMPILER_ENV.items():
        assert no_c.env[key] == value


def test_failed_builds_report_the_native_compiler_error_with_a_hint(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", _sdist(stock, "fastc", "3.0"), pure_wheel(stock, "okpkg"))
    pip.on("build-native", "fastc", returncode=1, tail=["gcc -c fastc/_native.c", GCC_ERROR])
    pip.on("build-no-c", "fastc", returncode=1, tail=["error: command 'nonexistent' failed"])
    result = _execute(_job(tmp_path), pip)
    assert result.status == "missing"
    (missing,) = result.missing
    assert (missing.name, missing.version, missing.reason) == ("fastc", "3.0", "sdist build failed")
    assert GCC_ERROR in missing.detail
    assert "nonexistent" not in missing.detail, "the retry without a compiler explains nothing"
    assert "headers or libraries" in missing.hint
    assert _hows(result) == {"okpkg": "wheel"}, "listed, not installed"
    assert not (tmp_path / "target").exists()


def test_built_wheel_for_another_platform_is_reported_as_not_usable(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", _sdist(stock, "fastc", "3.0"))
    mac = tagged_wheel(stock / "built", "fastc", "3.0", MAC_ONLY)
    pip.on("build-native", "fastc", mac)
    pip.on("build-no-c", "fastc", mac)
    result = _execute(_job(tmp_path), pip)
    (missing,) = result.missing
    assert missing.reason == "sdist build failed"
    assert missing.detail == f"built {mac.name}, not usable"


def test_only_incompatible_wheel_and_no_sdist_is_missing_with_target_and_found_wheel(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    wheel = tagged_wheel(stock, "fastc", "3.0", TOO_NEW)
    pip.on("download-all", "*", wheel)
    result = _execute(_job(tmp_path), pip)
    assert result.status == "missing"
    (missing,) = result.missing
    assert missing.reason == (
        "no compatible wheel for manylinux_2_26_x86_64 cp311, and no sdist to build"
    )
    assert missing.detail == f"only found {wheel.name}"
    assert "manylinux" in missing.hint
    assert pip.passes() == [("download-all", "*"), ("explicit", "fastc"), ("sdist", "fastc")]


# --- the allow-list --------------------------------------------------------------------------


def test_allowlisted_package_with_only_a_foreign_wheel_is_accepted_with_a_warning(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    yaml = tagged_wheel(stock, "PyYAML", "6.0.1", TOO_NEW)
    pip.on("download-all", "*", yaml)
    result = _execute(_job(tmp_path), pip)
    assert result.status == "ok"
    (package,) = result.packages
    assert (package.name, package.how, package.wheel) == ("pyyaml", "allowlisted", yaml.name)
    assert "falls back to pure Python" in package.detail
    assert any(w.startswith("pyyaml: ") and yaml.name in w for w in result.warnings)


def test_allowlisted_package_is_still_built_when_its_sdist_builds(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", tagged_wheel(stock, "sqlalchemy", "2.0", TOO_NEW))
    pip.on("sdist", "sqlalchemy", _sdist(stock, "sqlalchemy", "2.0"))
    pip.on("build-native", "sqlalchemy", tagged_wheel(stock / "b", "sqlalchemy", "2.0", X86_ONLY))
    assert _hows(_execute(_job(tmp_path), pip)) == {"sqlalchemy": "built-from-sdist"}


def test_package_outside_a_custom_allowlist_is_missing(tmp_path: Path, stock: Path) -> None:
    pip = FakePip()
    pip.on(
        "download-all",
        "*",
        tagged_wheel(stock, "pyyaml", "6.0", TOO_NEW),
        tagged_wheel(stock, "mine", "1.0", TOO_NEW),
    )
    result = _execute(_job(tmp_path, allowlist=("mine",)), pip)
    assert _hows(result) == {"mine": "allowlisted"}
    assert [m.name for m in result.missing] == ["pyyaml"]
    assert result.status == "missing"


# --- host mode on another machine ------------------------------------------------------------


def test_host_on_another_machine_refuses_to_build_and_names_the_packages(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", _sdist(stock, "zlibc"), _sdist(stock, "alpha"))
    with pytest.raises(PipelineFailure) as caught:
        _execute(_job(tmp_path, allow_builds=False), pip)
    failure = caught.value
    assert failure.kind == "environment-mismatch"
    assert "alpha, zlibc" in failure.message and "x86_64" in failure.message
    assert "--no-container" in failure.hint
    assert not any(kind.startswith("build") for kind, _ in pip.passes())


def test_host_on_another_machine_is_fine_when_nothing_needs_building(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", pure_wheel(stock, "purepkg"))
    result = _execute(_job(tmp_path, allow_builds=False), pip)
    assert _hows(result) == {"purepkg": "wheel"}


def test_dependency_chosen_by_a_foreign_marker_is_refused(tmp_path: Path, stock: Path) -> None:
    pip = FakePip()
    requirement = 'armonly>=1.0; platform_machine == "aarch64"'
    pip.on("download-all", "*", pure_wheel(stock, "picky", requires=[requirement]))
    job = _job(tmp_path, foreign_marker_keys=["platform_machine"])
    with pytest.raises(PipelineFailure) as caught:
        _execute(job, pip)
    assert caught.value.kind == "environment-mismatch"
    assert f"picky-1.0-py3-none-any.whl: {requirement}" in caught.value.message
    assert not (tmp_path / "target").exists()


# --- hashes ----------------------------------------------------------------------------------


def test_hashes_reach_the_explicit_and_sdist_passes_as_require_hashes_files(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", tagged_wheel(stock, "fastc", "3.0", TOO_NEW))
    pip.on("sdist", "fastc", _sdist(stock, "fastc", "3.0"))
    pip.on("build-native", "fastc", tagged_wheel(stock / "b", "fastc", "3.0", X86_ONLY))
    hashes = {"fastc": ["sha256:" + "a" * 64, "sha256:" + "b" * 64]}
    result = _execute(_job(tmp_path, hashes=hashes), pip)
    assert _hows(result) == {"fastc": "built-from-sdist"}
    for kind in ("explicit", "sdist"):
        argv = pip.call(kind, "fastc").argv
        assert argv[-3:-1] == ["--require-hashes", "-r"], kind
        pins = Path(argv[-1]).read_text(encoding="utf-8")
        assert pins == f"fastc==3.0 --hash=sha256:{'a' * 64} --hash=sha256:{'b' * 64}\n"


# --- the cache -------------------------------------------------------------------------------


def test_cached_build_of_the_same_sdist_bytes_skips_building(tmp_path: Path, stock: Path) -> None:
    cache_dir = tmp_path / "cache"
    sdist = _sdist(stock, "srconly", content=b"exactly these bytes")
    wheel = tagged_wheel(stock / "cached", "srconly", "1.0", X86_ONLY)
    BuildCache(str(cache_dir)).store_built(str(sdist), "native", [str(wheel)])
    pip = FakePip()
    pip.on("download-all", "*", sdist)
    result = _execute(_job(tmp_path, cache_dir=str(cache_dir)), pip)
    assert _hows(result) == {"srconly": "built-from-sdist"}
    assert not any(kind.startswith("build") for kind, _ in pip.passes())


def test_a_build_is_cached_for_the_next_run(tmp_path: Path, stock: Path) -> None:
    cache_dir = str(tmp_path / "cache")
    sdist = _sdist(stock, "optc")
    pip = FakePip()
    pip.on("download-all", "*", sdist)
    pip.on("build-native", "optc", returncode=1, tail=[GCC_ERROR])
    pip.on("build-no-c", "optc", pure_wheel(stock / "built", "optc"))
    first = Pipeline(_job(tmp_path, cache_dir=cache_dir), pip)
    first.execute()
    first.clean()
    shutil.rmtree(tmp_path / "target")

    again = FakePip()
    again.on("download-all", "*", sdist)
    again.on("build-native", "optc", returncode=1, tail=[GCC_ERROR])
    result = _execute(_job(tmp_path, cache_dir=cache_dir), again)
    assert _hows(result) == {"optc": "built-without-c-extensions"}
    assert [kind for kind, _ in again.passes()] == ["download-all", "build-native"]


def test_cache_joins_the_configured_find_links_and_keeps_downloads(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", pure_wheel(stock, "purepkg"))
    cache_dir = tmp_path / "cache"
    job = _job(tmp_path, cache_dir=str(cache_dir), pip_env={"PIP_FIND_LINKS": "/mine"})
    _execute(job, pip)
    [scoped] = (cache_dir / "files").iterdir()  # one directory per set of package sources
    assert pip.calls[0].env["PIP_FIND_LINKS"] == f"/mine {scoped}"
    assert (scoped / "purepkg-1.0-py3-none-any.whl").is_file()


def test_without_a_cache_pip_gets_the_job_environment_and_the_target_machine(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", pure_wheel(stock, "purepkg"))
    env = {"PIP_INDEX_URL": "https://index.example/simple", "PIP_FIND_LINKS": "/mine"}
    _execute(_job(tmp_path, pip_env=env), pip)
    assert pip.calls[0].env == {**env, WHEEL_MACHINE_VARIABLE: "x86_64"}


# --- local projects --------------------------------------------------------------------------


def test_each_local_project_is_built_into_its_own_directory(tmp_path: Path, stock: Path) -> None:
    projects = [str(tmp_path / "src" / name) for name in ("one", "two", "three")]
    pip = FakePip()
    pip.on("download-all", "*")
    for project, name in zip(projects, ("one", "two", "three")):
        pip.on("build-native", project, pure_wheel(stock / name, f"local-{name}"))
    result = _execute(_job(tmp_path, local_projects=projects), pip)
    assert {p.name: (p.how, p.detail) for p in result.packages} == {
        f"local-{name}": ("built-from-sdist", f"local project {project}")
        for project, name in zip(projects, ("one", "two", "three"))
    }
    dirs = [
        _value_after(pip.call("build-native", project).argv, "--wheel-dir") for project in projects
    ]
    assert len(set(dirs)) == 3


def test_local_project_that_fails_to_build_raises_with_the_compiler_error(
    tmp_path: Path,
) -> None:
    project = str(tmp_path / "src" / "mine")
    pip = FakePip()
    pip.on("download-all", "*")
    pip.on("build-native", project, returncode=1, tail=["  note: boring", GCC_ERROR])
    with pytest.raises(PipelineFailure) as caught:
        _execute(_job(tmp_path, local_projects=[project]), pip)
    assert caught.value.kind == "local-build"
    assert project in caught.value.message and GCC_ERROR in caught.value.message
    assert "note: boring" not in caught.value.message
    assert "pyproject.toml" in caught.value.hint


# --- install, events and clean-up ------------------------------------------------------------


def test_dropped_scripts_become_one_warning(tmp_path: Path, stock: Path) -> None:
    pip = FakePip()
    pip.on("download-all", "*", pure_wheel(stock, "tool", data_files={"scripts/tool": "x"}))
    result = _execute(_job(tmp_path), pip)
    assert any("left out 1 scripts/headers/data files" in w for w in result.warnings)


def test_each_pass_emits_a_step_event(
    tmp_path: Path, stock: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", _sdist(stock, "srconly"))
    pip.on("build-native", "srconly", pure_wheel(stock / "built", "srconly"))
    _execute(_job(tmp_path), pip)
    events = [
        json.loads(line[len(EVENT_PREFIX) :])
        for line in capsys.readouterr().out.splitlines()
        if line.startswith(EVENT_PREFIX)
    ]
    assert [event["step"] for event in events] == ["download", "build-native", "install"]
    assert all(event["event"] == "step" for event in events)


def test_clean_removes_intermediate_files_and_keeps_target_and_cache(
    tmp_path: Path, stock: Path
) -> None:
    pip = FakePip()
    pip.on("download-all", "*", tagged_wheel(stock, "fastc", "3.0", TOO_NEW))
    pip.on("sdist", "fastc", _sdist(stock, "fastc", "3.0"))
    pip.on("build-native", "fastc", tagged_wheel(stock / "b", "fastc", "3.0", X86_ONLY))
    job = _job(tmp_path, cache_dir=str(tmp_path / "cache"), hashes={"fastc": ["sha256:00"]})
    pipeline = Pipeline(job, pip)
    pipeline.execute()
    assert sorted(os.listdir(job.work_dir)) == ["built", "downloads", "explicit", "pins", "sdists"]
    pipeline.clean()
    assert os.listdir(job.work_dir) == []
    assert (tmp_path / "target" / "fastc" / "__init__.py").is_file()
    assert os.listdir(tmp_path / "cache" / "files")
