"""A second Docker engine on 127.0.0.1, started by the tests: a remote buildx builder.

No ``moby/buildkit`` image can be pulled here, so the remote BuildKit is a second ``dockerd``
(it embeds BuildKit) with its own data and exec roots, reached over TCP through a docker
context, which buildx lists as a builder with the ``docker`` driver. It has no images of its
own: the ones a test needs are ``docker save``d into it.

It gets a bridge of its own: a dockerd started with ``--bridge=none`` deletes the host's
``docker0`` on start, which breaks every container of the main engine on the default
network. The teardown checks that network still works (and recreates ``docker0`` if it
went anyway), because other builds share the main engine.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BRIDGE = ("docker0", "172.17.0.1/16")


@dataclass(frozen=True)
class SecondEngine:
    url: str  # tcp://127.0.0.1:PORT
    context: str  # the docker context (and buildx builder) name
    data_root: Path  # everything the engine stores: images, layers, BuildKit's cache


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the second dockerd exited:\n{log.read_text()[-3000:]}")
        probe = subprocess.run(["docker", "-H", url, "info"], capture_output=True)
        if probe.returncode == 0:
            return
        time.sleep(1)
    raise RuntimeError(f"the second dockerd did not answer in 90 s:\n{log.read_text()[-3000:]}")


def _load(images: Sequence[str], url: str) -> None:
    save = subprocess.Popen(["docker", "save", *images], stdout=subprocess.PIPE)
    load = subprocess.run(["docker", "-H", url, "load"], stdin=save.stdout, capture_output=True)
    assert save.stdout is not None
    save.stdout.close()
    if save.wait() != 0 or load.returncode != 0:
        raise RuntimeError(f"loading {images} into {url} failed: {load.stderr.decode()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _unmount_below(root: Path) -> None:
    """The tmpfs, and mounts a killed engine may have left under its roots, innermost first."""
    with open("/proc/mounts", encoding="utf-8") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(str(root))]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def restore_default_bridge() -> bool:
    """Recreate the main engine's docker0 if it is gone; whether it had to."""
    name, address = DEFAULT_BRIDGE
    if _ip("link", "show", name, check=False).returncode == 0:
        return False
    _ip("link", "add", "name", name, "type", "bridge")
    _ip("addr", "add", address, "dev", name)
    _ip("link", "set", name, "up")
    return True


def main_engine_network_works(image: str) -> subprocess.CompletedProcess[str]:
    """A container of the main engine on its default bridge network."""
    environment = {
        k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")
    }
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "bridge", "--entrypoint", "true", image],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )


@contextlib.contextmanager
def second_engine(images: Sequence[str], probe_image: str) -> Iterator[SecondEngine]:
    """Start it, load ``images``, yield it; stop it and check the main engine afterwards."""
    if shutil.which("dockerd") is None or shutil.which("ip") is None:
        raise RuntimeError("a second engine needs dockerd and ip (iproute2) on this machine")
    # Short: containerd's socket lives under the exec root, and socket paths are limited.
    root = Path(tempfile.mkdtemp(prefix="lb-d2-", dir="/tmp"))
    # In memory: loading images is quicker, and removing a gigabyte of layers is one umount
    # instead of a long rmtree.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6g,mode=0700", "tmpfs", str(root)],
                   check=True, capture_output=True)  # fmt: skip
    suffix = uuid.uuid4().hex[:6]
    bridge, context = f"lbbx{suffix}", f"lambda-builder-test-remote-{suffix}"
    _ip("link", "add", "name", bridge, "type", "bridge")
    process: subprocess.Popen[bytes] | None = None
    problems: list[str] = []
    try:
        _ip(
            "addr",
            "add",
            f"10.{random.randint(200, 250)}.{random.randint(1, 250)}.1/24",
            "dev",
            bridge,
        )
        _ip("link", "set", bridge, "up")
        url = f"tcp://127.0.0.1:{_free_port()}"
        log = root / "dockerd.log"
        with log.open("wb") as stream:
            process = subprocess.Popen(
                [
                    "dockerd",
                    "--data-root", str(root / "data"),
                    "--exec-root", str(root / "x"),
                    "--pidfile", str(root / "pid"),
                    "-H", url,
                    f"--bridge={bridge}",
                    "--iptables=false",
                    "--ip6tables=false",
                ],
                stdout=stream,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        _wait_for(url, process, log)
        _load(images, url)
        subprocess.run(
            ["docker", "context", "create", context, "--docker", f"host={url}"],
            check=True,
            capture_output=True,
        )
        yield SecondEngine(url, context, root / "data")
    finally:
        subprocess.run(["docker", "context", "rm", "-f", context], capture_output=True)
        if process is not None:
            _stop(process)
        _ip("link", "del", bridge, check=False)
        _unmount_below(root)  # the tmpfs too
        shutil.rmtree(root, ignore_errors=True)
        if restore_default_bridge():
            problems.append("the second engine removed docker0 (recreated now)")
        check = main_engine_network_works(probe_image)
        if check.returncode != 0:
            problems.append(f"the main engine's default network broke: {check.stderr}")
    # Only when the test itself passed: cleanup must not hide the real error.
    assert not problems, problems
