"""Builds of one local project directory take turns (two host targets sharing a library)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from builder.incontainer.source_lock import building_in, lock_path


def test_a_second_build_of_the_same_directory_waits_for_the_first(tmp_path: Path) -> None:
    project = tmp_path / "common"
    project.mkdir()
    events: list[str] = []
    holding = threading.Event()

    def first() -> None:
        with building_in(str(project)):
            events.append("first in")
            holding.set()
            time.sleep(0.3)
            events.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(5)
    with building_in(str(tmp_path / "." / "common")):  # the same directory, spelled otherwise
        events.append("second in")
    thread.join()
    assert events == ["first in", "first out", "second in"]


def test_other_directories_do_not_wait(tmp_path: Path) -> None:
    assert lock_path(str(tmp_path / "a")) != lock_path(str(tmp_path / "b"))
    with building_in(str(tmp_path / "a")), building_in(str(tmp_path / "b")):
        pass
