"""``lambda-builder verify`` and ``build --verify`` against real runtime (stand-in) images."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from builder.artifacts.elf import read_elf
from tests.support.fixture_packages import pure_wheel
from tests.support.package_index import PackageIndex, hermetic_pip_env
from tests.support.standins import ensure_standin

REPO_ROOT = Path(__file__).resolve().parents[3]
# arc4random arrived in glibc 2.36, pthread_create moved to GLIBC_2.34: newer than any Lambda.
NEW_GLIBC_SOURCE = """
#include <pthread.h>
#include <stdlib.h>
unsigned int lambda_builder_random(void) { return arc4random(); }
int lambda_builder_thread(pthread_t *thread) { return pthread_create(thread, 0, 0, 0); }
"""
APP = """
import json

def handler(event, context):
    print("handling", json.dumps(event, sort_keys=True))
    return {"statusCode": 200, "echo": event, "function": context.function_name,
            "remaining": context.get_remaining_time_in_millis() > 0}
"""

pytestmark = pytest.mark.docker


def verify(
    path: Path, *args: str, report: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    command = [sys.executable, "-m", "builder", "verify", str(path), *args]
    if report is not None:
        command += ["--report", str(report)]
    result = subprocess.run(
        command,
        env=hermetic_pip_env({"PYTHONPATH": str(REPO_ROOT)}),
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO_ROOT,
    )
    data = json.loads(report.read_text()) if report is not None and report.exists() else {}
    return result, data


def x86_64_image() -> list[str]:
    return ["--runtime", "python3.11", "--base-image", ensure_standin("python3.11", "x86_64")]


def shared_library(tmp: Path, source: str = NEW_GLIBC_SOURCE) -> Path:
    (tmp / "lib.c").write_text(source)
    output = tmp / "libneedsnew.so"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O1", str(tmp / "lib.c"), "-o", str(output)], check=True
    )
    return output


def record_line(root: Path, path: Path) -> str:
    data = path.read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path.relative_to(root).as_posix()},sha256={digest},{len(data)}"


def package_bundle(root: Path, library: Path, name: str = "nativepkg") -> Path:
    """A bundle as the installer lays it out: a package, its library and its RECORD."""
    package = root / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("VALUE = 1\n")
    shutil.copyfile(library, package / library.name)
    dist_info = root / f"{name}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = [record_line(root, path) for path in sorted(root.rglob("*")) if path.is_file()]
    (dist_info / "RECORD").write_text("\n".join([*lines, f"{dist_info.name}/RECORD,,"]) + "\n")
    return root


def zip_directory(root: Path, destination: Path) -> Path:
    with zipfile.ZipFile(destination, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return destination


def test_verify_fails_on_a_library_that_needs_a_newer_glibc(tmp_path: Path) -> None:
    library = shared_library(tmp_path)
    elf = read_elf(library)
    assert elf is not None and elf.max_glibc is not None and elf.max_glibc >= (2, 34)
    bundle = package_bundle(tmp_path / "bundle", library, "glibcpkg")
    result, report = verify(bundle, *x86_64_image(), report=tmp_path / "report.json")
    assert result.returncode == 8, result.stdout + result.stderr
    [problem] = report["problems"]
    assert problem["kind"] == "glibc" and problem["path"] == "glibcpkg/libneedsnew.so"
    assert problem["package"] == "glibcpkg 1.0"
    assert "GLIBC_2.36" in problem["detail"] and "2.26 of python3.11" in problem["detail"]
    assert (
        "FAIL glibcpkg/libneedsnew.so (glibcpkg 1.0): needs GLIBC_2.34, GLIBC_2.36" in result.stdout
    )
    assert report["max_glibc"] == "2.36" and report["imports"][0]["ok"] is True
    assert "error:" in result.stderr and "hint:" in result.stderr


def test_verify_accepts_the_same_library_for_a_runtime_with_a_new_enough_glibc(
    tmp_path: Path,
) -> None:
    library = shared_library(tmp_path, "int lambda_builder_plain(int x) { return x + 1; }\n")
    bundle = package_bundle(tmp_path / "bundle", library)
    result, report = verify(
        zip_directory(bundle, tmp_path / "bundle.zip"),
        *x86_64_image(),
        report=tmp_path / "report.json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["ok"] is True and report["elf_files"] == 1 and report["problems"] == []
    assert [item["name"] for item in report["imports"]] == ["nativepkg"]
    assert report["where"] == "lambda-builder-standin/python:3.11"


@pytest.mark.emulation
def test_verify_fails_on_an_x86_64_library_in_an_arm64_bundle(tmp_path: Path) -> None:
    library = shared_library(tmp_path, "int lambda_builder_plain(int x) { return x + 1; }\n")
    bundle = zip_directory(package_bundle(tmp_path / "bundle", library), tmp_path / "app.zip")
    image = ensure_standin("python3.11", "arm64")
    result, report = verify(
        bundle,
        "--runtime",
        "python3.11",
        "--arch",
        "arm64",
        "--base-image",
        image,
        report=tmp_path / "report.json",
    )
    assert result.returncode == 8, result.stdout + result.stderr
    [problem] = report["problems"]
    assert problem["kind"] == "machine" and problem["path"] == "nativepkg/libneedsnew.so"
    assert problem["package"] == "nativepkg 1.0"
    assert "built for x86_64, but arm64 Lambda runs aarch64" in problem["detail"]
    assert report["architecture"] == "arm64" and report["python"].startswith("3.11")


def test_handler_call_returns_the_handlers_value(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "app.py").write_text(APP)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"path": "/orders", "id": 7}))
    result, report = verify(
        zip_directory(bundle, tmp_path / "app.zip"),
        *x86_64_image(),
        "--handler",
        "app.handler",
        "--event",
        str(event),
        report=tmp_path / "report.json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    expected = {
        "statusCode": 200,
        "echo": {"path": "/orders", "id": 7},
        "function": "lambda-builder-verify",
        "remaining": True,
    }
    assert report["handler"]["result"] == expected
    assert report["handler"]["output"] == 'handling {"id": 7, "path": "/orders"}\n'
    printed = result.stdout.split("handler app.handler returned: ", 1)[1]
    assert json.loads(printed.rsplit("verification:", 1)[0]) == expected


def test_handler_errors_and_unmarshallable_results_fail(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "app.py").write_text(
        "def handler(event, context):\n    return {1, 2}\n\n"
        "def crash(event, context):\n    return event['missing']\n"
    )
    result, report = verify(
        bundle, *x86_64_image(), "--handler", "app.handler", report=tmp_path / "one.json"
    )
    assert result.returncode == 8
    assert report["handler"]["error"].startswith("Runtime.MarshalError")
    result, report = verify(
        bundle, *x86_64_image(), "--handler", "app.crash", report=tmp_path / "two.json"
    )
    assert result.returncode == 8
    assert report["handler"]["error"].startswith("KeyError: 'missing'")


def test_verify_names_each_module_that_fails_to_import(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "service").mkdir(parents=True)
    (bundle / "service" / "__init__.py").write_text("import requests_not_bundled\n")
    (bundle / "fine.py").write_text("X = 1\n")
    (bundle / "setup.py").write_text("raise SystemExit('never imported')\n")
    result, report = verify(bundle, *x86_64_image(), report=tmp_path / "report.json")
    assert result.returncode == 8
    outcomes = {item["name"]: item for item in report["imports"]}
    assert set(outcomes) == {"fine", "service"} and outcomes["fine"]["ok"]
    assert "No module named 'requests_not_bundled'" in outcomes["service"]["error"]
    assert "/var/task/service/__init__.py" in outcomes["service"]["error"]
    assert report["skipped"] == ["setup: a packaging script"]
    assert "FAIL import service failed" in result.stdout


def test_verify_imports_a_site_packages_layer_from_opt_python(tmp_path: Path) -> None:
    site = tmp_path / "layer" / "python" / "lib" / "python3.11" / "site-packages"
    (site / "layerpkg").mkdir(parents=True)
    (site / "layerpkg" / "__init__.py").write_text("import os\nWHERE = os.path.dirname(__file__)\n")
    (tmp_path / "layer" / "python" / "toplevel.py").write_text("X = 1\n")
    result, report = verify(
        zip_directory(tmp_path / "layer", tmp_path / "layer.zip"),
        *x86_64_image(),
        report=tmp_path / "report.json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["layout"] == "layer"
    assert [item["name"] for item in report["imports"]] == ["layerpkg", "toplevel"]
    result, report = verify(
        tmp_path / "layer",
        "--runtime",
        "python3.13",
        "--base-image",
        ensure_standin("python3.13", "x86_64"),
        report=tmp_path / "13.json",
    )
    assert result.returncode == 8  # python3.13 does not read python3.11's site-packages
    assert "but python3.13 only looks in python/lib/python3.13/site-packages" in result.stdout
    assert [item["name"] for item in report["imports"]] == ["toplevel"]


def test_build_verify_records_the_outcome_in_the_report(tmp_path: Path) -> None:
    dists = tmp_path / "dists"
    wheel = pure_wheel(dists, "purepkg", "1.0")
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("import purepkg\n" + APP)
    (source / "requirements.txt").write_text("purepkg==1.0\n")
    report_path = tmp_path / "report.json"
    with PackageIndex(tmp_path / "index") as index:
        index.add(wheel)
        command = [
            sys.executable,
            "-m",
            "builder",
            "build",
            "--no-cache",
            str(source),
            "-o",
            str(tmp_path / "out"),
            "--zip",
            str(tmp_path / "app.zip"),
            "--verify",
            "--report",
            str(report_path),
            "--index-url",
            index.url,
            *x86_64_image(),
        ]
        result = subprocess.run(
            command,
            env=hermetic_pip_env({"PYTHONPATH": str(REPO_ROOT)}),
            capture_output=True,
            text=True,
            timeout=900,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    target = json.loads(report_path.read_text())["targets"][0]
    verification = target["verification"]
    assert verification["ok"] is True and verification["where"] == target["image"]
    assert {item["name"] for item in verification["imports"]} == {"app", "purepkg"}
    assert "verified: ok" in result.stdout


def test_hung_import_and_handler_time_out_instead_of_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "app.py").write_text(
        "import time\n\ndef handler(event, context):\n    time.sleep(600)\n"
    )
    (bundle / "slowinit.py").write_text("import time\ntime.sleep(600)\n")
    monkeypatch.setenv("LAMBDA_BUILDER_IMPORT_TIMEOUT", "2")
    monkeypatch.setenv("LAMBDA_BUILDER_HANDLER_TIMEOUT", "2")
    started = time.monotonic()
    result, report = verify(
        bundle, *x86_64_image(), "--handler", "app.handler", report=tmp_path / "report.json"
    )
    assert time.monotonic() - started < 120
    assert result.returncode == 8
    outcomes = {item["name"]: item for item in report["imports"]}
    assert "TimeoutError: still running after 2 s" in outcomes["slowinit"]["error"]
    assert report["handler"]["error"].startswith("TimeoutError: still running after 2 s")
