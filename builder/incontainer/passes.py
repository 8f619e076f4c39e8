"""Running pip and reading what it leaves behind: the side-effecting half of each pass."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .protocol import EVENT_PREFIX, MissingPackage
from .tags import DistFile, parse_filename

TAIL_LINES = 80


@dataclass
class Outcome:
    returncode: int
    tail: list[str]

    @property
    def ok(self) -> bool:
        return self.returncode == 0


Runner = Callable[[list[str], dict[str, str]], Outcome]


def make_runner(base_env: dict[str, str], verbose: bool) -> Runner:
    """A runner that streams pip's output through (marked as log) and keeps its last lines."""

    def run(argv: list[str], extra_env: dict[str, str]) -> Outcome:
        env = dict(os.environ)
        env.update(base_env)
        env.update(extra_env)
        env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        env.setdefault("PIP_NO_INPUT", "1")
        env.setdefault("PIP_ROOT_USER_ACTION", "ignore")
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        process = subprocess.Popen(
            argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip("\n")
            if line.startswith(EVENT_PREFIX):
                line = line[len(EVENT_PREFIX) :]
            tail.append(line)
            if verbose:
                sys.stdout.write(f"    {line}\n")
                sys.stdout.flush()
        return Outcome(process.wait(), list(tail))

    return run


def list_dists(directory: str) -> list[tuple[DistFile, str]]:
    if not os.path.isdir(directory):
        return []
    found = []
    for name in sorted(os.listdir(directory)):
        dist = parse_filename(name)
        if dist is not None:
            found.append((dist, os.path.join(directory, name)))
    return found


_NOT_FOUND = re.compile(r"No matching distribution found for (\S+)")
_NO_VERSION = re.compile(r"Could not find a version that satisfies the requirement (\S+)")
_SPLIT_SPEC = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(.*)$")


def _split(spec: str) -> tuple[str, str]:
    match = _SPLIT_SPEC.match(spec)
    if not match:
        return spec, ""
    return match.group(1), match.group(2).strip() or "any version"


# pip retries, then says "No matching distribution" when it never reached the index at all:
# the retry warnings say why, and that is what the user must fix.
_NETWORK_CAUSES = (
    (
        "CERTIFICATE_VERIFY_FAILED",
        "the index's TLS certificate is not trusted",
        "pass --ca-bundle FILE (or set SSL_CERT_FILE / PIP_CERT) with your network's CA "
        "certificates",
    ),
    (
        "ProxyError",
        "the proxy failed or refused the connection",
        "check HTTPS_PROXY / HTTP_PROXY / NO_PROXY and the proxy's credentials",
    ),
    (
        "401 Client Error",
        "the index refused the credentials (HTTP 401)",
        "check the index URL's user name and password or token",
    ),
    (
        "NewConnectionError",
        "the index could not be reached",
        "check the index URL and the network; a proxy may be needed (HTTPS_PROXY)",
    ),
)


def _unreachable(text: str) -> tuple[str, str] | None:
    for marker, reason, hint in _NETWORK_CAUSES:
        if marker in text:
            return reason, hint
    return None


def missing_from_download_failure(tail: list[str]) -> list[MissingPackage]:
    """Turn pip's first-pass failure into per-package reasons users can act on."""
    text = "\n".join(tail)
    detail = "\n".join(tail[-8:])
    specs = {m.group(1) for m in _NOT_FOUND.finditer(text)}
    specs |= {m.group(1) for m in _NO_VERSION.finditer(text)}
    reason, hint = _unreachable(text) or (
        "not found on the index",
        "check the name and version, and that --index-url / --extra-index-url "
        "point at an index that has it (and accept this Python version)",
    )
    missing = []
    for spec in sorted(specs):
        name, version = _split(spec)
        missing.append(MissingPackage(name, version, reason, hint, detail))
    if missing:
        return missing
    if "DO NOT MATCH THE HASHES" in text or "hashes are required" in text.lower():
        return [
            MissingPackage(
                name="(hash check)",
                version="",
                reason="a downloaded file does not match the --hash values in the requirements",
                hint="regenerate the hashes (pip-compile --generate-hashes, uv pip compile "
                "--generate-hashes) or check that the index serves the file you pinned",
                detail=detail,
            )
        ]
    return []


_PIP_BOILERPLATE = re.compile(
    r"^\s*(note:|hint:|\[end of output\]|[×│╰║]|error: subprocess-exited-with-error|"
    r"ERROR: Failed (building|to build)|Failed to build|Building wheel|Created wheel|Stored in|"
    r"Processing |Installing build|Getting requirements|Preparing metadata|Looking in|"
    r"\[notice\]|$)"
)


def compiler_tail(tail: list[str], lines: int = 12) -> str:
    """The part of a failed build log that explains it: the compiler's last words."""
    interesting = [line.strip() for line in tail if not _PIP_BOILERPLATE.match(line)]
    errors = [i for i, line in enumerate(interesting) if re.search(r"\berror\b", line)]
    if errors:  # centre on the first compiler error, which is the cause; later ones follow it
        start = max(0, errors[0] - 2)
        return "\n".join(interesting[start : start + lines])
    return "\n".join(interesting[-lines:])
