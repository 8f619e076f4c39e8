"""bench/compare's helpers: medians, same-run ratios, failures, ELF machines, timed children."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench.compare_lib import process, report
from bench.compare_lib.workloads import so_machines


def sample(seconds: float, status: str = "ok", rss_kib: int = 2048) -> report.Sample:
    return report.Sample(seconds, status, 0 if status == "ok" else 1, rss_kib, "log")


def test_cell_is_the_median_of_its_repeats() -> None:
    cell = report.summarise([sample(10.0), sample(1.0), sample(3.0, rss_kib=4096)])
    assert (cell.status, cell.seconds, cell.max_rss_mib) == ("ok", 3.0, 2.0)


def test_one_failed_repeat_fails_the_cell() -> None:
    cell = report.summarise([sample(1.0), sample(9.0, "FAIL")])
    assert (cell.status, cell.seconds) == ("FAIL", None)


def test_ratios_divide_cells_of_the_same_workload_and_phase() -> None:
    cells = {
        ("web", "x86_64", "ours", "cold"): report.summarise([sample(2.0)]),
        ("web", "x86_64", "sam", "cold"): report.summarise([sample(8.0)]),
        ("web", "x86_64", "uv", "cold"): report.summarise([sample(1.0)]),
        ("web", "arm64", "ours", "cold"): report.summarise([sample(6.0)]),
        ("web", "arm64", "uv", "cold"): report.summarise([sample(1.0, "FAIL")]),
    }
    rows = {(row["arch"], row["phase"]): row for row in report.rows(cells)}
    assert rows["x86_64", "cold"]["ours_over_sam"] == 0.25
    assert rows["x86_64", "cold"]["ours_over_uv"] == 2.0
    assert rows["x86_64", "cold"]["arm64_over_x86_64"] is None
    assert rows["arm64", "cold"]["arm64_over_x86_64"] == 3.0
    assert rows["arm64", "cold"]["ours_over_uv"] is None
    lines = report.table(report.rows(cells)).splitlines()
    assert lines[0].split()[:3] == ["workload", "arch", "phase"]
    assert "FAIL" in lines[2].split()


def test_phases_a_tool_does_not_have_are_shown_empty() -> None:
    cells = {("web", "x86_64", "ours", "edit"): report.summarise([sample(1.5)])}
    (line,) = report.table(report.rows(cells)).splitlines()[1:]
    assert line.split() == ["web", "x86_64", "edit", "1.50", "2", "-", "-", "-", "-", "-"]


def test_json_holds_every_sample_and_the_ratios(tmp_path: Path) -> None:
    samples = {("web", "x86_64", "ours", "cold"): [sample(1.0), sample(3.0)]}
    cells = {key: report.summarise(runs) for key, runs in samples.items()}
    target = tmp_path / "out" / "results.json"
    report.write_json(target, report.document(samples, cells, {"started": "now"}))
    data = json.loads(target.read_text())
    assert data["schema_version"] == report.SCHEMA_VERSION
    assert data["results"][0]["seconds"] == 2.0
    assert len(data["results"][0]["samples"]) == 2
    assert data["ratios"][0]["phase"] == "cold"
    assert [path.name for path in target.parent.iterdir()] == ["results.json"]


def elf_header(machine: int) -> bytes:
    return b"\x7fELF" + bytes(14) + machine.to_bytes(2, "little")


def test_shared_objects_are_counted_by_machine(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.cpython-311-x86_64-linux-gnu.so").write_bytes(elf_header(62))
    (tmp_path / "pkg" / "b.so").write_bytes(elf_header(183))
    (tmp_path / "pkg" / "libc.so.6").write_bytes(elf_header(183))
    (tmp_path / "pkg" / "not-elf.so").write_bytes(b"text")
    (tmp_path / "pkg" / "link.so").symlink_to(tmp_path / "pkg" / "b.so")
    assert so_machines(tmp_path) == {"x86_64": 1, "arm64": 2}
    assert so_machines(tmp_path / "missing") == {}


def test_tools_see_neither_pip_nor_uv_settings_of_this_machine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    monkeypatch.setenv("UV_INDEX_URL", "file:///opt/pypi")
    environment = process.clean_environment(tmp_path / "ca.crt", EXTRA="1")
    assert "PIP_FIND_LINKS" not in environment
    assert "UV_INDEX_URL" not in environment
    assert environment["PIP_CONFIG_FILE"] == "/dev/null"
    assert environment["SSL_CERT_FILE"] == str(tmp_path / "ca.crt")
    assert environment["EXTRA"] == "1"


def test_timed_run_logs_output_exit_code_and_peak_memory(tmp_path: Path) -> None:
    code = "import sys; block = bytearray(64 << 20); print('made'); sys.exit(3)"
    log = tmp_path / "logs" / "child.log"
    timed = process.run_timed([sys.executable, "-c", code], log, {"PATH": "/usr/bin:/bin"})
    assert (timed.returncode, timed.ok) == (3, False)
    assert timed.max_rss_kib > 64 * 1024
    text = log.read_text()
    assert "made" in text
    assert "# exit 3" in text
