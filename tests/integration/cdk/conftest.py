"""The uv workspace and dependency cache every CDK test shares (so later synths hit the cache)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.inputs.projects import run_tool, tool_env, write_uv_workspace
from tests.support.catalog import Catalog


@pytest.fixture(scope="session")
def workspace(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Members ``orders`` (src layout) and ``payments`` on ``shop-common``, locked by uv."""
    root = write_uv_workspace(tmp_path_factory.mktemp("cdk-uv") / "shop")
    home = root.parent / "home"
    run_tool(["uv", "lock", "--default-index", catalog.index.url], root, tool_env(home))
    return root


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cdk-cache")
