"""pip calls forked from a server that imported pip once, run exactly as a new process would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pip
import pytest

from builder.incontainer import pip_client, pip_server
from builder.incontainer.passes import make_runner
from builder.incontainer.pip_commands import PIP_SHIM

SHIM = [sys.executable, "-m", PIP_SHIM]
SOURCE = Path(pip_server.__file__).read_text(encoding="utf-8")

Server = Callable[..., tuple[str, subprocess.Popen[str], str]]


@pytest.fixture
def start_server() -> Iterator[Server]:
    """Starts the server as a build container does (``python -c SOURCE SOCKET``)."""
    # A short directory: a unix socket's path has room for about 100 bytes.
    directory = tempfile.mkdtemp(prefix="lb-pip-")
    started: list[subprocess.Popen[str]] = []
    first_lines: list[str] = []

    def start(
        *flags: str, lazy: bool = False, env: dict[str, str] | None = None
    ) -> tuple[str, subprocess.Popen[str], str]:
        path = os.path.join(directory, f"pip-{len(started)}.sock")
        lazily = [pip_server.LAZY_FLAG] if lazy else []
        process = subprocess.Popen(
            [sys.executable, *flags, "-c", SOURCE, path, *lazily],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        # Its first line says whether it serves: it has imported pip and listens, or gave up.
        first_lines.append(process.stdout.readline())
        return path, process, first_lines[-1]

    yield start
    for process in started:
        process.kill()
        process.wait()
    shutil.rmtree(directory)


def served(path: str, argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    call = pip_client.start(path, argv, dict(os.environ) if env is None else env)
    assert call is not None, "the server did not take the call"
    output = call.stdout.read()
    return call.wait(), output


def spawned(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    done = subprocess.run(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    return done.returncode, done.stdout


def server_log(process: subprocess.Popen[str]) -> str:
    """What it said after its first line."""
    process.kill()
    assert process.stdout is not None
    return process.stdout.read()


def test_a_served_call_prints_and_exits_as_a_spawned_one(start_server: Server) -> None:
    path, process, _ = start_server()
    assert served(path, [*SHIM, "--version"]) == spawned([*SHIM, "--version"])
    assert "pip --version (process" in server_log(process)


def test_failures_keep_their_exit_code_output_and_working_directory(
    start_server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "requirements.txt").write_text("nothing-here==1.0\n")
    monkeypatch.chdir(tmp_path)  # the relative file is read from the caller's directory
    argv = [*SHIM, "download", "--no-index", "-r", "requirements.txt", "-d", "out"]
    path, _, _ = start_server()
    code, output = served(path, argv)
    assert (code, output) == spawned(argv)
    assert code == 1 and "No matching distribution found for nothing-here==1.0" in output


def test_each_call_sees_its_own_environment_and_no_other(start_server: Server) -> None:
    path, _, _ = start_server()
    argv = [*SHIM, "config", "list"]
    with_timeout = {**os.environ, "PIP_TIMEOUT": "7"}
    assert served(path, argv, with_timeout) == spawned(argv, with_timeout)
    assert ":env:.timeout='7'" in served(path, argv, with_timeout)[1]
    assert ":env:.timeout" not in served(path, argv)[1]


def fake_shim(root: Path, body: str) -> dict[str, str]:
    """A package whose ``pip_shim`` does ``body``: the server runs any ``*.pip_shim``."""
    package = root / "fakepkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "pip_shim.py").write_text(f"import os, sys, time\n\ndef main(argv):\n{body}")
    return {**os.environ, "PYTHONPATH": str(root)}


def test_a_crashing_call_is_reported_and_the_server_serves_the_next(
    start_server: Server, tmp_path: Path
) -> None:
    env = fake_shim(tmp_path, "    raise RuntimeError('boom')\n")
    path, _, _ = start_server()
    code, output = served(path, [sys.executable, "-m", "fakepkg.pip_shim"], env)
    assert code == 1 and "RuntimeError: boom" in output
    assert served(path, [*SHIM, "--version"])[0] == 0


def test_calls_run_side_by_side(start_server: Server, tmp_path: Path) -> None:
    """Each call waits for the other's file: both finish only if they run at the same time."""
    env = fake_shim(
        tmp_path / "code",
        "    mine, theirs = argv\n"
        "    open(mine, 'w').close()\n"
        "    deadline = time.monotonic() + 20\n"
        "    while not os.path.exists(theirs):\n"
        "        if time.monotonic() > deadline:\n"
        "            return 2\n"
        "        time.sleep(0.01)\n"
        "    print('met', theirs)\n"
        "    return 0\n",
    )
    path, _, _ = start_server()
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    argv = [sys.executable, "-m", "fakepkg.pip_shim"]
    results: dict[str, tuple[int, str]] = {}
    other = threading.Thread(
        target=lambda: results.update(second=served(path, [*argv, second, first], env))
    )
    other.start()
    results["first"] = served(path, [*argv, first, second], env)
    other.join()
    assert results == {"first": (0, f"met {second}\n"), "second": (0, f"met {first}\n")}


