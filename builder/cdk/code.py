"""Lambda code any ``aws_lambda.Function`` can use: built at synth, hashed by its own bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import FileAssetLocation, FileAssetPackaging, Stack, Stage
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from builder.cdk.artifact import FunctionArtifact, LabelledUI, build_function_zip, for_jsii
from builder.cdk.options import FunctionBuild
from builder.errors import BuilderError, UsageError
from builder.ui import BuildUI


class LambdaBuilderCode(lambda_.Code):
    """A function zip built by lambda-builder when a function binds it.

    The asset's hash, and so its S3 key (``<sha256>.zip``), is the zip's own sha256: the zips are
    byte-identical for the same inputs, so an unchanged build never changes the template and
    never triggers a redeploy. CDK's own fingerprint of the project directory is not used.
    """

    def __init__(self, build: FunctionBuild, ui: BuildUI | None = None) -> None:
        super().__init__()
        self.build = build
        self._ui = ui
        self._artifacts: dict[str, FunctionArtifact] = {}  # by cloud assembly directory

    @classmethod
    def from_project(
        cls,
        project_dir: str | Path,
        *,
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
    ) -> LambdaBuilderCode:
        """The options of ``lambda-builder build PROJECT_DIR``, spelled as keywords."""
        build = FunctionBuild(
            project_dir=Path(project_dir),
            runtime=runtime,
            architecture=architecture,
            package=package,
            input=Path(input) if input else None,
            requirements=Path(requirements) if requirements else None,
            groups=tuple(groups),
            extras=tuple(extras),
            slim=slim,
            excludes=tuple(excludes),
            compile_bytecode=compile_bytecode,
            base_image=base_image,
            ca_bundle=Path(ca_bundle) if ca_bundle else None,
            index_url=index_url,
            extra_index_urls=tuple(extra_index_urls),
            cache_dir=Path(cache_dir) if cache_dir else None,
            use_cache=use_cache,
        )
        return cls(build, ui)

    def artifact(self, scope: Construct, label: str | None = None) -> FunctionArtifact:
        """The zip for ``scope``'s cloud assembly, built once per assembly.

        ``label`` (default: the scope's path) names the build in the progress lines.
        """
        stage = Stage.of(scope)
        if stage is None:
            raise UsageError(
                "LambdaBuilderCode needs a construct inside an App or Stage",
                hint="create the function in a Stack of an aws_cdk.App",
            )
        outdir = stage.outdir
        if outdir not in self._artifacts:
            ui = LabelledUI(label or scope.node.path, self._ui)
            self._artifacts[outdir] = build_function_zip(self.build, Path(outdir), ui)
        return self._artifacts[outdir]

    def bind(self, scope: Construct) -> lambda_.CodeConfig:
        stack = Stack.of(scope)
        if not is_build_required(scope):
            return self._not_built(stack, scope)
        try:
            artifact = self.artifact(scope)
        except BuilderError as error:
            raise for_jsii(error) from error
        location = stack.synthesizer.add_file_asset(
            source_hash=artifact.sha256,
            file_name=artifact.path.name,  # relative to the cloud assembly directory
            packaging=FileAssetPackaging.FILE,
            display_name=f"{scope.node.path}/Code",
        )
        return _code_config(location)

    def _not_built(self, stack: Stack, scope: Construct) -> lambda_.CodeConfig:
        """A stack this CDK command does not deploy: its asset names the sources, as CDK's own."""
        marker = f"lambda-builder:not-built:{scope.node.path}"
        location = stack.synthesizer.add_file_asset(
            source_hash=hashlib.sha256(marker.encode()).hexdigest(),
            file_name=str(self.build.project_dir.resolve()),
            packaging=FileAssetPackaging.ZIP_DIRECTORY,
        )
        return _code_config(location)


def is_build_required(scope: Construct) -> bool:
    """False for stacks outside ``cdk deploy STACK``'s selection, which CDK does not bundle."""
    return Stack.of(scope).bundling_required


def _code_config(location: FileAssetLocation) -> lambda_.CodeConfig:
    return lambda_.CodeConfig(
        s3_location=s3.Location(bucket_name=location.bucket_name, object_key=location.object_key)
    )
