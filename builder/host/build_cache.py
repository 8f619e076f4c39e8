"""The whole-build cache: a finished dependency tree, reused while nothing that defines it changes.

An entry is keyed by a hash of the prepared workspace (job, flattened requirements, constraints,
local inputs, the pipeline program) and the identity of what runs it (tool version, builder
image or host Python). Entries are written beside the store and renamed into place, so a reader
sees a whole entry or none; every file's sha256 is checked before an entry is used, so a
truncated or altered entry is rebuilt, never shipped (entry_files.py: how, without reading
unchanged files again).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from builder.architectures import Architecture
from builder.config import BuildConfig
from builder.credentials import without_credentials
from builder.host.entry_files import (
    VERIFIED_FILE,
    CorruptEntryError,
    digest_settled,
    file_digest,
    tree_files,
    tree_stats,
    verify,
)
from builder.job import PipelineResult
from builder.runtimes import Runtime
from builder.ui import BuildUI
from builder.version import __version__

STORE_SCHEMA = 1
ENTRY_DIR = f"builds-v{STORE_SCHEMA}"
# Job fields that change how a run looks, not what it produces.
# Where the tree is written and who owns it there do not change what is in it.
_NEUTRAL_JOB_FIELDS = ("verbose", "cache_dir", "target_dir", "output_owner")


def default_cache_dir() -> Path:
    """LAMBDA_BUILDER_CACHE_DIR, else the XDG cache directory."""
    if os.environ.get("LAMBDA_BUILDER_CACHE_DIR"):
        return Path(os.environ["LAMBDA_BUILDER_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lambda-builder"


def normalized_job(text: str, run_root: str) -> str:
    """The job without what does not change the output: verbosity, cache paths, credentials.

    Credentials are dropped so a rotated token (CodeArtifact's last 12 hours) keeps the key.
    """
    job = json.loads(text)
    for name in _NEUTRAL_JOB_FIELDS:
        job.pop(name, None)
    job["pip_env"] = {k: _keyless(v) for k, v in job.get("pip_env", {}).items()}
    return json.dumps(job, sort_keys=True).replace(run_root, "<run>")


def normalized_environment(environment: Mapping[str, str]) -> str:
    """A container's pip-facing environment as key material, without credentials."""
    return json.dumps({k: _keyless(v) for k, v in environment.items()}, sort_keys=True)


def _keyless(value: str) -> str:
    """A setting (one URL or several, space-separated) without any URL's credentials."""
    return " ".join(without_credentials(part) for part in value.split())


def build_identity(
    runtime: Runtime, architecture: Architecture, runner: str, environment: Mapping[str, str]
) -> dict[str, str]:
    """What runs a build, as key material: this tool, the target, the runner (builder images
    or the host's Python) and the pip settings it forwards, without credentials."""
    return {
        "tool": __version__,
        "runtime": runtime.name,
        "architecture": architecture.value,
        "glibc": runtime.glibc_text,
        "runner": runner,
        "environment": normalized_environment(environment),
    }


def open_store(config: BuildConfig) -> BuildStore | None:
    """The finished-build store this build uses; None with --no-cache."""
    return BuildStore(config.cache_dir or default_cache_dir()) if config.use_cache else None


def build_key(
    workspace_dir: Path,
    run_root: str,
    identity: Mapping[str, str],
    local_paths: Iterable[Path] = (),
) -> str:
    """Everything that defines a dependency tree, hashed: same key, same tree."""
    digest = hashlib.sha256(f"lambda-builder build cache {STORE_SCHEMA}\0".encode())
    for name in sorted(identity):
        digest.update(f"{name}={identity[name]}\0".encode())
    job = (workspace_dir / "job.json").read_text(encoding="utf-8")
    digest.update(normalized_job(job, run_root).encode() + b"\0")
    for name in ("requirements.txt", "constraints.txt"):
        path = workspace_dir / name
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        digest.update(name.encode() + b"\0" + text.replace(run_root, "<run>").encode() + b"\0")
    roots = [("inputs", workspace_dir / "inputs"), ("program", workspace_dir / "program")]
    roots += [(str(path), path) for path in local_paths]  # host mode reads them in place
    for label, root in roots:
        if root.is_file():
            digest.update(f"{label}\0{file_digest(root)}\0".encode())
            continue
        for relative, path in tree_files(root, bytecode=False) if root.is_dir() else ():
            mode = "x" if os.access(path, os.X_OK) else "-"
            digest.update(f"{label}/{relative}\0{mode}{file_digest(path)}\0".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class EntryInfo:
    key: str
    path: Path
    target: str
    size: int
    files: int
    packages: int
    created: float
    last_used: float


@dataclass(frozen=True)
class CacheHit:
    tree: Path
    result: PipelineResult
    created: float


class BuildStore:
    """Entries under ``<root>/builds-v1/<key>``: ``tree/``, ``result.json``, ``manifest.json``."""

    def __init__(self, root: Path):
        self.root = root / ENTRY_DIR

    def entry_dir(self, key: str) -> Path:
        return self.root / key

    def lookup(self, key: str) -> tuple[CacheHit | None, str | None]:
        """The verified entry for ``key``, or None and why it could not be used."""
        entry = self.entry_dir(key)
        if not entry.is_dir():
            return None, None
        try:
            manifest = json.loads((entry / "manifest.json").read_text(encoding="utf-8"))
            verify(entry / "tree", manifest["files"], entry / VERIFIED_FILE)
            result = PipelineResult.model_validate_json(
                (entry / "result.json").read_text(encoding="utf-8")
            )
        except (OSError, ValueError, KeyError, CorruptEntryError) as error:
            self.remove(key)
            return None, f"the cached dependency set {key[:12]} was unusable ({error}); rebuilding"
        os.utime(entry / "manifest.json")  # last use, for prune's eviction order
        return CacheHit(entry / "tree", result, float(manifest.get("created", 0))), None

    def save(self, key: str, tree: Path, result: PipelineResult, target: str) -> Path:
        """Move ``tree`` into the store (copy across file systems) and return where it is now.

        Two builds of one key may both save; the first rename wins and the other is dropped.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.root))
        moved = False
        try:
            try:
                os.rename(tree, staging / "tree")
                moved = True
            except OSError:
                shutil.copytree(tree, staging / "tree", symlinks=True)
            files, verified = digest_settled(staging / "tree")
            manifest = {
                "schema": STORE_SCHEMA,
                "key": key,
                "target": target,
                "created": time.time(),
                "packages": len(result.packages),
                "files": files,
            }
            (staging / "result.json").write_text(result.model_dump_json(), encoding="utf-8")
            (staging / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
            (staging / VERIFIED_FILE).write_text(json.dumps(verified), encoding="utf-8")
            try:
                os.rename(staging, self.entry_dir(key))
            except OSError:
                if not self.entry_dir(key).is_dir():
                    raise
                shutil.rmtree(tree, ignore_errors=True)  # another build stored it first
        except BaseException:
            if moved and not tree.exists():
                os.rename(staging / "tree", tree)  # the caller's tree is left where it was
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return self.entry_dir(key) / "tree"

    def remove(self, key: str) -> None:
        """Take an entry out of sight first (rename), then delete it."""
        entry = self.entry_dir(key)
        doomed = self.root / f".removing-{key}-{os.getpid()}"
        try:
            os.rename(entry, doomed)
        except OSError:
            return
        shutil.rmtree(doomed, ignore_errors=True)

    def entries(self) -> list[EntryInfo]:
        found: list[EntryInfo] = []
        for entry in sorted(self.root.iterdir()) if self.root.is_dir() else []:
            if entry.name.startswith("."):
                continue
            try:
                manifest_path = entry / "manifest.json"
                manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
                size = sum(info.st_size for _r, _p, info in tree_stats(entry / "tree"))
                last_used = manifest_path.stat().st_mtime
            except (OSError, ValueError):
                manifest, size, last_used = {}, 0, 0.0
            found.append(
                EntryInfo(
                    key=entry.name,
                    path=entry,
                    target=str(manifest.get("target", "?")),
                    size=size,
                    files=len(manifest.get("files", {})),
                    packages=int(manifest.get("packages", 0)),
                    created=float(manifest.get("created", 0)),
                    last_used=last_used,
                )
            )
        return found

    def leftovers(self) -> list[Path]:
        """Writes and removals that never finished (an interrupted build), and older stores."""
        stale = (
            [p for p in self.root.iterdir() if p.name.startswith(".")] if self.root.is_dir() else []
        )
        parent = self.root.parent
        if parent.is_dir():
            stale += [p for p in parent.glob("builds-v*") if p != self.root]
        return stale


@dataclass(frozen=True)
class CachedRun:
    result: PipelineResult
    tree: Path
    state: str  # "hit", "miss" or "off"
    key: str | None = None  # the entry's key; None with --no-cache


def human_age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def run_cached(
    store: BuildStore | None,
    key: Callable[[], str],
    run: Callable[[], tuple[PipelineResult, Path]],
    target: str,
    ui: BuildUI,
) -> CachedRun:
    """Reuse the entry for ``key`` when it verifies; otherwise run and store a good result.

    A store that cannot be written (full disk, deleted directory) costs the cache, not the build.
    """
    if store is None:
        result, tree = run()
        return CachedRun(result, tree, "off")
    digest = key()
    hit, problem = store.lookup(digest)
    if problem:
        ui.warning(target, problem)
    if hit is not None:
        age = human_age(max(0.0, time.time() - hit.created))
        ui.step(target, f"dependencies unchanged: reusing the build from {age} ago")
        return CachedRun(hit.result, hit.tree, "hit", digest)
    result, tree = run()
    if result.status != "ok":
        return CachedRun(result, tree, "miss", digest)
    try:
        tree = store.save(digest, tree, result, target)
    except OSError as error:
        ui.warning(target, f"could not keep this build in the cache ({error})")
    return CachedRun(result, tree, "miss", digest)


def prunable(
    entries: Iterable[EntryInfo],
    now: float,
    older_than: float | None = None,
    max_size: int | None = None,
) -> list[EntryInfo]:
    """Entries unused for ``older_than`` seconds, then least recently used beyond ``max_size``."""
    doomed = [e for e in entries if older_than is not None and now - e.last_used > older_than]
    kept = sorted((e for e in entries if e not in doomed), key=lambda e: e.last_used, reverse=True)
    if max_size is not None:
        total = 0
        for entry in kept:
            total += entry.size
            if total > max_size:
                doomed.append(entry)
    return doomed
