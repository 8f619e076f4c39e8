"""A repository of three Lambda functions and their build-all manifest (tests and bench).

``api`` and ``web`` have the same requirements (one dependency set, built once per
architecture); ``jobs`` has its own. Every set is wheel-only, so arm64 compiles nothing under
QEMU.
"""

from __future__ import annotations

from pathlib import Path

SHARED_REQUIREMENTS = "purepkg==1.0\nm224pkg==1.0\n"
FUNCTIONS = {"api": SHARED_REQUIREMENTS, "web": SHARED_REQUIREMENTS, "jobs": "hashpkg==1.0\n"}
MANIFEST = """
[defaults]
runtime = "python3.11"
arch = ["x86_64", "arm64"]

[functions.api]
source = "functions/api"
requirements = "functions/api/requirements.txt"
handler = "app.handler"

[functions.web]
source = "functions/web"
handler = "app.handler"

[functions.jobs]
source = "functions/jobs"
outputs = ["zip"]
"""


def write_functions_workspace(root: Path) -> Path:
    """The three functions under ``root/functions`` and ``root/lambda-builder.toml``."""
    for name, requirements in FUNCTIONS.items():
        function = root / "functions" / name
        function.mkdir(parents=True)
        (function / "requirements.txt").write_text(requirements)
        (function / "app.py").write_text(f"def handler(event, context):\n    return {name!r}\n")
    (root / "lambda-builder.toml").write_text(MANIFEST)
    return root / "lambda-builder.toml"
