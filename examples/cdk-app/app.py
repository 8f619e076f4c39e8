"""A CDK app: two Python functions from one uv workspace, each built by lambda-builder.

``cdk synth`` builds each member's zip in the Lambda image (arm64 here) and names the asset by
the zip's sha256: an unchanged build leaves the template as it was, so nothing is redeployed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from builder.cdk import LambdaBuilderFunction

SERVICES = Path(__file__).resolve().parent / "services"
MEMBERS = ("orders", "payments")


class ShopStack(cdk.Stack):
    """One function per workspace member, each with only the dependencies it needs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_dir: Path = SERVICES,
        runtime: str = "python3.12",
        architecture: str = "arm64",
        base_image: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        for member in MEMBERS:
            LambdaBuilderFunction(
                self,
                member.capitalize(),
                project_dir=project_dir,
                package=member,  # as `lambda-builder build services --package orders`
                handler=f"{member}.handler.handler",
                runtime=runtime,
                architecture=architecture,
                slim=True,
                compile_bytecode=True,
                base_image=base_image,
                memory_size=256,
                timeout=cdk.Duration.seconds(10),
            )


if __name__ == "__main__":
    app = cdk.App()
    # `cdk synth -c base_image=my-mirror/lambda/python:{version}{suffix}` as with --base-image.
    ShopStack(app, "Shop", base_image=app.node.try_get_context("base_image"))
    app.synth()
