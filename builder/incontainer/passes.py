"""Running pip and reading what it leaves behind: the side-effecting half of each pass."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .pip_client import ServedCall
from .pip_client import start as start_served
from .pip_server import BUNDLED_PIP, SOCKET_VARIABLE, has_pip
from .protocol import EVENT_PREFIX, MissingPackage
from .tags import DistFile, canonical_name, parse_filename

TAIL_LINES = 80
COLLECTING_LINES = 8

_COLLECTING = re.compile(
    r"^(Collecting|Processing) |^\s+(Downloading|Using cached|File was already downloaded) "
)


@dataclass
class Outcome:
    returncode: int
    tail: list[str]
    # pip's latest "Collecting ..." lines and the file line under each: a long build log
    # pushes them out of the tail, and they name the package whose metadata step failed.
    collecting: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0


Runner = Callable[[list[str], dict[str, str]], Outcome]


def bundled_pip(root: str | None = None) -> str | None:
    """The directory to put first on PYTHONPATH, when the builder image carries a newer pip."""
    root = root or BUNDLED_PIP
    return root if has_pip(root) else None


def legacy_builds(root: str | None = None) -> bool:
    """Whether setup.py-only sdists build without isolation, as the image's own pip did."""
    bundled = bundled_pip(root)
    return bundled is not None and os.path.isfile(os.path.join(bundled, "legacy-builds"))


def pip_version(root: str | None = None) -> str:
    """The version of the pip the pipeline runs, without starting it."""
    bundled = bundled_pip(root)
    if bundled is None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("pip")
        except PackageNotFoundError:
            return ""
    with open(os.path.join(bundled, "pip", "__init__.py"), encoding="utf-8") as stream:
        found = re.search(r"^__version__\s*=\s*[\"']([^\"']+)", stream.read(), re.M)
    return found.group(1) if found else ""


def make_runner(base_env: dict[str, str], verbose: bool) -> Runner:
    """A runner that streams pip's output through (marked as log) and keeps its last lines."""

    def run(argv: list[str], extra_env: dict[str, str]) -> Outcome:
        env = dict(os.environ)
        env.update(base_env)
        env.update(extra_env)
        env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        env.setdefault("PIP_NO_INPUT", "1")
        env.setdefault("PIP_ROOT_USER_ACTION", "ignore")
        bundled = bundled_pip()
        if bundled is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, (bundled, env.get("PYTHONPATH"))))
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        collecting: deque[str] = deque(maxlen=COLLECTING_LINES)
        # A build container's first process has pip imported already (pip_server).
        process: ServedCall | subprocess.Popen[str] | None = start_served(
            os.environ.get(SOCKET_VARIABLE, ""), argv, env
        )
        if process is None:
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
            if _COLLECTING.match(line):
                collecting.append(line)
            if verbose:
                sys.stdout.write(f"    {line}\n")
                sys.stdout.flush()
        return Outcome(process.wait(), list(tail), list(collecting))

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


# How pip (20.3 to 26) says an sdist could not produce its metadata: the legacy
# "setup.py egg_info", the PEP 517 metadata hook, or get_requires_for_build_wheel, which runs
# the same setup.py first.
_METADATA_FAILED = re.compile(
    r"metadata-generation-failed|egg_info did not run successfully|"
    r"Preparing metadata \(\S+\) did not run successfully|"
    r"Getting requirements to build wheel did not run successfully"
)
_FAILED_PACKAGE = (
    re.compile(r"Failed to build '([^']+)' when getting requirements"),  # pip 25.2+
    re.compile(r"^╰─> (?!See above)(\S+)$"),  # under "Encountered error while generating ..."
)
_COLLECTED = re.compile(r"^Collecting (\S+)")
_FILE_LINE = re.compile(r"^\s+(?:Downloading|Using cached|File was already downloaded) (\S+)")


@dataclass
class Unpreparable:
    """A package whose sdist could not produce metadata, as far as pip's output tells."""

    name: str
    version: str  # "" when pip's output does not show it
    detail: str


