"""Finding what to install in a project: lock files, requirements files, pyproject."""

from builder.inputs.selection import InputSelection, select_input

__all__ = ["InputSelection", "select_input"]
