"""The package layout is a contract: imports flow one way (cli -> api -> gateways -> core)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "builder"
GATEWAYS = (
    "builder.artifacts",
    "builder.aws",
    "builder.docker",
    "builder.host",
    "builder.inputs",
)

# What each part of the package must never import (prefixes of module names).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "core": ("builder.cli", "builder.api", "builder.layer_publication", *GATEWAYS),
    "builder.inputs": (
        "builder.cli",
        "builder.api",
        "builder.artifacts",
        "builder.docker",
        "builder.host",
    ),
    "builder.host": (
        "builder.cli",
        "builder.api",
        "builder.artifacts",
        "builder.docker",
        "builder.inputs",
    ),
    "builder.docker": ("builder.cli", "builder.api", "builder.artifacts", "builder.inputs"),
    "builder.artifacts": ("builder.cli", "builder.api", "builder.inputs", "builder.host"),
    "builder.aws": (
        "builder.cli",
        "builder.api",
        "builder.artifacts",
        "builder.docker",
        "builder.host",
        "builder.inputs",
        "builder.layer_publication",
    ),
    "builder.api": ("builder.cli",),
    # publish-layer's steps: beside the API, over the build and the gateways it is handed.
    "builder.layer_publication": ("builder.cli", "builder.aws"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    for part in FORBIDDEN:
        if module == part or module.startswith(part + "."):
            return part
    return "core"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def host_modules() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if "incontainer" not in path.parts
        and module_name(path) not in ("builder", "builder.__main__")
        and not module_name(path).startswith("builder.cli")
    ]


@pytest.mark.parametrize("path", host_modules(), ids=module_name)
def test_module_imports_only_downwards(path: Path) -> None:
    forbidden = FORBIDDEN[part_of(module_name(path))]
    wrong = sorted(
        name
        for name in imported_modules(path)
        if any(name == prefix or name.startswith(prefix + ".") for prefix in forbidden)
    )
    assert not wrong, f"{module_name(path)} must not import {wrong}"


def test_incontainer_program_never_imports_the_host_side() -> None:
    for path in sorted((PACKAGE / "incontainer").rglob("*.py")):
        wrong = sorted(name for name in imported_modules(path) if name.startswith("builder"))
        assert not wrong, f"{path} imports {wrong}: it is staged under another name"


def test_only_the_docker_package_imports_the_docker_sdk() -> None:
    users = sorted(
        module_name(path)
        for path in PACKAGE.rglob("*.py")
        if any(name == "docker" or name.startswith("docker.") for name in imported_modules(path))
    )
    assert users and all(name.startswith("builder.docker.") for name in users), users


def test_only_the_aws_package_imports_boto3() -> None:
    sdks = ("boto3", "botocore", "mypy_boto3_s3", "mypy_boto3_lambda")
    users = sorted(
        module_name(path)
        for path in PACKAGE.rglob("*.py")
        if any(name.split(".")[0] in sdks for name in imported_modules(path))
    )
    assert users and all(name.startswith("builder.aws.") for name in users), users


def test_every_package_says_what_it_owns() -> None:
    for init in sorted(PACKAGE.rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc, f"{init} has no docstring"
