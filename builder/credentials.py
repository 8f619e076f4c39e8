"""Index credentials and the SSH agent: found on this machine, handed to pip, never stored."""

from __future__ import annotations

import netrc
import os
import re
import stat
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from builder.errors import UsageError
from builder.redact import register_secret

# pip variables that hold index URLs (space-separated); find-links may mix URLs and paths.
_URL_VARIABLES = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS")
SSH_DIR = "/run/lambda-builder-ssh"
# Docker Desktop for Mac cannot bind-mount a macOS socket; it forwards the host agent here.
_DOCKER_DESKTOP_AGENT = "/run/host-services/ssh-auth.sock"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = ""


class CredentialLookup(Protocol):
    """Asks a credential store (keyring) for an index URL's credentials; never raises."""

    def __call__(self, url: str, username: str | None) -> Credentials | None: ...


def remember(credentials: Credentials) -> Credentials:
    """Register the secret part (and its URL-encoded form) so redaction hides it everywhere."""
    secret = credentials.password or credentials.username
    for value in (secret, quote(secret, safe="")):
        register_secret(value)
    return credentials


def credentials_in_url(url: str) -> Credentials | None:
    parts = urlsplit(url)
    if parts.username is None:
        return None
    return Credentials(unquote(parts.username), unquote(parts.password or ""))


