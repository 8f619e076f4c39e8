"""Which input a project gives, in detection order, and pyproject.toml without a lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.errors import InputError, UsageError
from builder.host.workspace import download_set
from builder.inputs import select_input
from builder.inputs.project import dependency_group
from builder.requirements_file import parse_requirements

PACKAGE = """\
[project]
name = "fn"
version = "1.0"
dependencies = ["needspure>=1.0"]
[project.optional-dependencies]
aws = ["purepkg"]
[dependency-groups]
lint = ["ruffish"]
test = ["testlib", {include-group = "lint"}]
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
"""


def test_detection_order_prefers_locks(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("purepkg==1.0\n")
    (tmp_path / "pyproject.toml").write_text(PACKAGE)
    assert select_input(tmp_path).kind == "requirements.txt"
    (tmp_path / "Pipfile.lock").write_text(json.dumps({"_meta": {}, "default": {}}))
    selection = select_input(tmp_path, scratch=tmp_path / "scratch")
    assert selection.kind == "Pipfile.lock"
    assert selection.source == tmp_path / "Pipfile.lock"


def test_input_option_picks_one_over_detection(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("purepkg==1.0\n")
    (tmp_path / "pyproject.toml").write_text(PACKAGE)
    selection = select_input(
        tmp_path, input_file=tmp_path / "pyproject.toml", scratch=tmp_path / "scratch"
    )
    assert selection.kind == "pyproject.toml"
    assert selection.requirements is not None
    assert selection.requirements.parent.parent == tmp_path / "scratch"


def test_pyproject_package_is_built_with_its_extras_and_groups_are_opt_in(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PACKAGE)
    plain = select_input(tmp_path, scratch=tmp_path / "s")
    assert plain.requirements is not None and not plain.copy_source
    lines = [line.spec for line in parse_requirements(plain.requirements).requirements]
    assert lines == [str(tmp_path)]
    chosen = select_input(tmp_path, groups=("test",), extras=("aws",), scratch=tmp_path / "s")
    assert chosen.requirements is not None
    parsed = parse_requirements(chosen.requirements)
    assert [line.text for line in parsed.requirements] == [f"{tmp_path}[aws]", "testlib", "ruffish"]


def test_pyproject_that_is_not_a_package_lists_its_dependencies_and_is_copied(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text(PACKAGE.split("[build-system]")[0])
    selection = select_input(tmp_path, extras=("aws",), scratch=tmp_path / "s")
    assert selection.copy_source and selection.requirements is not None
    parsed = parse_requirements(selection.requirements)
    assert [line.spec for line in parsed.requirements] == ["needspure>=1.0", "purepkg"]


def test_unknown_extra_or_group_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PACKAGE)
    with pytest.raises(UsageError, match="extras: aws"):
        select_input(tmp_path, extras=("gcp",), scratch=tmp_path / "s")
    with pytest.raises(UsageError, match="groups: lint, test"):
        select_input(tmp_path, groups=("dev",), scratch=tmp_path / "s")


def test_include_group_loops_are_input_errors() -> None:
    pyproject = {
        "dependency-groups": {"a": [{"include-group": "b"}], "b": [{"include-group": "a"}]}
    }
    with pytest.raises(InputError, match="loop"):
        dependency_group(pyproject, "a")


def test_tool_only_pyproject_is_no_input(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.black]\nline-length = 100\n")
    selection = select_input(tmp_path)
    assert selection.kind == "none" and "no [project] table" in selection.warnings[0]


def test_poetry_project_without_a_lock_says_to_lock_it(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.poetry.dependencies]\npython = '^3.9'\n")
    with pytest.raises(UsageError, match=r"without poetry\.lock"):
        select_input(tmp_path)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("requirements.txt", {"groups": ("dev",)}, "--group cannot be used with a requirements"),
        ("Pipfile.lock", {"extras": ("aws",)}, "--extra cannot be used"),
        ("pyproject.toml", {"package": "fn"}, "--package cannot be used"),
    ],
)
def test_options_an_input_cannot_honour_are_errors(
    tmp_path: Path, name: str, options: dict[str, object], message: str
) -> None:
    (tmp_path / name).write_text(PACKAGE if name == "pyproject.toml" else "{}")
    with pytest.raises(UsageError, match=message):
        select_input(tmp_path, scratch=tmp_path / "s", **options)  # type: ignore[arg-type]


def test_unlocked_pipfile_and_unknown_files_are_refused(tmp_path: Path) -> None:
    for name, message in (("Pipfile", "pipenv lock"), ("deps.cfg", "cannot tell")):
        (tmp_path / name).write_text("")
        with pytest.raises(UsageError) as caught:
            select_input(None, input_file=tmp_path / name)
        assert message in f"{caught.value} {caught.value.hint}"


def test_hash_checked_downloads_leave_directories_to_the_local_build(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"{tmp_path / 'lib'}\npurepkg==1.0 --hash=sha256:aa\n")
    parsed = parse_requirements(requirements, environ={})
    assert [line.spec for line in download_set(parsed).requirements] == ["purepkg==1.0"]
    assert parsed.local_projects() == [tmp_path / "lib"]
    requirements.write_text(f"{tmp_path / 'lib'}\npurepkg==1.0\n")
    unhashed = parse_requirements(requirements, environ={})
    assert download_set(unhashed) is unhashed  # pip resolves the project's dependencies


def test_build_requests_carry_the_input_its_warnings_and_what_to_copy(tmp_path: Path) -> None:
    from builder.cli.build import config_from_args, requests_from_args
    from builder.cli.main import make_parser

    (tmp_path / "pyproject.toml").write_text(PACKAGE + '[tool.uv.sources]\nx = { path = "x" }\n')
    args = make_parser().parse_args(["build", str(tmp_path), "--runtime", "python3.11"])
    [request] = requests_from_args(args, config_from_args(args), tmp_path / "scratch")
    assert request.input_kind == "pyproject.toml"
    assert request.input_source == tmp_path / "pyproject.toml"
    assert request.source_dir is None  # a package: built into a wheel, not copied over it
    assert any("run `uv lock`" in warning for warning in request.input_warnings)
