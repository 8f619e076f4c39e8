"""build-all with real containers: three functions on x86_64 and arm64, two sharing dependencies."""

from __future__ import annotations

import contextlib
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from tests.support.functions_workspace import write_functions_workspace
from tests.support.standins import ensure_standin

pytestmark = [pytest.mark.docker, pytest.mark.emulation]

ARCHS = ("x86_64", "arm64")


@pytest.fixture(scope="module")
def template() -> str:
    ensure_standin("python3.11", "arm64")
    base = ensure_standin("python3.11", "x86_64").rsplit(":", 1)[0]
    return f"{base}:{{version}}{{suffix}}"


def build_all(cli: Any, root: Path, template: str, run: str) -> tuple[Any, dict[str, Any]]:
    report = root / f"report-{run}.json"
    result = cli(
        "build-all", "--manifest", str(root / "lambda-builder.toml"), "--jobs", "2",
        "--base-image", template, "-o", str(root / "out"), "--report", str(report),
        env={"LAMBDA_BUILDER_CACHE_DIR": str(root / "cache")},
    )  # fmt: skip
    assert report.is_file(), result.stderr
    return result, json.loads(report.read_text())


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {target["id"]: target for target in report["targets"]}


def test_shared_dependencies_build_once_per_arch_and_a_failure_fails_alone(
    cli: Any, tmp_path: Path, template: str
) -> None:
    root = tmp_path
    write_functions_workspace(root)
    result, report = build_all(cli, root, template, "first")
    assert result.returncode == 0, result.stderr
    targets = by_id(report)
    assert len(targets) == 6 and report["ok"]
    groups = {tuple(g["targets"]): g for g in report["shared_dependency_builds"]}
    for arch in ARCHS:
        api, web = f"api/python3.11/{arch}", f"web/python3.11/{arch}"
        group = groups[(api, web)]
        assert group["builds"] == 1 and len(group["built_by"]) == 1
        assert {targets[api]["dependencies"], targets[web]["dependencies"]} == {"miss", "shared"}
        assert targets[api]["report"]["dependency_key"] == targets[web]["report"]["dependency_key"]
        assert targets[f"jobs/python3.11/{arch}"]["dependencies"] == "miss"
        wheels = {p["name"]: p["wheel"] for p in targets[api]["report"]["packages"]}
        machine = "aarch64" if arch == "arm64" else "x86_64"
        assert wheels["m224pkg"].endswith(f"manylinux_2_24_{machine}.whl")
    assert len(groups) == 2  # jobs shares with nobody
    assert "reusing the build" in result.stderr and "web/python3.11/" in result.stderr
    assert result.stdout.splitlines()[0].split()[:4] == ["target", "runtime", "arch", "status"]

    out = root / "out"
    for arch in ARCHS:
        for name in ("api", "web"):
            bundle = out / name / f"python3.11-{arch}"
            assert (bundle / "purepkg").is_dir() and (bundle / "m224pkg").is_dir()
            assert f"return {name!r}" in (bundle / "app.py").read_text()
            with zipfile.ZipFile(out / name / f"python3.11-{arch}.zip") as archive:
                assert "app.py" in archive.namelist()
        assert not (out / "jobs" / f"python3.11-{arch}").exists()  # outputs = ["zip"] only
        with zipfile.ZipFile(out / "jobs" / f"python3.11-{arch}.zip") as archive:
            assert any(n.startswith("hashpkg/") for n in archive.namelist())
    good_zip = (out / "jobs" / "python3.11-arm64.zip").read_bytes()

    # One target's requirements go bad: it fails, keeps its last good zip, the others build.
    (root / "functions" / "jobs" / "requirements.txt").write_text("nosuchpkg==9.9\n")
    (root / "functions" / "api" / "app.py").write_text("def handler(e, c):\n    return 'v2'\n")
    result, report = build_all(cli, root, template, "second")
    assert result.returncode == 1, result.stderr
    targets = by_id(report)
    assert not report["ok"]
    for arch in ARCHS:
        failed = targets[f"jobs/python3.11/{arch}"]
        assert failed["report"]["status"] == "missing" and failed["dependencies"] == "failed"
        assert [m["name"] for m in failed["report"]["missing"]] == ["nosuchpkg"]
        for name in ("api", "web"):
            assert targets[f"{name}/python3.11/{arch}"]["report"]["status"] == "ok"
            assert targets[f"{name}/python3.11/{arch}"]["dependencies"] == "hit"
        assert "'v2'" in (out / "api" / f"python3.11-{arch}" / "app.py").read_text()
    assert (out / "jobs" / "python3.11-arm64.zip").read_bytes() == good_zip
    assert "2 failed" in result.stdout.splitlines()[-1]


def test_image_outputs_are_tagged_per_target_and_run_the_handler(
    cli: Any, tmp_path: Path, template: str
) -> None:
    write_functions_workspace(tmp_path)
    tag = f"lambda-builder-test/build-all-{uuid.uuid4().hex[:8]}"
    (tmp_path / "lambda-builder.toml").write_text(
        f"""
[functions.api]
runtime = "python3.11"
source = "functions/api"
outputs = ["image"]
image = "{tag}:{{arch}}"
handler = "app.handler"
"""
    )
    client = docker.from_env()
    try:
        result, report = build_all(cli, tmp_path, template, "image")
        assert result.returncode == 0, result.stderr
        [target] = report["targets"]
        assert target["report"]["container_image"]["tag"] == f"{tag}:x86_64"
        output = client.containers.run(
            f"{tag}:x86_64",
            entrypoint="/var/lang/bin/python3",
            command=["-c", "import app, purepkg; print(app.handler(None, None))"],
            working_dir="/var/task",
            remove=True,
        )
        assert output.decode().strip() == "api"
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.images.remove(f"{tag}:x86_64", force=True)
