"""Git repositories for VCS dependencies, served read-only over git's dumb HTTP on 127.0.0.1.

A ``git+file://`` URL names a host path a build container does not have; plain HTTP on
loopback reaches both the host and a container on a local engine (which shares the host
network), needs no git daemon, and is what ``git update-server-info`` prepares a bare
repository for.
"""

from __future__ import annotations

import functools
import os
import subprocess
import textwrap
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

# Commits whatever this machine's git configuration says: no user, system or signing config.
GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "lambda-builder tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "lambda-builder tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_TERMINAL_PROMPT": "0",
}


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


def publish_repository(root: Path, name: str, files: dict[str, str]) -> str:
    """Commit ``files`` on ``main`` and publish a bare ``root/NAME.git``; return the commit."""
    work = root / f"{name}-work"
    for relative, text in files.items():
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    git("init", "--quiet", "--initial-branch", "main", ".", cwd=work)
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "--no-gpg-sign", "--message", "first", cwd=work)
    git("clone", "--quiet", "--bare", str(work), str(root / f"{name}.git"), cwd=root)
    git("update-server-info", cwd=root / f"{name}.git")
    return git("rev-parse", "HEAD", cwd=work)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class GitServer:
    """Serves ``root`` (the bare repositories in it) on an ephemeral 127.0.0.1 port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        handler = functools.partial(_QuietHandler, directory=str(root))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{name}.git"

    def __enter__(self) -> GitServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
