"""Builds inside (stand-in) Lambda images through a real Docker engine, for both architectures."""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import signal
import struct
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.conftest import start_cli
from tests.support.catalog import Catalog
from tests.support.engine_proxy import tcp_engine
from tests.support.standins import ensure_standin

pytestmark = pytest.mark.docker
LABEL = "org.lambda-builder.build"
EM_X86_64, EM_AARCH64 = 62, 183


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", path
    return int(struct.unpack("<H", header[18:20])[0])


def work_volumes() -> set[str]:
    client = docker.from_env()
    return {v.name for v in client.volumes.list(filters={"label": "org.lambda-builder.work"})}


def build_containers() -> list[Any]:
    return docker.from_env().containers.list(all=True, filters={"label": LABEL})


def run_in_image(image: str, platform: str, bundle: Path, code: str) -> str:
    """Import from the bundle in the runtime image itself, as Lambda would."""
    result = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--platform",
            platform,
            "-v",
            f"{bundle}:/var/task:ro",
            "--entrypoint",
            "/var/lang/bin/python3",
            image,
            "-c",
            f"import sys; sys.path.insert(0, '/var/task'); {code}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def standin_311() -> str:
    return ensure_standin("python3.11", "x86_64")


def container_build(
    cli: Any,
    tmp_path: Path,
    requirements: str,
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[Any, dict[str, Any]]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    req = tmp_path / "requirements.txt"
    req.write_text(requirements)
    report = tmp_path / "report.json"
    result = cli(
        "build",
        "-r",
        str(req),
        "-o",
        str(tmp_path / "out"),
        "--report",
        str(report),
        "--no-cache",
        *args,
        env=env,
        cwd=cwd,
    )
    data = json.loads(report.read_text()) if report.exists() else {"targets": [{}]}
    return result, data


def test_x86_64_build_compiles_sdists_in_the_image(
    cli: Any, tmp_path: Path, standin_311: str
) -> None:
    result, report = container_build(
        cli,
        tmp_path,
        "cextpkg==1.0\npurepkg==1.0\nm224pkg==1.0\nmarkerparent==1.0\n",
        "--runtime",
        "python3.11",
        "--base-image",
        standin_311,
    )
    assert result.returncode == 0, result.stderr
    [target] = report["targets"]
    assert target["mode"] == "container" and target["python"].startswith("3.11")
    assert target["pip"] == importlib.metadata.version("pip")  # ours, newer than the image's
    hows = {p["name"]: p["how"] for p in target["packages"]}
    assert hows == {
        "cextpkg": "built-from-sdist",
        "purepkg": "wheel",
        "m224pkg": "wheel",
        "markerparent": "wheel",
    }
    out = tmp_path / "out"
    [so] = list(out.glob("cextpkg/_native*.so"))
    assert elf_machine(so) == EM_X86_64
    assert (
        run_in_image(
            standin_311,
            "linux/amd64",
            out,
            "import cextpkg, purepkg, m224pkg; print(cextpkg.answer())",
        )
        == "42"
    )
    assert all(p.stat().st_uid == os.getuid() for p in out.rglob("*"))
    assert build_containers() == []


def test_setup_py_only_sdists_build_without_pips_processes(
    cli: Any, tmp_path: Path, standin_311: str
) -> None:
    """The image's own setuptools builds them (as its pip did), called in one process; a
    build that fails there still gets pip's isolated attempt, then the compiler-less one."""
    result, report = container_build(
        cli,
        tmp_path,
        "legacycpkg==1.0\nlegacyoptc==1.0\n",
        "--runtime",
        "python3.11",
        "--base-image",
        standin_311,
        "--verbose",
    )
    assert result.returncode == 0, result.stderr
    hows = {p["name"]: p["how"] for p in report["targets"][0]["packages"]}
    assert hows == {"legacycpkg": "built-from-sdist", "legacyoptc": "built-without-c-extensions"}
    log = result.stdout + result.stderr
    assert "built legacycpkg-1.0-cp311-cp311-linux_x86_64.whl" in log
    assert "Building wheel for legacycpkg" not in log  # pip never ran the build
    assert "Building wheel for legacyoptc" in log  # the isolated retry after the native failure
    out = tmp_path / "out"
    [so] = list(out.glob("legacycpkg/_native*.so"))
    assert elf_machine(so) == EM_X86_64
    code = "import legacycpkg, legacyoptc; print(legacycpkg.answer(), legacyoptc.HAS_SPEEDUPS)"
    assert run_in_image(standin_311, "linux/amd64", out, code) == "42 False"


@pytest.mark.emulation
def test_both_architectures_build_concurrently_into_subdirectories(
    cli: Any, tmp_path: Path, standin_311: str
) -> None:
    arm = ensure_standin("python3.11", "arm64")
    base = standin_311.rsplit(":", 1)[0]
    # One template names both images the way the public repository does (3.11, 3.11-arm64).
    assert arm == f"{base}:3.11-arm64"
    result, report = container_build(
        cli,
        tmp_path,
        "cextpkg==1.0\nmarkerparent==1.0\nm224pkg==1.0\n",
        "--runtime",
        "python3.11",
        "--arch",
        "x86_64,arm64",
        "--base-image",
        f"{base}:{{version}}{{suffix}}",
    )
    assert result.returncode == 0, result.stderr
    assert {t["architecture"] for t in report["targets"]} == {"x86_64", "arm64"}
    arm_out = tmp_path / "out" / "python3.11-arm64"
    [so] = list(arm_out.glob("cextpkg/_native*.so"))
    assert elf_machine(so) == EM_AARCH64
    assert (arm_out / "armonly").is_dir()  # its marker is true on aarch64 only
    assert not (tmp_path / "out" / "python3.11-x86_64" / "armonly").exists()
    arm_report = next(t for t in report["targets"] if t["architecture"] == "arm64")
    wheels = {p["name"]: p["wheel"] for p in arm_report["packages"]}
    assert wheels["m224pkg"].endswith("manylinux_2_24_aarch64.whl")
    assert (
        run_in_image(
            arm,
            "linux/arm64",
            arm_out,
            "import platform, cextpkg, armonly; print(platform.machine(), cextpkg.answer())",
        )
        == "aarch64 42"
    )
    assert "python3.11/x86_64" in result.stdout and "python3.11/arm64" in result.stdout


def test_manylinux_2_28_wheel_is_accepted_on_amazon_linux_2023(cli: Any, tmp_path: Path) -> None:
    image = ensure_standin("python3.13", "x86_64")
    result, report = container_build(
        cli, tmp_path, "m228pkg==1.0\n", "--runtime", "python3.13", "--base-image", image
    )
    assert result.returncode == 0, result.stderr
    assert report["targets"][0]["packages"][0]["how"] == "wheel"
    assert report["targets"][0]["glibc"] == "2.34"


def test_image_python_must_match_the_runtime(cli: Any, tmp_path: Path, standin_311: str) -> None:
    """The pipeline checks its own container before anything else: no separate probe runs,
    and a mismatch stops before pip does."""
    result, _ = container_build(
        cli,
        tmp_path,
        "purepkg==1.0\n",
        "--runtime",
        "python3.12",
        "--base-image",
        standin_311,
        "--verbose",
    )
    assert result.returncode == 7
    assert "Python 3.11" in result.stderr and "python3.12 needs 3.12" in result.stderr
    assert "downloading" not in result.stdout + result.stderr
    assert build_containers() == []


def test_container_removed_after_a_failed_build(cli: Any, tmp_path: Path, standin_311: str) -> None:
    result, report = container_build(
        cli, tmp_path, "brokenpkg==1.0\n", "--runtime", "python3.11", "--base-image", standin_311
    )
    assert result.returncode == 4
    assert report["targets"][0]["missing"][0]["reason"] == "sdist build failed"
    assert build_containers() == []
    assert not (tmp_path / "out").exists()


def test_sdist_whose_metadata_step_fails_is_missing_and_the_rest_still_build(
    cli: Any, tmp_path: Path, standin_311: str
) -> None:
    # argspecpkg 1.0's setup.py imports inspect.formatargspec (gone in 3.11), as wrapt 1.13's did.
    result, report = container_build(
        cli,
        tmp_path,
        "argspecpkg==1.0\ncextpkg==1.0\npurepkg==1.0\n",
        "--runtime",
        "python3.11",
        "--base-image",
        standin_311,
    )
    assert result.returncode == 4, result.stderr
    [target] = report["targets"]
    assert (target["runtime"], target["architecture"]) == ("python3.11", "x86_64")
    assert target["status"] == "missing" and target["mode"] == "container"
    [missing] = target["missing"]
    assert (missing["name"], missing["version"]) == ("argspecpkg", "1.0")
    assert missing["reason"] == "the sdist's metadata step fails under python3.11"
    assert missing["hint"].startswith("argspecpkg 1.2 or newer is on the index")
    assert "formatargspec" in missing["detail"]
    hows = {p["name"]: p["how"] for p in target["packages"]}
    assert hows == {"cextpkg": "built-from-sdist", "purepkg": "wheel"}
    assert "python3.11/x86_64" in result.stdout
    assert "missing argspecpkg 1.0: the sdist's metadata step fails" in result.stdout
    assert "pip could not download" not in result.stdout + result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_container_removed_when_interrupted(
    pip_env: dict[str, str], tmp_path: Path, standin_311: str, signum: int
) -> None:
    (tmp_path / "requirements.txt").write_text("cextpkg==1.0\noptcpkg==1.0\n")
    process = start_cli(
        [
            "build",
            "-r",
            str(tmp_path / "requirements.txt"),
            "-o",
            str(tmp_path / "out"),
            "--runtime",
            "python3.11",
            "--no-cache",
            "--base-image",
            standin_311,
        ],
        pip_env,
    )
    lines: list[str] = []
    stderr = process.stderr
    assert stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(stderr.readline, "")))
    reader.start()
    deadline = time.monotonic() + 120
    # Interrupt once the pipeline runs inside the container, not while Python starts up.
    while not any("dependency closure" in line for line in lines):
        assert time.monotonic() < deadline and process.poll() is None, "".join(lines)
        time.sleep(0.1)
    assert build_containers(), "the build never started a container"
    process.send_signal(signum)
    process.wait(timeout=120)
    reader.join(timeout=10)
    err = "".join(lines)
    assert process.returncode == 130, err
    assert build_containers() == []
    assert not (tmp_path / "out").exists()


