"""uv.lock: the export command, path rewriting, workspace members, and a fake uv."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from builder.errors import InputError, UsageError
from builder.inputs.uv_lock import (
    UvProject,
    absolute_paths,
    check_package,
    convert,
    export_command,
)

LOCK = {
    "manifest": {"members": ["common", "fn-a"]},
    "package": [
        {"name": "common", "version": "0.1.0", "source": {"editable": "packages/common"}},
        {"name": "fn-a", "version": "0.1.0", "source": {"editable": "packages/fn-a"}},
        {
            "name": "needspure",
            "version": "1.0",
            "source": {"registry": "http://127.0.0.1:9/simple/"},
        },
        {"name": "root", "version": "0.1.0", "source": {"virtual": "."}},
    ],
}


def test_dev_groups_are_left_out_unless_named() -> None:
    command = export_command("uv", groups=["test"], extras=["x"], package="fn-a")
    assert command[:3] == ["uv", "export", "--locked"]
    assert "--no-default-groups" in command and "--no-editable" in command
    assert command[-6:] == ["--group", "test", "--extra", "x", "--package", "fn-a"]


def test_workspace_paths_become_absolute(tmp_path: Path) -> None:
    exported = (
        "./packages/common\n. ; sys_platform == 'linux'\nneedspure==1.0 \\\n"
        "    --hash=sha256:aa\n../outside\n"
    )
    rewritten = absolute_paths(exported, tmp_path / "ws")
    assert rewritten.splitlines() == [
        str(tmp_path / "ws" / "packages" / "common"),
        f"{tmp_path / 'ws'} ; sys_platform == 'linux'",
        "needspure==1.0 \\",
        "    --hash=sha256:aa",
        str(tmp_path / "outside"),
    ]


def test_members_come_from_the_lock_manifest(tmp_path: Path) -> None:
    project = UvProject(tmp_path, {}, LOCK)
    assert project.members == {
        "common": tmp_path / "packages" / "common",
        "fn-a": tmp_path / "packages" / "fn-a",
    }
    check_package(project, "FN_A")
    with pytest.raises(UsageError, match="members: common, fn-a"):
        check_package(project, "fn-c")


def fake_uv(tmp_path: Path, locked_ok: bool) -> Path:
    """A stand-in uv that fails ``--locked`` (stale) or prints a small export."""
    script = tmp_path / "uv"
    script.write_text(
        textwrap.dedent(f"""\
        #!/bin/sh
        case "$*" in
          *--locked*) {"" if locked_ok else "echo 'The lockfile needs to be updated' >&2; exit 2"};;
        esac
        printf './packages/fn-a\\n./packages/common\\nneedspure==1.0 --hash=sha256:aa\\n'
        """)
    )
    script.chmod(0o755)
    return script


def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    for member in ("common", "fn-a"):
        (root / "packages" / member).mkdir(parents=True)
        (root / "packages" / member / "pyproject.toml").write_text(
            f'[project]\nname = "{member}"\nversion = "0.1.0"\n'
            '[build-system]\nbuild-backend = "setuptools.build_meta"\n'
        )
    (root / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["packages/*"]\n')
    lock = root / "uv.lock"
    lock.write_text(
        'version = 1\n[manifest]\nmembers = ["common", "fn-a"]\n'
        '[[package]]\nname = "common"\nversion = "0.1.0"\n'
        'source = { editable = "packages/common" }\n'
        '[[package]]\nname = "fn-a"\nversion = "0.1.0"\n'
        'source = { editable = "packages/fn-a" }\n'
        '[[package]]\nname = "needspure"\nversion = "1.0"\n'
        'source = { registry = "http://127.0.0.1:9/simple/" }\n'
    )
    return lock


def test_member_export_builds_local_packages_and_pins_the_rest(tmp_path: Path) -> None:
    lock = workspace(tmp_path)
    environ = {"LAMBDA_BUILDER_UV": str(fake_uv(tmp_path, locked_ok=True))}
    converted = convert(
        lock, tmp_path / "scratch", groups=(), extras=(), package="fn-a", environ=environ
    )
    texts = [pin.text for pin in converted.draft.pins]
    assert texts == [
        str(lock.parent / "packages" / "fn-a"),
        str(lock.parent / "packages" / "common"),
        "needspure==1.0",
    ]
    assert [pin.is_directory for pin in converted.draft.pins] == [True, True, False]
    assert converted.application is None  # fn-a is a package: built, not copied
    [index] = converted.draft.indexes
    assert index.url == "http://127.0.0.1:9/simple/" and index.default


def test_stale_lock_fails_with_uvs_reason_and_the_fix(tmp_path: Path) -> None:
    lock = workspace(tmp_path)
    environ = {"LAMBDA_BUILDER_UV": str(fake_uv(tmp_path, locked_ok=False))}
    with pytest.raises(InputError, match="out of date") as caught:
        convert(lock, tmp_path / "scratch", groups=(), extras=(), package="fn-a", environ=environ)
    assert "needs to be updated" in str(caught.value)
    assert "uv lock" in (caught.value.hint or "")


def test_missing_uv_says_how_to_get_it(tmp_path: Path) -> None:
    lock = workspace(tmp_path)
    environ = {"LAMBDA_BUILDER_UV": str(tmp_path / "no-such-uv")}
    with pytest.raises(InputError, match="cannot run") as caught:
        convert(lock, tmp_path / "scratch", groups=(), extras=(), package="fn-a", environ=environ)
    assert "pip install uv" in (caught.value.hint or "")


def test_member_that_is_not_a_package_is_copied_not_built(tmp_path: Path) -> None:
    lock = workspace(tmp_path)
    member = lock.parent / "packages" / "fn-a"
    (member / "pyproject.toml").write_text(
        '[project]\nname = "fn-a"\nversion = "0.1.0"\n[tool.uv]\npackage = false\n'
    )
    environ = {"LAMBDA_BUILDER_UV": str(fake_uv(tmp_path, locked_ok=True))}
    converted = convert(
        lock, tmp_path / "scratch", groups=(), extras=(), package="fn-a", environ=environ
    )
    assert converted.application == member
