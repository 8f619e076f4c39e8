"""Work a build need not wait for: cleanup, and imports of what only its end needs.

Removing a finished build container takes the engine ~70 ms, during which the host can already
store the result and write the bundle. ``wait`` is called where a build hands back its report,
so nothing a build started outlives it (tests, API callers and ``docker ps`` see no leftovers).

The report's models and the bundle's modules (~20-60 ms of imports) are needed only once the
dependencies are there. Imported before the build, they delay its container; imported beside
it, they compete for the GIL and the CPUs with the work that matters. ``import_later`` sets
them aside and ``while_waiting`` imports them in a thread when the build next waits (on its
container, or on the kernel's links): then they cost nothing.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Callable, Iterable

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


_LATER: list[str] = []


def import_later(modules: Iterable[str]) -> None:
    with _LOCK:
        _LATER.extend(name for name in modules if name not in _LATER)


def while_waiting() -> None:
    """The caller is about to wait: the modules set aside are imported now, in a thread
    (a failing one fails again, and says so, where it is used)."""
    with _LOCK:
        modules = list(_LATER)
        _LATER.clear()
    if not modules:
        return

    def load() -> None:
        for name in modules:
            with contextlib.suppress(Exception):
                importlib.import_module(name)

    threading.Thread(target=load, name="import ahead", daemon=True).start()
