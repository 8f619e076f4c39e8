"""Index pages fetched ahead of pip's resolver, a few at a time.

pip asks for one project page at a time, each only when the resolver reaches that project:
the web workload's resolve waits for 9 pages one after the other (10-20 ms each through a
proxy, more from a distant index). The pages a resolve will ask for next are known earlier:
the root requirements at its start, and every dependency of a candidate as soon as the
resolver reads them (it then works through them one by one). Those pages are requested in
daemon threads through pip's own session (its index URLs, credentials, proxies, certificates
and cache) and handed to pip when it asks. pip still parses every page and makes every
choice itself, in its own order; a page whose request failed is simply asked for again by
pip, which then says what went wrong as it always does.

Everything patched is checked to exist first: a pip that moved it runs unpatched.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterable
from typing import Any

MAX_AHEAD = 8  # pages requested at once


class _Pages:
    """Pages requested ahead, by URL; a failed request is remembered as None."""

    def __init__(self, get: Any, make_content: Any, revalidates: bool):
        self._get = get
        self._make_content = make_content
        self._revalidates = revalidates
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_AHEAD)
        self._pending: dict[str, _Page] = {}
        self._asked: set[str] = set()
        self.collector: Any = None  # pip's LinkCollector, once it exists

    def ask(self, names: Iterable[str]) -> None:
        collector = self.collector
        if collector is None:
            return
        for name in names:
            if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
                continue  # not a project (Requires-Python's pseudo-requirement)
            for url in collector.search_scope.get_index_urls_locations(name):
                if url.startswith(("http://", "https://")):
                    self._start(url, name, collector.session)

    def _start(self, url: str, name: str, session: Any) -> None:
        with self._lock:
            if url in self._asked:
                return
            self._asked.add(url)
            page = self._pending[url] = _Page()
        refresh = getattr(session, "refresh_package", ())
        options = {"force_revalidate": ":all:" in refresh or name in refresh}

        def fetch() -> None:
            try:
                with self._slots:
                    if page.start():  # not already taken by pip, which then asks itself
                        page.response = self._get(
                            url, session=session, **(options if self._revalidates else {})
                        )
            except BaseException:  # pip asks again, and reports it
                page.response = None
            finally:
                page.done.set()

        threading.Thread(target=fetch, name="pip page ahead", daemon=True).start()

    def take(self, location: Any) -> Any:
        """The page pip asks for, if it was requested ahead and came back; else None (a
        request still queued behind others is dropped: pip asks at once)."""
        url = str(location.url).split("#", 1)[0]
        with self._lock:
            page = self._pending.pop(url, None)
        if page is None or not page.take():
            return None
        page.done.wait()
        if page.response is None:
            return None
        return self._make_content(page.response, cache_link_parsing=location.cache_link_parsing)


class _Page:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.response: Any = None
        self._lock = threading.Lock()
        self._state = "queued"  # then "started" (by its thread) or "dropped" (by pip)

    def start(self) -> bool:
        with self._lock:
            if self._state == "queued":
                self._state = "started"
            return self._state == "started"

    def take(self) -> bool:
        """Whether its request was sent: if not, it never will be."""
        with self._lock:
            if self._state == "queued":
                self._state = "dropped"
            return self._state == "started"


def patch_prefetch() -> bool:
    """Request the pages pip will ask for next while it works (False: left unpatched)."""
    try:
        from pip._internal.index import collector
        from pip._internal.resolution.resolvelib import provider, resolver
    except ImportError:
        return False
    get = getattr(collector, "_get_simple_response", None)
    make_content = getattr(collector, "_make_index_content", None)
    link_collector = getattr(collector, "LinkCollector", None)
    pip_provider = getattr(provider, "PipProvider", None)
    pip_resolver = getattr(resolver, "Resolver", None)
    parts = (get, make_content, link_collector, pip_provider, pip_resolver)
    if get is None or any(part is None for part in parts):
        return False
    methods = [
        (link_collector, "__init__"),
        (link_collector, "fetch_response"),
        (pip_provider, "get_dependencies"),
        (pip_resolver, "resolve"),
    ]
    if not all(callable(getattr(owner, name, None)) for owner, name in methods):
        return False
    revalidates = "force_revalidate" in inspect.signature(get).parameters
    pages = _Pages(get, make_content, revalidates)
    _wrap_collector(link_collector, pages)
    _wrap_resolver(pip_provider, pip_resolver, pages)
    return True


def _wrap_collector(link_collector: Any, pages: _Pages) -> None:
    init, fetch_response = link_collector.__init__, link_collector.fetch_response

    def collector_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        pages.collector = self

    def fetch_ahead_or_now(self: Any, location: Any, *args: Any, **kwargs: Any) -> Any:
        content = pages.take(location)
        return content if content is not None else fetch_response(self, location, *args, **kwargs)

    link_collector.__init__ = collector_init
    link_collector.fetch_response = fetch_ahead_or_now


def _wrap_resolver(pip_provider: Any, pip_resolver: Any, pages: _Pages) -> None:
    get_dependencies, resolve = pip_provider.get_dependencies, pip_resolver.resolve

    def dependencies_ahead(self: Any, candidate: Any) -> Any:
        found = list(get_dependencies(self, candidate))
        pages.ask(str(getattr(r, "project_name", "")) for r in found)
        return found

    def resolve_ahead(self: Any, root_reqs: Any, *args: Any, **kwargs: Any) -> Any:
        pages.ask(str(getattr(r, "name", None) or "") for r in root_reqs)
        return resolve(self, root_reqs, *args, **kwargs)

    pip_provider.get_dependencies = dependencies_ahead
    pip_resolver.resolve = resolve_ahead
