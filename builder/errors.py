"""The error hierarchy: each error carries a hint and a stable exit code for the CLI."""

from __future__ import annotations


class BuilderError(Exception):
    """Base of every error this tool reports to a user."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, target: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.target = target

    def __str__(self) -> str:
        prefix = f"[{self.target}] " if self.target else ""
        return f"{prefix}{self.message}"


class UsageError(BuilderError):
    """Bad command-line or API input: unknown runtime, missing file, conflicting options."""

    exit_code = 2


class InputError(BuilderError):
    """A requirements or lock file that cannot be used as written."""

    exit_code = 3


class MissingDependenciesError(BuilderError):
    """Some packages could not be satisfied for the target; ``missing`` says which and why."""

    exit_code = 4

    def __init__(self, message: str, *, missing: list[dict[str, str]], **kwargs: str | None):
        super().__init__(message, **kwargs)
        self.missing = missing


class PipelineError(BuilderError):
    """The packaging pipeline itself failed (pip crashed, an install conflict)."""

    exit_code = 5


class EnvironmentMismatchError(BuilderError):
    """Host mode on a host that cannot guarantee a correct bundle for the target."""

    exit_code = 6


class DockerError(BuilderError):
    """No engine, an image that cannot be built or run, missing emulation."""

    exit_code = 7


class ArtifactError(BuilderError):
    """A zip or bundle that breaks a Lambda limit or fails verification."""

    exit_code = 8


class AwsError(BuilderError):
    """AWS refused or could not be reached: credentials, permissions, a missing bucket."""

    exit_code = 9