def metadata_failure(lines: list[str]) -> Unpreparable | None:
    """The package whose metadata step stopped pip, from its output (``collecting`` + tail).

    pip prepares one candidate at a time and stops at the first metadata failure, so the last
    "Collecting" line is the culprit when the failure message does not name it.
    """
    if not _METADATA_FAILED.search("\n".join(lines)):
        return None
    named = _named_package(lines)
    found = _collecting_line(lines, named)
    if found is None:
        return Unpreparable(named, "", "\n".join(_last_words(lines))) if named else None
    match = _COLLECTED.match(lines[found])
    assert match is not None
    name, spec = _split(match.group(1))
    version = _file_version(lines[found + 1 : found + 2], name) or _exact_version(spec)
    return Unpreparable(name, version, "\n".join([lines[found].strip(), *_last_words(lines)]))


def _named_package(lines: list[str]) -> str | None:
    for line in reversed(lines):
        for pattern in _FAILED_PACKAGE:
            match = pattern.search(line)
            if match:
                return match.group(1)
    return None


def _collecting_line(lines: list[str], name: str | None) -> int | None:
    for index in range(len(lines) - 1, -1, -1):
        match = _COLLECTED.match(lines[index])
        if match and (name is None or _same(_split(match.group(1))[0], name)):
            return index
    return None


def _same(one: str, other: str) -> bool:
    return canonical_name(one) == canonical_name(other)


def _file_version(lines: list[str], name: str) -> str:
    """The version in the file name of pip's "Downloading URL" / "Using cached FILE" line."""
    for line in lines:
        match = _FILE_LINE.match(line)
        if match:
            dist = parse_filename(match.group(1).split("#")[0].rsplit("/", 1)[-1])
            if dist is not None and _same(dist.name, name):
                return dist.version
    return ""


def _exact_version(spec: str) -> str:
    match = re.fullmatch(r"(?:\[[^\]]*\])?===?([^,;*\s]+)", spec)
    return match.group(1) if match else ""


def _last_words(lines: list[str]) -> list[str]:
    """The subprocess's last line before pip's "[end of output]": usually the exception."""
    for index in range(len(lines) - 1, 0, -1):
        if lines[index].strip() == "[end of output]":
            words = [line.strip() for line in lines[:index] if line.strip()]
            return words[-1:]
    return []


def newer_versions(index_output: list[str], version: str) -> list[str] | None:
    """Releases newer than ``version``, oldest first, from ``pip index versions``; None when
    the index could not be asked (pip older than 21.2 has no ``index`` command) or does not
    list ``version`` (so nothing can be ordered against it)."""
    for line in index_output:
        if line.startswith("Available versions:"):
            listed = [v.strip() for v in line.split(":", 1)[1].split(",") if v.strip()]
            if version in listed:  # pip lists them newest first
                return listed[: listed.index(version)][::-1]
    return None


def oldest_that_works(
    candidates: list[str], works: Callable[[str], bool], budget: int = 5
) -> str | None:
    """Bisect ``candidates`` (oldest first) for the oldest that works, in ``budget`` tries.

    Assumes that once a release supports a Python, the later ones do too.
    """
    low, high, found = 0, len(candidates) - 1, None
    while low <= high and budget > 0:
        middle = (low + high) // 2
        budget -= 1
        if works(candidates[middle]):
            found, high = candidates[middle], middle - 1
        else:
            low = middle + 1
    return found


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


def download_hint(tail: list[str]) -> str:
    text = "\n".join(tail)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return (
            "the index's TLS certificate is not trusted here: pass --ca-bundle FILE (or set "
            "SSL_CERT_FILE / PIP_CERT) with your network's CA certificates"
        )
    if "ProxyError" in text or "407" in text:
        return "check HTTPS_PROXY / HTTP_PROXY / NO_PROXY and the proxy's credentials"
    return "run again with --verbose to see pip's full output"