def test_calls_it_cannot_stand_in_for_are_declined(start_server: Server) -> None:
    path, _, _ = start_server()
    assert pip_client.start(path, [sys.executable, "-m", "json.tool"], dict(os.environ)) is None
    other_python = ["/usr/bin/env", "-m", PIP_SHIM, "--version"]
    assert pip_client.start(path, other_python, dict(os.environ)) is None
    assert served(path, [*SHIM, "--version"])[0] == 0  # and it still serves


def test_a_server_that_cannot_import_pip_stays_up_and_serves_nothing(
    start_server: Server,
) -> None:
    path, process, said = start_server("-I", "-S")  # no site-packages: no pip
    assert pip_client.start(path, [*SHIM, "--version"], dict(os.environ)) is None
    assert process.poll() is None  # still the container's first process
    assert not os.path.exists(path + pip_server.LOADING_SUFFIX)
    assert "not serving" in said and "No module named 'pip'" in said


def test_a_lazy_server_imports_pip_at_the_first_pip_call_only(
    start_server: Server, tmp_path: Path
) -> None:
    path, process, said = start_server(lazy=True)
    assert said.endswith("pip imported at the first call\n")
    # The fake shim imports nothing: pip is there because the server imported it first.
    env = fake_shim(tmp_path, "    print('pip?', 'pip' in sys.modules)\n    return 0\n")
    assert served(path, [sys.executable, "-m", "fakepkg.pip_shim"], env) == (0, "pip? True\n")
    assert f"lambda-builder pip server: pip {pip.__version__}\n" in server_log(process)


def test_a_lazy_server_without_pip_declines_every_call(start_server: Server) -> None:
    path, process, _ = start_server("-I", "-S", lazy=True)
    assert pip_client.start(path, [*SHIM, "--version"], dict(os.environ)) is None
    assert pip_client.start(path, [*SHIM, "--version"], dict(os.environ)) is None
    assert process.poll() is None
    assert "cannot import pip" in server_log(process)


def test_no_server_means_the_caller_spawns_pip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert pip_client.start("", [*SHIM, "--version"], {}) is None
    assert pip_client.start(str(tmp_path / "none.sock"), [*SHIM, "--version"], {}) is None
    # Still importing pip, then gone without listening: the caller stops waiting.
    (tmp_path / f"gone.sock{pip_server.LOADING_SUFFIX}").touch()
    monkeypatch.setattr(pip_server, "LOADING_WAIT", 0.2)
    assert pip_client.start(str(tmp_path / "gone.sock"), [*SHIM, "--version"], {}) is None


def test_the_pipeline_runner_sends_pip_calls_to_the_server(
    start_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, process, _ = start_server()
    monkeypatch.setenv(pip_server.SOCKET_VARIABLE, path)
    outcome = make_runner({}, verbose=False)([*SHIM, "--version"], {})
    assert outcome.returncode == 0 and outcome.tail[0].startswith("pip ")
    assert "pip --version (process" in server_log(process)
