"""CDK local bundling by lambda-builder, for assets made with ``Code.from_asset`` and the like."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling

from builder.cdk.artifact import LabelledUI, build_bundle_directory, for_jsii
from builder.cdk.options import FunctionBuild
from builder.errors import BuilderError
from builder.ui import BuildUI

# CDK requires an image for Docker bundling, which never runs: try_bundle never declines.
UNUSED_IMAGE = "lambda-builder/local-bundling-only"


@jsii.implements(ILocalBundling)
class LambdaBuilderBundling:
    """Bundles an asset directory with lambda-builder on this machine, or fails.

    It never returns False, so CDK never falls back to its own Docker bundling. The asset
    hash is CDK's (of the source, or of the output with ``AssetHashType.OUTPUT``); for assets
    named by the zip's own sha256 use ``LambdaBuilderCode``.
    """

    def __init__(self, build: FunctionBuild, ui: BuildUI | None = None) -> None:
        self.build = build
        self._ui = ui

    @classmethod
    def options(cls, build: FunctionBuild, ui: BuildUI | None = None) -> BundlingOptions:
        """``BundlingOptions`` for ``Code.from_asset(build.project_dir, bundling=...)``."""
        return BundlingOptions(image=DockerImage.from_registry(UNUSED_IMAGE), local=cls(build, ui))

    def try_bundle(self, output_dir: str, *options: Any, **keywords: Any) -> bool:
        """Build into ``output_dir``; CDK's BundlingOptions (which jsii passes positionally,
        whatever the stub says) do not apply to a bundler that never uses the image."""
        try:
            label = self.build.package or self.build.project_dir.name
            build_bundle_directory(self.build, Path(output_dir), LabelledUI(label, self._ui))
        except BuilderError as error:
            raise for_jsii(error) from error
        return True
