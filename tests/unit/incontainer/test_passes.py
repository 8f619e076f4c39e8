"""Reading pip's failures: what is missing from a download, and why a build failed."""

from __future__ import annotations

import importlib.metadata
import os
import sys
from pathlib import Path

import pytest

from builder.incontainer import passes
from builder.incontainer.passes import (
    TAIL_LINES,
    compiler_tail,
    list_dists,
    make_runner,
    metadata_failure,
    missing_from_download_failure,
    newer_versions,
    oldest_that_works,
)
from builder.incontainer.protocol import EVENT_PREFIX
from tests.unit.incontainer.pip_output import pip_output

NOT_FOUND_TAIL = [
    "Looking in indexes: http://127.0.0.1:8080/simple",
    "Collecting requests==2.31.0",
    "  Using cached requests-2.31.0-py3-none-any.whl (62 kB)",
    "ERROR: Could not find a version that satisfies the requirement nosuchpkg==9.9 "
    "(from versions: none)",
    "ERROR: No matching distribution found for nosuchpkg==9.9",
]

HASH_TAIL = [
    "Collecting six==1.16.0",
    "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you have "
    "updated the package versions, please update the hashes. Otherwise, examine the package "
    "contents carefully; someone may have tampered with them.",
    "    six==1.16.0 from http://127.0.0.1/six-1.16.0-py2.py3-none-any.whl:",
    "        Expected sha256 0000",
    "             Got        1111",
]

GCC_TAIL = [
    "Processing /work/sdists/brokenpkg/brokenpkg-1.0.tar.gz",
    "  Installing build dependencies: started",
    "  Getting requirements to build wheel: finished with status 'done'",
    "  Preparing metadata (pyproject.toml): finished with status 'done'",
    "Building wheels for collected packages: brokenpkg",
    "  Building wheel for brokenpkg (pyproject.toml): finished with status 'error'",
    "  error: subprocess-exited-with-error",
    "  ",
    "  × Building wheel for brokenpkg (pyproject.toml) did not run successfully.",
    "  │ exit code: 1",
    "  ╰─> [14 lines of output]",
    "      running bdist_wheel",
    "      running build_ext",
    "      building 'brokenpkg._native' extension",
    "      gcc -pthread -fPIC -I/var/lang/include/python3.12 -c brokenpkg/_native.c -o x.o",
    "      brokenpkg/_native.c: In function 'PyInit__native':",
    "      brokenpkg/_native.c:4:43: error: expected expression before ';' token",
    "          4 | static int lambda_builder_broken_fixture = ;",
    "            |                                            ^",
    "      error: command '/usr/bin/gcc' failed with exit code 1",
    "      [end of output]",
    "  ",
    "  note: This error originates from a subprocess, and is likely not a problem with pip.",
    "  ERROR: Failed building wheel for brokenpkg",
    "Failed to build brokenpkg",
    "ERROR: Failed to build installable wheels for some pyproject.toml based projects",
    "[notice] A new release of pip is available",
]


# --- download failures -----------------------------------------------------------------------


def test_no_matching_distribution_names_the_package_and_its_version() -> None:
    missing = missing_from_download_failure(NOT_FOUND_TAIL)
    assert len(missing) == 1, "the two pip lines about one package are one missing package"
    package = missing[0]
    assert (package.name, package.version) == ("nosuchpkg", "==9.9")
    assert package.reason == "not found on the index"
    assert "--index-url" in package.hint and "--extra-index-url" in package.hint
    assert "No matching distribution found for nosuchpkg==9.9" in package.detail


def test_could_not_find_a_version_alone_is_enough() -> None:
    tail = ["ERROR: Could not find a version that satisfies the requirement Other-Pkg>=2,<3"]
    missing = missing_from_download_failure(tail)
    assert [(m.name, m.version) for m in missing] == [("Other-Pkg", ">=2,<3")]


def test_several_missing_packages_are_sorted_and_unversioned_ones_say_any_version() -> None:
    tail = [
        "ERROR: No matching distribution found for zeta",
        "ERROR: No matching distribution found for alpha==1.0",
    ]
    missing = missing_from_download_failure(tail)
    assert [(m.name, m.version) for m in missing] == [("alpha", "==1.0"), ("zeta", "any version")]


def test_detail_keeps_only_the_last_eight_lines() -> None:
    tail = [f"noise {number}" for number in range(20)] + NOT_FOUND_TAIL[-1:]
    detail = missing_from_download_failure(tail)[0].detail
    assert detail.splitlines() == [*tail[-8:]]
    assert "noise 12" not in detail


def test_hash_mismatch_is_reported_as_a_hash_check_with_how_to_fix_it() -> None:
    missing = missing_from_download_failure(HASH_TAIL)
    assert len(missing) == 1
    problem = missing[0]
    assert problem.name == "(hash check)"
    assert "--hash" in problem.reason
    assert "--generate-hashes" in problem.hint
    assert "Expected sha256 0000" in problem.detail


