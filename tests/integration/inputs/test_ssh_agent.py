"""``--ssh``: the host's SSH agent answers inside the build container; no key is copied."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from builder.architectures import Architecture
from builder.credentials import ssh_forwarding
from builder.docker.container import BuildContainer
from builder.docker.engine import connect
from builder.ui import NullUI
from tests.support.engine_proxy import tcp_engine
from tests.support.standins import ensure_standin

pytestmark = pytest.mark.docker

# Ask the agent for its identities (SSH_AGENTC_REQUEST_IDENTITIES = 11); it answers 12.
AGENT_QUERY = """
import os, socket, struct
agent = socket.socket(socket.AF_UNIX)
agent.connect(os.environ["SSH_AUTH_SOCK"])
agent.sendall(struct.pack(">IB", 1, 11))
length = struct.unpack(">I", agent.recv(4))[0]
print(agent.recv(length)[0], sorted(os.listdir("/run/lambda-builder-ssh")))
"""


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[str]:
    if shutil.which("ssh-agent") is None:
        pytest.fail("ssh-agent is needed for this test (apt-get install openssh-client)")
    socket_path = str(tmp_path / "agent.sock")
    process = subprocess.Popen(
        ["ssh-agent", "-D", "-a", socket_path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            if Path(socket_path).exists():
                break
            time.sleep(0.05)
        yield socket_path
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_agent_socket_answers_inside_the_container(agent: str, tmp_path: Path) -> None:
    image = ensure_standin("python3.11", "x86_64")
    engine = connect()
    forwarding = ssh_forwarding(
        {"SSH_AUTH_SOCK": agent, "HOME": str(tmp_path)}, engine_is_local=engine.is_local
    )
    with BuildContainer(
        engine,
        image,
        Architecture.X86_64,
        environment=forwarding.environment,
        network_mode=None,
        volumes=forwarding.volumes,
        target="ssh-test",
        ui=NullUI(),
    ) as box:
        code, lines = box.run(["/var/lang/bin/python3", "-c", AGENT_QUERY])
        _, git_ssh = box.run(["sh", "-c", "echo $GIT_SSH_COMMAND"])
    assert code == 0, lines
    assert lines[-1] == "12 ['agent.sock']"  # the socket only: no key, no ~/.ssh
    assert "BatchMode=yes" in git_ssh[0]


def run_build(tmp_path: Path, env: dict[str, str]) -> Any:
    from tests.conftest import run_cli
    from tests.support.package_index import hermetic_pip_env

    (tmp_path / "app").mkdir(exist_ok=True)
    return run_cli(
        [
            "build",
            str(tmp_path / "app"),
            "--runtime",
            "python3.11",
            "--ssh",
            "-o",
            str(tmp_path / "out"),
        ],
        hermetic_pip_env(env),
    )


def test_ssh_without_an_agent_fails_before_any_container(tmp_path: Path) -> None:
    result = run_build(tmp_path, {"SSH_AUTH_SOCK": ""})
    assert result.returncode == 2
    assert "--ssh needs a running SSH agent" in result.stderr and "ssh-add" in result.stderr


def test_ssh_with_a_remote_engine_is_refused(agent: str, tmp_path: Path) -> None:
    with tcp_engine() as docker_host:
        result = run_build(tmp_path, {"SSH_AUTH_SOCK": agent, "DOCKER_HOST": docker_host})
    assert result.returncode == 2
    assert "cannot be mounted into a remote engine" in result.stderr
