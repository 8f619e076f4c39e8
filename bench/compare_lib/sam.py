"""SAM CLI in a virtualenv of its own and its build images made from the Lambda stand-ins."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from . import process
from .prereqs import PLATFORMS, standin_image

SAM_CLI = "aws-sam-cli==1.170.0"
IMAGE_REPOSITORY = "lambda-builder-bench/sam-build-python"
RECIPE_LABEL = "org.lambda-builder.bench.recipe"
DOCKERFILE = Path(__file__).resolve().parents[1] / "sam" / "Dockerfile"
# SAM mounts the directory of --manifest read-only here when it is not the CodeUri; a CA bundle
# beside the requirements reaches pip that way without being copied into the artifact (SAM has
# no option to mount anything else into its build container).
MANIFEST_MOUNT = "/tmp/samcli/manifest"
CA_NAME = "ca-bundle.crt"


def _checked(command: list[str], log: Path, environment: Mapping[str, str]) -> None:
    result = process.run_timed(command, log, environment)
    if not result.ok:
        raise process.SetupError(
            f"`{' '.join(command[:3])} ...` failed (exit {result.returncode}): {log}"
        )


def install_cli(tools_dir: Path, logs: Path, environment: Mapping[str, str]) -> Path:
    """``sam`` from PyPI in ``tools_dir/sam-cli``, reused when the pinned version is there."""
    venv = tools_dir / "sam-cli"
    sam = venv / "bin" / "sam"
    wanted = SAM_CLI.split("==")[1]
    if sam.is_file():
        try:
            if process.check_output([str(sam), "--version"], environment).endswith(wanted):
                return sam
        except (OSError, subprocess.CalledProcessError):
            pass
    _checked(
        [sys.executable, "-m", "venv", "--clear", str(venv)], logs / "sam-venv.log", environment
    )
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", SAM_CLI]
    _checked(pip, logs / "sam-install.log", environment)
    return sam


def lambda_builders_version(sam: Path) -> str:
    """The aws-lambda-builders version this SAM CLI depends on; its build image must match."""
    code = "import importlib.metadata as m; print(m.version('aws_lambda_builders'))"
    return process.check_output([str(sam.parent / "python"), "-c", code])


def _recipe(arch: str, builders_version: str) -> str:
    base_id = process.check_output(
        ["docker", "image", "inspect", "--format", "{{.Id}}", standin_image(arch)]
    )
    digest = hashlib.sha256(DOCKERFILE.read_bytes())
    digest.update(f"{builders_version}\0{base_id}".encode())
    return digest.hexdigest()[:16]


def _current_recipe(tag: str) -> str | None:
    template = '{{index .Config.Labels "' + RECIPE_LABEL + '"}}'
    try:
        return process.check_output(["docker", "image", "inspect", "--format", template, tag])
    except subprocess.CalledProcessError:
        return None


def ensure_image(
    arch: str, builders_version: str, ca_bundle: Path, logs: Path, environment: Mapping[str, str]
) -> str:
    """The SAM build image for ``arch``, built with buildx unless its recipe is unchanged."""
    tag = f"{IMAGE_REPOSITORY}:3.11{'-arm64' if arch == 'arm64' else ''}"
    recipe = _recipe(arch, builders_version)
    if _current_recipe(tag) == recipe:
        return tag
    command = [
        "docker", "buildx", "build", "--load", "--platform", PLATFORMS[arch],
        "--secret", f"id=ca,src={ca_bundle}",
        "--build-arg", f"BASE={standin_image(arch)}",
        "--build-arg", f"LAMBDA_BUILDERS_VERSION={builders_version}",
        "--label", f"{RECIPE_LABEL}={recipe}",
        "-f", str(DOCKERFILE), "-t", tag, str(DOCKERFILE.parent),
    ]  # fmt: skip
    _checked(command, logs / f"sam-image-{arch}.log", environment)
    return tag


def prepare_manifest(directory: Path, requirements: Path, ca_bundle: Path) -> Path:
    """Requirements and CA bundle side by side, outside the CodeUri; returns the manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = directory / "requirements.txt"
    manifest.write_bytes(requirements.read_bytes())
    (directory / CA_NAME).write_bytes(ca_bundle.read_bytes())
    return manifest


def build_command(
    sam: Path, image: str, template: Path, build_dir: Path, manifest: Path
) -> list[str]:
    return [
        str(sam), "build", "--use-container",
        "--build-image", image,
        # No registry to pull from: without this SAM tries, fails and falls back, every build.
        "--skip-pull-image",
        "--template-file", str(template),
        "--build-dir", str(build_dir),
        "--manifest", str(manifest),
        "--container-env-var", f"PIP_CERT={MANIFEST_MOUNT}/{CA_NAME}",
    ]  # fmt: skip
