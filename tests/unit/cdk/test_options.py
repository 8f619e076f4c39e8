"""FunctionBuild: the construct's options, checked when made and mapped onto the API's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.architectures import Architecture
from builder.cdk.options import FunctionBuild
from builder.errors import UsageError


def test_unknown_runtime_fails_when_the_construct_is_made() -> None:
    with pytest.raises(UsageError, match=r"python2\.7"):
        FunctionBuild(Path("."), runtime="python2.7")


def test_unknown_architecture_fails_when_the_construct_is_made() -> None:
    with pytest.raises(UsageError, match="sparc"):
        FunctionBuild(Path("."), architecture="sparc")


def test_options_reach_the_build_config_as_the_cli_would_set_them(tmp_path: Path) -> None:
    build = FunctionBuild(
        tmp_path,
        runtime="3.11",
        architecture="aarch64",
        slim=True,
        excludes=("*.md",),
        compile_bytecode=True,
        base_image="example.com/lambda/python:{version}{suffix}",
        index_url="http://127.0.0.1:1/simple/",
        use_cache=False,
    )
    config = build.config(tmp_path / "f.zip", ca_bundle=None)
    assert build.target == "python3.11/arm64"
    assert config.architecture is Architecture.ARM64
    assert config.artifacts.zip_path == tmp_path / "f.zip"
    assert config.artifacts.slim and config.artifacts.excludes == ("*.md",)
    assert config.compile_bytecode and not config.use_cache
    assert config.base_image == "example.com/lambda/python:{version}{suffix}"
    assert config.index.index_url == "http://127.0.0.1:1/simple/"
    assert config.use_container  # the construct never builds on the host


def test_paths_given_as_strings_become_paths(tmp_path: Path) -> None:
    build = FunctionBuild(str(tmp_path), input="uv.lock", cache_dir=str(tmp_path))  # type: ignore[arg-type]
    assert build.project_dir == tmp_path and build.input == Path("uv.lock")
    assert build.cache_dir == tmp_path
