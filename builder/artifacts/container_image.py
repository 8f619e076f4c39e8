"""``build --image``: a finished bundle as a Lambda container image on the runtime base image.

Dependencies and source become two layers in ``LAMBDA_TASK_ROOT`` (source on top), written
by ``image_layers`` so that each depends only on its files; the base image is the runtime
image itself, so no toolchain, cache or credential of the build is in the image.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Collection
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from builder.architectures import Architecture
from builder.artifacts.image_layers import LayerFile, find_secret, layer_epoch, split_bundle
from builder.artifacts.image_layers import write_layer as write_layer_tar
from builder.artifacts.zips import collect_files
from builder.config import BuildConfig, ImageOptions
from builder.docker.engine import connect
from builder.docker.image_config import AddedLayer, base_created, normalised_tag, task_root
from builder.docker.lambda_image import base_image, load_image, push_image
from builder.errors import ArtifactError, UsageError
from builder.redact import registered_secrets
from builder.report import ContainerImageRecord, ImageLayerRecord
from builder.runtimes import Runtime
from builder.ui import BuildUI
from builder.version import __version__

# What the Python runtime accepts: module path (dots or slashes), a dot, the function name.
_HANDLER = re.compile(r"^[A-Za-z_]\w*(?:[./][A-Za-z_]\w*)*\.[A-Za-z_]\w*$")


def check_options(options: ImageOptions) -> str:
    """The normalised tag; a bad tag or handler is a usage error before anything is built."""
    if not _HANDLER.match(options.handler):
        raise UsageError(
            f"--handler {options.handler!r} is not MODULE.FUNCTION",
            hint="e.g. --handler app.handler for def handler(event, context) in app.py",
        )
    return normalised_tag(options.tag)


def has_handler_module(bundle: Path, handler: str) -> bool:
    module = handler.rsplit(".", 1)[0].replace(".", "/")
    path = bundle / module
    return (
        path.with_name(path.name + ".py").is_file()
        or path.is_dir()
        or any(path.parent.glob(f"{path.name}.*.so"))
        or path.with_name(path.name + ".pyc").is_file()
    )


def build_container_image(
    bundle: Path,
    source_paths: Collection[str],
    *,
    runtime: Runtime,
    architecture: Architecture,
    config: BuildConfig,
    target: str,
    ui: BuildUI,
) -> ContainerImageRecord:
    """Build the image of ``bundle`` (a finished output directory) and push it if asked.

    ``source_paths`` are the bundle paths copied from the user's source: they form the upper
    layer, so editing the source leaves the dependency layer's digest unchanged.
    """
    options = config.artifacts.image
    assert options is not None
    tag = check_options(options)
    if not has_handler_module(bundle, options.handler):
        ui.warning(target, f"the handler's module is not in the bundle: {options.handler}")
    engine = connect()
    base_name = runtime.base_image(architecture, config.base_image)
    base = base_image(engine, base_name, architecture)
    root = PurePosixPath(task_root(base.attrs))
    ui.step(target, f"building the container image {tag} on {base_name}")
    files = collect_files(bundle).files
    dependencies, source = split_bundle(files, source_paths)
    epoch = layer_epoch(os.environ)
    created = epoch if os.environ.get("SOURCE_DATE_EPOCH", "").strip() else base_created(base.attrs)
    with tempfile.TemporaryDirectory(prefix="lambda-builder-image-") as temporary:
        scratch = Path(temporary)
        layers = [
            write_layer_tar(
                "dependencies", dependencies, root, scratch / "dependencies.tar", epoch
            ),
            write_layer_tar("source", source, root, scratch / "source.tar", epoch),
        ]
        _refuse_secrets(layers, target)
        added = [
            (AddedLayer(layer.digest, _created_by(layer, root)), layer.path) for layer in layers
        ]
        loaded = load_image(
            engine,
            base,
            tag=tag,
            handler=options.handler,
            layers=added,
            created=created,
            scratch=scratch,
        )
    pushed = push_image(engine, tag, ui, target) if options.push else None
    return ContainerImageRecord(
        tag=tag,
        id=loaded.id,
        base_image=base_name,
        architecture=str(loaded.config["architecture"]),
        cmd=[options.handler],
        task_root=str(root),
        base_layers=base.layers,
        layers=[
            ImageLayerRecord(
                kind=layer.kind, digest=layer.digest, size=layer.size, files=layer.files
            )
            for layer in layers
        ],
        pushed_digest=pushed,
    )


def _created_by(layer: LayerFile, root: PurePosixPath) -> str:
    return f"lambda-builder {__version__}: {layer.kind} ({layer.files} files) in {root}"


def _refuse_secrets(layers: list[LayerFile], target: str) -> None:
    """A credential of this build found in a layer stops the image: it would ship with it."""
    secrets = registered_secrets()
    secrets |= {unquote(secret) for secret in secrets}  # as found in URLs, and as typed
    for layer in layers:
        if find_secret(layer.path, secrets):
            raise ArtifactError(
                f"the {layer.kind} layer holds a credential used by this build; "
                "refusing to make an image of it",
                target=target,
                hint="look for index URLs with passwords in your source or in direct URL "
                "requirements, and pass credentials through netrc, keyring or variables",
            )
