"""Cleanup that runs beside the build is finished by the time the build returns."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from builder import background


def test_wait_returns_once_every_started_cleanup_is_done() -> None:
    release = threading.Event()
    done: list[str] = []

    def slow() -> None:
        release.wait(5)
        done.append("slow")

    background.start(slow, "slow")
    background.start(lambda: done.append("quick"), "quick")
    assert "slow" not in done  # it runs beside the caller
    release.set()
    background.wait()
    assert sorted(done) == ["quick", "slow"]
    background.wait()  # nothing left: returns at once


def test_a_cleanup_can_wait_for_those_started_before_it() -> None:
    """The work volume of a split build goes once the containers using it are gone."""
    release = threading.Event()
    order: list[str] = []
    background.start(lambda: (release.wait(5), order.append("container")), "container")
    earlier = background.pending()

    def volume() -> None:
        for thread in earlier:
            thread.join()
        order.append("volume")

    background.start(volume, "volume")
    release.set()
    background.wait()
    assert order == ["container", "volume"]


def test_modules_set_aside_are_imported_once_the_build_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "later_module.py").write_text(
        "import threading, time\ntime.sleep(0.2)\nBY = threading.current_thread().name\n"
    )
    (tmp_path / "broken_module.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    background.import_later(["broken_module", "later_module"])
    assert "later_module" not in sys.modules  # set aside, not imported yet
    started = time.monotonic()
    background.while_waiting()
    assert time.monotonic() - started < 0.15  # the caller goes on at once
    time.sleep(0.05)
    import later_module  # waits for the thread's import, which a broken module did not stop

    assert later_module.BY == "import ahead"
    background.while_waiting()  # nothing left: no second import
    monkeypatch.delitem(sys.modules, "later_module")
