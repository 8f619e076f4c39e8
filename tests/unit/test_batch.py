"""build-all's pure parts: which targets share a dependency build, and what the report says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from builder.architectures import Architecture
from builder.batch import (
    BatchReport,
    BatchTarget,
    SharedBuild,
    dependency_fingerprint,
    dependency_state,
    share_groups,
    shared_builds,
    summary_table,
)
from builder.config import ArtifactOptions, BuildConfig
from builder.report import ArtifactRecord, TargetReport
from builder.runtimes import get_runtime

PY312 = get_runtime("python3.12")
X86, ARM = Architecture.X86_64, Architecture.ARM64


def report(cache: str | None = "miss", key: str | None = "k1", **fields: Any) -> TargetReport:
    values: dict[str, Any] = {
        "runtime": "python3.12",
        "architecture": "x86_64",
        "glibc": "2.34",
        "mode": "container",
        "status": "ok",
        "dependency_cache": cache,
        "dependency_key": key,
    }
    return TargetReport(**{**values, **fields})


def test_groups_keep_first_seen_order_and_never_group_none() -> None:
    assert share_groups(["a", "b", "a", None, None, "b", "c"]) == [[0, 2], [1, 5], [3], [4], [6]]
    assert share_groups([]) == []


def requirements(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name / "requirements.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_identical_requirements_in_two_places_share_a_fingerprint(tmp_path: Path) -> None:
    one = requirements(tmp_path, "api", "purepkg==1.0\nm224pkg==1.0\n")
    two = requirements(tmp_path, "web", "purepkg==1.0\nm224pkg==1.0\n")
    config = BuildConfig()
    first = dependency_fingerprint(PY312, X86, config, one)
    # Per-target artifact settings (zip paths, slim, verify) do not change the dependency tree.
    zipped = config.model_copy(update={"artifacts": ArtifactOptions(zip_path=tmp_path / "a.zip")})
    assert first is not None
    assert first == dependency_fingerprint(PY312, X86, zipped, two)


def test_what_changes_the_tree_changes_the_fingerprint(tmp_path: Path) -> None:
    path = requirements(tmp_path, "api", "purepkg==1.0\n")
    other = requirements(tmp_path, "web", "purepkg==1.0\nhashpkg==1.0\n")
    config = BuildConfig()
    base = dependency_fingerprint(PY312, X86, config, path)
    assert base != dependency_fingerprint(PY312, ARM, config, path)
    assert base != dependency_fingerprint(get_runtime("python3.11"), X86, config, path)
    assert base != dependency_fingerprint(PY312, X86, config, other)
    compiled = config.model_copy(update={"compile_bytecode": True})
    assert base != dependency_fingerprint(PY312, X86, compiled, path)
    mirrored = config.model_copy(update={"base_image": "mirror/python:{version}"})
    assert base != dependency_fingerprint(PY312, X86, mirrored, path)


def test_an_included_file_is_part_of_the_fingerprint(tmp_path: Path) -> None:
    path = requirements(tmp_path, "api", "-r ../common.txt\n")
    (tmp_path / "common.txt").write_text("purepkg==1.0\n")
    before = dependency_fingerprint(PY312, X86, BuildConfig(), path)
    (tmp_path / "common.txt").write_text("purepkg==1.0\nhashpkg==1.0\n")
    assert before != dependency_fingerprint(PY312, X86, BuildConfig(), path)


def test_nothing_is_shared_without_cache_requirements_or_a_readable_file(tmp_path: Path) -> None:
    path = requirements(tmp_path, "api", "purepkg==1.0\n")
    assert dependency_fingerprint(PY312, X86, BuildConfig(use_cache=False), path) is None
    assert dependency_fingerprint(PY312, X86, BuildConfig(), None) is None
    bad = requirements(tmp_path, "bad", "--no-such-option\n")
    assert dependency_fingerprint(PY312, X86, BuildConfig(), bad) is None


def test_shared_builds_come_from_the_real_keys() -> None:
    reports = [
        ("api/python3.12/x86_64", report("miss", "k1")),
        ("web/python3.12/x86_64", report("hit", "k1")),
        ("jobs/python3.12/x86_64", report("miss", "k2")),
        ("bad/python3.12/x86_64", report("miss", "k1", status="missing")),
        ("off/python3.12/x86_64", report("off", None)),
    ]
    [group] = shared_builds([(i, r, "f1") for i, r in reports])
    assert group.dependency_key == "k1"
    assert group.targets == ["api/python3.12/x86_64", "web/python3.12/x86_64"]
    assert (group.built_by, group.builds) == (["api/python3.12/x86_64"], 1)
    assert dependency_state(reports[0][1], reports[0][0], [group]) == "miss"
    assert dependency_state(reports[1][1], reports[1][0], [group]) == "shared"
    assert dependency_state(reports[2][1], reports[2][0], [group]) == "miss"
    assert dependency_state(reports[3][1], reports[3][0], [group]) == "failed"
    assert dependency_state(reports[4][1], reports[4][0], [group]) == "off"


def test_a_set_reused_from_an_earlier_run_is_a_hit_not_shared() -> None:
    reports = [("a/x", report("hit", "k1")), ("b/x", report("hit", "k1"))]
    [group] = shared_builds([(i, r, None) for i, r in reports])
    assert (group.builds, group.built_by) == (0, [])
    assert dependency_state(reports[1][1], "b/x", [group]) == "hit"


def test_summary_table_lists_every_target_failures_and_sharing() -> None:
    zipped = report(
        "miss",
        "k1",
        artifacts=[ArtifactRecord(kind="function-zip", path="a.zip", size=3 * 1048576)],
    )
    failed = report(None, None, status="error", error="pip failed\nmore", error_kind="x")
    targets = [
        BatchTarget(
            id="api/python3.12/x86_64",
            name="api",
            kind="function",
            seconds=4.25,
            dependencies="miss",
            report=zipped,
        ),
        BatchTarget(
            id="web/python3.12/x86_64",
            name="web",
            kind="function",
            seconds=0.5,
            dependencies="failed",
            report=failed,
        ),
    ]
    shared = [
        SharedBuild(
            dependency_key="0123456789abcdef", targets=["a", "b"], built_by=["a"], builds=1
        ),
        SharedBuild(dependency_key="fedcba9876543210", targets=["c", "d"], built_by=[], builds=0),
    ]
    text = summary_table(
        BatchReport(
            manifest="m.toml",
            ok=False,
            seconds=5.0,
            targets=targets,
            shared_dependency_builds=shared,
        )
    ).splitlines()
    assert text[0].split() == ["target", "runtime", "arch", "status", "deps", "seconds", "zip"]
    assert text[1].split() == ["api", "python3.12", "x86_64", "ok", "miss", "4.2", "3.0", "MB"]
    assert text[2].split()[:5] == ["web", "python3.12", "x86_64", "error", "failed"]
    assert "web/python3.12/x86_64: error: pip failed" in text
    assert "one dependency set (0123456789ab), built once: a, b" in text
    assert "one dependency set (fedcba987654), reused from the cache: c, d" in text
    assert text[-1] == "1 of 2 targets built in 5.0 s; 1 failed"


def test_without_a_cache_key_the_schedule_fingerprint_groups() -> None:
    """The buildx backend reports hit/miss from BuildKit's cache and no whole-build key."""
    reports = [
        ("a/x", report("miss", None), "f1"),
        ("b/x", report("hit", None), "f1"),
        ("c/x", report("off", None), None),
    ]
    [group] = shared_builds(reports)
    assert (group.dependency_key, group.targets, group.builds) == ("f1", ["a/x", "b/x"], 1)
