"""``lambda-builder cache info|prune``: what the whole-build cache holds, and trimming it."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from pathlib import Path

from builder.errors import DockerError, UsageError
from builder.host.build_cache import (
    BuildStore,
    EntryInfo,
    default_cache_dir,
    human_age,
    prunable,
)

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_DURATIONS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", text.lower())
    if not match:
        raise UsageError(f"not a size: {text!r}", hint="write it like 500M or 2G")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def parse_duration(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if not match:
        raise UsageError(f"not a duration: {text!r}", hint="write it like 12h, 30d or 2w")
    return float(match.group(1)) * _DURATIONS[match.group(2)]


def human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def add_cache_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="cache_action", required=True, metavar="ACTION")
    for name, text in (("info", "show the cached builds"), ("prune", "remove cached builds")):
        sub = actions.add_parser(name, help=text)
        sub.add_argument(
            "--cache-dir",
            metavar="DIR",
            help="the cache (default: LAMBDA_BUILDER_CACHE_DIR or ~/.cache/lambda-builder)",
        )
        if name == "info":
            sub.add_argument("--json", action="store_true", help="machine-readable output")
        else:
            sub.add_argument("--older-than", metavar="AGE", help="unused for longer, e.g. 30d")
            sub.add_argument("--max-size", metavar="SIZE", help="keep the newest up to, e.g. 2G")
            sub.add_argument("--all", action="store_true", help="remove every cached build")
            sub.add_argument("--dry-run", action="store_true", help="say what would go")


def _describe(entry: EntryInfo, now: float) -> str:
    return (
        f"  {entry.key[:12]}  {entry.target:<20} {entry.packages:>4} packages "
        f"{human_size(entry.size):>9}  built {human_age(now - entry.created)} ago, "
        f"used {human_age(now - entry.last_used)} ago"
    )


def run_cache(args: argparse.Namespace) -> int:
    root = Path(args.cache_dir) if args.cache_dir else default_cache_dir()
    store = BuildStore(root)
    now = time.time()
    entries = store.entries()
    if args.cache_action == "info":
        total = sum(entry.size for entry in entries)
        if args.json:
            data = {
                "path": str(store.root),
                "entries": len(entries),
                "size": total,
                "builds": [
                    {
                        "key": e.key,
                        "target": e.target,
                        "size": e.size,
                        "packages": e.packages,
                        "created": e.created,
                        "last_used": e.last_used,
                    }
                    for e in entries
                ],
            }
            print(json.dumps(data, indent=2))
            return 0
        print(f"{store.root}: {len(entries)} cached builds, {human_size(total)}")
        for entry in sorted(entries, key=lambda e: e.last_used, reverse=True):
            print(_describe(entry, now))
        if store.leftovers():
            print(f"  {len(store.leftovers())} unfinished writes (removed by `cache prune`)")
        volumes = _work_volumes()
        if volumes:
            print(f"  {len(volumes)} work volumes of killed builds (removed by `cache prune`)")
        return 0
    if not (args.all or args.older_than or args.max_size):
        raise UsageError("say what to prune", hint="pass --older-than 30d, --max-size 2G or --all")
    doomed = (
        entries
        if args.all
        else prunable(
            entries,
            now,
            parse_duration(args.older_than) if args.older_than else None,
            parse_size(args.max_size) if args.max_size else None,
        )
    )
    verb = "would remove" if args.dry_run else "removed"
    for entry in doomed:
        if not args.dry_run:
            store.remove(entry.key)
        print(f"{verb}{_describe(entry, now)}")
    leftovers = store.leftovers()
    for path in leftovers:
        if not args.dry_run:
            shutil.rmtree(path, ignore_errors=True)
    volumes = _work_volumes()
    if volumes and not args.dry_run:
        from builder.docker.cross import remove_volume
        from builder.docker.engine import connect

        engine = connect()
        for name in volumes:
            remove_volume(engine, name)
    if volumes:
        print(f"{verb} {len(volumes)} work volumes of killed builds: {', '.join(volumes)}")
    freed = sum(entry.size for entry in doomed)
    sys.stdout.write(
        f"{verb} {len(doomed)} cached builds ({human_size(freed)}) and "
        f"{len(leftovers)} unfinished writes or old stores; {len(entries) - len(doomed)} kept\n"
    )
    return 0


def _work_volumes() -> list[str]:
    """Leftover work volumes, when a Docker engine answers; none to report otherwise."""
    from builder.docker.cross import leftover_work_volumes
    from builder.docker.engine import connect

    try:
        return leftover_work_volumes(connect())
    except DockerError:
        return []
