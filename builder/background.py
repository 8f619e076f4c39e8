"""Cleanup a build need not wait for: started at once, finished before the build returns.

Removing a finished build container takes the engine ~70 ms, during which the host can already
store the result and write the bundle. ``wait`` is called where a build hands back its report,
so nothing a build started outlives it (tests, API callers and ``docker ps`` see no leftovers).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

_PENDING: list[threading.Thread] = []
_LOCK = threading.Lock()


def start(work: Callable[[], None], name: str) -> None:
    # Not a daemon: even a caller that never waits does not exit before the work is done.
    thread = threading.Thread(target=work, name=name, daemon=False)
    with _LOCK:
        _PENDING.append(thread)
    thread.start()


def pending() -> list[threading.Thread]:
    """The cleanups started so far and not yet waited for (a later one may depend on them)."""
    with _LOCK:
        return list(_PENDING)


def wait() -> None:
    """Every cleanup started so far, by any thread, is done (its errors are its own to say)."""
    with _LOCK:
        pending = list(_PENDING)
    for thread in pending:
        thread.join()
    with _LOCK:
        for thread in pending:
            if thread in _PENDING:
                _PENDING.remove(thread)
