"""Node.js is checked before aws_cdk is imported, so its absence is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cdk.nodejs import node_executable, require_node
from builder.errors import UsageError


def test_missing_node_is_a_usage_error_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JSII_NODE", raising=False)
    with pytest.raises(UsageError, match=r"Node\.js not found") as caught:
        require_node()
    assert caught.value.hint and "JSII_NODE" in caught.value.hint


def test_jsii_node_names_the_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = tmp_path / "my-node"
    node.write_text("#!/bin/sh\n")
    node.chmod(0o755)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("JSII_NODE", str(node))
    assert node_executable() == str(node)
    require_node()
