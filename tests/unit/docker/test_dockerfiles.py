"""The two builder Dockerfiles are twins that differ only where the architecture requires."""

from __future__ import annotations

import difflib
import importlib.metadata
import importlib.util
from pathlib import Path

from builder.architectures import Architecture
from builder.docker import bundled_pip
from builder.docker.image import builder_stage, definition_files, image_tag

ROOT = Path(__file__).resolve().parents[3]
_PIP_SPEC = importlib.util.find_spec("pip")
assert _PIP_SPEC is not None and _PIP_SPEC.origin is not None
PIP_PACKAGE = Path(_PIP_SPEC.origin).parent


def _normalise(text: str, platform: str, suffix: str, arch: str) -> str:
    return (
        text.replace(platform, "PLATFORM")
        .replace(f"3.12{suffix}", "3.12SUFFIX")
        .replace(arch, "ARCH")
    )


def test_dockerfiles_differ_only_in_platform_base_tag_and_name() -> None:
    x86 = (ROOT / "Dockerfile.x86_64").read_text()
    arm = (ROOT / "Dockerfile.arm64").read_text()
    assert x86 != arm
    assert "--platform=linux/amd64" in x86 and "--platform=linux/arm64" in arm
    assert "python:3.12-arm64" in arm and "python:3.12-arm64" not in x86
    left = _normalise(x86, "linux/amd64", "", "x86_64")
    right = _normalise(arm, "linux/arm64", "-arm64", "arm64")
    assert left == right, "\n".join(difflib.unified_diff(left.splitlines(), right.splitlines()))


def test_dockerfiles_override_the_lambda_entrypoint() -> None:
    for name in ("Dockerfile.x86_64", "Dockerfile.arm64"):
        stage = builder_stage((ROOT / name).read_bytes()).decode()
        assert "ENTRYPOINT []" in stage
        assert "images/install-toolchain.sh" in stage
        assert "standalone" not in stage.split("FROM", 1)[1].split("\n", 1)[0]


def test_builder_image_tag_follows_content_and_base() -> None:
    files = definition_files(Architecture.ARM64)
    tag = image_tag(files, "base:1", "sha256:a")
    assert tag == image_tag(dict(files), "base:1", "sha256:a")
    assert tag != image_tag(files, "base:1", "sha256:b")
    assert tag != image_tag(files, "base:2", "sha256:a")
    changed = {**files, "images/install-toolchain.sh": b"echo changed"}
    assert tag != image_tag(changed, "base:1", "sha256:a")
    assert tag.startswith("lambda-builder/builder:")


def test_builder_image_tag_follows_the_bundled_pip() -> None:
    files = definition_files(Architecture.X86_64)
    tag = image_tag(files, "base:1", "sha256:a", bundled_pip.identity())
    assert tag != image_tag(files, "base:1", "sha256:a", "pip 0.1\0")
    assert tag == image_tag(files, "base:1", "sha256:a", bundled_pip.identity())


def test_the_bundled_pip_is_this_installations_pip_without_bytecode() -> None:
    files = bundled_pip.context_files()
    version = importlib.metadata.version("pip")
    assert f"Version: {version}" in files["images/pip/METADATA"].decode()
    assert files["images/pip/pip/__init__.py"] == (PIP_PACKAGE / "__init__.py").read_bytes()
    assert "images/pip/pip/_internal/cli/main.py" in files
    assert not [name for name in files if "__pycache__" in name or name.endswith(".pyc")]
    assert bundled_pip.identity().startswith(f"pip {version}\0")


def test_dockerfiles_install_the_bundled_pip_in_its_own_layer() -> None:
    for name in ("Dockerfile.x86_64", "Dockerfile.arm64"):
        stage = builder_stage((ROOT / name).read_bytes()).decode()
        toolchain = stage.index("install-toolchain.sh\n")
        assert toolchain < stage.index("RUN sh /opt/lambda-builder/images/install-pip.sh")
