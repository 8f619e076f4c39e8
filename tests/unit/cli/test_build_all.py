"""``build-all`` without Docker: requests per target, scheduling, failures, exit codes.

The build itself is replaced by a fake at the boundary (``build_target``); the integration test
in tests/integration/cli runs the real one.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from builder.api import BuildRequest
from builder.cli import build_all
from builder.cli.build import config_from_args
from builder.cli.main import main, make_parser
from builder.errors import DockerError
from builder.inputs.manifest import load_manifest
from builder.job import MissingOutcome
from builder.report import TargetReport
from builder.ui import BuildUI, NullUI
from tests.support.functions_workspace import write_functions_workspace

LAYER = '\n[layers.shared]\nrequirements = "functions/api/requirements.txt"\narch = "arm64"\n'


def plan(tmp_path: Path, *argv: str) -> list[build_all.Job]:
    manifest = write_functions_workspace(tmp_path)
    manifest.write_text(manifest.read_text() + LAYER)
    args = make_parser().parse_args(["build-all", "-o", str(tmp_path / "out"), *argv])
    return build_all.plan_jobs(
        load_manifest(manifest), tmp_path, config_from_args(args), tmp_path / "out", tmp_path / "s"
    )


def test_every_target_runtime_and_arch_becomes_one_request(tmp_path: Path) -> None:
    jobs = {job.id: job for job in plan(tmp_path, "--base-image", "mirror/py:{version}")}
    assert list(jobs) == [
        f"{name}/python3.11/{arch}"
        for name in ("api", "web", "jobs")
        for arch in ("x86_64", "arm64")
    ] + ["shared/python3.11/arm64"]
    out = tmp_path / "out"
    api = jobs["api/python3.11/arm64"].request
    assert api.output == out / "api" / "python3.11-arm64"
    assert api.source_dir == tmp_path / "functions" / "api"
    assert api.config.artifacts.zip_path == out / "api" / "python3.11-arm64.zip"
    assert api.config.architecture.value == "arm64"
    assert api.config.base_image == "mirror/py:{version}"  # the common options reach each target
    web = jobs["web/python3.11/x86_64"].request  # its requirements.txt is found in its source
    assert web.requirements == tmp_path / "functions" / "web" / "requirements.txt"
    jobs_target = jobs["jobs/python3.11/x86_64"]
    assert not jobs_target.keep_directory  # outputs = ["zip"]: the directory is scratch
    assert not jobs_target.request.output.is_relative_to(out)
    layer = jobs["shared/python3.11/arm64"].request
    assert layer.source_dir is None  # a layer ships dependencies only
    assert layer.config.artifacts.layer_zip_path == out / "shared" / "python3.11-arm64-layer.zip"
    assert layer.config.artifacts.zip_path is None


def fake_report(request: BuildRequest, status: str = "ok", cache: str = "miss") -> TargetReport:
    return TargetReport(
        runtime=request.runtime.name,
        architecture=request.architecture.value,
        glibc=request.runtime.glibc_text,
        mode="container",
        status=status,  # type: ignore[arg-type]
        dependency_cache=cache,  # type: ignore[arg-type]
        dependency_key=str(request.requirements.read_text()) + request.architecture.value
        if request.requirements
        else None,
        output=str(request.output),
    )


class FakeBuilds:
    """Records the order of builds; the first build of a key misses, later ones hit."""

    def __init__(self, fail: str = "", missing: str = "") -> None:
        self.order: list[str] = []
        self.events: list[str] = []
        self.keys: set[str] = set()
        self.lock = threading.Lock()
        self.fail = fail
        self.missing = missing

    def __call__(self, request: BuildRequest, ui: BuildUI) -> TargetReport:
        name = request.output.parent.name
        with self.lock:
            self.order.append(f"{name}/{request.architecture.value}")
            self.events.append(f"start {name}/{request.architecture.value}")
        if name == self.fail:
            raise DockerError("no engine", hint="start Docker")
        report = fake_report(request)
        if name == self.missing:
            gone = MissingOutcome(name="purepkg", version="1.0", reason="not found", hint="-")
            report = report.model_copy(update={"status": "missing", "missing": [gone]})
        with self.lock:
            hit = report.dependency_key in self.keys
            self.keys.add(report.dependency_key or "")
            self.events.append(f"end {name}/{request.architecture.value}")
        return report.model_copy(update={"dependency_cache": "hit" if hit else "miss"})


def test_targets_sharing_dependencies_build_after_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeBuilds()
    monkeypatch.setattr(build_all, "build_target", fake)
    jobs = plan(tmp_path)
    results = build_all.run_jobs(jobs, 4, NullUI())
    for arch in ("x86_64", "arm64"):  # the set's other targets start when its first is done
        assert fake.events.index(f"start web/{arch}") > fake.events.index(f"end api/{arch}")
    assert fake.events.index("start shared/arm64") > fake.events.index("end api/arm64")
    report = build_all.batch_report(jobs, results, tmp_path / "m.toml", 1.0)
    states = {t.id: t.dependencies for t in report.targets}
    assert states["api/python3.11/x86_64"] == "miss"
    assert states["web/python3.11/x86_64"] == "shared"
    assert states["jobs/python3.11/x86_64"] == "miss"
    shared = {tuple(g.targets): g.builds for g in report.shared_dependency_builds}
    assert shared[("api/python3.11/arm64", "web/python3.11/arm64", "shared/python3.11/arm64")] == 1
    assert report.targets[4].report.output is None  # jobs: no directory output kept


def test_an_error_in_one_target_leaves_the_others_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeBuilds(fail="jobs")
    monkeypatch.setattr(build_all, "build_target", fake)
    write_functions_workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    code = main(["build-all", "--report", "report.json", "-q"])
    assert code == build_all.SOME_FAILED == 1
    assert len(fake.order) == 6  # every target ran
    out = capsys.readouterr().out
    assert "jobs/python3.11/x86_64: error: no engine" in out
    last = out.splitlines()[-1]
    assert last.startswith("4 of 6 targets built in ") and last.endswith(" s; 2 failed")
    text = (tmp_path / "report.json").read_text()
    assert '"error_kind": "DockerError"' in text and "hint: start Docker" in text


def test_a_set_found_missing_is_not_built_again_by_the_rest_of_its_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeBuilds(missing="api")
    monkeypatch.setattr(build_all, "build_target", fake)
    jobs = plan(tmp_path)
    results = build_all.run_jobs(jobs, 2, NullUI())
    assert sorted(fake.order) == ["api/arm64", "api/x86_64", "jobs/arm64", "jobs/x86_64"]
    report = build_all.batch_report(jobs, results, tmp_path / "m.toml", 1.0)
    web = next(t for t in report.targets if t.id == "web/python3.11/x86_64")
    assert (web.report.status, web.dependencies, web.seconds) == ("missing", "failed", 0.0)
    assert [m.name for m in web.report.missing] == ["purepkg"]
    assert web.report.warnings == [
        "not built: api/python3.11/x86_64 has the same dependency set and could not satisfy it"
    ]
    assert {t.report.status for t in report.targets if t.name == "jobs"} == {"ok"}


def test_only_builds_the_named_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBuilds()
    monkeypatch.setattr(build_all, "build_target", fake)
    write_functions_workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["build-all", "--only", "web", "-q", "--jobs", "1"]) == 0
    assert sorted(fake.order) == ["web/arm64", "web/x86_64"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--jobs", "0"], "--jobs 0: needs at least 1"),
        (["--only", "nope"], "--only names no target of the manifest: nope"),
        (["--manifest", "missing.toml"], "manifest not found: missing.toml"),
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    write_functions_workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["build-all", *argv]) == 2
    assert message in capsys.readouterr().err


def test_progress_lines_carry_the_target_name() -> None:
    seen: list[tuple[str, str]] = []

    class Recorder:
        def step(self, target: str, message: str) -> None:
            seen.append((target, message))

        def log(self, target: str, line: str) -> None:
            seen.append((target, line))

        def warning(self, target: str, message: str) -> None:
            seen.append((target, message))

    ui: Any = build_all._NamedUI(Recorder(), "api")
    ui.step("python3.12/arm64", "building")
    ui.warning("python3.12/arm64", "careful")
    assert seen == [("api/python3.12/arm64", "building"), ("api/python3.12/arm64", "careful")]
