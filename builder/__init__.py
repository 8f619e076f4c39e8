"""lambda-builder: Python dependencies for AWS Lambda, built inside the Lambda images."""

from builder.api import PythonPipDependencyBuilder, build_dependencies
from builder.architectures import Architecture
from builder.config import BuildConfig, IndexConfig
from builder.errors import BuilderError, MissingDependenciesError

__all__ = [
    "Architecture",
    "BuildConfig",
    "BuilderError",
    "IndexConfig",
    "MissingDependenciesError",
    "PythonPipDependencyBuilder",
    "build_dependencies",
]
__version__ = "0.1.0"
