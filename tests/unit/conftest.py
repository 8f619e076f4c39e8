"""Unit tests never read this machine's configuration: pip's site files are test-owned."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder import pip_settings


@pytest.fixture(autouse=True)
def site_config(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> list[Path]:
    """Stand-ins for ``/etc/xdg/pip`` and ``/etc``: empty unless a test writes a file there."""
    root = tmp_path_factory.mktemp("site-config")
    directories = [root / "xdg" / "pip", root / "etc"]
    monkeypatch.setattr(pip_settings, "site_config_dirs", lambda environ: directories)
    return directories
