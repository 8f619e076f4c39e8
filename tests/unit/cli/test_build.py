"""``build``'s arguments turned into a configuration: the container image options."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli.build import config_from_args, requests_from_args
from builder.cli.main import make_parser
from builder.config import ImageOptions
from builder.errors import UsageError


def parse(*argv: str) -> object:
    return make_parser().parse_args(["build", *argv])


def test_image_handler_and_push_make_image_options() -> None:
    args = parse("--image", "fn:v1", "--handler", "app.handler", "--push")
    config = config_from_args(args)  # type: ignore[arg-type]
    assert config.artifacts.image == ImageOptions(tag="fn:v1", handler="app.handler", push=True)
    assert config_from_args(parse()).artifacts.image is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--image", "fn"], "--image needs --handler"),
        (["--handler", "app.handler"], "--handler needs --image"),
        (["--push"], "--push needs --image"),
    ],
)
def test_image_options_come_together(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        config_from_args(parse(*argv))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "targets", [["--runtime", "python3.12,python3.13"], ["--arch", "x86_64,arm64"]]
)
def test_an_image_needs_exactly_one_target(targets: list[str], tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("")
    argv = [str(tmp_path), "--runtime", "python3.12", *targets, "--image", "fn", "--handler", "a.b"]
    args = parse(*argv)
    with pytest.raises(UsageError, match="one --runtime and one --arch"):
        requests_from_args(args, config_from_args(args), tmp_path)  # type: ignore[arg-type]


def test_one_target_given_twice_is_still_one_image(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("")
    argv = [str(tmp_path), "--runtime", "python3.12", "--arch", "arm64,aarch64"]
    args = parse(*argv, "--image", "fn", "--handler", "app.handler")
    [request] = requests_from_args(args, config_from_args(args), tmp_path)  # type: ignore[arg-type]
    assert request.config.artifacts.image is not None
