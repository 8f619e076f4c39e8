"""`--backend buildx`: the same bytes as the docker backend, a remote builder, no leaked password.

One byte-for-byte comparison on x86_64 (with the password checks), and one run of both
architectures through a second BuildKit engine this test starts on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest

from builder.docker.buildx import LOG_VARIABLE
from builder.docker.buildx_progress import ProgressReader
from tests.conftest import run_cli
from tests.support.catalog import Catalog
from tests.support.package_index import PackageIndex, credential_forms
from tests.support.second_engine import SecondEngine, second_engine
from tests.support.standins import ensure_standin

pytestmark = pytest.mark.docker
USER = "aws"
PASSWORD = f"bx:s3cret@{secrets.token_hex(8)}"
FORMS = credential_forms(USER, PASSWORD)


@pytest.fixture(scope="module")
def private(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    with PackageIndex(
        tmp_path_factory.mktemp("private"), username=USER, password=PASSWORD
    ) as index:
        index.add_all(catalog.files)
        yield index


@pytest.fixture(scope="session")
def remote() -> Iterator[SecondEngine]:
    """A second engine holding only the two stand-ins the remote test needs."""
    images = [ensure_standin("python3.11", "x86_64"), ensure_standin("python3.11", "arm64")]
    with second_engine(images, probe_image=images[0]) as engine:
        yield engine


def cache_mount_records(prefix: str) -> list[str]:
    """BuildKit's records of the download/wheel cache mounts named ``prefix-...``."""
    listing = subprocess.run(
        ["docker", "buildx", "du", "--verbose", "--filter", "type=exec.cachemount"],
        capture_output=True,
        text=True,
    ).stdout
    found = []
    for block in listing.split("\n\n"):
        record = re.search(r"^ID:\s+(\S+)", block, re.M)
        if record and f'with id "/{prefix}-' in block:
            found.append(record.group(1))
    return found


@pytest.fixture(scope="module", autouse=True)
def drop_cache_mounts() -> Iterator[None]:
    """The main engine keeps this session's cache mounts in BuildKit's cache: remove them."""
    yield
    prefix = os.environ["LAMBDA_BUILDER_CACHE_VOLUME"]  # this session's (tests/conftest.py)
    for record in cache_mount_records(prefix):
        subprocess.run(["docker", "buildx", "prune", "-f", "--filter", f"id={record}"],
                       capture_output=True)  # fmt: skip
    assert cache_mount_records(prefix) == []


def assert_secret_absent(texts: list[str], paths: list[Path]) -> None:
    for text in texts:
        for form in FORMS:
            assert form not in text
    for root in paths:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for file in files:
            data = file.read_bytes()
            for form in FORMS:
                assert form.encode() not in data, f"{form!r} found in {file}"


