"""What of the host's pip, proxy and CA configuration a build container must see."""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from builder.redact import register_secret, secrets_in_url

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
)
# Keys whose values make sense on another machine; file paths and file:// URLs do not.
_PIP_KEYS = {
    "index-url": "PIP_INDEX_URL",
    "extra-index-url": "PIP_EXTRA_INDEX_URL",
    "trusted-host": "PIP_TRUSTED_HOST",
    "find-links": "PIP_FIND_LINKS",
    "timeout": "PIP_TIMEOUT",
    "default-timeout": "PIP_DEFAULT_TIMEOUT",
    "retries": "PIP_RETRIES",
    "pre": "PIP_PRE",
}
# Later sections win: the pipeline runs `pip download` and `pip wheel`, so those override
# [install], which many users set for the index alone.
_SECTIONS = ("global", "install", "wheel", "download")


@dataclass
class ForwardedSettings:
    environment: dict[str, str] = field(default_factory=dict)
    cert: Path | None = None
    dropped: list[str] = field(default_factory=list)


def site_config_dirs(environ: Mapping[str, str]) -> list[Path]:
    """pip's machine-wide config directories: each of ``XDG_CONFIG_DIRS``/pip, then /etc."""
    xdg_dirs = environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    return [Path(entry) / "pip" for entry in xdg_dirs.split(os.pathsep) if entry] + [Path("/etc")]


def pip_config_files(environ: Mapping[str, str]) -> list[Path]:
    """pip's own search order: site, user, then ``PIP_CONFIG_FILE`` (last wins)."""
    if environ.get("PIP_CONFIG_FILE") == os.devnull:
        return []
    home = Path(environ.get("HOME", str(Path.home())))
    xdg = Path(environ.get("XDG_CONFIG_HOME", str(home / ".config")))
    files = [directory / "pip.conf" for directory in site_config_dirs(environ)]
    files += [home / ".pip" / "pip.conf", xdg / "pip" / "pip.conf"]
    if sys.platform == "darwin":
        files.append(home / "Library" / "Application Support" / "pip" / "pip.conf")
    if environ.get("PIP_CONFIG_FILE"):
        files.append(Path(environ["PIP_CONFIG_FILE"]))
    return [path for path in files if path.is_file()]


def _is_portable(value: str) -> bool:
    return "://" in value and not value.startswith("file:")


def _portable_values(raw: str) -> tuple[list[str], list[str]]:
    kept: list[str] = []
    dropped: list[str] = []
    for value in raw.split():
        (kept if _is_portable(value) or "/" not in value else dropped).append(value)
    return kept, dropped


def forwarded_settings(environ: Mapping[str, str]) -> ForwardedSettings:
    """pip index settings from config files and ``PIP_*`` variables, plus proxies and cert."""
    settings = ForwardedSettings()
    parser = configparser.ConfigParser()
    parser.read([str(path) for path in pip_config_files(environ)])
    for section in _SECTIONS:
        if not parser.has_section(section):
            continue
        for key, variable in _PIP_KEYS.items():
            if parser.has_option(section, key):
                _set(settings, variable, parser.get(section, key))
        if parser.has_option(section, "cert"):
            settings.cert = Path(parser.get(section, "cert"))
    for variable in set(_PIP_KEYS.values()):
        if environ.get(variable):
            _set(settings, variable, environ[variable])
    for variable in PROXY_VARIABLES:
        if environ.get(variable):
            settings.environment[variable] = environ[variable]
            for secret in secrets_in_url(environ[variable]):
                register_secret(secret)
    if environ.get("PIP_CERT"):
        settings.cert = Path(environ["PIP_CERT"])
    return settings


def pip_config_value(key: str, environ: Mapping[str, str]) -> str | None:
    """A key of pip's configuration files (its variables aside), as our pip commands read it."""
    parser = configparser.ConfigParser()
    parser.read([str(path) for path in pip_config_files(environ)])
    found = None
    for section in _SECTIONS:
        if parser.has_option(section, key):
            found = parser.get(section, key)
    return found


def _set(settings: ForwardedSettings, variable: str, raw: str) -> None:
    kept, dropped = _portable_values(raw)
    settings.dropped += dropped
    if kept:
        settings.environment[variable] = " ".join(kept)
        for value in kept:
            for secret in secrets_in_url(value):
                register_secret(secret)
    else:
        settings.environment.pop(variable, None)
