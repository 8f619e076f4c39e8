"""--slim and --exclude rules, and the metadata clean-up that keeps RECORD truthful."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from builder.artifacts.slim import (
    exclude,
    matches_exclude,
    normalise_metadata,
    normalise_record,
    orphan_bytecode,
    plan_slim,
    rebuilt_record,
    record_hash,
    slim,
)


@pytest.mark.parametrize(
    ("path", "patterns", "expected"),
    [
        ("README.md", ["*.md"], True),
        ("pkg/docs/guide.md", ["*.md"], True),
        ("pkg/tests/test_x.py", ["tests"], True),
        ("pkg/testsuite.py", ["tests"], False),
        ("botocore/data/ec2/2016/service.json", ["botocore/data/ec2"], True),
        ("botocore/data/ec2-instance-connect/x.json", ["botocore/data/ec2"], False),
        ("botocore/data/ec2-instance-connect/x.json", ["botocore/data/ec2*"], True),
        ("app/fixtures/big.bin", ["./app/fixtures/*"], True),
        ("app/fixtures/big.bin", ["/app/fixtures/"], True),
        ("other/app/fixtures/big.bin", ["app/fixtures"], False),
        (".env", [".env"], True),
        ("env.py", [".env"], False),
        ("Pkg/File.PY", ["*.py"], False),
        ("anything.py", ["", "  ", "/"], False),
    ],
)
def test_exclude_patterns(path: str, patterns: list[str], expected: bool) -> None:
    assert matches_exclude(path, patterns) is expected


def test_slim_plan_takes_tests_stubs_docs_and_bytecode_only() -> None:
    files = [
        "numpy/__init__.py",
        "numpy/__init__.pyi",
        "numpy/core/tests/test_a.py",
        "numpy/core/tests/data/x.npy",
        "tests/test_top.py",
        "pkg/test/helpers.py",
        "pkg/testing.py",
        "pkg/test.py",
        "pkg/docs/index.rst",
        "pkg/docs/conf.txt",
        "pkg/doc/__init__.py",
        "pkg/doc/strings.txt",
        "pkg/README.md",
        "pkg/README",
        "pkg/CHANGELOG.txt",
        "pkg/LICENSE",
        "pkg/LICENSE.md",
        "pkg/data/template.txt",
        "pkg/__pycache__/mod.cpython-311.pyc",
        "pkg/mod.py",
        "pkg/_speedups.so",
        "pkg-1.0.dist-info/METADATA",
        "pkg-1.0.dist-info/licenses/README.md",
        "pkg/py.typed",
        "pkg/tests/LICENSE.txt",
        "pkg/docs/NOTICE.md",
    ]
    removed = set(plan_slim(files, compile_bytecode=False))
    assert removed == {
        "numpy/__init__.pyi",
        "numpy/core/tests/test_a.py",
        "numpy/core/tests/data/x.npy",
        "tests/test_top.py",
        "pkg/test/helpers.py",
        "pkg/docs/index.rst",
        "pkg/docs/conf.txt",
        "pkg/README.md",
        "pkg/README",
        "pkg/CHANGELOG.txt",
        "pkg/__pycache__/mod.cpython-311.pyc",
    }
    kept_with_compile = set(plan_slim(files, compile_bytecode=True))
    assert "pkg/__pycache__/mod.cpython-311.pyc" not in kept_with_compile


def test_record_drops_removed_files_rehashes_changed_ones_and_sorts() -> None:
    text = (
        "pkg/b.py,sha256=bbb,3\npkg/a.py,sha256=aaa,3\npkg/tests/t.py,sha256=ttt,3\n"
        "pkg/_x.so,sha256=old,100\npkg-1.0.dist-info/INSTALLER,sha256=i,4\n"
        "pkg-1.0.dist-info/RECORD,,\n"
    )
    present = {"pkg/a.py", "pkg/b.py", "pkg/_x.so"}
    fresh = normalise_record(
        text, "pkg-1.0.dist-info/RECORD", present.__contains__, {"pkg/_x.so": ("sha256=new", 60)}
    )
    rows = list(csv.reader(io.StringIO(fresh)))
    assert rows == [
        ["pkg/_x.so", "sha256=new", "60"],
        ["pkg/a.py", "sha256=aaa", "3"],
        ["pkg/b.py", "sha256=bbb", "3"],
        ["pkg-1.0.dist-info/RECORD", "", ""],
    ]


RECORD = "pkg-1.0.dist-info/RECORD"
NORMAL = "pkg/_x.so,sha256=x,9\npkg/a.py,sha256=a,3\npkg/b.py,,\n" + RECORD + ",,\n"


@pytest.mark.parametrize(
    ("text", "present", "rehashed"),
    [
        (NORMAL, {"pkg/_x.so", "pkg/a.py", "pkg/b.py"}, {}),  # as our installer writes it
        (NORMAL, {"pkg/_x.so", "pkg/a.py"}, {}),  # a file gone
        (NORMAL, {"pkg/_x.so", "pkg/a.py", "pkg/b.py"}, {"pkg/a.py": ("sha256=n", 4)}),
        (NORMAL.replace("\n", "\r\n"), {"pkg/_x.so", "pkg/a.py", "pkg/b.py"}, {}),
        ("pkg/b.py,,\npkg/a.py,sha256=a,3\n" + RECORD + ",,\n", {"pkg/a.py", "pkg/b.py"}, {}),
        ('"pkg/a,b.py",sha256=a,3\n' + RECORD + ",,\n", {"pkg/a,b.py"}, {}),
        ("pkg/a.py,sha256=a,3\n\n" + RECORD + ",,\n", {"pkg/a.py"}, {}),  # a blank line
        ("pkg/a.py,sha256=a,3,extra\n" + RECORD + ",,\n", {"pkg/a.py"}, {}),
        (RECORD + ",,\npkg/a.py,sha256=a,3\n" + RECORD + ",,\n", {"pkg/a.py"}, {}),
        ("pkg/a.py,sha256=a,3\n" + RECORD + ",sha256=r,9\n", {"pkg/a.py"}, {}),
        ("pkg/a.py,sha256=a,3\npkg/a.py,sha256=a,3\n" + RECORD + ",,\n", {"pkg/a.py"}, {}),
        ("pkg/a+b.py,,\npkg/a,,\n" + RECORD + ",,\n", {"pkg/a+b.py", "pkg/a"}, {}),
        (RECORD + ",,\n", set(), {}),
        ("", set(), {}),
    ],
)
def test_a_record_already_in_order_is_kept_and_any_other_is_rebuilt(
    text: str, present: set[str], rehashed: dict[str, tuple[str, int]]
) -> None:
    """The quick path (plain rows, nothing to drop or rehash) gives what the csv path gives."""
    fast = normalise_record(text, RECORD, present.__contains__, rehashed)
    assert fast == rebuilt_record(text, RECORD, present.__contains__, rehashed)


def test_the_installers_record_needs_no_rewrite() -> None:
    present = {"pkg/_x.so", "pkg/a.py", "pkg/b.py"}
    assert normalise_record(NORMAL, RECORD, present.__contains__, {}) is NORMAL


def test_orphaned_bytecode_is_found() -> None:
    files = [
        "a/m.py",
        "a/__pycache__/m.cpython-311.pyc",
        "a/__pycache__/gone.cpython-311.pyc",
        "__pycache__/top.cpython-311.pyc",
        "legacy.pyc",
    ]
    assert orphan_bytecode(files) == [
        "__pycache__/top.cpython-311.pyc",
        "a/__pycache__/gone.cpython-311.pyc",
    ]


def _write(root: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def _record(files: dict[str, str]) -> str:
    return (
        "".join(
            f"{name},{record_hash(content.encode())},{len(content)}\n"
            for name, content in files.items()
        )
        + "dep-1.0.dist-info/RECORD,,\n"
    )


def test_slim_touches_dependencies_and_never_the_users_replacements(tmp_path: Path) -> None:
    dependency = {
        "dep/__init__.py": "X = 1\n",
        "dep/tests/test_dep.py": "assert 1\n",
        "dep/__init__.pyi": "X: int\n",
        "dep/README.md": "# dep\n",
        "dep-1.0.dist-info/METADATA": "Name: dep\n",
    }
    files = {
        **dependency,
        "dep-1.0.dist-info/RECORD": _record(dependency),
        "dep-1.0.dist-info/INSTALLER": "pip\n",
        "dep-1.0.dist-info/direct_url.json": '{"url": "file:///tmp/x"}',
    }
    staged, deps = tmp_path / "staged", tmp_path / "deps"
    _write(deps, files)
    _write(staged, {**files, "dep/README.md": "# my own notes\n", "tests/test_app.py": "1\n"})
    result, rehashed = slim(staged, deps, compile_bytecode=False)
    for root in (staged, deps):
        normalise_metadata(root, rehashed)
    assert not (deps / "dep" / "tests").exists() and not (staged / "dep" / "tests").exists()
    assert not (staged / "dep" / "__init__.pyi").exists()
    assert not (deps / "dep" / "README.md").exists()
    assert (staged / "dep" / "README.md").read_text() == "# my own notes\n"  # the user's file
    assert (staged / "tests" / "test_app.py").is_file()  # the user's tests are not a dependency's
    assert (result.removed_files, rehashed) == (2, {})
    assert not (staged / "dep-1.0.dist-info" / "INSTALLER").exists()
    assert not (deps / "dep-1.0.dist-info" / "direct_url.json").exists()
    record = (deps / "dep-1.0.dist-info" / "RECORD").read_text()
    assert "tests" not in record and ".pyi" not in record and "INSTALLER" not in record
    assert record.splitlines()[-1] == "dep-1.0.dist-info/RECORD,,"


def test_exclude_removes_matching_files_and_counts_them(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app.py": "1\n",
            "fixtures/big.bin": "x" * 1000,
            "notes.md": "n\n",
            "pkg/__pycache__/app.cpython-311.pyc": "c",
        },
    )
    assert exclude(tmp_path, ["fixtures", "*.md"]) == (2, 1002)
    assert exclude(tmp_path, []) == (0, 0)
    normalise_metadata(tmp_path, {})
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["app.py"]


def test_normalised_records_keep_present_files_however_written_and_drop_the_rest(
    tmp_path: Path,
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("A = 1\n")
    info = tmp_path / "pkg-1.0.dist-info"
    info.mkdir()
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_text(
        "./pkg/a.py,,\npkg/gone.py,,\n../outside.py,,\npkg-1.0.dist-info/INSTALLER,,\n"
        "pkg-1.0.dist-info/RECORD,,\n"
    )
    normalise_metadata(tmp_path, {})
    lines = (info / "RECORD").read_text().splitlines()
    assert any(line.startswith(("./pkg/a.py,", "pkg/a.py,")) for line in lines), lines
    assert not [line for line in lines if "gone.py" in line or "outside" in line], lines
    assert not [line for line in lines if "INSTALLER" in line], lines
    assert not (info / "INSTALLER").exists()