def progress_lines(log: Path) -> list[str]:
    """Every step's output in buildx's rawjson progress, decoded."""
    lines: list[str] = []
    reader = ProgressReader(lambda name, line: lines.append(line))
    reader.feed(log.read_text())
    reader.close()
    return lines + reader.other


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        p.relative_to(root).as_posix(): (p.stat().st_mode, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def build(
    tmp_path: Path, pip_env: dict[str, str], name: str, *args: str
) -> subprocess.CompletedProcess[str]:
    temp = tmp_path / f"tmp-{name}"
    temp.mkdir()
    env = {
        **pip_env,
        "TMPDIR": str(temp),
        "LAMBDA_BUILDER_CACHE_DIR": str(tmp_path / f"cache-{name}"),
        LOG_VARIABLE: str(tmp_path / f"{name}.log"),
    }
    result = run_cli(["build", *args], env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_buildx_writes_the_docker_backends_bytes_and_never_the_password(
    private: PackageIndex, pip_env: dict[str, str], tmp_path: Path
) -> None:
    standin = ensure_standin("python3.11", "x86_64")
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text("import purepkg\n\ndef handler(event, context):\n    pass\n")
    # cextpkg is compiled by each backend: sdists build without debug info, which would hold
    # pip's random build directory, so both builds give the same .so.
    (project / "requirements.txt").write_text(
        "needspure==1.0\nm224pkg==1.0\nmarkerparent==1.0\ncextpkg==1.0\n"
    )
    common = [
        str(project),
        "--runtime",
        "python3.11",
        "--base-image",
        standin,
        "--index-url",
        private.url_with_credentials(),
        "--ca-bundle",
        certifi.where(),
        "-o",
        str(tmp_path / "out"),
        "--zip",
        str(tmp_path / "function.zip"),
        "--report",
        str(tmp_path / "report.json"),
        "--verbose",
    ]
    by_docker = build(tmp_path, pip_env, "docker", *common)
    expected = (
        snapshot(tmp_path / "out"),
        (tmp_path / "function.zip").read_bytes(),
        (tmp_path / "report.json").read_bytes(),
    )
    by_buildx = build(tmp_path, pip_env, "buildx", *common, "--backend", "buildx")
    got = (
        snapshot(tmp_path / "out"),
        (tmp_path / "function.zip").read_bytes(),
        (tmp_path / "report.json").read_bytes(),
    )
    # Compared whole, nothing normalised: same paths, and a fresh cache on both sides.
    assert got[0] == expected[0]
    assert got[1] == expected[1]
    assert got[2] == expected[2]
    [target] = json.loads(got[2])["targets"]
    assert target["dependency_cache"] == "miss"
    assert {p["name"] for p in target["packages"]} == {
        "needspure",
        "purepkg",
        "m224pkg",
        "markerparent",
        "cextpkg",
    }
    assert next(p for p in target["packages"] if p["name"] == "cextpkg")["how"] == (
        "built-from-sdist"
    )
    assert "building with buildx (builder default, linux/amd64)" in by_buildx.stderr
    log = tmp_path / "buildx.log"
    assert any("Successfully" in line for line in progress_lines(log))  # pip's own output
    outputs = [by_docker.stdout, by_docker.stderr, by_buildx.stdout, by_buildx.stderr]
    left = ["out", "function.zip", "report.json", "buildx.log", "tmp-docker", "tmp-buildx"]
    assert_secret_absent([*outputs, *progress_lines(log)], [tmp_path / name for name in left])


@pytest.mark.emulation
def test_remote_builder_builds_both_architectures_from_the_context_alone(
    remote: SecondEngine, private: PackageIndex, pip_env: dict[str, str], tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("purepkg==1.0\nm224pkg==1.0\nmarkerparent==1.0\n")
    args = [
        "-r",
        str(requirements),
        "--runtime",
        "python3.11",
        "--base-image",
        "lambda-builder-standin/python:{version}{suffix}",
        "--index-url",
        private.url_with_credentials(),
        "--backend",
        "buildx",
        "--builder",
        remote.context,
        "-o",
        str(tmp_path / "out"),
        "--report",
        str(tmp_path / "report.json"),
    ]
    result = build(tmp_path, pip_env, "remote", *args, "--arch", "x86_64,arm64")
    targets = {
        t["architecture"]: t for t in json.loads((tmp_path / "report.json").read_text())["targets"]
    }
    assert set(targets) == {"x86_64", "arm64"}
    for arch, machine, built_on in (
        ("x86_64", "x86_64", "native"),
        ("arm64", "aarch64", "emulated"),
    ):
        wheels = {p["name"]: p for p in targets[arch]["packages"]}
        assert wheels["m224pkg"]["wheel"].endswith(f"manylinux_2_24_{machine}.whl")
        assert {p["built_on"] for p in wheels.values()} == {built_on}
        assert ("armonly" in wheels) is (arch == "arm64")  # markers evaluated on the target
        assert targets[arch]["dependency_cache"] == "miss"
    assert (tmp_path / "out" / "python3.11-arm64" / "armonly").is_dir()

    again = build(tmp_path, pip_env, "again", *args, "--arch", "x86_64")
    [target] = json.loads((tmp_path / "report.json").read_text())["targets"]
    assert target["dependency_cache"] == "hit"  # BuildKit's cached pipeline step

    doctor = run_cli(["doctor", "--runtime", "python3.11", "--builder", remote.context], pip_env)
    assert (
        f"builder {remote.context} (--builder): docker driver, running: "
        "linux/amd64 (native), linux/arm64 (emulated); cache export: inline"
    ) in doctor.stdout
    assert_secret_absent([result.stderr, again.stderr, doctor.stdout], [tmp_path / "out"])
    # Nothing of the password in anything the remote engine stored: images, layers, BuildKit's
    # cache (the job and pip settings travelled as build secrets only).
    found = subprocess.run(
        [
            "grep",
            "-rlaF",
            "-D",
            "skip",
            *(arg for form in FORMS for arg in ("-e", form)),
            str(remote.data_root),
        ],
        capture_output=True,
        text=True,
    )
    assert found.returncode == 1 and found.stdout == "", found.stdout + found.stderr


def test_a_failed_pipeline_step_reports_what_is_missing_and_is_not_cached(
    pip_env: dict[str, str], tmp_path: Path
) -> None:
    standin = ensure_standin("python3.11", "x86_64")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("purepkg==1.0\nnosuchpkg==1.0\n")
    args = ["build", "-r", str(requirements), "--runtime", "python3.11", "--base-image", standin]
    args += ["--backend", "buildx", "-o", str(tmp_path / "out"), "--report", str(tmp_path / "r")]
    for _ in range(2):  # a cached failure would come back without running pip again
        result = run_cli(args, {**pip_env, LOG_VARIABLE: str(tmp_path / "buildx.log")})
        assert result.returncode == 4, result.stdout + result.stderr
        [target] = json.loads((tmp_path / "r").read_text())["targets"]
        assert target["status"] == "missing"
        assert [m["name"] for m in target["missing"]] == ["nosuchpkg"]
        assert not (tmp_path / "out").exists()
    # Each run printed its result: the failed step ran twice, a cached one prints nothing.
    events = [
        line for line in progress_lines(tmp_path / "buildx.log") if '"event": "result"' in line
    ]
    assert len(events) == 2
