"""Package indexes a project names (``[tool.uv.index]``, Poetry sources) and their credentials."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from builder.credentials import (
    credentials_in_url,
    named_index_credentials,
    poetry_variable_name,
    remember,
    uv_variable_name,
    with_credentials,
    without_credentials,
)
from builder.inputs.draft import Index
from builder.inputs.project import table

PYPI_URL = "https://pypi.org/simple/"


def same_index(first: str, second: str) -> bool:
    return without_credentials(first).rstrip("/") == without_credentials(second).rstrip("/")


def _authenticated(url: str, prefix: str, environ: Mapping[str, str]) -> str:
    """The URL's own credentials win; else the tool's ``<PREFIX>USERNAME/PASSWORD`` variables."""
    own = credentials_in_url(url)
    if own is not None:
        remember(own)
        return url
    found = named_index_credentials(prefix, environ)
    return with_credentials(url, found) if found is not None else url


def uv_indexes(pyproject: Mapping[str, Any], environ: Mapping[str, str]) -> list[Index]:
    """``[[tool.uv.index]]`` (and the older ``index-url``/``extra-index-url`` keys)."""
    uv = table(pyproject, "tool", "uv")
    found: list[Index] = []
    for entry in uv.get("index", []):
        name = str(entry.get("name", ""))
        prefix = f"UV_INDEX_{uv_variable_name(name)}_" if name else ""
        url = _authenticated(str(entry["url"]), prefix, environ) if prefix else str(entry["url"])
        found.append(
            Index(
                url,
                name=name,
                default=bool(entry.get("default", False)),
                flat=entry.get("format") == "flat",
            )
        )
    if uv.get("index-url"):
        found.append(Index(str(uv["index-url"]), default=True))
    found += [Index(str(url)) for url in uv.get("extra-index-url", [])]
    found += [Index(str(url), flat=True) for url in uv.get("find-links", [])]
    return found


def poetry_indexes(pyproject: Mapping[str, Any], environ: Mapping[str, str]) -> list[Index]:
    """Poetry sources: the first primary one replaces PyPI, as any primary source does."""
    found: list[Index] = []
    has_primary = False
    for source in table(pyproject, "tool", "poetry").get("source", []):
        name = str(source.get("name", ""))
        priority = str(source.get("priority", "primary"))
        url = str(source.get("url") or (PYPI_URL if name.lower() == "pypi" else ""))
        if not url:
            continue
        prefix = f"POETRY_HTTP_BASIC_{poetry_variable_name(name)}_"
        is_primary = priority in ("primary", "default") and not has_primary
        has_primary = has_primary or is_primary
        found.append(Index(_authenticated(url, prefix, environ), name=name, default=is_primary))
    return found


def indexes_for_lock(configured: list[Index], lock_urls: Iterable[str]) -> list[Index]:
    """The indexes the locked files came from, with the configured names and credentials.

    A lock made against an index that is not configured (``uv lock --default-index URL``,
    ``UV_DEFAULT_INDEX``) replaced PyPI when PyPI served nothing in it.
    """
    used = list(dict.fromkeys(url for url in lock_urls if url))
    chosen: list[Index] = []
    for url in used:
        match = next((index for index in configured if same_index(index.url, url)), None)
        chosen.append(match or Index(url))
    chosen += [index for index in configured if index.flat and index not in chosen]
    if any(index.default for index in chosen) or any(same_index(u, PYPI_URL) for u in used):
        return chosen
    unconfigured = [index for index in chosen if index not in configured and not index.flat]
    if unconfigured:
        first = unconfigured[0]
        chosen[chosen.index(first)] = Index(first.url, default=True)
    return chosen
