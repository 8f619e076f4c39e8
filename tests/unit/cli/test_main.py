"""The command line's parser: options and the LAMBDA_BUILDER_ variables behind them."""

from __future__ import annotations

import pytest

from builder.cli.main import make_parser


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
