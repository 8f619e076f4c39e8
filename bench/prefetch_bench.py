"""Benchmark: a resolve through the pip shim with index pages asked ahead, against the same
shim without that patch (plain pip's one page at a time).

A local index on 127.0.0.1 answers every page and file after a delay standing for the round
trip to a real index (30 ms; PyPI from a laptop is 20-100 ms, a corporate proxy more). The
resolve has 7 projects on three levels, like the `web` workload. Prints the median time of
each and their ratio.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tests.support.package_index as package_index
from tests.support import fixture_packages as fp
from tests.support.package_index import PackageIndex, hermetic_pip_env

ROUND_TRIP = 0.03  # seconds
RUNS = 5
SHIM = (
    "import sys; from builder.incontainer import pip_shim; {}sys.exit(pip_shim.main(sys.argv[1:]))"
)
UNPATCHED = "pip_shim.patch_prefetch = lambda: False; "


def slow_pages() -> None:
    serve_page = package_index._IndexHandler._html

    def after_a_round_trip(self: object, page: str, send_body: bool) -> None:
        time.sleep(ROUND_TRIP)
        serve_page(self, page, send_body)  # type: ignore[arg-type]

    package_index._IndexHandler._html = after_a_round_trip  # type: ignore[method-assign]


def make_wheels(directory: Path) -> list[Path]:
    names = [f"dep-{i}" for i in range(6)]
    wheels = [fp.pure_wheel(directory, "root-pkg", "1.0", requires=names[:3])]
    for i, name in enumerate(names):  # each first-level dependency has one of its own
        wheels.append(fp.pure_wheel(directory, name, "1.0", requires=names[i + 3 : i + 4]))
    return wheels


def resolve(code: str, env: dict[str, str], dest: Path) -> float:
    argv = [sys.executable, "-c", code, "download", "-q", "-d", str(dest), "root-pkg==1.0"]
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, cwd=Path(__file__).resolve().parents[1])
    return time.perf_counter() - start


def main() -> int:
    slow_pages()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        with PackageIndex(root / "index", file_delay=ROUND_TRIP) as index:
            index.add_all(make_wheels(root / "dists"))
            env = hermetic_pip_env({"PIP_INDEX_URL": index.url})
            ahead, plain = [], []
            for run in range(RUNS):
                ahead.append(resolve(SHIM.format(""), env, root / f"ahead-{run}"))
                plain.append(resolve(SHIM.format(UNPATCHED), env, root / f"plain-{run}"))
    ours, theirs = statistics.median(ahead), statistics.median(plain)
    print(f"resolve of 7 projects, {ROUND_TRIP * 1000:.0f} ms per request, median of {RUNS}:")
    print(f"  pages asked ahead {ours:.3f} s, one at a time {theirs:.3f} s: {ours / theirs:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
