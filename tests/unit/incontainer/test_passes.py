"""Reading pip's failures: what is missing from a download, and why a build failed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from builder.incontainer.passes import (
    compiler_tail,
    list_dists,
    make_runner,
    missing_from_download_failure,
)
from builder.incontainer.protocol import EVENT_PREFIX

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
