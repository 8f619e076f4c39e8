"""Parse requirements files as users write them, and flatten them for the pipeline.

Relative paths (``-r``, ``-c``, local projects, ``--find-links``) are resolved against the file
that names them, not the working directory, so the same file builds the same from anywhere.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from builder.errors import InputError

_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")
_MARKER_VARIABLE = re.compile(
    r"\b(platform_machine|platform_system|sys_platform|os_name|"
    r"platform_release|platform_version|platform_python_implementation|"
    r"implementation_name|python_full_version|python_version)\b"
)
_VALUE_OPTIONS = {
    "-r": "requirement",
    "--requirement": "requirement",
    "-c": "constraint",
    "--constraint": "constraint",
    "-i": "index_url",
    "--index-url": "index_url",
    "--extra-index-url": "extra_index_url",
    "-f": "find_links",
    "--find-links": "find_links",
    "--trusted-host": "trusted_host",
    "-e": "editable",
    "--editable": "editable",
    "--only-binary": "only_binary",
    "--no-binary": "no_binary",
}
_FLAG_OPTIONS = {
    "--no-index": "no_index",
    "--pre": "pre",
    "--prefer-binary": "prefer_binary",
    "--require-hashes": "require_hashes",
}


@dataclass
class IndexOptions:
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    trusted_hosts: list[str] = field(default_factory=list)
    no_index: bool = False
    pre: bool = False
    prefer_binary: bool = False
    require_hashes: bool = False
    only_binary: list[str] = field(default_factory=list)
    no_binary: list[str] = field(default_factory=list)


@dataclass
class RequirementLine:
    """One requirement, where it came from, and what kind of thing it names."""

    source: Path
    lineno: int
    text: str  # as written, for error messages (environment variables not expanded)
    kind: str  # "name" | "url" | "path"
    spec: str  # what pip gets, hashes excluded; for "path" the path part is rewritten
    name: str | None = None
    hashes: list[str] = field(default_factory=list)
    path: Path | None = None
    suffix: str = ""  # extras and marker that follow a path
    marker_variables: set[str] = field(default_factory=set)

    @property
    def where(self) -> str:
        return f"{self.source}:{self.lineno}"


@dataclass
class ParsedRequirements:
    requirements: list[RequirementLine] = field(default_factory=list)
    constraints: list[RequirementLine] = field(default_factory=list)
    index: IndexOptions = field(default_factory=IndexOptions)
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Generated from a lock: every dependency is listed and pinned, so local projects are
    # built alone rather than letting pip resolve what their own metadata asks for.
    is_complete: bool = False

    def hashes(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for line in self.requirements:
            if line.name and line.hashes:
                found.setdefault(line.name, []).extend(line.hashes)
        return found

    def local_paths(self) -> list[Path]:
        """Every host path the pipeline must see: projects, archives, find-links directories."""
        paths = [line.path for line in self.requirements + self.constraints if line.path]
        paths += [Path(link) for link in self.index.find_links if os.path.isabs(link)]
        return sorted(set(paths))

    def local_projects(self) -> list[Path]:
        return [line.path for line in self.requirements if line.path and line.path.is_dir()]


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join backslash continuations and drop comments, keeping the first line's number."""
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        stripped = raw.rstrip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        joined = _COMMENT.sub("", pending + raw).strip()
        pending = ""
        if joined:
            lines.append((start, joined))
    if pending.strip():
        lines.append((start, _COMMENT.sub("", pending).strip()))
    return lines


def _expand(text: str, environ: dict[str, str]) -> str:
    return _ENV_VAR.sub(lambda m: environ.get(m.group(1), m.group(0)), text)


def _split_args_options(line: str) -> tuple[str, str]:
    """pip's rule: the requirement is everything before the first token starting with '-'."""
    tokens = line.split(" ")
    for index, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:index]).strip(), " ".join(tokens[index:])
    return line.strip(), ""