def test_hashes_required_in_require_hashes_mode_is_a_hash_problem() -> None:
    tail = [
        "ERROR: Hashes are required in --require-hashes mode, but they are missing from some "
        "requirements. Here is a list of those requirements along with the hashes their "
        "downloaded archives actually had.",
        "    idna==3.4 --hash=sha256:abcd",
    ]
    assert [m.name for m in missing_from_download_failure(tail)] == ["(hash check)"]


def test_unrecognised_download_failure_yields_nothing_so_the_caller_raises() -> None:
    tail = ["ERROR: Could not install packages due to an OSError: [Errno 28] No space left"]
    assert missing_from_download_failure(tail) == []
    assert missing_from_download_failure([]) == []


# --- an sdist whose metadata step fails ------------------------------------------------------


@pytest.mark.parametrize(
    "log",
    [
        "pip23-setup-py-top-level",
        "pip23-setup-py-transitive",
        "pip25-get-requires-transitive",
        "pip26-get-requires-top-level",
    ],
)
def test_metadata_failure_names_the_package_and_the_version_pip_picked(log: str) -> None:
    failed = metadata_failure(pip_output(log))
    assert failed is not None
    assert (failed.name, failed.version) == ("argspecpkg", "1.0")
    assert failed.detail.startswith("Collecting argspecpkg")
    assert failed.detail.splitlines()[-1].startswith(
        "ImportError: cannot import name 'formatargspec' from 'inspect'"
    )


def test_metadata_failure_of_a_pep517_project_is_its_get_requires_hook() -> None:
    failed = metadata_failure(pip_output("pip23-get-requires-top-level"))
    assert failed is not None and (failed.name, failed.version) == ("pepargspec", "1.0")


def test_metadata_failure_of_a_dependency_keeps_the_line_that_says_whose() -> None:
    failed = metadata_failure(pip_output("pip25-get-requires-transitive"))
    assert failed is not None
    assert "(from needsargspec==1.0->" in failed.detail.splitlines()[0]


def test_a_long_build_log_loses_the_collecting_line_from_the_tail_not_from_collecting() -> None:
    log = pip_output("pip26-wrapt-1.13.3")
    tail = log[-TAIL_LINES:]
    assert not any(line.startswith("Collecting wrapt") for line in tail), "the case at hand"
    collecting = [line for line in log if line.startswith(("Collecting", "  Downloading"))]
    failed = metadata_failure(collecting + tail)
    assert failed is not None and (failed.name, failed.version) == ("wrapt", "1.13.3")
    alone = metadata_failure(tail)  # pip 26 still names it under "Encountered error ..."
    assert alone is not None and (alone.name, alone.version) == ("wrapt", "")


def test_pip_20_discarding_the_candidate_is_left_to_the_not_found_reading() -> None:
    log = pip_output("pip20-setup-py-discarded")
    assert metadata_failure(log) is None
    assert [(m.name, m.version) for m in missing_from_download_failure(log)] == [
        ("py2only", "==1.0")
    ]


def test_other_download_failures_are_not_metadata_failures() -> None:
    assert metadata_failure(NOT_FOUND_TAIL) is None
    assert metadata_failure(HASH_TAIL) is None
    assert metadata_failure([]) is None


@pytest.mark.parametrize("log", ["pip23-index-versions", "pip26-index-versions"])
def test_newer_versions_are_the_releases_after_the_failing_one_oldest_first(log: str) -> None:
    assert newer_versions(pip_output(log), "1.0") == ["1.1", "1.2", "2.0"]
    assert newer_versions(pip_output(log), "2.0") == []


def test_newer_versions_unknown_when_the_index_cannot_say() -> None:
    assert newer_versions(pip_output("pip23-index-versions"), "0.9") is None
    assert newer_versions(['ERROR: unknown command "index"'], "1.0") is None


def test_oldest_that_works_bisects_to_the_first_working_release() -> None:
    tried: list[str] = []

    def works(version: str) -> bool:
        tried.append(version)
        return int(version) >= 7

    assert oldest_that_works([str(n) for n in range(1, 17)], works) == "7"
    assert len(tried) <= 5
    assert oldest_that_works(["1", "2"], lambda _version: False) is None
    assert oldest_that_works([], works) is None


def test_oldest_that_works_stops_at_its_budget() -> None:
    tried: list[str] = []

    def works(version: str) -> bool:
        tried.append(version)
        return False

    assert oldest_that_works([str(n) for n in range(100)], works, budget=3) is None
    assert len(tried) == 3


# --- compiler output -------------------------------------------------------------------------


def test_compiler_tail_picks_the_gcc_error_out_of_pip_boilerplate() -> None:
    text = compiler_tail(GCC_TAIL)
    lines = text.splitlines()
    assert "brokenpkg/_native.c:4:43: error: expected expression before ';' token" in lines
    assert lines[0].startswith("gcc -pthread"), "two lines of context before the first error"
    for boilerplate in ("note:", "×", "│", "╰", "subprocess-exited-with-error", "[notice]"):
        assert boilerplate not in text, boilerplate
    assert "Failed building wheel" not in text and "Building wheel" not in text


