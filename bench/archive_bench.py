"""Benchmark: peak memory and time of extracting a container's tar stream.

Compares ``builder.docker.archive.extract_safely`` (streams the engine's chunks) with the
baseline of joining the chunks and extracting from memory. Each side runs in a fresh process so
its peak RSS is its own. Prints ratios (ours / baseline); the target is well under 1 for memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MEGABYTES = 150
CHUNK = 64 * 1024

RUNNER = """
import io, resource, sys, tarfile, time
sys.path.insert(0, {repo!r})
from builder.docker.archive import extract_safely

def chunks(path):
    with open(path, "rb") as stream:
        while block := stream.read({chunk}):
            yield block

start = time.perf_counter()
if sys.argv[1] == "ours":
    extract_safely(chunks(sys.argv[2]), __import__("pathlib").Path(sys.argv[3]))
else:
    data = b"".join(chunks(sys.argv[2]))
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(sys.argv[3], filter="data")
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def make_tar(directory: Path) -> Path:
    source = directory / "bundle"
    source.mkdir()
    for number in range(MEGABYTES):
        (source / f"lib{number}.so").write_bytes(os.urandom(1 << 20))
    archive = directory / "bundle.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(source, arcname="bundle")
    return archive


def run(kind: str, archive: Path, out: Path) -> tuple[float, int]:
    code = RUNNER.format(repo=str(REPO), chunk=CHUNK)
    result = subprocess.run(
        [sys.executable, "-c", code, kind, str(archive), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, rss = result.stdout.split()
    return float(seconds), int(rss)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        archive = make_tar(Path(scratch))
        # Alternate and keep each side's best, so neither pays for a cold page cache.
        runs = [
            run(kind, archive, Path(scratch) / f"{kind}{attempt}")
            for attempt in range(2)
            for kind in ("baseline", "ours")
        ]
        base = min(runs[0::2])
        ours = min(runs[1::2])
    print(f"tar stream: {MEGABYTES} MB in {CHUNK // 1024} KB chunks")
    print(f"time    ours {ours[0]:.2f}s  baseline {base[0]:.2f}s  ratio {ours[0] / base[0]:.2f}")
    print(
        f"peakRSS ours {ours[1] / 1024:.0f} MB  baseline {base[1] / 1024:.0f} MB  "
        f"ratio {ours[1] / base[1]:.2f}"
    )


if __name__ == "__main__":
    main()
