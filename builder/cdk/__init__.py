"""AWS CDK integration: Lambda code and functions built by lambda-builder at synth time.

Importing this package imports ``aws_cdk`` (``pip install 'lambda-builder[cdk]'``); the build
itself lives in ``builder.cdk.artifact``, which does not.
"""

from builder.cdk.code import LambdaBuilderCode
from builder.cdk.function import LambdaBuilderFunction
from builder.cdk.options import FunctionBuild

__all__ = ["FunctionBuild", "LambdaBuilderCode", "LambdaBuilderFunction"]
