"""build-all from ``[tool.lambda-builder]`` in a uv workspace: members as functions (host mode)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.integration.inputs.projects import run_tool, tool_env, write_uv_workspace
from tests.integration.inputs.test_uv_workspace import call_handler
from tests.support.catalog import Catalog

TABLE = """
[tool.lambda-builder.defaults]
runtime = "python3.11"

[tool.lambda-builder.functions.orders]
package = "orders"
handler = "orders.handler.handler"

[tool.lambda-builder.functions.payments]
package = "payments"
outputs = ["dir"]

[tool.lambda-builder.layers.common]
input = "packages/common/pyproject.toml"
"""


def test_workspace_members_build_from_the_pyproject_table(catalog: Catalog, tmp_path: Path) -> None:
    home = tmp_path / "home"
    root = write_uv_workspace(tmp_path / "shop")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + TABLE)
    run_tool(["uv", "lock", "--default-index", catalog.index.url], root, tool_env(home))
    report = tmp_path / "report.json"
    result = run_cli(
        ["build-all", "-o", str(tmp_path / "out"), "--report", str(report), "--no-container"],
        tool_env(home, {"PIP_INDEX_URL": catalog.index.url}),
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(report.read_text())
    assert data["manifest"] == str(pyproject)
    assert [t["id"] for t in data["targets"]] == [
        "orders/python3.11/x86_64",
        "payments/python3.11/x86_64",
        "common/python3.11/x86_64",
    ]
    out = tmp_path / "out"
    for member in ("orders", "payments"):
        assert call_handler(out / member / "python3.11-x86_64", f"{member}.handler") == (
            f"hello {member} from shop_common with needspure 1.0"
        )
    assert (out / "orders" / "python3.11-x86_64.zip").is_file()
    assert not (out / "payments" / "python3.11-x86_64.zip").exists()  # outputs = ["dir"]
    layer = {p["name"] for p in data["targets"][2]["report"]["packages"]}
    assert layer == {"shop-common", "needspure", "purepkg"}  # the library, built into a wheel
    assert (out / "common" / "python3.11-x86_64-layer.zip").is_file()
