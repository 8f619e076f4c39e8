"""The job file the pipeline reads, the result it writes, and its progress events."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from builder.incontainer.protocol import (
    DEFAULT_ALLOWLIST,
    EVENT_PREFIX,
    SCHEMA_VERSION,
    JobError,
    MissingPackage,
    PackageResult,
    Result,
    emit,
    read_job,
    write_result,
)
from builder.incontainer.tags import Target
from builder.job import JobSpec, PipelineResult, TargetSpec


def _write(path: Path, data: dict[str, Any]) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


MINIMAL: dict[str, Any] = {
    "schema_version": SCHEMA_VERSION,
    "runtime": "python3.12",
    "target": {"major": 3, "minor": 12, "machine": "aarch64", "glibc": [2, 34]},
    "work_dir": "/lambda-builder/work",
    "target_dir": "/lambda-builder/target",
}


def test_minimal_job_gets_defaults_and_a_tuple_glibc(tmp_path: Path) -> None:
    job = read_job(_write(tmp_path / "job.json", MINIMAL))
    assert job.target == Target(3, 12, "aarch64", (2, 34))
    assert job.target.glibc == (2, 34)
    assert (job.runtime, job.work_dir, job.target_dir) == (
        "python3.12",
        "/lambda-builder/work",
        "/lambda-builder/target",
    )
    assert job.requirements_file is None and job.cache_dir is None
    assert job.allowlist == DEFAULT_ALLOWLIST
    assert job.allow_builds is True and job.compile_bytecode is False and job.verbose is False


@pytest.mark.parametrize("version", [SCHEMA_VERSION + 1, 0, None, "1"])
def test_job_with_another_schema_version_is_refused_explaining_the_mismatch(
    tmp_path: Path, version: object
) -> None:
    data = {**MINIMAL, "schema_version": version}
    with pytest.raises(JobError) as caught:
        read_job(_write(tmp_path / "job.json", data))
    message = str(caught.value)
    assert repr(version) in message and str(SCHEMA_VERSION) in message
    assert "different versions of lambda-builder" in message


def test_job_without_schema_version_is_refused(tmp_path: Path) -> None:
    data = {key: value for key, value in MINIMAL.items() if key != "schema_version"}
    with pytest.raises(JobError, match="job schema None is not 1"):
        read_job(_write(tmp_path / "job.json", data))


def test_job_written_by_the_host_model_is_read_field_for_field(tmp_path: Path) -> None:
    spec = JobSpec(
        runtime="python3.11",
        target=TargetSpec(major=3, minor=11, machine="x86_64", glibc=(2, 26)),
        work_dir="/w",
        target_dir="/t",
        requirements_file="/r.txt",
        hashes={"six": ["sha256:00"]},
        local_projects=["/inputs/0/mine"],
        pip_env={"PIP_INDEX_URL": "https://example/simple"},
        cache_dir="/cache",
        allowlist=("pyyaml",),
        foreign_marker_keys=["platform_machine"],
        allow_builds=False,
        compile_bytecode=True,
        verbose=True,
    )
    path = tmp_path / "job.json"
    path.write_text(spec.model_dump_json(), encoding="utf-8")
    job = read_job(str(path))
    assert job.target == Target(3, 11, "x86_64", (2, 26))
    assert job.requirements_file == "/r.txt"
    assert job.hashes == {"six": ["sha256:00"]}
    assert job.local_projects == ["/inputs/0/mine"]
    assert job.pip_env == {"PIP_INDEX_URL": "https://example/simple"}
    assert job.cache_dir == "/cache"
    assert job.allowlist == ("pyyaml",)
    assert job.foreign_marker_keys == ["platform_machine"]
    assert (job.allow_builds, job.compile_bytecode, job.verbose) == (False, True, True)


def test_result_is_written_atomically_with_its_schema_version(tmp_path: Path) -> None:
    result = Result(
        status="missing",
        packages=[PackageResult("six", "1.16.0", "six-1.16.0-py2.py3-none-any.whl", "wheel")],
        missing=[MissingPackage("fastc", "3.0", "sdist build failed", "pin one", "gcc: error")],
        warnings=["left out 1 file"],
    )
    path = tmp_path / "result.json"
    path.write_text("old", encoding="utf-8")
    write_result(result, str(path))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["missing"][0]["detail"] == "gcc: error"
    assert os.listdir(tmp_path) == ["result.json"]
    parsed = PipelineResult.model_validate(data)
    assert parsed.status == "missing" and parsed.packages[0].how == "wheel"


def test_emit_writes_one_prefixed_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    emit("step", step="download", message="downloading")
    out = capsys.readouterr().out
    assert out.endswith("\n") and out.count("\n") == 1
    assert out.startswith(EVENT_PREFIX)
    assert json.loads(out[len(EVENT_PREFIX) :]) == {
        "event": "step",
        "step": "download",
        "message": "downloading",
    }
