"""Shared fixtures: the local package index, hermetic pip settings, Docker availability."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.catalog import Catalog, build_catalog
from tests.support.package_index import PackageIndex, hermetic_pip_env

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUIRE_DOCKER = os.environ.get("LAMBDA_BUILDER_REQUIRE_DOCKER") == "1"


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env().ping()
    except Exception:
        return False
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Docker tests fail loudly when CI asks for them and no engine answers; never skip there."""
    if any(item.get_closest_marker("docker") for item in items) and not _docker_answers():
        if REQUIRE_DOCKER:
            raise pytest.UsageError(
                "LAMBDA_BUILDER_REQUIRE_DOCKER=1 but no Docker engine answers: "
                "run .ci/setup-docker (or start Docker) first"
            )
        skip = pytest.mark.skip(
            reason="no Docker engine (set LAMBDA_BUILDER_REQUIRE_DOCKER=1 to make this an error)"
        )
        for item in items:
            if item.get_closest_marker("docker"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    """Every fixture package, served from one PEP 503 index on 127.0.0.1."""
    root = tmp_path_factory.mktemp("index")
    cache = REPO_ROOT / ".pytest_cache" / "d" / "lambda-builder-tool-wheels"
    built = build_catalog(tmp_path_factory.mktemp("dists"), cache)
    with PackageIndex(root) as index:
        index.add_all(built.files)
        built.index = index
        yield built


# What of this machine a test must never see unless it plants it: pip, uv, Poetry and pipenv
# settings, netrc, keyrings, AWS profiles and Docker contexts (DOCKER_HOST, the engine under
# test, stays).
MACHINE_PREFIXES = ("PIP_", "UV_", "POETRY_", "PIPENV_", "AWS_")
MACHINE_VARIABLES = ("NETRC", "DOCKER_CONTEXT", "DOCKER_CONFIG", "PYTHON_KEYRING_BACKEND")


def hermetic_environment(environ: dict[str, str], scratch: Path) -> None:
    """Point every configuration lookup of the tools under test at empty, test-owned places."""
    for key in list(environ):
        if key.startswith(MACHINE_PREFIXES) or key in MACHINE_VARIABLES:
            del environ[key]
    for name in ("config", "config-dirs", "docker", "aws"):
        (scratch / name).mkdir(parents=True, exist_ok=True)
    for name in ("config", "credentials"):
        (scratch / "aws" / name).write_text("")
    environ.update(
        {
            # pip reads /etc/pip.conf whatever XDG says; only PIP_CONFIG_FILE=/dev/null stops it.
            "PIP_CONFIG_FILE": os.devnull,
            "XDG_CONFIG_HOME": str(scratch / "config"),
            "XDG_CONFIG_DIRS": str(scratch / "config-dirs"),
            "XDG_CACHE_HOME": str(scratch / "cache"),
            "NETRC": str(scratch / "no-netrc"),
            "DOCKER_CONFIG": str(scratch / "docker"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            # boto3 reads no ~/.aws and never asks an instance metadata service off this host.
            "AWS_CONFIG_FILE": str(scratch / "aws" / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "aws" / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )


def pytest_configure(config: pytest.Config) -> None:
    """A hermetic environment, and caches of this test session only.

    Set in the environment, every build a test starts inherits them, however it builds its env,
    so no test passes (or fails) on this machine's configuration or another run's leftovers.
    """
    hermetic_environment(os.environ, Path(tempfile.mkdtemp(prefix="lambda-builder-test-home-")))
    prefix = f"lambda-builder-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    os.environ["LAMBDA_BUILDER_CACHE_VOLUME"] = prefix
    os.environ["LAMBDA_BUILDER_CACHE_DIR"] = tempfile.mkdtemp(prefix="lambda-builder-test-cache-")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(os.environ.get("LAMBDA_BUILDER_CACHE_DIR", ""), ignore_errors=True)
    prefix = os.environ.get("LAMBDA_BUILDER_CACHE_VOLUME", "")
    if prefix.startswith("lambda-builder-test-") and _docker_answers():
        import docker

        for volume in docker.from_env().volumes.list(filters={"name": prefix}):
            volume.remove(force=True)


@pytest.fixture
def pip_env(catalog: Catalog) -> dict[str, str]:
    """An environment where pip sees only the local index, whatever this host configures."""
    return hermetic_pip_env({"PIP_INDEX_URL": catalog.index.url})


def _cli_command(args: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    return [sys.executable, "-m", "builder", *args], {**env, "PYTHONPATH": str(REPO_ROOT)}


def run_cli(
    args: list[str], env: dict[str, str], cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """The real command line, in a fresh interpreter, as a user would run it."""
    command, env = _cli_command(args, env)
    return subprocess.run(
        command, env=env, cwd=cwd or REPO_ROOT, capture_output=True, text=True, timeout=timeout
    )


def start_cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """The same command line, left running (to be interrupted), its output piped."""
    command, env = _cli_command(args, env)
    return subprocess.Popen(
        command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture
def hermetic(monkeypatch: pytest.MonkeyPatch, pip_env: dict[str, str]) -> None:
    """In-process builds run pip with this process's environment: only the local index."""
    for key in [k for k in os.environ if k.startswith("PIP_")]:
        monkeypatch.delenv(key)
    for key, value in pip_env.items():
        if key.startswith("PIP_"):
            monkeypatch.setenv(key, value)


@pytest.fixture
def cli(pip_env: dict[str, str]):  # type: ignore[no-untyped-def]
    def run(
        *args: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return run_cli(list(args), {**pip_env, **(env or {})}, cwd)

    return run
