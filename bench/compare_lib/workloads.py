"""The workloads, architectures and phases compared, and the small apps each tool builds."""

from __future__ import annotations

from pathlib import Path

RUNTIME = "python3.11"
PYTHON_VERSION = "3.11"

WORKLOADS: dict[str, tuple[str, ...]] = {
    "web": ("fastapi==0.115.6", "mangum==0.19.0", "pydantic==2.10.4"),
    "data": ("numpy==2.2.1", "pandas==2.2.3"),
    "sdist": ("crcmod==1.7", "netifaces==0.11.0", "sgmllib3k==1.0.0"),
}
ARCHS = ("x86_64", "arm64")
TOOLS = ("ours", "sam", "uv")
TOOL_TITLES = {"ours": "lambda-builder", "sam": "sam build --use-container", "uv": "uv pip install"}
# cold: empty caches; warm: same caches and inputs; edit: same caches, one source file changed.
PHASES: dict[str, tuple[str, ...]] = {
    "ours": ("cold", "warm", "edit"),
    "sam": ("cold", "warm"),
    "uv": ("cold", "warm"),
}
ALL_PHASES = ("cold", "warm", "edit")

UV_PLATFORMS = {"x86_64": "x86_64-manylinux2014", "arm64": "aarch64-manylinux2014"}
ELF_MACHINES = {62: "x86_64", 183: "arm64"}

HANDLER = 'def handler(event, context):\n    return {{"ok": True, "revision": {revision}}}\n'

SAM_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: lambda-builder comparison, workload {workload} ({arch})
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: {runtime}
      Architectures: [{arch}]
"""


def write_requirements(path: Path, workload: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in WORKLOADS[workload]))
    return path


def write_source(directory: Path, revision: int) -> Path:
    """The function's source; a new revision is the one-file edit of the "edit" phase."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.py").write_text(HANDLER.format(revision=revision))
    return directory


def write_sam_app(directory: Path, workload: str, arch: str) -> Path:
    """A one-function SAM template with its source in ``src/``; returns the template."""
    write_source(directory / "src", 1)
    template = directory / "template.yaml"
    template.write_text(SAM_TEMPLATE.format(workload=workload, arch=arch, runtime=RUNTIME))
    return template


def so_machines(directory: Path) -> dict[str, int]:
    """How many shared objects under ``directory`` are built for each architecture."""
    counts: dict[str, int] = {}
    if not directory.is_dir():
        return counts
    for path in directory.rglob("*.so*"):
        if path.is_symlink() or not path.is_file():
            continue
        with path.open("rb") as stream:
            header = stream.read(20)
        if header[:4] != b"\x7fELF":
            continue
        machine = ELF_MACHINES.get(int.from_bytes(header[18:20], "little"), "other")
        counts[machine] = counts.get(machine, 0) + 1
    return counts
