"""Time and size of our deterministic zip writer against plain ``zipfile`` on a generated tree.

    python3 bench/zip_bench.py [--files 3000] [--repeat 3]

Prints each writer's best time and size, and the ratios to plain ``zipfile`` (deflate, its
default level, entries in walk order with real timestamps and modes).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from builder.artifacts import zips

WORDS = (
    "def",
    "return",
    "self",
    "import",
    "class",
    "value",
    "None",
    "if",
    "else",
    "for",
    "in",
    "range",
    "lambda",
    "event",
    "context",
    "json",
    "data",
    "result",
    "yield",
)


def generate(root: Path, count: int, seed: int = 7) -> None:
    """Python-like sources, some binary blobs and some zero-filled data, in nested packages."""
    rng = random.Random(seed)
    for number in range(count):
        directory = root / f"pkg{number % 40}" / f"sub{number % 7}"
        directory.mkdir(parents=True, exist_ok=True)
        kind = number % 10
        if kind < 7:
            lines = [
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
                for _ in range(rng.randint(10, 300))
            ]
            (directory / f"m{number}.py").write_text("\n".join(lines) + "\n")
        elif kind < 9:
            (directory / f"lib{number}.so").write_bytes(rng.randbytes(rng.randint(1_000, 200_000)))
        else:
            (directory / f"data{number}.bin").write_bytes(bytes(rng.randint(1_000, 500_000)))


def plain(root: Path, destination: Path) -> None:
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for directory, _subdirs, files in os.walk(root):
            for name in files:
                path = Path(directory, name)
                archive.write(path, path.relative_to(root).as_posix())


def ours(root: Path, destination: Path) -> None:
    zips.write_zip(zips.collect_files(root).files, destination)


def best_time(
    write: Callable[[Path, Path], None], root: Path, destination: Path, repeat: int
) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        write(root, destination)
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="zip-bench-") as temporary:
        root = Path(temporary) / "tree"
        generate(root, args.files)
        unzipped = sum(path.stat().st_size for path in root.rglob("*") if path.is_file())
        results = {}
        for name, write in (("zipfile", plain), ("deterministic", ours)):
            destination = Path(temporary) / f"{name}.zip"
            seconds = best_time(write, root, destination, args.repeat)
            digest = hashlib.sha256(destination.read_bytes()).hexdigest()[:16]
            results[name] = (seconds, destination.stat().st_size, digest)
        print(f"tree: {args.files} files, {unzipped:,} bytes")
        for name, (seconds, size, digest) in results.items():
            print(f"{name:>13}: {seconds:7.3f} s  {size:>12,} bytes  sha256 {digest}...")
        base_time, base_size, _ = results["zipfile"]
        our_time, our_size, _ = results["deterministic"]
        print(
            f"ratio (deterministic / zipfile): time {our_time / base_time:.2f}x, "
            f"size {our_size / base_size:.4f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
