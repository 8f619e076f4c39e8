"""Cleanup that runs beside the build is finished by the time the build returns."""

from __future__ import annotations

import threading

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
