"""Zips, layers, slimming, size limits and bytecode through the real command line."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from builder.artifacts.elf import read_elf
from tests.support.fixture_packages import pure_wheel, write_wheel
from tests.support.package_index import PackageIndex, hermetic_pip_env
from tests.support.standins import ensure_standin

REPO_ROOT = Path(__file__).resolve().parents[3]
HOST = ["--runtime", "python3.11", "--no-container", "--no-cache"]
APP = (
    "import needspure\n\n\ndef handler(event, context):\n"
    "    return {'value': needspure.VALUE, 'event': event}\n"
)
C_SOURCE = """
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(42); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, "42"}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "cpkg._native", NULL, -1, methods};
PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
"""


def compile_extension(tmp: Path) -> bytes:
    """A CPython extension built with debug information, as many source builds leave them."""
    (tmp / "native.c").write_text(C_SOURCE)
    output = tmp / "native.so"
    subprocess.run(
        [
            "gcc",
            "-g",
            "-O0",
            "-shared",
            "-fPIC",
            f"-I{sysconfig.get_paths()['include']}",
            str(tmp / "native.c"),
            "-o",
            str(output),
        ],
        check=True,
    )
    return output.read_bytes()


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    dists = tmp_path_factory.mktemp("dists")
    pure_wheel(
        dists,
        "purepkg",
        "1.0",
        extra_files={
            "purepkg/tests/__init__.py": "",
            "purepkg/tests/test_purepkg.py": "assert True\n",
            "purepkg/__init__.pyi": "VALUE: str\n",
            "purepkg/README.md": "# purepkg\n",
            "purepkg/LICENSE": "MIT\n",
        },
    )
    pure_wheel(dists, "needspure", "1.0", requires=["purepkg"])
    native = compile_extension(tmp_path_factory.mktemp("native"))
    write_wheel(
        dists,
        "cpkg",
        "1.0",
        "cp311-cp311-manylinux_2_17_x86_64",
        {
            "cpkg/__init__.py": "from ._native import answer\n",
            f"cpkg/_native{sysconfig.get_config_var('EXT_SUFFIX')}": native,
            "cpkg/tests/test_native.py": "assert True\n",
        },
    )
    with PackageIndex(tmp_path_factory.mktemp("index")) as served:
        served.add_all(sorted(dists.iterdir()))
        yield served


def make_source(directory: Path, requirements: str = "needspure==1.0\n") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.py").write_text(APP)
    (directory / "requirements.txt").write_text(requirements)
    (directory / "util").mkdir(exist_ok=True)
    (directory / "util" / "__init__.py").write_text("HELPER = 1\n")
    return directory


def cli(
    index: PackageIndex, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The real command line in a fresh interpreter; pip sees only the local index."""
    environment = hermetic_pip_env({"PYTHONPATH": str(REPO_ROOT)})
    environment.pop("SOURCE_DATE_EPOCH", None)
    environment.update(env or {})
    command = [sys.executable, "-m", "builder", *args]
    if args[0] == "build":
        command += ["--index-url", index.url]
    return subprocess.run(
        command, env=environment, cwd=cwd or REPO_ROOT, capture_output=True, text=True, timeout=900
    )


