"""AWS CDK integration: Lambda code and functions built by lambda-builder at synth time.

Importing this package imports ``aws_cdk`` (``pip install 'lambda-builder[cdk]'``); the build
itself lives in ``builder.cdk.artifact``, which does not.
"""

from builder.cdk.nodejs import require_node

require_node()

from builder.cdk.bundling import LambdaBuilderBundling  # noqa: E402  (once Node.js is known)
from builder.cdk.code import LambdaBuilderCode  # noqa: E402
from builder.cdk.function import LambdaBuilderFunction  # noqa: E402
from builder.cdk.options import FunctionBuild  # noqa: E402

__all__ = [
    "FunctionBuild",
    "LambdaBuilderBundling",
    "LambdaBuilderCode",
    "LambdaBuilderFunction",
]
