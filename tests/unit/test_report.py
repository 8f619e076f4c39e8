"""The JSON build report and the terminal summary."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from builder.job import MissingOutcome, PackageOutcome
from builder.report import (
    REPORT_SCHEMA_VERSION,
    ArtifactRecord,
    BuildReport,
    ContainerImageRecord,
    ImageLayerRecord,
    SizeReport,
    TargetReport,
    summarize,
    write_atomic,
    write_report,
)

GCC_DETAIL = "\n".join(
    ["fastc/_native.c: In function 'answer':", "fastc/_native.c:3:1: error: unknown type"]
    + [f"context line {number}" for number in range(20)]
)


def _ok_target() -> TargetReport:
    return TargetReport(
        runtime="python3.12",
        architecture="arm64",
        glibc="2.34",
        mode="container",
        output="build/python3.12-arm64",
        status="ok",
        packages=[
            PackageOutcome(name="six", version="1.16.0", wheel="six.whl", how="wheel"),
            PackageOutcome(name="idna", version="3.4", wheel="idna.whl", how="wheel"),
            PackageOutcome(name="orjson", version="3.9", wheel="o.whl", how="compatible-wheel"),
            PackageOutcome(
                name="optc", version="1.0", wheel="c.whl", how="built-without-c-extensions"
            ),
            PackageOutcome(name="pyyaml", version="6.0", wheel="y.whl", how="allowlisted"),
        ],
        artifacts=[
            ArtifactRecord(kind="function-zip", path="build/f.zip", size=1234567, sha256="ab12"),
        ],
        sizes=SizeReport(unzipped=9876543, files=321, unzipped_limit=1, zipped_limit=1),
    )


def _missing_target() -> TargetReport:
    return TargetReport(
        runtime="python3.11",
        architecture="x86_64",
        glibc="2.26",
        mode="host",
        output="build/python3.11-x86_64",
        status="missing",
        missing=[
            MissingOutcome(
                name="fastc",
                version="3.0",
                reason="sdist build failed",
                hint="pin a version with a Lambda-compatible wheel",
                detail=GCC_DETAIL,
            ),
            MissingOutcome(
                name="nosuchpkg",
                version="==9.9",
                reason="not found on the index",
                hint="check the name",
            ),
        ],
        warnings=["something to say"],
    )


def test_summary_of_a_good_target_counts_packages_by_how_and_lists_the_unusual_ones() -> None:
    text = summarize(BuildReport(targets=[_ok_target()]))
    lines = text.splitlines()
    assert lines[0] == "python3.12/arm64 (glibc 2.34, container): ok -> build/python3.12-arm64"
    assert lines[1] == (
        "  5 packages: 1 allowlisted, 1 built-without-c-extensions, 1 compatible-wheel, 2 wheel"
    )
    assert "    optc 1.0: built-without-c-extensions" in lines
    assert "    pyyaml 6.0: allowlisted" in lines
    assert not any(line.strip().startswith(("six ", "orjson ")) for line in lines)
    assert "  9,876,543 bytes unzipped in 321 files" in lines
    assert "  function-zip: build/f.zip (1,234,567 bytes, sha256 ab12)" in lines


def test_summary_of_missing_packages_gives_reason_compiler_lines_and_hint() -> None:
    text = summarize(BuildReport(targets=[_missing_target()]))
    lines = text.splitlines()
    assert lines[0] == "python3.11/x86_64 (glibc 2.26, host): missing"
    assert "  missing fastc 3.0: sdist build failed" in lines
    assert "      fastc/_native.c:3:1: error: unknown type" in lines
    assert "      context line 9" in lines and "      context line 10" not in lines
    assert "    hint: pin a version with a Lambda-compatible wheel" in lines
    assert "  missing nosuchpkg ==9.9: not found on the index" in lines
    assert "    hint: check the name" in lines
    assert "no packages" not in text and "->" not in lines[0]


def test_summary_never_prints_python_reprs() -> None:
    failed = TargetReport(
        runtime="python3.13",
        architecture="x86_64",
        glibc="2.34",
        mode="container",
        status="error",
        error="pip could not download the requirements",
    )
    text = summarize(BuildReport(targets=[_ok_target(), _missing_target(), failed]))
    for marker in ("{", "}", "[", "]", "set(", "Outcome(", "name="):
        assert marker not in text, marker
    assert "  error: pip could not download the requirements" in text.splitlines()


def test_report_json_has_a_schema_version_and_round_trips(tmp_path: Path) -> None:
    report = BuildReport(targets=[_ok_target(), _missing_target()])
    path = tmp_path / "reports" / "build.json"
    write_report(report, path)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    data = json.loads(text)
    assert data["schema_version"] == REPORT_SCHEMA_VERSION
    assert data["tool"] == "lambda-builder"
    assert BuildReport.model_validate(data) == report
    assert not report.ok
    assert BuildReport(targets=[_ok_target()]).ok


def test_report_file_is_readable_by_everyone_and_no_temporary_is_left(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    write_atomic(path, "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert os.listdir(tmp_path) == ["report.json"]


def test_failed_write_keeps_the_old_report_and_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "report.json"
    path.write_text("old report", encoding="utf-8")

    def failing_replace(source: str, destination: object) -> None:
        raise OSError("disk went away")

    monkeypatch.setattr("builder.report.os.replace", failing_replace)
    with pytest.raises(OSError, match="disk went away"):
        write_report(BuildReport(targets=[_ok_target()]), path)
    assert path.read_text(encoding="utf-8") == "old report"
    assert os.listdir(tmp_path) == ["report.json"]


def test_summary_of_a_container_image_names_tag_id_layers_and_push() -> None:
    image = ContainerImageRecord(
        tag="fn:v1",
        id="sha256:1d",
        base_image="public.ecr.aws/lambda/python:3.12-arm64",
        architecture="arm64",
        cmd=["app.handler"],
        task_root="/var/task",
        layers=[
            ImageLayerRecord(kind="dependencies", digest="sha256:de", size=2048, files=10),
            ImageLayerRecord(kind="source", digest="sha256:5c", size=1024, files=1),
        ],
        pushed_digest="sha256:9d",
    )
    target = _ok_target().model_copy(update={"container_image": image})
    lines = summarize(BuildReport(targets=[target])).splitlines()
    assert "  container-image: fn:v1 (sha256:1d, arm64, CMD app.handler)" in lines
    assert "    dependencies layer sha256:de (2,048 bytes, 10 files)" in lines
    assert "    source layer sha256:5c (1,024 bytes, 1 files)" in lines
    assert "    pushed: fn:v1@sha256:9d" in lines
    for marker in ("{", "}", "[", "]"):
        assert marker not in "\n".join(lines), marker