def without_credentials(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def with_credentials(url: str, credentials: Credentials) -> str:
    """``url`` carrying ``credentials``, each part percent-encoded as a URL requires."""
    parts = urlsplit(url)
    userinfo = quote(credentials.username, safe="")
    if credentials.password:
        userinfo += ":" + quote(credentials.password, safe="")
    netloc = f"{userinfo}@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def uv_variable_name(index_name: str) -> str:
    """uv's rule: ASCII letters and digits upper-cased, anything else becomes ``_``."""
    return "".join(c.upper() if c.isascii() and c.isalnum() else "_" for c in index_name)


def poetry_variable_name(source_name: str) -> str:
    """Poetry's rule for ``http-basic.<name>``: upper-cased, ``-`` becomes ``_``."""
    return source_name.upper().replace("-", "_")


def named_index_credentials(prefix: str, environ: Mapping[str, str]) -> Credentials | None:
    """``<prefix>USERNAME`` / ``<prefix>PASSWORD``, as uv and Poetry read them."""
    username = environ.get(f"{prefix}USERNAME")
    password = environ.get(f"{prefix}PASSWORD", "")
    if not username and not password:
        return None
    return remember(Credentials(username or "", password))


def netrc_path(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("NETRC") or Path(environ.get("HOME") or Path.home()) / ".netrc")


def netrc_credentials(host: str, path: Path) -> Credentials | None:
    """The ``machine`` entry for ``host``; the ``default`` entry is never used, because it
    would send one password to every index, PyPI included."""
    if not host or not path.is_file():
        return None
    try:
        entries = netrc.netrc(str(path)).hosts
    except (netrc.NetrcParseError, OSError):
        return None
    entry = entries.get(host)
    if entry is None:
        return None
    login, _account, password = entry
    return remember(Credentials(login or "", password or ""))


def complete_url(
    url: str,
    *,
    known: Iterable[str] = (),
    environ: Mapping[str, str],
    keyring: CredentialLookup | None = None,
) -> str:
    """``url`` with credentials: its own, else those given for the same host and port in
    another URL (``--index-url https://aws:TOKEN@...``), else ``~/.netrc``, else keyring.

    A URL with a user name and no password (``https://oauth2accesstoken@...``, as pip's
    subprocess keyring wants it) asks keyring for that user's password, and is otherwise
    left as it is: the name may be a token.
    """
    if not url.startswith(("http://", "https://")):
        return url
    own = credentials_in_url(url)
    if own is not None:
        remember(own)
        if own.password or keyring is None:
            return url
        found = keyring(without_credentials(url), own.username)
        return with_credentials(url, remember(found)) if found is not None else url
    netloc = urlsplit(url).netloc.lower()
    for other in known:
        found = credentials_in_url(other)
        if found is not None and urlsplit(other).netloc.rpartition("@")[2].lower() == netloc:
            return with_credentials(url, remember(found))
    found = netrc_credentials(urlsplit(url).hostname or "", netrc_path(environ))
    if found is None and keyring is not None:
        found = keyring(url, None)
    return with_credentials(url, remember(found)) if found is not None else url


def complete_pip_env(
    env: Mapping[str, str], environ: Mapping[str, str], keyring: CredentialLookup | None = None
) -> dict[str, str]:
    """pip's index variables with credentials filled in where this machine has them.

    pip in a container cannot read the host's ``~/.netrc`` or keyring, so what it would find
    there is put in the URL it is handed (the job file, mode 0600, removed with the container).
    """
    completed = dict(env)
    known = [url for name in _URL_VARIABLES for url in env.get(name, "").split()]
    for name in _URL_VARIABLES:
        if env.get(name):
            urls = [
                complete_url(url, known=known, environ=environ, keyring=keyring)
                for url in env[name].split()
            ]
            completed[name] = " ".join(urls)
    return completed


def expand_variables(url: str, environ: Mapping[str, str]) -> str:
    """``${VAR}`` in a URL (Pipfile sources), credentials percent-encoded as pipenv does."""

    def value(match: re.Match[str]) -> str:
        found = environ.get(match.group(1))
        if found is None:
            return match.group(0)
        register_secret(found)
        return quote(found, safe="") if _in_userinfo(url, match.start()) else found

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", value, url)


def _in_userinfo(url: str, position: int) -> bool:
    scheme_end = url.find("://")
    at = url.find("@", scheme_end + 3)
    return scheme_end >= 0 and scheme_end < position < at


@dataclass
class SshForwarding:
    """Bind mounts and variables that let git in the container use the host's SSH agent."""

    volumes: dict[str, dict[str, str]] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def ssh_forwarding(
    environ: Mapping[str, str], *, engine_is_local: bool, platform: str = sys.platform
) -> SshForwarding:
    """The agent's socket (never a key) and the known hosts, mounted into the container."""
    if not engine_is_local:
        raise UsageError(
            "--ssh needs a Docker engine on this machine: an SSH agent socket "
            "cannot be mounted into a remote engine",
            hint="build where the engine runs, or use https:// git URLs with a "
            "token instead of git+ssh://",
        )
    socket = _DOCKER_DESKTOP_AGENT if platform == "darwin" else _agent_socket(environ)
    agent = f"{SSH_DIR}/agent.sock"
    forwarding = SshForwarding(
        volumes={socket: {"bind": agent, "mode": "rw"}}, environment={"SSH_AUTH_SOCK": agent}
    )
    known_hosts = Path(environ.get("HOME") or Path.home()) / ".ssh" / "known_hosts"
    options = "-o BatchMode=yes"
    if known_hosts.is_file():
        forwarding.volumes[str(known_hosts)] = {"bind": f"{SSH_DIR}/known_hosts", "mode": "ro"}
        options += f" -o UserKnownHostsFile={SSH_DIR}/known_hosts -o StrictHostKeyChecking=yes"
    else:
        options += " -o StrictHostKeyChecking=accept-new"
        forwarding.warnings.append(
            f"--ssh: no {known_hosts}, so git hosts' keys are accepted "
            "without checking inside the build container"
        )
    forwarding.environment["GIT_SSH_COMMAND"] = f"ssh {options}"
    return forwarding


def _agent_socket(environ: Mapping[str, str]) -> str:
    socket = environ.get("SSH_AUTH_SOCK", "")
    hint = 'start one and add your key: eval "$(ssh-agent)" && ssh-add'
    if not socket:
        raise UsageError("--ssh needs a running SSH agent, and SSH_AUTH_SOCK is not set", hint=hint)
    try:
        is_socket = stat.S_ISSOCK(os.stat(socket).st_mode)
    except OSError:
        is_socket = False
    if not is_socket:
        raise UsageError(
            f"--ssh: SSH_AUTH_SOCK={socket} is not a socket (the agent is gone?)", hint=hint
        )
    return socket
