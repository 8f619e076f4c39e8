"""Foreign-architecture builds resolve natively and emulate only compilation (real engine, QEMU)."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any

import docker
import pytest

from builder.architectures import Architecture
from builder.docker.engine import connect
from builder.docker.image import ensure_builder_image
from builder.docker.target_facts import facts_in_image, target_probe
from builder.ui import NullUI
from tests.support.recording_ui import RecordingUI
from tests.support.standins import ensure_standin

pytestmark = [pytest.mark.docker, pytest.mark.emulation]
EM_AARCH64 = 183


@pytest.fixture(scope="module")
def template() -> str:
    ensure_standin("python3.11", "arm64")
    base = ensure_standin("python3.11", "x86_64").rsplit(":", 1)[0]
    return f"{base}:{{version}}{{suffix}}"


def build(
    cli: Any, root: Path, requirements: str, template: str, env: dict[str, str] | None = None
) -> tuple[Any, dict[str, Any]]:
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.txt").write_text(requirements)
    report = root / "report.json"
    result = cli(
        "build", "-r", str(root / "requirements.txt"), "--runtime", "python3.11",
        "--arch", "arm64", "--base-image", template, "-o", str(root / "out"),
        "--report", str(report), "--no-cache", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [target] = json.loads(report.read_text())["targets"]
    return result, target


def work_volumes() -> set[str]:
    client = docker.from_env()
    return {v.name for v in client.volumes.list(filters={"label": "org.lambda-builder.work"})}


def started_containers(stderr: str) -> list[str]:
    """The machines of the build containers the build says it started, in order."""
    return re.findall(r"starting a build container \((\w+)\)", stderr)


def test_wheel_only_arm64_build_runs_no_emulated_container_and_honours_markers(
    cli: Any, tmp_path: Path, template: str
) -> None:
    build(cli, tmp_path / "warmup", "purepkg==1.0\n", template)  # the marker probe, once
    result, target = build(
        cli,
        tmp_path / "wheels",
        'markerparent==1.0\nm224pkg==1.0\ncextpkg==1.0; platform_machine == "x86_64"\n',
        template,
    )
    assert started_containers(result.stderr) == ["x86_64"]
    assert "probing" not in result.stderr  # the markers came from the cache
    packages = {p["name"]: p for p in target["packages"]}
    assert set(packages) == {"markerparent", "armonly", "m224pkg"}  # markers of aarch64
    assert packages["m224pkg"]["wheel"].endswith("manylinux_2_24_aarch64.whl")
    assert {p["built_on"] for p in packages.values()} == {"native"}
    out = tmp_path / "wheels" / "out"
    assert (out / "armonly").is_dir() and not (out / "cextpkg").exists()


def test_sdists_are_compiled_in_the_emulated_image_and_nothing_else_is(
    cli: Any, tmp_path: Path, template: str
) -> None:
    requirements = "cextpkg==1.0\nlegacycpkg==1.0\npurepkg==1.0\nm224pkg==1.0\nmacpkg==1.0\n"
    before = work_volumes()
    result, target = build(cli, tmp_path, requirements, template)
    assert started_containers(result.stderr) == ["x86_64", "arm64"]
    assert "compiling cextpkg, legacycpkg in the arm64 image (emulated)" in result.stderr
    where = {p["name"]: (p["how"], p["built_on"]) for p in target["packages"]}
    assert where == {
        "cextpkg": ("built-from-sdist", "emulated"),
        "legacycpkg": ("built-from-sdist", "emulated"),  # setup.py only: no pip under QEMU
        "purepkg": ("wheel", "native"),
        "m224pkg": ("wheel", "native"),
        "macpkg": ("built-from-sdist", "native"),  # a pure-Python sdist needs no emulation
    }
    for package in ("cextpkg", "legacycpkg"):
        [so] = (tmp_path / "out" / package).glob("_native*.so")
        header = so.read_bytes()[:20]
        assert struct.unpack("<H", header[18:20])[0] == EM_AARCH64
    assert work_volumes() == before  # the shared work volume is gone


def test_the_emulated_container_imports_pip_only_if_it_runs_it(
    cli: Any, tmp_path: Path, template: str
) -> None:
    """Both containers start with the pip server; the native one imports pip at once, the
    emulated one (a setup.py-only sdist: no pip call there) never does."""
    client = docker.from_env()
    before = work_volumes()
    try:
        result, target = build(
            cli, tmp_path, "legacycpkg==1.0\n", template, env={"BUILDER_KEEP_CONTAINER": "1"}
        )
        assert started_containers(result.stderr) == ["x86_64", "arm64"]
        assert [p["built_on"] for p in target["packages"]] == ["emulated"]
        kept = client.containers.list(all=True, filters={"label": "org.lambda-builder.build"})
        logs = {c.attrs["Config"]["Image"]: c.logs().decode() for c in kept}
        [native] = [log for image, log in logs.items() if "pip download (process" in log]
        [emulated] = [log for log in logs.values() if log != native]
        assert f"pip {target['pip']}" in native
        assert "pip imported at the first call" in emulated
        assert f"pip {target['pip']}" not in emulated  # the direct build asked it nothing
    finally:
        for container in client.containers.list(
            all=True, filters={"label": "org.lambda-builder.build"}
        ):
            container.remove(force=True)
        for name in work_volumes() - before:
            client.volumes.get(name).remove(force=True)


def test_target_facts_come_from_its_builder_image_or_an_emulated_probe(tmp_path: Path) -> None:
    """The builder image keeps the facts computed when it was built: reading them starts
    nothing. Without that image, the base image itself is probed under emulation."""
    engine = connect()
    base = ensure_standin("python3.11", "arm64")
    builder_image = ensure_builder_image(engine, base, Architecture.ARM64, NullUI(), "t")
    assert facts_in_image(engine, base, Architecture.ARM64) is None  # no facts file there
    assert facts_in_image(engine, "lambda-builder/builder:absent", Architecture.ARM64) is None

    ui = RecordingUI()
    steps = ui.steps
    from_image = target_probe(
        engine, base, Architecture.ARM64, tmp_path / "a", ui, "t", builder_image
    )
    assert steps == []
    probed = target_probe(engine, base, Architecture.ARM64, tmp_path / "b", ui, "t", None)
    assert steps == [f"t: probing {base} for its environment markers (once)"]
    assert from_image == probed
    assert probed["markers"]["platform_machine"] == "aarch64"  # type: ignore[index]
    # Kept on disk: the next build reads neither the image nor the emulator.
    [record] = (tmp_path / "b" / "markers").iterdir()
    assert json.loads(record.read_text()) == probed