def build(
    index: PackageIndex, source: Path, out: Path, *extra: str, host: bool = True
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    report = out.parent / f"{out.name}-report.json"
    report.unlink(missing_ok=True)
    where = (
        HOST
        if host
        else ["--runtime", "python3.11", "--base-image", ensure_standin("python3.11", "x86_64")]
    )
    result = cli(
        index, "build", str(source), "-o", str(out), "--report", str(report), *where, *extra
    )
    data = json.loads(report.read_text())["targets"][0] if report.exists() else {}
    return result, data


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def artifact(report: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(item for item in report["artifacts"] if item["kind"] == kind)


def test_same_build_twice_gives_identical_zip_sha256(index: PackageIndex, tmp_path: Path) -> None:
    source = make_source(tmp_path / "src")
    digests = []
    for run in ("one", "two"):
        zips = tmp_path / run
        result, report = build(
            index,
            source,
            tmp_path / f"out-{run}",
            "--zip",
            str(zips / "app.zip"),
            "--layer-zip",
            str(zips / "layer.zip"),
        )
        assert result.returncode == 0, result.stderr
        for kind, name in (("function-zip", "app.zip"), ("layer-zip", "layer.zip")):
            record = artifact(report, kind)
            assert record["path"] == str(zips / name)
            assert record["sha256"] == sha256(zips / name)
            assert record["size"] == (zips / name).stat().st_size
            assert record["unzipped_size"] > 0 and record["entries"] > 0
        assert sha256(zips / "app.zip") in result.stdout
        digests.append((sha256(zips / "app.zip"), sha256(zips / "layer.zip")))
        assert [p.name for p in zips.iterdir() if p.name.startswith(".")] == []
    assert digests[0] == digests[1]


def test_builds_from_two_checkouts_in_different_directories_are_identical(
    index: PackageIndex, tmp_path: Path
) -> None:
    first = make_source(tmp_path / "checkout-a" / "src")
    old_umask = os.umask(0o077)
    try:
        second = make_source(tmp_path / "somewhere" / "else" / "src")
    finally:
        os.umask(old_umask)
    for path in second.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    for source, name in ((first, "a"), (second, "b")):
        result, _report = build(
            index, source, tmp_path / f"out-{name}", "--zip", str(tmp_path / f"{name}.zip")
        )
        assert result.returncode == 0, result.stderr
    assert sha256(tmp_path / "a.zip") == sha256(tmp_path / "b.zip")


def test_source_date_epoch_sets_every_entry_time(index: PackageIndex, tmp_path: Path) -> None:
    source = make_source(tmp_path / "src")
    result = cli(
        index,
        "build",
        str(source),
        "-o",
        str(tmp_path / "out"),
        "--zip",
        str(tmp_path / "app.zip"),
        *HOST,
        env={"SOURCE_DATE_EPOCH": "1700000000"},
    )
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "app.zip") as archive:
        assert {info.date_time for info in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_layer_zip_lists_python_entries_only(index: PackageIndex, tmp_path: Path) -> None:
    source = make_source(tmp_path / "src")
    result, _report = build(
        index, source, tmp_path / "out", "--layer-zip", str(tmp_path / "layer.zip")
    )
    assert result.returncode == 0, result.stderr
    names = zipfile.ZipFile(tmp_path / "layer.zip").namelist()
    assert names and all(name.startswith("python/") for name in names)
    assert "python/needspure/__init__.py" in names and "python/purepkg/__init__.py" in names
    assert not any(name.endswith(("app.py", "requirements.txt")) for name in names)
    result, _report = build(
        index,
        source,
        tmp_path / "out",
        "--layer-zip",
        str(tmp_path / "site.zip"),
        "--layer-layout",
        "site-packages",
    )
    assert result.returncode == 0, result.stderr
    names = zipfile.ZipFile(tmp_path / "site.zip").namelist()
    assert names and all(n.startswith("python/lib/python3.11/site-packages/") for n in names)


def test_function_zip_holds_source_and_dependencies_at_the_top(
    index: PackageIndex, tmp_path: Path
) -> None:
    source = make_source(tmp_path / "src")
    result, _report = build(
        index,
        source,
        tmp_path / "out",
        "--zip",
        str(tmp_path / "app.zip"),
        "--exclude",
        "requirements.txt",
    )
    assert result.returncode == 0, result.stderr
    names = set(zipfile.ZipFile(tmp_path / "app.zip").namelist())
    assert {"app.py", "util/__init__.py", "needspure/__init__.py", "purepkg/__init__.py"} <= names
    assert "requirements.txt" not in names and not (tmp_path / "out" / "requirements.txt").exists()


def test_zip_inside_the_output_directory_survives_the_swap(
    index: PackageIndex, tmp_path: Path
) -> None:
    source = make_source(tmp_path / "src")
    for _ in range(2):  # the second time the old output, with the old zip, is swapped out
        result = cli(
            index,
            "build",
            str(source),
            "-o",
            "build",
            "--zip",
            "build/app.zip",
            *HOST,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        names = zipfile.ZipFile(tmp_path / "build" / "app.zip").namelist()
        assert "app.py" in names and not any("app.zip" in name for name in names)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["build", "src"]


def test_previous_zip_in_the_source_directory_is_not_zipped_again(
    index: PackageIndex, tmp_path: Path
) -> None:
    source = make_source(tmp_path / "src")
    for _ in range(2):
        result = cli(
            index, "build", ".", "-o", str(tmp_path / "out"), "--zip", "app.zip", *HOST, cwd=source
        )
        assert result.returncode == 0, result.stderr
    assert "app.zip" not in zipfile.ZipFile(source / "app.zip").namelist()


def test_slim_drops_tests_stubs_docs_and_debug_symbols_but_imports_still_work(
    index: PackageIndex, tmp_path: Path
) -> None:
    source = make_source(tmp_path / "src", "needspure==1.0\ncpkg==1.0\n")
    out = tmp_path / "out"
    result, report = build(index, source, out, "--slim", "--zip", str(tmp_path / "app.zip"))
    assert result.returncode == 0, result.stderr
    assert not (out / "purepkg" / "tests").exists() and not (out / "cpkg" / "tests").exists()
    assert not (out / "purepkg" / "__init__.pyi").exists()
    assert not (out / "purepkg" / "README.md").exists()
    assert (out / "purepkg" / "LICENSE").is_file()
    [native] = list((out / "cpkg").glob("_native*.so"))
    elf = read_elf(native)
    assert elf is not None
    assert not any(s.name.startswith(".debug") or s.name == ".symtab" for s in elf.sections)
    assert report["sizes"]["stripped_files"] == 1 and report["sizes"]["removed_files"] >= 5
    record = (out / "cpkg-1.0.dist-info" / "RECORD").read_text()
    assert "tests" not in record and f"{native.name},sha256=" in record
    assert str(native.stat().st_size) in record.split(native.name)[1].splitlines()[0]
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import cpkg, purepkg, needspure; "
        "assert cpkg.__file__.startswith(sys.argv[1]); print(cpkg.answer(), purepkg.VALUE)"
    )
    run = subprocess.run(
        [sys.executable, "-S", "-c", code, str(out)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["42", "purepkg", "1.0"]


@pytest.fixture(scope="module")
def oversize_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    dists = tmp_path_factory.mktemp("big")
    # Zeros deflate about 1000:1: a 270 MB package is a small wheel, but a real 270 MB install.
    write_wheel(
        dists,
        "bigpkg",
        "1.0",
        "py3-none-any",
        {"bigpkg/__init__.py": "", "bigpkg/model.bin": bytes(270_000_000)},
    )
    pure_wheel(dists, "purepkg", "1.0")
    with PackageIndex(tmp_path_factory.mktemp("big-index")) as served:
        served.add_all(sorted(dists.iterdir()))
        yield served


def test_oversize_dependency_fails_with_the_numbers(
    oversize_index: PackageIndex, tmp_path: Path
) -> None:
    source = make_source(tmp_path / "src", "purepkg==1.0\n")
    out, zips = tmp_path / "out", tmp_path / "zips"
    result, _report = build(oversize_index, source, out, "--zip", str(zips / "app.zip"))
    assert result.returncode == 0, result.stderr
    previous = sha256(zips / "app.zip")
    (source / "requirements.txt").write_text("purepkg==1.0\nbigpkg==1.0\n")
    result, _report = build(oversize_index, source, out, "--zip", str(zips / "app.zip"))
    assert result.returncode == 8, result.stderr
    shown = result.stdout + result.stderr
    assert "270,000,000" in shown or "270,0" in shown
    assert "262,144,000 bytes" in shown and "bigpkg 1.0 257.5 MB" in shown
    assert "hint:" in shown
    assert _report["error_kind"] == "artifact"
    assert sha256(zips / "app.zip") == previous  # the previous zip and output stay
    assert (out / "app.py").is_file() and not (out / "bigpkg").exists()
    assert sorted(p.name for p in zips.iterdir()) == ["app.zip"]  # no temporary left behind
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")]
    assert leftovers == []


@pytest.mark.docker
def test_host_and_container_builds_of_the_same_wheels_give_the_same_zip(
    index: PackageIndex, tmp_path: Path
) -> None:
    source = make_source(tmp_path / "src")
    digests = []
    for host in (True, False):
        zip_path = tmp_path / f"{'host' if host else 'container'}.zip"
        result, _report = build(index, source, tmp_path / "out", "--zip", str(zip_path), host=host)
        assert result.returncode == 0, result.stderr
        digests.append(sha256(zip_path))
    assert digests[0] == digests[1]


@pytest.mark.docker
def test_compile_bytecode_output_runs_and_is_reproducible(
    index: PackageIndex, tmp_path: Path
) -> None:
    source = make_source(tmp_path / "src")
    digests = []
    for run in ("one", "two"):
        zip_path = tmp_path / run / "app.zip"
        result, _report = build(
            index,
            source,
            tmp_path / f"out-{run}",
            "--compile-bytecode",
            "--zip",
            str(zip_path),
            host=False,
        )
        assert result.returncode == 0, result.stderr
        digests.append(sha256(zip_path))
    assert digests[0] == digests[1]
    with zipfile.ZipFile(tmp_path / "one" / "app.zip") as archive:
        compiled = {n for n in archive.namelist() if n.endswith(".pyc")}
        assert {
            "__pycache__/app.cpython-311.pyc",
            "util/__pycache__/__init__.cpython-311.pyc",
            "needspure/__pycache__/__init__.cpython-311.pyc",
        } <= compiled
        for name in compiled:
            header = archive.read(name)[:16]
            assert int.from_bytes(header[4:8], "little") == 0b11, name  # hash-based, checked
            # Valid for its source, so Python loads it instead of compiling again (this host
            # and the stand-in are both 3.11: same magic number, same source hash key).
            parts = name.split("/")
            source = "/".join([*parts[:-2], parts[-1].split(".")[0] + ".py"])
            assert header[:4] == importlib.util.MAGIC_NUMBER
            assert header[8:16] == importlib.util.source_hash(archive.read(source)), name
    event = tmp_path / "event.json"
    event.write_text('{"id": 7}')
    result = cli(
        index,
        "verify",
        str(tmp_path / "one" / "app.zip"),
        "--runtime",
        "python3.11",
        "--base-image",
        ensure_standin("python3.11", "x86_64"),
        "--handler",
        "app.handler",
        "--event",
        str(event),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"value": "needspure 1.0"' in result.stdout and '"id": 7' in result.stdout


def test_no_zip_and_no_output_change_when_verification_fails(
    index: PackageIndex, tmp_path: Path
) -> None:
    source = make_source(tmp_path / "src")
    (source / "broken.py").write_text("raise RuntimeError('needs a TABLE_NAME variable')\n")
    result, _report = build(
        index, source, tmp_path / "out", "--zip", str(tmp_path / "app.zip"), "--verify"
    )
    assert result.returncode == 8
    failure = "import broken failed: RuntimeError: needs a TABLE_NAME variable"
    assert failure in result.stdout + result.stderr
    assert failure in _report["error"]
    assert not (tmp_path / "app.zip").exists() and not (tmp_path / "out").exists()
    # No temporary zip or directory: only the source and the report of the failed build.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out-report.json", "src"]


REAL_WHEELS = [
    "numpy==1.26.4",
    "markupsafe==2.1.5",
    "pyyaml==6.0.1",
    "attrs==23.2.0",
    "six==1.16.0",
]
REAL_CHECK = """
import sys
sys.path.insert(0, sys.argv[1])
import attr, markupsafe, numpy, numpy.linalg, numpy.testing, six, yaml
for module in (attr, markupsafe, numpy, six, yaml):
    assert module.__file__.startswith(sys.argv[1]), module.__file__
assert numpy.linalg.inv(numpy.eye(2)).sum() == 2.0
numpy.testing.assert_array_equal(numpy.arange(3), [0, 1, 2])
assert str(markupsafe.escape("<b>")) == "&lt;b&gt;"
assert markupsafe.escape.__module__ == "markupsafe._speedups"
assert yaml.load("a: [1, 2]", Loader=yaml.CSafeLoader) == {"a": [1, 2]}
assert attr.__version__ == "23.2.0" and six.PY3
print("ok")
"""


@pytest.fixture(scope="module")
def real_wheels() -> list[Path]:
    """Real wheels from PyPI, fetched once with this host's pip settings and cached."""
    cache = REPO_ROOT / ".pytest_cache" / "d" / "lambda-builder-real-wheels"
    cache.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--no-input",
        "--only-binary=:all:",
        "--no-deps",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--abi",
        "cp311",
        "--platform",
        "manylinux2014_x86_64",
        "-d",
        str(cache),
        *REAL_WHEELS,
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    wheels = sorted(cache.glob("*.whl"))
    assert len(wheels) >= len(REAL_WHEELS)
    return wheels


@pytest.mark.network
def test_slim_keeps_real_packages_importable(real_wheels: list[Path], tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("import numpy, yaml, markupsafe, attr, six\n")
    (source / "requirements.txt").write_text("\n".join(REAL_WHEELS) + "\n")
    with PackageIndex(tmp_path / "index") as served:
        served.add_all(real_wheels)
        full, _report = build(served, source, tmp_path / "full")
        assert full.returncode == 0, full.stderr
        result, report = build(served, source, tmp_path / "out", "--slim", "--verify")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert list(out.rglob("tests")) == [] and list(out.rglob("*.pyi")) == []
    assert list((tmp_path / "full").rglob("tests")) and list((tmp_path / "full").rglob("*.pyi"))
    assert (out / "numpy" / "testing" / "__init__.py").is_file()
    assert report["sizes"]["removed_files"] > 100
    assert report["verification"]["ok"] is True
    imported = {item["name"] for item in report["verification"]["imports"] if item["ok"]}
    assert {"numpy", "yaml", "markupsafe", "attr", "six", "app", "_yaml"} <= imported
    run = subprocess.run(
        [sys.executable, "-S", "-c", REAL_CHECK, str(out)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"


@pytest.mark.docker
def test_bytecode_is_reproducible_on_python39_despite_hash_randomisation(tmp_path: Path) -> None:
    # Python 3.9 marshals frozenset constants in hash order; the compiler must pin the seed.
    image = ensure_standin("python3.9", "x86_64")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text('WORDS = {"alpha", "beta", "gamma", "delta"}\n')
    script = REPO_ROOT / "builder" / "incontainer" / "bytecode.py"
    digests = set()
    for seed in ("1", "2", "3"):
        subprocess.run(
            ["docker", "run", "--rm", "--user", f"{os.getuid()}:{os.getgid()}",
             "-e", f"PYTHONHASHSEED={seed}", "-v",
             f"{script}:/bytecode.py:ro", "-v", f"{tmp_path}:/tree", "--entrypoint",
             "/var/lang/bin/python3", image, "/bytecode.py", "/tree"],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        compiled = tmp_path / "pkg" / "__pycache__" / "__init__.cpython-39.pyc"
        digests.add(sha256(compiled))
        shutil.rmtree(compiled.parent)
    assert len(digests) == 1
