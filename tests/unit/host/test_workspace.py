"""The pipeline's working directory: staged program, flattened inputs, a private job file."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from builder import redact as redact_module
from builder.architectures import Architecture
from builder.config import BuildConfig, IndexConfig
from builder.errors import PipelineError
from builder.host.workspace import (
    PROGRAM_NAME,
    Workspace,
    download_set,
    pip_environment,
    prepare,
    read_result,
    staged_locations,
)
from builder.incontainer.protocol import read_job
from builder.incontainer.tags import Target
from builder.job import JobSpec
from builder.requirements_file import IndexOptions, parse_requirements
from builder.runtimes import get_runtime

SHA = "sha256:" + "c" * 64


@pytest.fixture(autouse=True)
def hermetic_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ~/.netrc of this machine, and no secrets left registered by another test."""
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setattr(redact_module, "_SECRETS", set())
    yield


# --- pip environment -------------------------------------------------------------------------


def test_command_line_index_overrides_the_requirements_files() -> None:
    env = pip_environment(
        IndexConfig(index_url="https://cli.example/simple"),
        IndexOptions(index_url="https://file.example/simple"),
        {},
    )
    assert env == {"PIP_INDEX_URL": "https://cli.example/simple"}


def test_requirements_file_index_is_used_when_the_command_line_has_none() -> None:
    env = pip_environment(IndexConfig(), IndexOptions(index_url="https://file.example/s"), {})
    assert env["PIP_INDEX_URL"] == "https://file.example/s"


def test_extra_indexes_and_trusted_hosts_are_merged_without_duplicates() -> None:
    env = pip_environment(
        IndexConfig(
            extra_index_urls=("https://cli.example/s", "https://both.example/s"),
            trusted_hosts=("cli.example",),
        ),
        IndexOptions(
            extra_index_urls=["https://both.example/s", "https://file.example/s"],
            trusted_hosts=["file.example", "cli.example"],
        ),
        {},
    )
    assert env["PIP_EXTRA_INDEX_URL"] == (
        "https://both.example/s https://file.example/s https://cli.example/s"
    )
    assert env["PIP_TRUSTED_HOST"] == "file.example cli.example"


def test_find_links_are_mapped_to_where_the_pipeline_sees_them() -> None:
    env = pip_environment(
        IndexConfig(find_links=("/host/cli-wheels", "https://links.example/")),
        IndexOptions(find_links=["/host/file-wheels"]),
        {
            "/host/cli-wheels": "/lambda-builder/inputs/0/cli-wheels",
            "/host/file-wheels": "/lambda-builder/inputs/1/file-wheels",
        },
    )
    assert env["PIP_FIND_LINKS"] == (
        "/lambda-builder/inputs/1/file-wheels /lambda-builder/inputs/0/cli-wheels "
        "https://links.example/"
    )


def test_flags_and_binary_choices_from_the_file_become_variables() -> None:
    options = IndexOptions(
        no_index=True, pre=True, prefer_binary=True, only_binary=[":all:"], no_binary=["lxml"]
    )
    env = pip_environment(IndexConfig(), options, {})
    assert env == {
        "PIP_NO_INDEX": "1",
        "PIP_PRE": "1",
        "PIP_PREFER_BINARY": "1",
        "PIP_ONLY_BINARY": ":all:",
        "PIP_NO_BINARY": "lxml",
    }


def test_nothing_configured_gives_an_empty_environment() -> None:
    assert pip_environment(IndexConfig(), None, {}) == {}


def test_netrc_credentials_are_put_in_the_index_urls_pip_gets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine private.example login me password n3trc-pass\n")
    monkeypatch.setenv("NETRC", str(netrc))
    env = pip_environment(
        IndexConfig(index_url="https://private.example/simple"),
        IndexOptions(extra_index_urls=["https://public.example/simple"]),
        {},
    )
    assert env["PIP_INDEX_URL"] == "https://me:n3trc-pass@private.example/simple"
    assert env["PIP_EXTRA_INDEX_URL"] == "https://public.example/simple"


# --- paths -----------------------------------------------------------------------------------