@contextlib.contextmanager
def kept_container_build(
    cli: Any, tmp_path: Path, requirements: str, image: str
) -> Iterator[tuple[Any, dict[str, Any], Any]]:
    """A build with BUILDER_KEEP_CONTAINER=1: its result, report and kept container (removed
    afterwards)."""
    result, report = container_build(
        cli,
        tmp_path,
        requirements,
        "--runtime",
        "python3.11",
        "--base-image",
        image,
        env={"BUILDER_KEEP_CONTAINER": "1"},
    )
    try:
        assert result.returncode == 0, result.stderr
        [kept] = build_containers()
        yield result, report, kept
    finally:
        for container in build_containers():
            container.remove(force=True)


def test_keep_container_variable_keeps_it_and_says_how_to_enter(
    cli: Any, tmp_path: Path, standin_311: str
) -> None:
    with kept_container_build(cli, tmp_path, "purepkg==1.0\n", standin_311) as (result, _, kept):
        assert f"docker exec -it {kept.name} sh" in result.stderr


def test_pip_calls_are_forked_from_the_containers_first_process(
    cli: Any, tmp_path: Path, standin_311: str
) -> None:
    """The container starts with pip imported (incontainer/pip_server) and the pipeline's pip
    calls, the first pass and the sdist build, are its children rather than new processes."""
    requirements = "cextpkg==1.0\npurepkg==1.0\n"
    with kept_container_build(cli, tmp_path, requirements, standin_311) as (_, report, kept):
        [target] = report["targets"]
        hows = {p["name"]: p["how"] for p in target["packages"]}
        assert hows == {"cextpkg": "built-from-sdist", "purepkg": "wheel"}
        assert kept.attrs["Path"] == "/var/lang/bin/python3"
        assert kept.attrs["Args"][0] == "-c"
        log = kept.logs().decode()
        assert f"serving on /tmp/lambda-builder-pip.sock, pip {target['pip']}" in log
        assert "pip download (process" in log and "pip wheel (process" in log


