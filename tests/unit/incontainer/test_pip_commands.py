"""The pip command line of each pipeline pass."""

from __future__ import annotations

import sys

from builder.incontainer import pip_commands as cmd
from builder.incontainer.tags import Target, explicit_platforms

PY312_ARM = Target(3, 12, "aarch64", (2, 34))


def _values(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == flag]


def test_every_command_runs_pip_of_this_interpreter_through_the_shim() -> None:
    assert cmd.pip("list") == [sys.executable, "-m", "builder.incontainer.pip_shim", "list"]


def test_first_pass_downloads_the_whole_requirements_file() -> None:
    argv = cmd.download_all("/w/requirements.txt", "/w/downloads")
    assert argv[3] == "download"
    assert _values(argv, "-r") == ["/w/requirements.txt"]
    assert _values(argv, "--dest") == ["/w/downloads"]
    assert "--no-deps" not in argv


def test_explicit_pass_asks_for_a_binary_of_exactly_the_target() -> None:
    argv = cmd.download_compatible_wheel("fastc==3.0", PY312_ARM, "/w/explicit/fastc")
    assert _values(argv, "--platform") == explicit_platforms(PY312_ARM)
    assert _values(argv, "--abi") == ["cp312", "abi3", "none"]
    assert _values(argv, "--python-version") == ["3.12"]
    assert _values(argv, "--implementation") == ["cp"]
    assert {"--no-deps", "--only-binary=:all:"} <= set(argv)
    assert argv[-1] == "fastc==3.0" and "--require-hashes" not in argv


def test_hashed_spec_is_a_require_hashes_file() -> None:
    argv = cmd.download_compatible_wheel("/w/pins/fastc.txt", PY312_ARM, "/w/e", hashed=True)
    assert argv[-3:] == ["--require-hashes", "-r", "/w/pins/fastc.txt"]
    sdist = cmd.download_sdist("fastc", "/w/pins/fastc.txt", "/w/s", hashed=True)
    assert sdist[-3:] == ["--require-hashes", "-r", "/w/pins/fastc.txt"]


def test_sdist_pass_refuses_binaries_of_that_package_only() -> None:
    argv = cmd.download_sdist("fastc", "fastc==3.0", "/w/sdists/fastc")
    assert "--no-binary=fastc" in argv
    assert not any(arg.endswith(":all:") for arg in argv), "build isolation needs wheels"
    assert "--no-deps" in argv and argv[-1] == "fastc==3.0"


def test_build_makes_one_wheel_without_dependencies() -> None:
    argv = cmd.build_wheel("/w/sdists/fastc-3.0.tar.gz", "/w/built/native/fastc")
    assert argv[3] == "wheel" and argv[-1] == "/w/sdists/fastc-3.0.tar.gz"
    assert _values(argv, "--wheel-dir") == ["/w/built/native/fastc"]
    assert "--no-deps" in argv


def test_no_compiler_environment_points_every_compiler_nowhere() -> None:
    assert set(cmd.NO_COMPILER_ENV) == {"CC", "CXX", "LDSHARED"}
    assert all(value.startswith("/nonexistent/") for value in cmd.NO_COMPILER_ENV.values())


def test_pinned_requirement_line_carries_every_hash() -> None:
    assert cmd.pinned_requirement_lines("six", "1.16.0", ["sha256:aa", "sha256:bb"]) == (
        "six==1.16.0 --hash=sha256:aa --hash=sha256:bb\n"
    )
    assert cmd.pinned_requirement_lines("six", "1.16.0", []) == "six==1.16.0\n"


def test_index_versions_asks_the_index_about_one_name() -> None:
    assert cmd.index_versions("wrapt")[3:] == ["index", "versions", "wrapt"]


def test_release_probe_downloads_one_exact_version_wheel_or_sdist() -> None:
    argv = cmd.download_release("wrapt", "1.14.0", "/w/unprepared/wrapt-1.14.0")
    assert argv[3] == "download" and argv[-1] == "wrapt==1.14.0"
    assert _values(argv, "--dest") == ["/w/unprepared/wrapt-1.14.0"]
    assert "--no-deps" in argv
    assert not [arg for arg in argv if arg.startswith(("--no-binary", "--only-binary"))]


def test_without_requirement_drops_every_line_of_that_name_whatever_its_spelling() -> None:
    text = (
        "-c /w/constraints.txt\n"
        "Wrapt_Legacy[extra]==1.13.3 --hash=sha256:aa\n"
        "wrapt-legacy ; python_version < '3.12'\n"
        "wrapt==1.0\n"
        "# wrapt-legacy in a comment stays\n"
    )
    assert cmd.without_requirement(text, "wrapt.legacy") == (
        "-c /w/constraints.txt\nwrapt==1.0\n# wrapt-legacy in a comment stays\n"
    )


def test_without_requirement_of_a_dependency_is_none() -> None:
    assert cmd.without_requirement("deprecated==1.2.13\n", "wrapt") is None
    assert cmd.without_requirement("/w/local/wrapt\n", "wrapt") is None


def test_builds_drop_debug_info_unless_the_environment_sets_its_own_flags() -> None:
    assert cmd.build_environment({}, no_compiler=False) == {"CFLAGS": "-g0", "CXXFLAGS": "-g0"}
    mine = cmd.build_environment({"CFLAGS": "-O3 -g"}, no_compiler=False)
    assert mine == {"CXXFLAGS": "-g0"}
    without = cmd.build_environment({}, no_compiler=True)
    assert without == {"CFLAGS": "-g0", "CXXFLAGS": "-g0", **cmd.NO_COMPILER_ENV}
