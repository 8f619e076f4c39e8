"""`build --backend buildx [--builder NAME] [--cache-to SPEC] [--cache-from SPEC]` as parsed."""

from __future__ import annotations

import pytest

from builder.cli.build import config_from_args
from builder.cli.main import make_parser
from builder.errors import UsageError


def test_default_backend_is_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_BUILDER_BACKEND", raising=False)
    config = config_from_args(make_parser().parse_args(["build"]))
    assert config.backend == "docker" and config.builder is None and config.cache_to == ()


def test_buildx_options_reach_the_config_verbatim_and_in_order() -> None:
    args = make_parser().parse_args(
        [
            "build",
            "--backend",
            "buildx",
            "--builder",
            "arm-pool",
            "--cache-to",
            "type=gha,mode=max",
            "--cache-from",
            "type=gha",
            "--cache-from",
            "type=registry,ref=example.com/cache",
        ]
    )
    config = config_from_args(args)
    assert (config.backend, config.builder) == ("buildx", "arm-pool")
    assert config.cache_to == ("type=gha,mode=max",)
    assert config.cache_from == ("type=gha", "type=registry,ref=example.com/cache")


def test_backend_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_BUILDER_BACKEND", "buildx")
    assert make_parser().parse_args(["build"]).backend == "buildx"


@pytest.mark.parametrize("flag", [["--builder", "x"], ["--cache-to", "type=inline"]])
def test_buildx_options_without_the_buildx_backend_are_refused(flag: list[str]) -> None:
    args = make_parser().parse_args(["build", *flag])
    with pytest.raises(UsageError, match="only apply to --backend buildx"):
        config_from_args(args)


def test_buildx_backend_and_no_container_exclude_each_other() -> None:
    args = make_parser().parse_args(["build", "--backend", "buildx", "--no-container"])
    with pytest.raises(UsageError, match="exclude each other"):
        config_from_args(args)


def test_unknown_backend_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        make_parser().parse_args(["build", "--backend", "kubernetes"])
    assert exited.value.code == 2 and "invalid choice" in capsys.readouterr().err
