"""The whole pipeline on this host (python3.11 x86_64) against the local fixture index."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.catalog import Catalog

HOST = ["--runtime", "python3.11", "--no-container", "--no-cache"]


def build(
    cli: Any, tmp_path: Path, requirements: str, *extra: str, name: str = "requirements.txt"
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    req = tmp_path / name
    req.parent.mkdir(parents=True, exist_ok=True)
    req.write_text(requirements)
    report = tmp_path / "report.json"
    result = cli(
        "build", "-r", str(req), "-o", str(tmp_path / "out"), "--report", str(report), *HOST, *extra
    )
    data = json.loads(report.read_text())["targets"][0] if report.exists() else {}
    return result, data


def how(report: dict[str, Any]) -> dict[str, str]:
    return {package["name"]: package["how"] for package in report["packages"]}


def import_in_fresh_interpreter(out: Path, code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(out)!r}); {code}"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_pure_wheel_and_its_dependency_install_at_top_level(cli: Any, tmp_path: Path) -> None:
    result, report = build(cli, tmp_path, "needspure==1.0\n")
    assert result.returncode == 0, result.stderr
    assert how(report) == {"needspure": "wheel", "purepkg": "wheel"}
    assert (tmp_path / "out" / "purepkg" / "__init__.py").is_file()
    assert (
        import_in_fresh_interpreter(tmp_path / "out", "import purepkg; print(purepkg.VALUE)")
        == "purepkg 1.0"
    )


def test_manylinux_2_24_only_wheel_is_accepted_for_python311(cli: Any, tmp_path: Path) -> None:
    result, report = build(cli, tmp_path, "m224pkg==1.0\n")
    assert result.returncode == 0, result.stderr
    assert report["packages"][0]["wheel"] == "m224pkg-1.0-py3-none-manylinux_2_24_x86_64.whl"


def test_explicit_pass_finds_the_only_aarch64_wheel_for_arm64(cli: Any, tmp_path: Path) -> None:
    # On this x86_64 host pip's first pass takes the sdist; the explicit pass must list
    # manylinux_2_24_aarch64 among its --platform tags to find the wheel.
    result, report = build(cli, tmp_path, "m224pkg==1.0\n", "--arch", "arm64")
    assert result.returncode == 0, result.stderr
    assert how(report) == {"m224pkg": "compatible-wheel"}
    assert report["packages"][0]["wheel"].endswith("manylinux_2_24_aarch64.whl")


def test_manylinux_2_28_only_wheel_is_rejected_for_python311(cli: Any, tmp_path: Path) -> None:
    result, report = build(cli, tmp_path, "m228pkg==1.0\n")
    assert result.returncode == 4
    assert report["status"] == "missing"
    [missing] = report["missing"]
    assert missing["name"] == "m228pkg" and missing["version"] == "1.0"
    assert "manylinux_2_26_x86_64 cp311" in missing["reason"]
    assert "m228pkg" in result.stdout and "hint:" in result.stdout
    assert "{" not in result.stdout.split("missing", 1)[1].splitlines()[0]  # never a Python set
    assert not (tmp_path / "out").exists()


def test_incompatible_wheel_sends_the_pipeline_to_the_sdist(cli: Any, tmp_path: Path) -> None:
    result, report = build(cli, tmp_path, "m228src==1.0\n")
    assert result.returncode == 0, result.stderr
    assert how(report) == {"m228src": "built-from-sdist"}
    assert report["packages"][0]["wheel"] == "m228src-1.0-py3-none-any.whl"


def test_macos_only_wheel_falls_back_to_building_the_sdist(cli: Any, tmp_path: Path) -> None:
    result, report = build(cli, tmp_path, "macpkg==1.0\n")
    assert result.returncode == 0, result.stderr
    assert how(report) == {"macpkg": "built-from-sdist"}


def test_c_extension_sdist_is_built_and_imports(cli: Any, tmp_path: Path) -> None:
    result, report = build(cli, tmp_path, "cextpkg==1.0\n")
    assert result.returncode == 0, result.stderr
    assert how(report) == {"cextpkg": "built-from-sdist"}
    assert "linux_x86_64" in report["packages"][0]["wheel"]
    out = tmp_path / "out"
    assert import_in_fresh_interpreter(out, "import cextpkg; print(cextpkg.answer())") == "42"


def test_optional_c_sdist_is_rebuilt_without_a_compiler(cli: Any, tmp_path: Path) -> None:
    result, report = build(cli, tmp_path, "optcpkg==1.0\n")
    assert result.returncode == 0, result.stderr
    assert how(report) == {"optcpkg": "built-without-c-extensions"}
    assert (
        import_in_fresh_interpreter(tmp_path / "out", "import optcpkg; print(optcpkg.HAS_SPEEDUPS)")
        == "False"
    )


def test_failing_sdist_is_reported_with_compiler_output(cli: Any, tmp_path: Path) -> None:
    result, report = build(cli, tmp_path, "brokenpkg==1.0\npurepkg==1.0\n")
    assert result.returncode == 4
    [missing] = report["missing"]
    assert missing["reason"] == "sdist build failed"
    assert "_native.c" in missing["detail"] and "error" in missing["detail"]
    assert "_native.c" in result.stdout


def test_sdist_whose_metadata_step_fails_on_311_is_missing_beside_the_rest(
    cli: Any, tmp_path: Path
) -> None:
    result, report = build(cli, tmp_path, "argspecpkg==1.0\ncextpkg==1.0\npurepkg==1.0\n")
    assert result.returncode == 4, result.stderr
    [missing] = report["missing"]
    assert (missing["name"], missing["version"]) == ("argspecpkg", "1.0")
    assert missing["reason"] == "the sdist's metadata step fails under python3.11"
    assert missing["hint"].startswith("argspecpkg 1.2 or newer is on the index")
    assert "formatargspec" in missing["detail"]
    assert how(report) == {"cextpkg": "built-from-sdist", "purepkg": "wheel"}
    assert "python3.11/x86_64" in result.stdout and "pip could not download" not in result.stdout
    assert not (tmp_path / "out").exists()


def test_allowlisted_package_is_accepted_with_its_incompatible_wheel(
    cli: Any, tmp_path: Path
) -> None:
    result, report = build(cli, tmp_path, "PyYAML==6.0\n")
    assert result.returncode == 0, result.stderr
    assert how(report) == {"pyyaml": "allowlisted"}
    assert any("pyyaml" in warning for warning in report["warnings"])


def test_unknown_package_is_reported_as_not_found(cli: Any, tmp_path: Path) -> None:
    result, report = build(cli, tmp_path, "no-such-package-here==1.0\n")
    assert result.returncode == 4
    [missing] = report["missing"]
    assert missing["name"] == "no-such-package-here"
    assert missing["reason"] == "not found on the index"


def test_hash_is_checked_in_the_first_pass(cli: Any, catalog: Catalog, tmp_path: Path) -> None:
    good, _ = build(cli, tmp_path / "good", f"hashpkg==1.0 --hash={catalog.hash('hashpkg')}\n")
    assert good.returncode == 0, good.stderr
    bad, report = build(cli, tmp_path / "bad", "hashpkg==1.0 --hash=sha256:" + "0" * 64 + "\n")
    assert bad.returncode == 4
    assert "hash" in report["missing"][0]["reason"]


def test_explicit_wheel_pass_does_not_bypass_hash_checking(
    cli: Any, catalog: Catalog, tmp_path: Path
) -> None:
    # Only the sdist's hash is pinned: the explicit pass must refuse the aarch64 wheel.
    line = f"m224pkg==1.0 --hash={catalog.hash('m224-sdist')}\n"
    refused, report = build(cli, tmp_path / "refused", line, "--arch", "arm64")
    assert refused.returncode != 0
    assert "compatible-wheel" not in json.dumps(report)
    both = line.rstrip("\n") + f" --hash={catalog.hash('m224-arm')}\n"
    accepted, report = build(cli, tmp_path / "accepted", both, "--arch", "arm64")
    assert accepted.returncode == 0, accepted.stderr
    assert how(report) == {"m224pkg": "compatible-wheel"}


def test_aarch64_marker_dependency_is_left_out_for_x86_64(cli: Any, tmp_path: Path) -> None:
    result, report = build(cli, tmp_path, "markerparent==1.0\n")
    assert result.returncode == 0, result.stderr
    assert set(how(report)) == {"markerparent"}


def test_host_mode_on_another_architecture_refuses_arch_markers(cli: Any, tmp_path: Path) -> None:
    result, _ = build(
        cli, tmp_path, 'armonly==1.0; platform_machine == "aarch64"\n', "--arch", "arm64"
    )
    assert result.returncode == 6
    assert "platform_machine" in result.stderr and "--no-container" in result.stderr


def test_host_mode_refuses_dependencies_chosen_by_arch_markers(cli: Any, tmp_path: Path) -> None:
    result, report = build(cli, tmp_path, "markerparent==1.0\n", "--arch", "arm64")
    assert result.returncode != 0
    assert "markerparent" in report["error"] and "platform_machine" in report["error"]


def test_host_mode_on_another_architecture_refuses_to_build(cli: Any, tmp_path: Path) -> None:
    result, report = build(cli, tmp_path, "cextpkg==1.0\n", "--arch", "arm64")
    assert result.returncode != 0
    assert "cextpkg" in report["error"] and "aarch64" in report["error"]


def test_includes_constraints_and_local_paths_resolve_against_their_file(
    cli: Any, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    local = project / "libs" / "localpkg"
    (local / "localpkg").mkdir(parents=True)
    (local / "localpkg" / "__init__.py").write_text("VALUE = 'local'\n")
    (local / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "localpkg"\nversion = "0.1"\ndependencies = ["purepkg"]\n'
    )
    (project / "reqs").mkdir()
    (project / "reqs" / "base.txt").write_text("../libs/localpkg\n-c constraints.txt\n")
    (project / "reqs" / "constraints.txt").write_text("purepkg==1.0\n")
    (project / "requirements.txt").write_text("-r reqs/base.txt\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = cli(
        "build",
        "-r",
        str(project / "requirements.txt"),
        "-o",
        str(tmp_path / "out"),
        *HOST,
        cwd=elsewhere,
    )
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert (
        import_in_fresh_interpreter(out, "import localpkg, purepkg; print(localpkg.VALUE)")
        == "local"
    )


def test_invalid_line_names_file_line_and_text(cli: Any, tmp_path: Path) -> None:
    result, _ = build(cli, tmp_path, "purepkg==1.0\nthis is not valid==\n")
    assert result.returncode == 3
    assert f"{tmp_path / 'requirements.txt'}:2" in result.stderr
    assert "this is not valid==" in result.stderr


def test_no_requirements_copies_the_source_with_a_warning(cli: Any, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / ".git").mkdir(parents=True)
    (source / "__pycache__").mkdir()
    (source / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (source / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"x")
    result = cli("build", str(source), "-o", str(tmp_path / "out"), *HOST)
    assert result.returncode == 0, result.stderr
    assert "no requirements file" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["app.py"]


def test_source_wins_a_name_clash_with_a_dependency(cli: Any, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "purepkg").mkdir(parents=True)
    (source / "purepkg" / "__init__.py").write_text("VALUE = 'mine'\n")
    (source / "requirements.txt").write_text("purepkg==1.0\n")
    result = cli("build", str(source), "-o", str(tmp_path / "out"), *HOST)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "purepkg" / "__init__.py").read_text() == "VALUE = 'mine'\n"


def test_failed_build_leaves_the_previous_output_untouched(cli: Any, tmp_path: Path) -> None:
    good, _ = build(cli, tmp_path, "purepkg==1.0\n")
    assert good.returncode == 0
    before = sorted(p.name for p in (tmp_path / "out").iterdir())
    bad, _ = build(cli, tmp_path, "purepkg==1.0\nbrokenpkg==1.0\n")
    assert bad.returncode == 4
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_scripts_are_dropped_data_purelib_kept_exec_bits_kept(cli: Any, tmp_path: Path) -> None:
    result, _ = build(cli, tmp_path, "datapkg==1.0\n")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert (out / "datapkg_extra.py").is_file()
    assert not (out / "bin").exists() and not list(out.rglob("datapkg-tool"))
    assert (out / "datapkg" / "run.sh").stat().st_mode & 0o111
    assert (out / "datapkg-1.0.dist-info" / "RECORD").is_file()


def test_unknown_runtime_and_architecture_list_the_valid_ones(cli: Any, tmp_path: Path) -> None:
    result = cli("build", "--runtime", "python2.7", "-o", str(tmp_path / "out"))
    assert result.returncode == 2 and "python3.9" in result.stderr and "python3.14" in result.stderr
    result = cli("build", "--runtime", "python3.12", "--arch", "mips", "-o", str(tmp_path))
    assert result.returncode == 2 and "x86_64 or arm64" in result.stderr


def test_python38_is_accepted_with_a_deprecation_warning(cli: Any, tmp_path: Path) -> None:
    result = cli(
        "build",
        "--runtime",
        "python3.8",
        "--no-container",
        "-o",
        str(tmp_path / "o"),
        env={"PATH": "/nonexistent"},
    )
    assert "deprecated" in result.stderr
    assert result.returncode == 6  # this host is 3.11: host mode says so clearly
    assert "Python 3.8" in result.stderr


def test_host_mode_on_another_python_version_says_so(cli: Any, tmp_path: Path) -> None:
    # An empty PATH: no python3.14 to fall back on, whatever this machine has installed.
    result = cli(
        "build",
        "--runtime",
        "python3.14",
        "--no-container",
        "-o",
        str(tmp_path / "o"),
        env={"PATH": "/nonexistent"},
    )
    assert result.returncode == 6
    assert "drop --no-container" in result.stderr
