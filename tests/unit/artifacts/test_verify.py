"""The pure parts of `verify` (builder/verify.py): layouts, names, ELF problems, summary."""

from __future__ import annotations

from pathlib import Path

from builder.architectures import Architecture
from builder.artifacts.verify import (
    describe,
    detect_layout,
    elf_problems,
    import_roots,
    layout_problems,
    module_name,
    top_level_names,
)
from builder.artifacts.zips import collect_files
from builder.report import HandlerOutcome, ImportOutcome, VerificationReport
from builder.runtimes import get_runtime
from tests.unit.artifacts.test_elf import make_elf


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")


def test_module_names_of_sources_and_extensions() -> None:
    assert module_name("app.py") == "app"
    assert module_name("_speedups.cpython-311-x86_64-linux-gnu.so") == "_speedups"
    assert module_name("_cffi_backend.abi3.so") == "_cffi_backend"
    assert module_name("my-script.py") is None and module_name("class.py") is None
    assert module_name("README.md") is None


def test_top_level_names_of_a_function_bundle(tmp_path: Path) -> None:
    touch(
        tmp_path,
        "app.py",
        "setup.py",
        "pkg/__init__.py",
        "google/protobuf/__init__.py",
        "templates/index.html",
        "numpy.libs/libopenblas.so",
        "pkg-1.0.dist-info/METADATA",
        "__pycache__/app.cpython-311.pyc",
        "_native.cpython-311-x86_64-linux-gnu.so",
    )
    names, skipped = top_level_names([tmp_path])
    assert names == ["_native", "app", "google", "pkg"]
    assert skipped == ["setup: a packaging script"]


def test_layers_are_recognised_and_imported_from_both_places(tmp_path: Path) -> None:
    runtime = get_runtime("python3.12")
    touch(tmp_path, "python/lib/python3.12/site-packages/deep/__init__.py", "python/shallow.py")
    assert detect_layout(tmp_path) == "layer"
    roots = import_roots(tmp_path, "layer", runtime)
    assert roots == [tmp_path / "python/lib/python3.12/site-packages", tmp_path / "python"]
    assert top_level_names(roots, [tmp_path / "python" / "lib"])[0] == ["deep", "shallow"]
    assert layout_problems(tmp_path, "layer", runtime) == []
    [problem] = layout_problems(tmp_path, "layer", get_runtime("python3.11"))
    assert problem.path == "python/lib/python3.12"
    assert "holds site-packages for python3.12, but python3.11 only looks" in problem.detail
    touch(tmp_path, "python/lib/python3.11/site-packages/deep/__init__.py")
    assert layout_problems(tmp_path, "layer", get_runtime("python3.11")) == []
    (tmp_path / "python" / "lib" / "python3.11").rename(tmp_path / "python" / "lib" / "other")
    assert layout_problems(tmp_path, "layer", get_runtime("python3.11")) == [problem]
    touch(tmp_path, "app.py")
    assert detect_layout(tmp_path) == "function"


def test_elf_problems_name_the_file_and_its_package(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "new.so").write_bytes(make_elf(needs={"libc.so.6": ["GLIBC_2.28"]}))
    (tmp_path / "pkg" / "arm.so").write_bytes(make_elf(machine=183))
    (tmp_path / "pkg" / "old.so").write_bytes(make_elf(needs={"libc.so.6": ["GLIBC_2.17"]}))
    (tmp_path / "pkg" / "broken.so").write_bytes(b"\x7fELF\x02\x01" + bytes(10))
    owners = {f"pkg/{name}": "pkg 1.0" for name in ("new.so", "arm.so", "old.so")}
    count, problems, newest = elf_problems(
        collect_files(tmp_path).files, owners, get_runtime("python3.11"), Architecture.X86_64
    )
    assert count == 3 and newest == (2, 28)
    found = {(p.kind, p.path, p.package) for p in problems}
    assert found == {
        ("glibc", "pkg/new.so", "pkg 1.0"),
        ("machine", "pkg/arm.so", "pkg 1.0"),
        ("unreadable", "pkg/broken.so", ""),
    }
    assert any("GLIBC_2.28, newer than glibc 2.26 of python3.11" in p.detail for p in problems)
    count, problems, _newest = elf_problems(
        collect_files(tmp_path).files, owners, get_runtime("python3.12"), Architecture.ARM64
    )
    assert {p.path for p in problems} == {"pkg/new.so", "pkg/old.so", "pkg/broken.so"}


def test_the_summary_lists_failures_and_the_handler_result() -> None:
    report = VerificationReport(
        ok=False,
        runtime="python3.12",
        architecture="arm64",
        layout="function",
        glibc_limit="2.34",
        max_glibc="2.17",
        where="image",
        elf_files=2,
        imports=[
            ImportOutcome(name="app", ok=True),
            ImportOutcome(name="svc", ok=False, error="ImportError: x"),
        ],
        handler=HandlerOutcome(handler="app.handler", ok=True, result={"a": 1}, output="hello\n"),
    )
    lines = describe(report)
    assert lines[0].startswith("python3.12/arm64 function bundle: 2 ELF files, needing glibc")
    assert "  FAIL import svc failed: ImportError: x" in lines
    assert "  hello" in lines and 'handler app.handler returned: {\n  "a": 1\n}' in lines
    assert lines[-1] == "verification: FAILED"
