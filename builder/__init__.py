"""lambda-builder: Python dependencies for AWS Lambda, built inside the Lambda images.

The modules at this level are the core: runtimes, architectures, configuration, requirements,
reports, errors, credentials and redaction. They are pure rules and models and import nothing
from ``cli``, ``api`` or the gateway packages (``artifacts``, ``docker``, ``host``, ``inputs``);
``tests/unit/test_layout.py`` holds every package to its import rules.
"""

from builder.api import PythonPipDependencyBuilder, build_dependencies
from builder.architectures import Architecture
from builder.config import BuildConfig, IndexConfig
from builder.errors import BuilderError, MissingDependenciesError
from builder.version import __version__

__all__ = [
    "Architecture",
    "BuildConfig",
    "BuilderError",
    "IndexConfig",
    "MissingDependenciesError",
    "PythonPipDependencyBuilder",
    "__version__",
    "build_dependencies",
]
