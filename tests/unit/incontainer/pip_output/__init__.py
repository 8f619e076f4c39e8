"""Real pip output, to test the readers of pip's failures against what pip really prints.

Captured from `pip download -r requirements.txt` runs (stdout and stderr together, as the
pipeline's runner reads them) against the test index: in the stand-in images (pip 20.3.4 on
3.9, 23.0.1 on 3.11, 25.1.1 on 3.13) and on the host (pip 26.3 on 3.11). pip26-wrapt-1.13.3 is
wrapt==1.13.3 from PyPI on the host. The argspecpkg and pepargspec fixtures are setup.py files
importing inspect.formatargspec (tests/support/fixture_packages.pre311_sdist; pepargspec also
has a pyproject.toml); needsargspec 1.0 requires argspecpkg<1.1; py2only's setup.py raises.
The *-index-versions files are `pip index versions argspecpkg` with 1.0, 1.1, 1.2 and 2.0 listed.
"""

from __future__ import annotations

from pathlib import Path


def pip_output(name: str) -> list[str]:
    return (Path(__file__).parent / f"{name}.txt").read_text(encoding="utf-8").splitlines()
