"""The command line's parser: options and the LAMBDA_BUILDER_ variables behind them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from builder.cli.main import make_parser
from builder.version import __version__


def test_keyring_provider_defaults_to_pips_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_BUILDER_KEYRING_PROVIDER", raising=False)
    assert make_parser().parse_args(["build"]).keyring_provider is None  # pip's, else auto
    args = make_parser().parse_args(["build", "--keyring-provider", "subprocess"])
    assert args.keyring_provider == "subprocess"


def test_keyring_provider_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_BUILDER_KEYRING_PROVIDER", "disabled")
    assert make_parser().parse_args(["build"]).keyring_provider == "disabled"
    args = make_parser().parse_args(["build", "--keyring-provider", "import"])
    assert args.keyring_provider == "import"


@pytest.mark.parametrize("source", ["option", "environment"])
def test_an_unknown_keyring_provider_is_refused(
    source: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["build"]
    if source == "option":
        argv += ["--keyring-provider", "yes"]
    else:
        monkeypatch.setenv("LAMBDA_BUILDER_KEYRING_PROVIDER", "yes")
    with pytest.raises(SystemExit) as caught:
        make_parser().parse_args(argv)
    assert caught.value.code == 2
    assert "'yes' is not one of auto, disabled, import, subprocess" in capsys.readouterr().err


def test_the_console_script_exits_with_mains_code_and_still_runs_exit_handlers() -> None:
    """entry() freezes the heap before exit: handlers and output must not be lost for it."""
    code = (
        "import atexit, sys, tempfile, builder.cli\n"
        "cli = sys.modules['builder.cli.main']\n"
        "atexit.register(lambda: print('atexit ran'))\n"
        "kept = tempfile.TemporaryDirectory()\n"
        "print(kept.name)\n"
        "cli.main = lambda: 3\n"
        "sys.exit(cli.entry())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    directory, ran = done.stdout.splitlines()
    assert (done.returncode, ran) == (3, "atexit ran")
    assert not Path(directory).exists()  # TemporaryDirectory's finalizer still cleaned up


def test_version_is_printed_without_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        make_parser().parse_args(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"lambda-builder {__version__}"
