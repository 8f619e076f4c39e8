"""The whole-build cache: keys that change only with what defines a tree, entries never shipped
corrupt, concurrent and interrupted writes harmless."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from builder.host import entry_files
from builder.host.build_cache import (
    VERIFIED_FILE,
    BuildStore,
    build_key,
    normalized_job,
    run_cached,
)
from builder.incontainer.install import install_wheels
from builder.job import PipelineResult
from builder.ui import NullUI
from tests.support.fixture_packages import write_wheel

RESULT = PipelineResult(schema_version=1, status="ok", python="3.11.2")
IDENTITY = {"tool": "0.1.0", "image": "lambda-builder/builder:abc", "runtime": "python3.11"}


def workspace(root: Path, requirements: str = "six==1.16.0\n", **job: object) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "program" / "pkg").mkdir(parents=True, exist_ok=True)
    (root / "program" / "pkg" / "pipeline.py").write_text("PASSES = 8\n")
    fields = {"runtime": "python3.11", "verbose": False, "cache_dir": "/c", "pip_env": {}}
    fields.update(job)
    (root / "job.json").write_text(json.dumps(fields))
    (root / "requirements.txt").write_text(requirements)
    return root


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_same_inputs_in_different_places_give_the_same_key(tmp_path: Path) -> None:
    one = workspace(tmp_path / "a", requirements=f"{tmp_path / 'a'}/inputs/0/lib\n")
    two = workspace(tmp_path / "b", requirements=f"{tmp_path / 'b'}/inputs/0/lib\n")
    assert build_key(one, str(one), IDENTITY) == build_key(two, str(two), IDENTITY)


@pytest.mark.parametrize(
    "change",
    [
        {"requirements": "six==1.17.0\n"},
        {"pip_env": {"PIP_INDEX_URL": "https://other.example/simple"}},
        {"compile_bytecode": True},
    ],
)
def test_what_defines_the_tree_changes_the_key(tmp_path: Path, change: dict[str, object]) -> None:
    base = workspace(tmp_path / "a")
    changed = workspace(tmp_path / "b", **change)
    assert build_key(base, "/r", IDENTITY) != build_key(changed, "/r", IDENTITY)


def test_identity_program_and_local_inputs_change_the_key(tmp_path: Path) -> None:
    root = workspace(tmp_path / "w")
    key = build_key(root, "/r", IDENTITY)
    assert build_key(root, "/r", {**IDENTITY, "image": "lambda-builder/builder:def"}) != key
    (root / "inputs" / "0").mkdir(parents=True)
    (root / "inputs" / "0" / "setup.py").write_text("print(1)\n")
    with_input = build_key(root, "/r", IDENTITY)
    assert with_input != key
    (root / "inputs" / "0" / "setup.py").write_text("print(2)\n")
    assert build_key(root, "/r", IDENTITY) != with_input
    (root / "program" / "pkg" / "pipeline.py").write_text("PASSES = 9\n")
    assert build_key(root, "/r", IDENTITY) not in (key, with_input)


def test_credentials_verbosity_and_cache_paths_do_not_change_the_key(tmp_path: Path) -> None:
    one = workspace(
        tmp_path / "a",
        pip_env={"PIP_INDEX_URL": "https://aws:token-1@corp.example/simple"},
        verbose=False,
        cache_dir="/one",
    )
    two = workspace(
        tmp_path / "b",
        pip_env={"PIP_INDEX_URL": "https://aws:token-2@corp.example/simple"},
        verbose=True,
        cache_dir=None,
    )
    assert build_key(one, "/r", IDENTITY) == build_key(two, "/r", IDENTITY)
    assert "token" not in normalized_job((one / "job.json").read_text(), "/r")


def test_a_saved_tree_is_found_verified_and_identical(tmp_path: Path) -> None:
    store = BuildStore(tmp_path / "cache")
    built = tree(tmp_path / "built", {"six.py": "X = 1\n", "pkg/__init__.py": ""})
    stored = store.save("k1", built, RESULT, "python3.11/x86_64")
    hit, problem = store.lookup("k1")
    assert problem is None and hit is not None
    assert hit.tree == stored and hit.result == RESULT
    assert (hit.tree / "six.py").read_text() == "X = 1\n"
    assert [entry.key for entry in store.entries()] == ["k1"]


@pytest.mark.parametrize("damage", ["truncate", "extra", "delete", "manifest"])
def test_a_damaged_entry_is_rebuilt_never_used(tmp_path: Path, damage: str) -> None:
    store = BuildStore(tmp_path / "cache")
    store.save("k1", tree(tmp_path / "built", {"a.py": "A = 1\n" * 100}), RESULT, "t")
    entry = store.entry_dir("k1")
    if damage == "truncate":
        (entry / "tree" / "a.py").write_text("A = 1\n")
    elif damage == "extra":
        (entry / "tree" / "evil.py").write_text("import os\n")
    elif damage == "delete":
        (entry / "tree" / "a.py").unlink()
    else:
        (entry / "manifest.json").write_text("{")
    hit, problem = store.lookup("k1")
    assert hit is None and problem is not None and "rebuilding" in problem
    assert not entry.exists()


def _age_the_last_check(store: BuildStore, key: str) -> None:
    """As if the last check ran long after the files were written (no racy files left)."""
    record = store.entry_dir(key) / VERIFIED_FILE
    data = json.loads(record.read_text())
    data["at"] += 60 * 10**9
    record.write_text(json.dumps(data))


def _count_hashing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    hashed: list[str] = []
    real = entry_files.file_digest

    def counting(path: str | os.PathLike[str]) -> str:
        hashed.append(os.path.basename(path))
        return real(path)

    monkeypatch.setattr(entry_files, "file_digest", counting)
    return hashed


def test_files_unchanged_since_the_last_check_are_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = BuildStore(tmp_path / "cache")
    store.save("k1", tree(tmp_path / "built", {"a.py": "A = 1\n", "b.py": "B\n"}), RESULT, "t")
    hashed = _count_hashing(monkeypatch)
    # Saving hashed every file after setting its mtime into the past, and recorded that check.
    assert store.lookup("k1")[0] is not None
    assert hashed == []
    _age_the_last_check(store, "k1")
    assert store.lookup("k1")[0] is not None
    assert hashed == []


def test_files_with_old_times_keep_them_and_still_need_no_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The installer gives its files their wheel's times: saving leaves those alone.
    built = tree(tmp_path / "built", {"old.py": "OLD = 1\n", "new.py": "NEW = 1\n"})
    wheel_time = 1_600_000_000 * 10**9
    os.utime(built / "old.py", ns=(wheel_time, wheel_time))
    store = BuildStore(tmp_path / "cache")
    saved = store.save("k1", built, RESULT, "t")
    assert (saved / "old.py").stat().st_mtime_ns == wheel_time
    assert (saved / "new.py").stat().st_mtime_ns < time.time_ns() - 10**9  # settled
    hashed = _count_hashing(monkeypatch)
    assert store.lookup("k1")[0] is not None
    assert hashed == []
    (saved / "old.py").write_text("OLD = 2\n")  # a later write gives it a new time
    hit, problem = store.lookup("k1")
    assert hit is None and problem is not None and "old.py does not match" in problem


def test_a_same_size_write_right_after_saving_is_caught(tmp_path: Path) -> None:
    store = BuildStore(tmp_path / "cache")
    store.save("k1", tree(tmp_path / "built", {"a.py": "A = 1\n"}), RESULT, "t")
    (store.entry_dir("k1") / "tree" / "a.py").write_text("A = 2\n")
    hit, problem = store.lookup("k1")
    assert hit is None and problem is not None and "a.py does not match" in problem


def test_recent_files_are_hashed_even_when_their_stat_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A change in the same clock tick as the last check would leave the stat as it was.
    store = BuildStore(tmp_path / "cache")
    store.save("k1", tree(tmp_path / "built", {"a.py": "A = 1\n"}), RESULT, "t")
    os.utime(store.entry_dir("k1") / "tree" / "a.py")  # written now, as the check runs
    assert store.lookup("k1")[0] is not None
    hashed = _count_hashing(monkeypatch)
    assert store.lookup("k1")[0] is not None
    assert hashed == ["a.py"]


def test_a_same_size_change_after_a_check_is_caught(tmp_path: Path) -> None:
    store = BuildStore(tmp_path / "cache")
    store.save("k1", tree(tmp_path / "built", {"a.py": "A = 1\n"}), RESULT, "t")
    assert store.lookup("k1")[0] is not None
    _age_the_last_check(store, "k1")
    (store.entry_dir("k1") / "tree" / "a.py").write_text("A = 2\n")
    hit, problem = store.lookup("k1")
    assert hit is None and problem is not None and "a.py does not match" in problem


def test_a_damaged_check_record_only_means_hashing_again(tmp_path: Path) -> None:
    store = BuildStore(tmp_path / "cache")
    store.save("k1", tree(tmp_path / "built", {"a.py": "A = 1\n"}), RESULT, "t")
    assert store.lookup("k1")[0] is not None
    (store.entry_dir("k1") / VERIFIED_FILE).write_text("{not json")
    assert store.lookup("k1")[0] is not None
    assert json.loads((store.entry_dir("k1") / VERIFIED_FILE).read_text())["files"]


def test_two_saves_of_one_key_leave_one_whole_entry(tmp_path: Path) -> None:
    store = BuildStore(tmp_path / "cache")
    first = store.save("k1", tree(tmp_path / "one", {"a.py": "1\n"}), RESULT, "t")
    second = store.save("k1", tree(tmp_path / "two", {"a.py": "1\n"}), RESULT, "t")
    assert first == second
    hit, _ = store.lookup("k1")
    assert hit is not None
    assert [p.name for p in store.root.iterdir()] == ["k1"]


def test_an_interrupted_write_is_invisible_and_listed_as_a_leftover(tmp_path: Path) -> None:
    store = BuildStore(tmp_path / "cache")
    store.root.mkdir(parents=True)
    (store.root / ".incoming-abc" / "tree").mkdir(parents=True)  # Ctrl-C before the rename
    assert store.lookup("abc") == (None, None)
    assert store.entries() == []
    assert store.leftovers() == [store.root / ".incoming-abc"]


def test_a_failed_save_leaves_the_callers_tree_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = BuildStore(tmp_path / "cache")
    built = tree(tmp_path / "built", {"a.py": "1\n"})
    real_rename = os.rename

    def rename(source: object, destination: object) -> None:
        if str(destination).endswith("k1"):
            raise OSError(28, "No space left on device")
        real_rename(source, destination)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError):
        store.save("k1", built, RESULT, "t")
    assert (built / "a.py").read_text() == "1\n"


def test_run_cached_builds_once_then_reuses(tmp_path: Path) -> None:
    store = BuildStore(tmp_path / "cache")
    runs: list[int] = []

    def run() -> tuple[PipelineResult, Path]:
        runs.append(1)
        return RESULT, tree(tmp_path / f"built{len(runs)}", {"a.py": "1\n"})

    first = run_cached(store, lambda: "k1", run, "t", NullUI())
    second = run_cached(store, lambda: "k1", run, "t", NullUI())
    assert (first.state, second.state, len(runs)) == ("miss", "hit", 1)
    assert first.key == second.key == "k1"  # the report's dependency_key (build-all shares by it)
    assert second.tree == first.tree and (second.tree / "a.py").read_text() == "1\n"
    off = run_cached(None, lambda: "k1", run, "t", NullUI())
    assert off.state == "off" and off.key is None and len(runs) == 2


def test_a_store_that_cannot_be_written_costs_the_cache_not_the_build(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory")
    built = tree(tmp_path / "built", {"a.py": "1\n"})
    outcome = run_cached(BuildStore(blocker), lambda: "k1", lambda: (RESULT, built), "t", NullUI())
    assert outcome.state == "miss" and outcome.tree == built and (built / "a.py").is_file()


def test_failed_builds_are_not_stored(tmp_path: Path) -> None:
    store = BuildStore(tmp_path / "cache")
    missing = PipelineResult(schema_version=1, status="missing")
    built = tree(tmp_path / "built", {})
    run_cached(store, lambda: "k1", lambda: (missing, built), "t", NullUI())
    assert store.entries() == []


def test_shipped_bytecode_is_verified_like_every_other_file(tmp_path: Path) -> None:
    store = BuildStore(tmp_path / "cache")
    built = tree(tmp_path / "built", {"pkg/__init__.py": "", "pkg/__pycache__/x.pyc": "good"})
    store.save("k1", built, RESULT, "t")
    (store.entry_dir("k1") / "tree" / "pkg" / "__pycache__" / "x.pyc").write_text("evil")
    hit, problem = store.lookup("k1")
    assert hit is None and problem is not None and "x.pyc" in problem


def test_saving_an_installed_tree_takes_the_installers_hashes_instead_of_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = write_wheel(
        tmp_path / "dists", "pkg", "1.0", "py3-none-any", {"pkg/__init__.py": "X = 1\n"}
    )
    installed = tmp_path / "built"
    install_wheels([str(wheel)], str(installed))
    (installed / "pkg" / "__pycache__").mkdir()
    (installed / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"compiled")
    truth = {rel: entry_files.file_digest(path) for rel, path in entry_files.tree_files(installed)}
    hashed = _count_hashing(monkeypatch)

    store = BuildStore(tmp_path / "cache")
    store.save("k1", installed, RESULT, "t")

    manifest = json.loads((store.entry_dir("k1") / "manifest.json").read_text())
    assert manifest["files"] == truth
    # Read: the RECORD (it lists no hash of itself) and what the installer did not write.
    assert sorted(hashed) == ["RECORD", "__init__.cpython-311.pyc"]


def test_a_file_changed_after_install_is_hashed_not_taken_from_its_record(
    tmp_path: Path,
) -> None:
    wheel = write_wheel(
        tmp_path / "dists", "pkg", "1.0", "py3-none-any", {"pkg/__init__.py": "X = 1\n"}
    )
    installed = tmp_path / "built"
    install_wheels([str(wheel)], str(installed))
    (installed / "pkg" / "__init__.py").write_text("X = 22\n")  # another size than its row

    store = BuildStore(tmp_path / "cache")
    store.save("k1", installed, RESULT, "t")

    manifest = json.loads((store.entry_dir("k1") / "manifest.json").read_text())
    expected = entry_files.file_digest(store.entry_dir("k1") / "tree" / "pkg" / "__init__.py")
    assert manifest["files"]["pkg/__init__.py"] == expected
    assert store.lookup("k1")[0] is not None