class _Parser:
    def __init__(self, environ: dict[str, str]):
        self.environ = environ
        self.result = ParsedRequirements()
        self.stack: list[Path] = []

    def fail(self, source: Path, lineno: int, text: str, problem: str, hint: str) -> InputError:
        return InputError(f"{source}:{lineno}: {problem}\n    {text}", hint=hint)

    def parse_file(self, path: Path, constraint: bool) -> None:
        path = path.resolve()
        if path in self.stack:
            chain = " -> ".join(str(p) for p in [*self.stack, path])
            raise InputError(
                f"requirements files include each other in a loop: {chain}",
                hint="remove one of the -r lines",
            )
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise InputError(
                f"requirements file not found: {path}",
                hint="check the path; -r and -c paths are relative to the file that names them",
            ) from None
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"cannot read requirements file {path}: {error}") from None
        self.stack.append(path)
        self.result.files.append(path)
        for lineno, line in _logical_lines(text):
            self.parse_line(path, lineno, line, constraint)
        self.stack.pop()

    def parse_line(self, source: Path, lineno: int, line: str, constraint: bool) -> None:
        if line.startswith("-"):
            self.parse_option(source, lineno, line, constraint)
            return
        args, options = _split_args_options(line)
        entry = self.parse_requirement(source, lineno, line, args)
        self.parse_hashes(entry, options)
        (self.result.constraints if constraint else self.result.requirements).append(entry)

    def parse_option(self, source: Path, lineno: int, line: str, constraint: bool) -> None:
        try:
            tokens = shlex.split(line)
        except ValueError as error:
            raise self.fail(
                source, lineno, line, f"cannot split the line: {error}", "check the quoting"
            ) from None
        flag, value = tokens[0], None
        if "=" in flag and flag.startswith("--"):
            flag, value = flag.split("=", 1)
        elif len(flag) > 2 and flag[:2] in ("-r", "-c", "-i", "-f", "-e"):
            flag, value = flag[:2], flag[2:]
        elif len(tokens) > 1:
            value = " ".join(tokens[1:])
        if flag in _FLAG_OPTIONS:
            setattr(self.result.index, _FLAG_OPTIONS[flag], True)
            return
        if flag not in _VALUE_OPTIONS:
            raise self.fail(
                source,
                lineno,
                line,
                f"unsupported option {flag}",
                "supported: -r, -c, -e, --index-url, --extra-index-url, "
                "--find-links, --trusted-host, --no-index, --pre, --prefer-binary, "
                "--only-binary, --no-binary, and --hash on a requirement",
            )
        if not value:
            raise self.fail(source, lineno, line, f"{flag} needs a value", "add the value")
        self.apply_option(
            source, lineno, _VALUE_OPTIONS[flag], _expand(value, self.environ), constraint
        )

    def apply_option(
        self, source: Path, lineno: int, option: str, value: str, constraint: bool
    ) -> None:
        index = self.result.index
        if option in ("requirement", "constraint"):
            self.parse_file(source.parent / value, constraint or option == "constraint")
        elif option == "index_url":
            index.index_url = value
        elif option == "extra_index_url":
            index.extra_index_urls.append(value)
        elif option == "find_links":
            is_url = "://" in value
            index.find_links.append(value if is_url else str((source.parent / value).resolve()))
        elif option == "trusted_host":
            index.trusted_hosts.append(value)
        elif option in ("only_binary", "no_binary"):
            getattr(index, option).append(value)
        elif option == "editable":
            self.result.warnings.append(
                f"{source}:{lineno}: -e {value} is installed as a regular (non-editable) "
                "package: a Lambda bundle cannot point back at a source tree"
            )
            entry = self.parse_requirement(source, lineno, f"-e {value}", value)
            (self.result.constraints if constraint else self.result.requirements).append(entry)

    def parse_hashes(self, entry: RequirementLine, options: str) -> None:
        tokens = shlex.split(options) if options else []
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token.startswith("--hash="):
                value = token.split("=", 1)[1]
            elif token == "--hash" and index + 1 < len(tokens):
                index += 1
                value = tokens[index]
            else:
                raise self.fail(
                    entry.source,
                    entry.lineno,
                    entry.text,
                    f"unsupported option on a requirement: {token}",
                    "only --hash=ALGO:DIGEST may follow a requirement",
                )
            if ":" not in value:
                raise self.fail(
                    entry.source,
                    entry.lineno,
                    entry.text,
                    f"malformed hash {value!r}",
                    "write --hash=sha256:<hex digest>",
                )
            entry.hashes.append(value)
            index += 1

    def parse_requirement(self, source: Path, lineno: int, text: str, args: str) -> RequirementLine:
        expanded = _expand(args, self.environ)
        if expanded.startswith(_VCS_PREFIXES) or re.match(r"^[a-z]+://", expanded):
            egg = re.search(r"#egg=([A-Za-z0-9._-]+)", expanded)
            name = canonicalize_name(egg.group(1)) if egg else None
            return RequirementLine(source, lineno, text, "url", expanded, name=name)
        if _looks_like_path(expanded):
            return self.parse_path(source, lineno, text, expanded)
        try:
            requirement = Requirement(expanded)
        except InvalidRequirement as error:
            raise self.fail(
                source,
                lineno,
                text,
                f"invalid requirement: {error}",
                "write NAME[extras] SPECIFIER ; MARKER, a URL, or a path "
                "starting with ./ (PEP 508)",
            ) from None
        kind = "url" if requirement.url else "name"
        marker = str(requirement.marker) if requirement.marker else ""
        return RequirementLine(
            source,
            lineno,
            text,
            kind,
            expanded,
            name=canonicalize_name(requirement.name),
            marker_variables=set(_MARKER_VARIABLE.findall(marker)),
        )

    def parse_path(self, source: Path, lineno: int, text: str, expanded: str) -> RequirementLine:
        match = re.match(r"^(.*?)(\[[^\]]*\])?\s*(;.*)?$", expanded)
        assert match is not None
        raw, extras, marker = match.group(1).strip(), match.group(2) or "", match.group(3) or ""
        if marker:
            try:
                Marker(marker[1:].strip())
            except Exception as error:
                raise self.fail(
                    source,
                    lineno,
                    text,
                    f"invalid marker: {error}",
                    "write a PEP 508 marker after ';'",
                ) from None
        path = (source.parent / os.path.expanduser(raw)).resolve()
        if not path.exists():
            raise self.fail(
                source,
                lineno,
                text,
                f"local path not found: {path}",
                "local paths are relative to the requirements file that names them",
            )
        return RequirementLine(
            source,
            lineno,
            text,
            "path",
            str(path),
            path=path,
            suffix=f"{extras}{' ' + marker if marker else ''}",
            marker_variables=set(_MARKER_VARIABLE.findall(marker)),
        )


