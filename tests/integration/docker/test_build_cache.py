"""The whole-build cache with real containers: reuse, source edits, damage, bypass, pruning."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.support.standins import ensure_standin

pytestmark = pytest.mark.docker
LABEL = "org.lambda-builder.build"


@pytest.fixture(scope="module")
def standin_311() -> str:
    return ensure_standin("python3.11", "x86_64")


class Project:
    """One function's source and requirements, built again and again with one cache."""

    def __init__(self, cli: Any, root: Path, image: str):
        self.cli, self.root, self.image = cli, root, image
        self.env = {"LAMBDA_BUILDER_CACHE_DIR": str(root / "cache")}
        (root / "src").mkdir(parents=True)
        (root / "src" / "app.py").write_text("def handler(event, context):\n    return 1\n")
        (root / "requirements.txt").write_text("cextpkg==1.0\npurepkg==1.0\n")
        self.runs = 0

    def build(
        self, *extra: str, env: dict[str, str] | None = None
    ) -> tuple[Any, dict[str, Any], Path]:
        self.runs += 1
        out, report = self.root / f"out{self.runs}", self.root / f"report{self.runs}.json"
        result = self.cli(
            "build", str(self.root / "src"), "-r", str(self.root / "requirements.txt"),
            "--runtime", "python3.11", "--base-image", self.image,
            "-o", str(out), "--report", str(report), *extra, env={**self.env, **(env or {})},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        [target] = json.loads(report.read_text())["targets"]
        return result, target, out

    def cache(self, *args: str) -> Any:
        return self.cli("cache", *args, env=self.env)


def files(tree: Path) -> dict[str, bytes]:
    return {p.relative_to(tree).as_posix(): p.read_bytes() for p in tree.rglob("*") if p.is_file()}


def test_unchanged_dependencies_reuse_the_build_without_a_container(
    cli: Any, tmp_path: Path, standin_311: str
) -> None:
    project = Project(cli, tmp_path, standin_311)
    _, first, out1 = project.build()
    assert first["dependency_cache"] == "miss"
    assert {p["name"]: p["how"] for p in first["packages"]} == {
        "cextpkg": "built-from-sdist",
        "purepkg": "wheel",
    }
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return 2\n")
    started = time.time_ns()
    result, second, out2 = project.build(env={"PYTHONPROFILEIMPORTTIME": "1"})
    events = docker.from_env().events(
        since=started // 10**9 - 1,  # whole seconds: the first build's may fall in this one
        until=int(time.time()) + 1,
        filters={"type": "container", "event": "create", "label": LABEL},
        decode=True,
    )
    created = [event for event in events if int(event["timeNano"]) >= started]
    assert second["dependency_cache"] == "hit"
    assert "dependencies unchanged: reusing the build" in result.stderr
    assert "starting a build container" not in result.stderr
    assert second["packages"] == first["packages"]
    one, two = files(out1), files(out2)
    assert one.pop("app.py") != two.pop("app.py")
    assert one == two  # the same dependency tree, byte for byte
    assert created == []  # no build container at all
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "builder.host.build_cache" in imported
    assert not {"docker", "requests"} & imported  # a cache hit needs no docker SDK


def test_a_damaged_entry_is_rebuilt_and_the_build_says_so(
    cli: Any, tmp_path: Path, standin_311: str
) -> None:
    project = Project(cli, tmp_path, standin_311)
    _, _, out1 = project.build()
    good = files(out1)  # taken now: the bundle's dependency files are links into the entry
    [entry] = (tmp_path / "cache" / "builds-v1").iterdir()
    [so] = (entry / "tree" / "cextpkg").glob("_native*.so")
    so.write_bytes(so.read_bytes()[:100])  # a truncated copy, as a full disk would leave
    result, target, out2 = project.build()
    assert "was unusable" in result.stderr and "rebuilding" in result.stderr
    assert target["dependency_cache"] == "miss"
    assert files(out2) == good


def test_an_edit_in_a_bundle_is_never_shipped_by_the_next_build(
    cli: Any, tmp_path: Path, standin_311: str
) -> None:
    # Bundles share their dependency files with the cache entry (hard links, as uv does):
    # editing one in place changes the entry, which the next build notices and rebuilds.
    project = Project(cli, tmp_path, standin_311)
    _, _, out = project.build()
    good = files(out)
    (out / "purepkg" / "__init__.py").write_text("EDITED = True\n")
    result, target, out = project.build()
    assert "was unusable" in result.stderr and target["dependency_cache"] == "miss"
    assert files(out) == good
    _, again, _ = project.build()
    assert again["dependency_cache"] == "hit"


def test_no_cache_bypasses_and_changes_rebuild(cli: Any, tmp_path: Path, standin_311: str) -> None:
    project = Project(cli, tmp_path, standin_311)
    project.build()
    _, bypassed, _ = project.build("--no-cache")
    assert bypassed["dependency_cache"] == "off"
    (tmp_path / "requirements.txt").write_text("purepkg==1.0\n")
    _, changed, out = project.build()
    assert changed["dependency_cache"] == "miss"
    assert [p["name"] for p in changed["packages"]] == ["purepkg"]
    assert not (out / "cextpkg").exists()


def test_cache_info_and_prune(cli: Any, tmp_path: Path, standin_311: str) -> None:
    project = Project(cli, tmp_path, standin_311)
    project.build()
    (tmp_path / "cache" / "builds-v1" / ".incoming-interrupted" / "tree").mkdir(parents=True)
    # What a split build killed with SIGKILL leaves: its work volume, used by no container.
    killed = docker.from_env().volumes.create(
        name=f"lambda-builder-work-test-{tmp_path.name}"[:60],
        labels={"org.lambda-builder.work": "python3.11/arm64"},
    )
    info = project.cache("info", "--json")
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["entries"] == 1 and data["size"] > 0
    assert data["builds"][0]["target"] == "python3.11/x86_64"
    assert data["builds"][0]["packages"] == 2
    text = project.cache("info").stdout
    assert "1 cached builds" in text and "1 unfinished writes" in text
    assert "work volumes of killed builds" in text
    dry = project.cache("prune", "--all", "--dry-run")
    assert "would remove 1 cached builds" in dry.stdout
    assert json.loads(project.cache("info", "--json").stdout)["entries"] == 1
    pruned = project.cache("prune", "--all")
    assert pruned.returncode == 0 and "removed 1 cached builds" in pruned.stdout
    assert killed.name in pruned.stdout
    assert killed.name not in {v.name for v in docker.from_env().volumes.list()}
    assert json.loads(project.cache("info", "--json").stdout)["entries"] == 0
    assert list((tmp_path / "cache" / "builds-v1").iterdir()) == []
    assert project.cache("prune").returncode == 2


def test_finishing_the_bundle_never_changes_the_cached_tree(
    cli: Any, tmp_path: Path, standin_311: str
) -> None:
    project = Project(cli, tmp_path, standin_311)
    layer_one, layer_two = tmp_path / "one.zip", tmp_path / "two.zip"
    # --slim, --exclude and the layer rewrite RECORDs and remove files: on a copy, never the entry.
    options = ("--slim", "--exclude", "*.txt", "--compile-bytecode")
    _, first, out1 = project.build(*options, "--layer-zip", str(layer_one))
    result, second, out2 = project.build(*options, "--layer-zip", str(layer_two))
    assert "unusable" not in result.stderr
    assert (first["dependency_cache"], second["dependency_cache"]) == ("miss", "hit")
    assert layer_one.read_bytes() == layer_two.read_bytes()
    assert files(out1) == files(out2)