def test_container_workspace_uses_posix_paths_under_its_root(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path, "/lambda-builder")
    assert workspace.run("inputs", "0", "pkg") == "/lambda-builder/inputs/0/pkg"
    assert workspace.command("/var/lang/bin/python3") == [
        "/var/lang/bin/python3",
        "-m",
        PROGRAM_NAME,
        "/lambda-builder/job.json",
        "/lambda-builder/result.json",
    ]
    assert workspace.environment() == {
        "PYTHONPATH": "/lambda-builder/program",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    assert (workspace.job_file, workspace.result_file, workspace.target_dir) == (
        tmp_path / "job.json",
        tmp_path / "result.json",
        tmp_path / "target",
    )


# --- prepare ---------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A requirements file with a local project, a constraint, a hash and file index options."""
    root = tmp_path / "project"
    (root / "libs" / "mine").mkdir(parents=True)
    (root / "libs" / "mine" / "setup.py").write_text("# setup\n")
    (root / "wheels").mkdir()
    (root / "constraints.txt").write_text("urllib3<2\n")
    (root / "requirements.txt").write_text(
        "-c constraints.txt\n"
        "--extra-index-url https://file.example/simple\n"
        "--find-links wheels\n"
        f"six==1.16.0 --hash={SHA}\n"
        "./libs/mine[cli]\n"
    )
    return root / "requirements.txt"


def test_prepare_writes_a_private_job_file_that_validates(tmp_path: Path, project: Path) -> None:
    workspace = Workspace(tmp_path / "ws", "/lambda-builder")
    prepare(
        workspace,
        runtime=get_runtime("python3.12"),
        architecture=Architecture.ARM64,
        config=BuildConfig(
            architecture=Architecture.ARM64,
            index=IndexConfig(index_url="https://cli.example/simple"),
            compile_bytecode=True,
        ),
        parsed=parse_requirements(project, environ={}),
        copy_inputs=True,
        cache_dir="/cache",
        foreign_marker_keys=["platform_machine"],
        allow_builds=False,
    )
    assert stat.S_IMODE(workspace.job_file.stat().st_mode) == 0o600
    job = JobSpec.model_validate_json(workspace.job_file.read_text(encoding="utf-8"))
    assert job.runtime == "python3.12"
    assert (job.target.machine, job.target.glibc, job.target.minor) == ("aarch64", (2, 34), 12)
    assert (job.work_dir, job.target_dir) == ("/lambda-builder/work", "/lambda-builder/target")
    assert job.requirements_file == "/lambda-builder/requirements.txt"
    assert job.hashes == {"six": [SHA]}
    assert job.local_projects == ["/lambda-builder/inputs/libs/mine"]
    assert job.pip_env == {
        "PIP_INDEX_URL": "https://cli.example/simple",
        "PIP_EXTRA_INDEX_URL": "https://file.example/simple",
        "PIP_FIND_LINKS": "/lambda-builder/inputs/wheels",
    }
    assert (job.cache_dir, job.foreign_marker_keys) == ("/cache", ["platform_machine"])
    assert (job.allow_builds, job.compile_bytecode) == (False, True)
    assert "pyyaml" in job.allowlist


def test_prepare_copies_inputs_and_flattens_requirements_for_the_container(
    tmp_path: Path, project: Path
) -> None:
    project.write_text(project.read_text().replace(f" --hash={SHA}", ""))
    workspace = Workspace(tmp_path / "ws", "/lambda-builder")
    prepare(
        workspace,
        runtime=get_runtime("python3.11"),
        architecture=Architecture.X86_64,
        config=BuildConfig(),
        parsed=parse_requirements(project, environ={}),
        copy_inputs=True,
        cache_dir=None,
    )
    host = workspace.host_dir
    assert (host / "inputs" / "libs" / "mine" / "setup.py").read_text() == "# setup\n"
    assert (host / "inputs" / "wheels").is_dir()
    assert (host / "requirements.txt").read_text() == (
        "-c /lambda-builder/constraints.txt\nsix==1.16.0\n/lambda-builder/inputs/libs/mine[cli]\n"
    )
    assert (host / "constraints.txt").read_text() == "urllib3<2\n"
    assert (host / "program" / PROGRAM_NAME / "pipeline.py").is_file()
    assert not list((host / "program").rglob("__pycache__"))
    assert {"work", "target"} <= set(os.listdir(host))


def test_with_hashes_local_directories_are_built_but_not_downloaded(
    tmp_path: Path, project: Path
) -> None:
    workspace = Workspace(tmp_path / "ws", "/lambda-builder")
    prepare(
        workspace,
        runtime=get_runtime("python3.11"),
        architecture=Architecture.X86_64,
        config=BuildConfig(),
        parsed=parse_requirements(project, environ={}),
        copy_inputs=True,
        cache_dir=None,
    )
    assert (workspace.host_dir / "requirements.txt").read_text() == (
        f"-c /lambda-builder/constraints.txt\nsix==1.16.0 --hash={SHA}\n"
    )
    job = JobSpec.model_validate_json(workspace.job_file.read_text(encoding="utf-8"))
    assert job.local_projects == ["/lambda-builder/inputs/libs/mine"]


def test_lock_exports_build_local_directories_alone_even_without_hashes(project: Path) -> None:
    """A git pin turns a lock's hashes off; its local projects must still not be resolved, as
    a Poetry package's metadata names path dependencies by host path and git ones by branch."""
    project.write_text(project.read_text().replace(f" --hash={SHA}", ""))
    locked = parse_requirements(project, environ={}, is_complete=True)
    assert [line.spec for line in download_set(locked).requirements] == ["six==1.16.0"]
    assert locked.local_projects() == [(project.parent / "libs" / "mine").resolve()]
    written = parse_requirements(project, environ={})
    assert len(download_set(written).requirements) == 2, "pip resolves a hand-written file"


def test_local_inputs_keep_their_places_relative_to_each_other() -> None:
    fn, lib, util, wheel = map(
        PurePosixPath,
        (
            "/home/me/repo/fn",
            "/home/me/repo/common-lib",
            "/home/me/repo/fn/libs/util",
            "/home/me/wheels/a-1.0-py3-none-any.whl",
        ),
    )
    assert staged_locations([fn, lib, util]) == {
        fn: ("inputs", "fn"),
        lib: ("inputs", "common-lib"),
        util: ("inputs", "fn", "libs", "util"),
    }
    assert staged_locations([util, fn]) == {
        fn: ("inputs", "fn"),
        util: ("inputs", "fn", "libs", "util"),
    }
    assert staged_locations([wheel]) == {wheel: ("inputs", wheel.name)}
    assert staged_locations([fn, wheel]) == {
        fn: ("inputs", "repo", "fn"),
        wheel: ("inputs", "wheels", wheel.name),
    }
    assert staged_locations([]) == {}


def test_local_inputs_on_different_drives_get_a_tree_each() -> None:
    fn, lib = PureWindowsPath(r"C:\src\fn"), PureWindowsPath(r"D:\libs\common")
    assert staged_locations([lib, fn]) == {
        fn: ("inputs", "0", "fn"),
        lib: ("inputs", "1", "common"),
    }


def test_prepare_stages_a_project_beside_its_path_dependency(tmp_path: Path) -> None:
    fn, lib = tmp_path / "repo" / "fn", tmp_path / "repo" / "common-lib"
    for root in (fn, lib):
        (root / "pkg").mkdir(parents=True)
        (root / "pyproject.toml").write_text("[project]\n")
    (fn / "requirements.txt").write_text("../common-lib\n.\n")
    workspace = Workspace(tmp_path / "ws", "/lambda-builder")
    prepare(
        workspace,
        runtime=get_runtime("python3.11"),
        architecture=Architecture.X86_64,
        config=BuildConfig(),
        parsed=parse_requirements(fn / "requirements.txt", environ={}, is_complete=True),
        copy_inputs=True,
        cache_dir=None,
    )
    inputs = workspace.host_dir / "inputs"
    assert (inputs / "fn" / "pyproject.toml").is_file()
    assert (inputs / "common-lib" / "pyproject.toml").is_file()
    job = JobSpec.model_validate_json(workspace.job_file.read_text(encoding="utf-8"))
    assert job.local_projects == ["/lambda-builder/inputs/common-lib", "/lambda-builder/inputs/fn"]
    assert (workspace.host_dir / "requirements.txt").read_text() == "\n"


def test_job_written_by_prepare_is_read_by_the_pipeline(tmp_path: Path, project: Path) -> None:
    workspace = Workspace(tmp_path / "ws", str(tmp_path / "ws"))
    prepare(
        workspace,
        runtime=get_runtime("python3.11"),
        architecture=Architecture.X86_64,
        config=BuildConfig(),
        parsed=parse_requirements(project, environ={}),
        copy_inputs=False,
        cache_dir=None,
    )
    job = read_job(str(workspace.job_file))
    assert job.target == Target(3, 11, "x86_64", (2, 26))
    mine = str((project.parent / "libs" / "mine").resolve())
    assert job.local_projects == [mine], "host mode uses the inputs where they are"
    assert job.requirements_file == str(tmp_path / "ws" / "requirements.txt")
    assert not (tmp_path / "ws" / "inputs").exists()


def test_prepare_without_requirements_has_no_requirements_file(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws", "/lambda-builder")
    prepare(
        workspace,
        runtime=get_runtime("python3.13"),
        architecture=Architecture.X86_64,
        config=BuildConfig(),
        parsed=None,
        copy_inputs=True,
        cache_dir=None,
    )
    job = json.loads(workspace.job_file.read_text(encoding="utf-8"))
    assert job["requirements_file"] is None
    assert job["hashes"] == {} and job["local_projects"] == [] and job["pip_env"] == {}
    assert not (tmp_path / "ws" / "requirements.txt").exists()


# --- results ---------------------------------------------------------------------------------


def test_missing_result_is_a_pipeline_error_for_the_target(tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as caught:
        read_result(Workspace(tmp_path, str(tmp_path)), "python3.12/arm64")
    assert str(caught.value) == "[python3.12/arm64] the pipeline stopped without writing a result"
    assert caught.value.hint and "--verbose" in caught.value.hint


@pytest.mark.parametrize(
    "content",
    ["{not json", '{"schema_version": 1, "status": "exploded"}', '{"status": "ok"}'],
)
def test_unreadable_result_is_a_pipeline_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "result.json").write_text(content, encoding="utf-8")
    with pytest.raises(PipelineError, match="unreadable result"):
        read_result(Workspace(tmp_path, str(tmp_path)), "python3.12/arm64")


def test_valid_result_is_returned_as_a_model(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text(
        '{"schema_version": 1, "status": "ok", "packages": '
        '[{"name": "six", "version": "1", "wheel": "six.whl", "how": "wheel"}]}',
        encoding="utf-8",
    )
    result = read_result(Workspace(tmp_path, str(tmp_path)), "python3.12/arm64")
    assert result.status == "ok" and result.packages[0].name == "six"
