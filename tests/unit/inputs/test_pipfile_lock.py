"""Pipfile.lock: pipenv's Pipfile hash (old and new), categories, entries and sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from builder.errors import InputError, UsageError
from builder.inputs.draft import render
from builder.inputs.pipfile_lock import categories, convert, entry_pin, pipfile_hash
from builder.inputs.project import load_toml

# Written by hand, then locked by real pipenv: 2026.10.3 recorded the canonical-name hash,
# 2023.12.1 (plette's original algorithm) computes the as-written one.
PIPFILE = """\
[[source]]
url = "http://127.0.0.1:40977/simple/"
verify_ssl = false
name = "local"

[packages]
helperlib = "==2.0"
SixIsh = {version = "*", markers = "python_version >= '3.8'"}

[dev-packages]
devtool = "*"

[docs]
extradep = "*"
"""
PIPENV_2026_HASH = "42a5f50c74804f6b9f11b508c33efed74c96b97560e62b2fe1c55978bf5b82c3"
PIPENV_2023_HASH = "2a1e40127b5030d41f7c1d96f2f9107d352b9b43a5e805ebd0599c10359786e4"


def write_project(tmp_path: Path, recorded_hash: str) -> Path:
    (tmp_path / "Pipfile").write_text(PIPFILE)
    lock = {
        "_meta": {
            "hash": {"sha256": recorded_hash},
            "pipfile-spec": 6,
            "requires": {},
            "sources": [
                {"name": "local", "url": "http://127.0.0.1:40977/simple/", "verify_ssl": False}
            ],
        },
        "default": {
            "helperlib": {"hashes": ["sha256:37cb"], "index": "local", "version": "==2.0"},
            "sixish": {
                "hashes": ["sha256:de89"],
                "markers": "python_version >= '3.8'",
                "version": "==1.1",
            },
        },
        "develop": {"devtool": {"hashes": ["sha256:10e2"], "index": "local", "version": "==0.5"}},
        "docs": {"extradep": {"hashes": ["sha256:ce49"], "index": "local", "version": "==3.0"}},
    }
    path = tmp_path / "Pipfile.lock"
    path.write_text(json.dumps(lock, indent=4))
    return path


def test_pipfile_hash_matches_what_pipenv_recorded(tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text(PIPFILE)
    pipfile = load_toml(tmp_path / "Pipfile")
    assert pipfile_hash(pipfile, canonicalize_name) == PIPENV_2026_HASH
    assert pipfile_hash(pipfile) == PIPENV_2023_HASH


@pytest.mark.parametrize("recorded", [PIPENV_2026_HASH, PIPENV_2023_HASH])
def test_default_category_only_unless_a_group_is_asked(tmp_path: Path, recorded: str) -> None:
    lock = write_project(tmp_path, recorded)
    text = render(convert(lock, groups=(), environ={}).draft)
    assert "helperlib==2.0 --hash=sha256:37cb" in text
    assert "sixish==1.1 ; python_version >= '3.8' --hash=sha256:de89" in text
    assert "devtool" not in text and "extradep" not in text
    assert "--index-url http://127.0.0.1:40977/simple/" in text
    assert "--trusted-host 127.0.0.1" in text  # verify_ssl = false
    text = render(convert(lock, groups=("dev", "docs"), environ={}).draft)
    assert "devtool==0.5" in text and "extradep==3.0" in text


def test_stale_lock_is_an_error(tmp_path: Path) -> None:
    lock = write_project(tmp_path, "0" * 64)
    with pytest.raises(InputError, match="out of date with its Pipfile") as caught:
        convert(lock, groups=(), environ={})
    assert "pipenv lock" in (caught.value.hint or "")


def test_unknown_category_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no such category"):
        categories({"_meta": {}, "default": {}, "develop": {}}, ["docs"])


def test_vcs_path_and_extras_entries(tmp_path: Path) -> None:
    git = entry_pin(
        "tool",
        {"git": "https://github.com/org/tool.git", "ref": "abc", "extras": ["cli"]},
        tmp_path,
    )
    assert git.text == "tool[cli] @ git+https://github.com/org/tool.git@abc"
    here = entry_pin("app", {"path": ".", "editable": True}, tmp_path)
    assert here.is_directory and here.text == str(tmp_path)


def test_project_listed_as_a_path_is_built_not_copied(tmp_path: Path) -> None:
    lock = {
        "_meta": {"hash": {"sha256": ""}, "sources": []},
        "default": {"app": {"path": ".", "editable": True}},
    }
    path = tmp_path / "Pipfile.lock"
    path.write_text(json.dumps(lock))
    converted = convert(path, groups=(), environ={})
    assert converted.application is None
    assert "cannot check" in converted.draft.warnings[0]  # no Pipfile beside the lock