def test_remote_engine_path_uses_no_bind_mounts_or_host_network(
    cli: Any, catalog: Catalog, tmp_path: Path, standin_311: str
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for key in ("purepkg", "needspure"):
        (wheels / catalog.by_name[key].name).write_bytes(catalog.by_name[key].read_bytes())
    requirements = "--no-index\n--find-links ./wheels\nneedspure==1.0\n"
    with tcp_engine() as docker_host:
        result, report = container_build(
            cli,
            tmp_path,
            requirements,
            "--runtime",
            "python3.11",
            "--base-image",
            standin_311,
            env={"DOCKER_HOST": docker_host, "BUILDER_KEEP_CONTAINER": "1"},
        )
    try:
        assert result.returncode == 0, result.stderr
        [kept] = build_containers()
        assert kept.attrs["HostConfig"]["NetworkMode"] != "host"
        assert [m for m in kept.attrs["Mounts"] if m["Type"] == "bind"] == []
        assert {p["name"] for p in report["targets"][0]["packages"]} == {"needspure", "purepkg"}
        assert (tmp_path / "out" / "purepkg" / "__init__.py").is_file()
    finally:
        for container in build_containers():
            container.remove(force=True)


def test_no_engine_is_a_clear_error(cli: Any, tmp_path: Path) -> None:
    result, _ = container_build(
        cli,
        tmp_path,
        "purepkg==1.0\n",
        "--runtime",
        "python3.11",
        env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
    )
    assert result.returncode == 7
    assert "no Docker engine answers at unix:///nonexistent/docker.sock" in result.stderr
    assert "hint:" in result.stderr


def test_cache_reuses_built_wheels_by_content(
    cli: Any, catalog: Catalog, tmp_path: Path, standin_311: str
) -> None:
    # A volume and cache directory of this test alone: the first build must really build.
    env = {
        "LAMBDA_BUILDER_CACHE_VOLUME": f"lambda-builder-test-cache-{tmp_path.name}",
        "LAMBDA_BUILDER_CACHE_DIR": str(tmp_path / "cache"),
    }
    args = [
        "build",
        "-r",
        str(tmp_path / "requirements.txt"),
        "--runtime",
        "python3.11",
        "--base-image",
        standin_311,
        "--verbose",
    ]
    (tmp_path / "requirements.txt").write_text("cextpkg==1.0\n")
    first = cli(*args, "-o", str(tmp_path / "one"), env=env)
    assert first.returncode == 0, first.stderr
    assert "Building wheel for cextpkg" in first.stderr
    # Another dependency set (no whole-build cache hit) that still needs cextpkg's wheel.
    (tmp_path / "requirements.txt").write_text("cextpkg==1.0\npurepkg==1.0\n")
    second = cli(*args, "-o", str(tmp_path / "two"), env=env)
    assert second.returncode == 0, second.stderr
    assert "reusing the build" not in second.stderr
    assert "Building wheel for cextpkg" not in second.stderr
    assert (tmp_path / "two" / "cextpkg").is_dir()
    third = cli(*args, "--no-cache", "-o", str(tmp_path / "three"), env=env)
    volume = docker.from_env().volumes.get(
        f"{env['LAMBDA_BUILDER_CACHE_VOLUME']}-python3.11-x86_64"
    )
    volume.remove(force=True)
    assert "Building wheel for cextpkg" in third.stderr


@pytest.mark.emulation
def test_missing_emulation_fails_with_the_commands_that_enable_it(
    cli: Any, tmp_path: Path, standin_311: str
) -> None:
    ensure_standin("python3.11", "arm64")
    switch = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
    if not switch.exists() or not os.access(switch, os.W_OK):
        pytest.fail(
            f"this test turns QEMU off through {switch}, which must exist and be "
            "writable (run as root after .ci/setup-docker)"
        )
    arm64 = ("--runtime", "python3.11", "--arch", "arm64", "--base-image",
             "lambda-builder-standin/python:{version}{suffix}")  # fmt: skip
    warm, _ = container_build(cli, tmp_path / "warm", "purepkg==1.0\n", *arm64)
    assert warm.returncode == 0, warm.stderr  # the image's markers are probed (emulated) once
    switch.write_text("0")
    try:
        # Wheels only: resolved and installed natively, so no emulation is needed at all.
        wheels, wheels_report = container_build(
            cli, tmp_path / "wheels", "m224pkg==1.0\npurepkg==1.0\n", *arm64
        )
        # A C extension must be compiled in the arm64 image.
        result, _ = container_build(cli, tmp_path / "sdist", "cextpkg==1.0\n", *arm64)
    finally:
        switch.write_text("1")
    assert wheels.returncode == 0, wheels.stderr
    assert {p["name"] for p in wheels_report["targets"][0]["packages"]} == {"m224pkg", "purepkg"}
    assert result.returncode == 7
    assert "QEMU emulation is not enabled" in result.stderr
    assert "update-binfmts --enable qemu-aarch64" in result.stderr
    assert "tonistiigi/binfmt --install arm64" in result.stderr
    assert build_containers() == []


def test_builder_image_is_built_without_the_buildx_cli(
    cli: Any, tmp_path: Path, standin_311: str
) -> None:
    # A base image name no build has used yet forces a fresh builder image, and a PATH without
    # the docker CLI forces the engine API's classic builder instead of buildx.
    client = docker.from_env()
    alias = f"lambda-builder-test/no-buildx:{uuid.uuid4().hex[:12]}"
    client.images.get(standin_311).tag(alias)
    try:
        result, report = container_build(
            cli,
            tmp_path,
            "purepkg==1.0\n",
            "--runtime",
            "python3.11",
            "--base-image",
            alias,
            env={"PATH": "/nonexistent"},
        )
        assert result.returncode == 0, result.stderr
        assert "building the builder image" in result.stderr
        assert report["targets"][0]["image"] == alias
        assert report["targets"][0]["pip"] == importlib.metadata.version("pip")
    finally:
        client.images.remove(alias)


def test_builder_image_is_built_with_buildx_from_any_working_directory(
    cli: Any, tmp_path: Path, standin_311: str
) -> None:
    # buildx reads -f from the working directory, not from the build context.
    client = docker.from_env()
    alias = f"lambda-builder-test/elsewhere:{uuid.uuid4().hex[:12]}"
    client.images.get(standin_311).tag(alias)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    try:
        result, report = container_build(
            cli, tmp_path, "purepkg==1.0\n", "--runtime", "python3.11", "--base-image", alias,
            cwd=elsewhere,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "building the builder image" in result.stderr
        assert report["targets"][0]["pip"] == importlib.metadata.version("pip")
    finally:
        client.images.remove(alias)


@pytest.mark.emulation
def test_ctrl_c_stops_every_target_of_a_concurrent_build(
    pip_env: dict[str, str], tmp_path: Path, standin_311: str
) -> None:
    ensure_standin("python3.11", "arm64")
    (tmp_path / "requirements.txt").write_text("cextpkg==1.0\noptcpkg==1.0\n")
    volumes_before = work_volumes()
    process = start_cli(
        [
            "build",
            "-r",
            str(tmp_path / "requirements.txt"),
            "-o",
            str(tmp_path / "out"),
            "--runtime",
            "python3.11",
            "--arch",
            "x86_64,arm64",
            "--no-cache",
            "--base-image",
            "lambda-builder-standin/python:{version}{suffix}",
        ],
        pip_env,
    )
    deadline = time.monotonic() + 180
    # Both targets' containers run (the worker threads own them) before Ctrl-C arrives.
    while len(build_containers()) < 2:
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.2)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert time.monotonic() - started < 60  # not after the emulated build would have finished
    assert build_containers() == []
    assert work_volumes() == volumes_before, err  # the arm64 split build's, though in use at Ctrl-C
    assert not (tmp_path / "out").exists()