def test_compiler_tail_centres_on_the_first_error_not_the_last() -> None:
    tail = [f"      line {number}" for number in range(30)]
    tail[5] = "      a.c:1:1: error: first cause"
    tail[25] = "      error: command 'gcc' failed"
    lines = compiler_tail(tail, lines=4).splitlines()
    assert lines == ["line 3", "line 4", "a.c:1:1: error: first cause", "line 6"]


def test_compiler_tail_without_an_error_line_is_the_last_interesting_lines() -> None:
    tail = [f"step {number}" for number in range(20)] + ["", "  note: ignore me"]
    assert compiler_tail(tail, lines=3).splitlines() == ["step 17", "step 18", "step 19"]


def test_compiler_tail_of_nothing_is_empty() -> None:
    assert compiler_tail([]) == ""


def test_uppercase_pip_error_lines_are_not_taken_for_compiler_errors() -> None:
    tail = ["ERROR: Could not build wheels for x", "running build", "ld: cannot find -lfoo"]
    assert compiler_tail(tail, lines=2).splitlines() == ["running build", "ld: cannot find -lfoo"]


# --- listing files ---------------------------------------------------------------------------


def test_list_dists_parses_known_names_sorted_and_ignores_the_rest(tmp_path: Path) -> None:
    for name in ("zeta-1.0.tar.gz", "alpha-1.0-py3-none-any.whl", "notes.txt", "x.whl"):
        (tmp_path / name).write_bytes(b"")
    found = list_dists(str(tmp_path))
    assert [(dist.name, path) for dist, path in found] == [
        ("alpha", str(tmp_path / "alpha-1.0-py3-none-any.whl")),
        ("zeta", str(tmp_path / "zeta-1.0.tar.gz")),
    ]


def test_list_dists_of_a_missing_directory_is_empty(tmp_path: Path) -> None:
    assert list_dists(str(tmp_path / "never-created")) == []


# --- the real runner, on this interpreter ----------------------------------------------------


def test_runner_keeps_the_tail_strips_event_prefixes_and_passes_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PIP_NO_INPUT", raising=False)
    script = (
        "import os\n"
        f"print({EVENT_PREFIX!r} + 'marked')\n"
        "print(os.environ['FROM_BASE'], os.environ['FROM_CALL'], os.environ['PIP_NO_INPUT'])\n"
        "raise SystemExit(3)\n"
    )
    run = make_runner({"FROM_BASE": "base", "FROM_CALL": "overridden"}, verbose=False)
    outcome = run([sys.executable, "-c", script], {"FROM_CALL": "call"})
    assert outcome.returncode == 3 and not outcome.ok
    assert outcome.tail == ["marked", "base call 1"]


def test_runner_keeps_the_latest_collecting_lines_beyond_the_tail() -> None:
    script = (
        "print('Collecting first==1.0')\n"
        "print('Collecting wrapt==1.13.3 (from -r r.txt (line 2))')\n"
        "print('  Using cached wrapt-1.13.3.tar.gz (48 kB)')\n"
        f"for n in range({TAIL_LINES * 2}): print('      traceback', n)\n"
    )
    outcome = make_runner({}, verbose=False)([sys.executable, "-c", script], {})
    assert outcome.collecting == [
        "Collecting first==1.0",
        "Collecting wrapt==1.13.3 (from -r r.txt (line 2))",
        "  Using cached wrapt-1.13.3.tar.gz (48 kB)",
    ]
    assert len(outcome.tail) == TAIL_LINES and "Collecting" not in "".join(outcome.tail)


def _fake_bundled_pip(root: Path, version: str) -> Path:
    (root / "pip").mkdir(parents=True)
    (root / "pip" / "__init__.py").write_text(f'__version__ = "{version}"\n')
    return root


def test_the_bundled_pip_comes_first_on_pythonpath(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _fake_bundled_pip(tmp_path / "bundled", "99.1")
    monkeypatch.setattr(passes, "BUNDLED_PIP", str(root))
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    script = "import os, pip; print(os.environ['PYTHONPATH']); print(pip.__version__)"
    outcome = make_runner({}, verbose=False)([sys.executable, "-c", script], {})
    assert outcome.tail == [f"{root}{os.pathsep}/elsewhere", "99.1"]
    assert passes.pip_version() == "99.1"


def test_without_a_bundled_pip_the_interpreters_own_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(passes, "BUNDLED_PIP", str(tmp_path / "absent"))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    script = "import os; print(os.environ.get('PYTHONPATH', '-'))"
    assert make_runner({}, verbose=False)([sys.executable, "-c", script], {}).tail == ["-"]
    assert passes.bundled_pip() is None
    assert passes.pip_version() == importlib.metadata.version("pip")
