"""``build --image`` checks made before anything is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.artifacts.container_image import check_options, has_handler_module
from builder.config import ImageOptions
from builder.errors import UsageError


@pytest.mark.parametrize("handler", ["app.handler", "pkg.mod.handler", "src/app.handler"])
def test_lambda_handler_spellings_are_accepted(handler: str) -> None:
    assert check_options(ImageOptions(tag="fn", handler=handler)) == "fn:latest"


@pytest.mark.parametrize("handler", ["app", "app.", ".handler", "app handler", "1app.h", "a-b.h"])
def test_a_handler_that_is_not_module_dot_function_is_refused(handler: str) -> None:
    with pytest.raises(UsageError, match=r"MODULE\.FUNCTION"):
        check_options(ImageOptions(tag="fn", handler=handler))


def test_the_handler_module_is_looked_for_in_the_bundle(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("")
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "fast.cpython-312-x86_64-linux-gnu.so").write_bytes(b"")
    assert has_handler_module(tmp_path, "app.handler")
    assert has_handler_module(tmp_path, "pkg.sub.handler")
    assert has_handler_module(tmp_path, "pkg/sub.handler")
    assert has_handler_module(tmp_path, "fast.handler")
    assert not has_handler_module(tmp_path, "missing.handler")
