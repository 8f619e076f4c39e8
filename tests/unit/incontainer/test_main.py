"""The pipeline's entry point: always a result file, whatever goes wrong."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any

import pytest

from builder.incontainer.__main__ import main
from builder.incontainer.protocol import EXPECT_VARIABLE, SCHEMA_VERSION


def _result(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_wrong_arguments_print_usage_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage:" in capsys.readouterr().err


def test_job_of_another_schema_still_gets_an_error_result(tmp_path: Path) -> None:
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"schema_version": 999}), encoding="utf-8")
    assert main([str(job), str(tmp_path / "result.json")]) == 1
    result = _result(tmp_path / "result.json")
    assert result["status"] == "error" and result["schema_version"] == SCHEMA_VERSION
    assert result["error"]["kind"] == "job"
    assert "999" in result["error"]["message"]


def test_unreadable_job_file_gets_an_error_result(tmp_path: Path) -> None:
    assert main([str(tmp_path / "absent.json"), str(tmp_path / "result.json")]) == 1
    assert _result(tmp_path / "result.json")["error"]["kind"] == "job"


def test_job_with_nothing_to_install_succeeds_and_describes_the_interpreter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = {
        "schema_version": SCHEMA_VERSION,
        "runtime": "python3.12",
        "target": {"major": 3, "minor": 12, "machine": "x86_64", "glibc": [2, 34]},
        "work_dir": str(tmp_path / "work"),
        "target_dir": str(tmp_path / "target"),
    }
    (tmp_path / "work").mkdir()
    (tmp_path / "job.json").write_text(json.dumps(job), encoding="utf-8")
    assert main([str(tmp_path / "job.json"), str(tmp_path / "result.json")]) == 0
    result = _result(tmp_path / "result.json")
    assert (result["status"], result["packages"], result["missing"]) == ("ok", [], [])
    assert result["python"] and result["machine"]
    assert '"event": "done"' in capsys.readouterr().out


def test_a_container_that_is_not_what_the_host_expects_stops_before_reading_the_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host names the machine and Python it started; anything else is reported at once."""
    monkeypatch.setenv(EXPECT_VARIABLE, "sparc64 2.7")
    assert main([str(tmp_path / "absent.json"), str(tmp_path / "result.json")]) == 1
    result = _result(tmp_path / "result.json")
    assert result["status"] == "error" and result["error"]["kind"] == "image"
    assert result["machine"] == platform.machine()
    assert result["python"] == platform.python_version()


def test_the_expected_container_goes_on_to_the_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = "{} {}.{}".format(platform.machine(), *sys.version_info[:2])
    monkeypatch.setenv(EXPECT_VARIABLE, here)
    assert main([str(tmp_path / "absent.json"), str(tmp_path / "result.json")]) == 1
    assert _result(tmp_path / "result.json")["error"]["kind"] == "job"  # got past the check
