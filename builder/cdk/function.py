"""``LambdaBuilderFunction``: an ``aws_lambda.Function`` whose code lambda-builder builds."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from builder.architectures import Architecture
from builder.cdk.code import LambdaBuilderCode, is_build_required
from builder.ui import BuildUI


class LambdaBuilderFunction(lambda_.Function):
    """A Python function built for its own runtime and architecture, in the Lambda image.

    The build options are those of ``lambda-builder build PROJECT_DIR``; ``runtime`` and
    ``architecture`` also set the function's. Any other keyword (``memory_size``, ``timeout``,
    ``environment``...) goes to ``aws_lambda.Function``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        project_dir: str | Path,
        handler: str,
        runtime: str = "python3.12",
        architecture: str = "x86_64",
        package: str | None = None,
        input: str | Path | None = None,
        requirements: str | Path | None = None,
        groups: Sequence[str] = (),
        extras: Sequence[str] = (),
        slim: bool = False,
        excludes: Sequence[str] = (),
        compile_bytecode: bool = False,
        base_image: str | None = None,
        ca_bundle: str | Path | None = None,
        index_url: str | None = None,
        extra_index_urls: Sequence[str] = (),
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        ui: BuildUI | None = None,
        **function_props: Any,
    ) -> None:
        code = LambdaBuilderCode.from_project(
            project_dir,
            runtime=runtime,
            architecture=architecture,
            package=package,
            input=input,
            requirements=requirements,
            groups=groups,
            extras=extras,
            slim=slim,
            excludes=excludes,
            compile_bytecode=compile_bytecode,
            base_image=base_image,
            ca_bundle=ca_bundle,
            index_url=index_url,
            extra_index_urls=extra_index_urls,
            cache_dir=cache_dir,
            use_cache=use_cache,
            ui=ui,
        )
        build = code.build
        # Built now, in Python, so a failure raises its own error type here rather than
        # a RuntimeError out of jsii's callback into bind(); bind() then reuses the zip.
        if is_build_required(scope):
            code.artifact(scope, label=f"{scope.node.path}/{id}")
        super().__init__(
            scope,
            id,
            code=code,
            handler=handler,
            runtime=lambda_.Runtime(build.lambda_runtime.name, lambda_.RuntimeFamily.PYTHON),
            architecture=(
                lambda_.Architecture.ARM_64
                if build.lambda_architecture is Architecture.ARM64
                else lambda_.Architecture.X86_64
            ),
            **function_props,
        )
        self.code_builder = code