def _looks_like_path(text: str) -> bool:
    head = re.split(r"[\[;\s]", text, maxsplit=1)[0]
    return (
        head.startswith((".", "/", "~"))
        or "/" in head
        or "\\" in head
        or head.endswith(_ARCHIVE_SUFFIXES)
    )


def parse_requirements(
    path: Path, environ: dict[str, str] | None = None, *, is_complete: bool = False
) -> ParsedRequirements:
    """Read a requirements file and everything it includes; bad lines raise ``InputError``.

    ``is_complete`` says the file lists every dependency (a lock's export), which the text
    alone cannot tell.
    """
    parser = _Parser(dict(os.environ) if environ is None else environ)
    parser.parse_file(Path(path), constraint=False)
    parser.result.is_complete = is_complete
    return parser.result


def _flat_line(line: RequirementLine, map_path: Callable[[Path], str]) -> str:
    spec = line.spec
    if line.kind == "path" and line.path is not None:
        spec = f"{map_path(line.path)}{line.suffix}"
    hashes = "".join(f" --hash={value}" for value in line.hashes)
    return spec + hashes


def flatten(
    parsed: ParsedRequirements, map_path: Callable[[Path], str], constraints_file: str | None
) -> tuple[str, str]:
    """The requirements and constraints as single files for wherever the pipeline runs.

    Index options are left out: they reach every pip pass through the environment instead,
    which keeps credentials out of files and command lines.
    """
    lines = [f"-c {constraints_file}"] if constraints_file and parsed.constraints else []
    lines += [_flat_line(line, map_path) for line in parsed.requirements]
    constraints = [_flat_line(line, map_path) for line in parsed.constraints]
    return "\n".join(lines) + "\n", "\n".join(constraints) + "\n"


def marker_variables(parsed: ParsedRequirements) -> set[str]:
    found: set[str] = set()
    for line in parsed.requirements + parsed.constraints:
        found |= line.marker_variables
    return found
