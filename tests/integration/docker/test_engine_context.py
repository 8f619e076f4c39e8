"""The engine chosen with `docker context use`, as the docker CLI itself stores the context."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from builder.docker.engine import engine_url
from builder.docker.engine_socket import socket_path
from tests.conftest import run_cli
from tests.support.standins import ensure_standin

pytestmark = pytest.mark.docker


def _use_context(config: Path, socket: str, env: dict[str, str]) -> None:
    for command in (
        ["docker", "context", "create", "lambda-builder-test", "--docker", f"host=unix://{socket}"],
        ["docker", "context", "use", "lambda-builder-test"],
    ):
        subprocess.run(command, env=env, check=True, capture_output=True)


def _build(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    tmp_path.mkdir()
    (tmp_path / "requirements.txt").write_text("needspure==1.0\n")
    return run_cli(
        [
            "build",
            "-r",
            str(tmp_path / "requirements.txt"),
            "-o",
            str(tmp_path / "out"),
            "--runtime",
            "python3.11",
            "--base-image",
            ensure_standin("python3.11", "x86_64"),
            "--arch",
            "x86_64",
            "--no-cache",
        ],
        env,
    )


@pytest.fixture
def context_env(pip_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """No DOCKER_HOST: the engine is whatever the (test-owned) docker configuration says."""
    config = tmp_path / "docker-config"
    config.mkdir()
    env = {k: v for k, v in pip_env.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    return {**env, "DOCKER_CONFIG": str(config)}


def test_a_build_reaches_the_engine_of_the_active_context(
    context_env: dict[str, str], tmp_path: Path
) -> None:
    engine_socket = socket_path(engine_url())
    assert engine_socket, "this test needs the engine on a unix socket, as .ci/setup-docker has it"
    link = tmp_path / "through-context.sock"
    link.symlink_to(engine_socket)
    _use_context(Path(context_env["DOCKER_CONFIG"]), str(link), context_env)

    result = _build(tmp_path / "build", context_env)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "build" / "out" / "needspure").is_dir()


def test_the_context_is_what_decides_even_when_its_engine_is_gone(
    context_env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "no-engine.sock"
    _use_context(Path(context_env["DOCKER_CONFIG"]), str(missing), context_env)

    result = _build(tmp_path / "build", context_env)

    assert result.returncode != 0
    assert f"no Docker engine answers at unix://{missing}" in result.stderr
    assert "docker context use" in result.stderr  # the hint
    assert not (tmp_path / "build" / "out").exists()
