"""Node.js, which aws-cdk-lib runs on (through jsii): checked before ``aws_cdk`` is imported."""

from __future__ import annotations

import os
import shutil

from builder.errors import UsageError


def node_executable() -> str | None:
    """The Node.js jsii would start (``JSII_NODE`` or ``node`` on PATH), if it exists."""
    return shutil.which(os.environ.get("JSII_NODE", "node"))


def require_node() -> None:
    # Without Node.js, importing aws_cdk dies deep inside jsii with an AttributeError.
    if node_executable() is None:
        raise UsageError(
            "Node.js not found: the AWS CDK (aws-cdk-lib, through jsii) runs on it",
            hint="install Node.js 18 or later (`apt-get install nodejs`, `brew install node`) "
            "or point JSII_NODE at a node executable",
        )
