"""pip, run natively, resolving for another machine: ``python -m <pipeline>.crosspip ARGS``.

pip's ``--platform``/``--abi``/``--python-version`` choose wheels for a target, but pip still
evaluates environment markers for the machine it runs on, and refuses those options unless
sdists are excluded. Here the markers come from the target image (probed once by the host) and
the refusal is lifted, so a native pip resolves exactly what pip inside the target would, and
sdists are downloaded (their metadata prepared natively) to be built in the target later.
"""

from __future__ import annotations

import json
import os
import sys

MARKERS_VARIABLE = "LAMBDA_BUILDER_TARGET_MARKERS"


def patch_pip(markers: dict[str, str]) -> None:
    from pip._internal.cli import cmdoptions
    from pip._vendor.packaging import markers as pip_markers

    def target_environment() -> dict[str, str]:
        return dict(markers)

    # Marker.evaluate looks default_environment up at call time: every marker pip evaluates
    # (requirements files, Requires-Dist of every candidate) sees the target.
    pip_markers.default_environment = target_environment  # type: ignore[assignment]

    def allow_sdists(options: object, check_target: bool = False) -> None:
        return None

    cmdoptions.check_dist_restriction = allow_sdists


def main(argv: list[str]) -> int:
    markers = json.loads(os.environ[MARKERS_VARIABLE])
    patch_pip(markers)
    from pip._internal.cli.main import main as pip_main

    return int(pip_main(argv) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
