"""Benchmark: installing wheels flat (ours) against ``pip install --no-deps --target``.

Prints the time and peak-memory ratios (ours / pip) over a generated set of wheels. The
installer must stay well under pip's time: it runs on every build, under QEMU too.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from builder.incontainer.install import install_wheels
from tests.support import fixture_packages as fp

WHEELS = 40
FILES_PER_WHEEL = 60


def make_wheels(directory: Path) -> list[Path]:
    wheels = []
    for number in range(WHEELS):
        name = f"benchpkg{number}"
        files = {f"{name}/mod{i}.py": f"VALUE = {i}\n" * 50 for i in range(FILES_PER_WHEEL)}
        wheels.append(fp.pure_wheel(directory, name, "1.0", extra_files=files))
    return wheels


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        wheels = make_wheels(root / "wheels")
        ours_dir, pip_dir = root / "ours", root / "pip"
        ours = min(
            timed(
                lambda: (
                    shutil.rmtree(ours_dir, ignore_errors=True),
                    install_wheels([str(w) for w in wheels], str(ours_dir)),
                )
            )
            for _ in range(3)
        )
        ours_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--no-compile",
            "--quiet",
            "--target",
            str(pip_dir),
            *map(str, wheels),
        ]
        pip = min(
            timed(
                lambda: (
                    shutil.rmtree(pip_dir, ignore_errors=True),
                    subprocess.run(command, check=True),
                )
            )
            for _ in range(3)
        )
        pip_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"wheels: {WHEELS} x {FILES_PER_WHEEL} files")
    print(f"time    ours {ours:.3f}s  pip --target {pip:.3f}s  ratio {ours / pip:.2f}")
    print(
        f"peakRSS ours {ours_rss / 1024:.0f} MB  pip {pip_rss / 1024:.0f} MB  "
        f"ratio {ours_rss / pip_rss:.2f}"
    )


if __name__ == "__main__":
    main()
