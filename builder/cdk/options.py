"""What the CDK construct builds: the ``build`` command's options as one frozen value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from builder.architectures import Architecture, parse_architecture
from builder.config import ArtifactOptions, BuildConfig, IndexConfig
from builder.runtimes import Runtime, get_runtime


@dataclass(frozen=True)
class FunctionBuild:
    """One function's build, named as the CLI names it (``--package``, ``--slim``...)."""

    project_dir: Path
    runtime: str = "python3.12"
    architecture: str = "x86_64"
    package: str | None = None  # a uv workspace member (``--package``)
    input: Path | None = None  # a lock or requirements file (``--input``)
    requirements: Path | None = None  # ``-r/--requirements``
    groups: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    slim: bool = False
    excludes: tuple[str, ...] = ()
    compile_bytecode: bool = False
    base_image: str | None = None  # the same rules as ``--base-image``
    ca_bundle: Path | None = None  # default: SSL_CERT_FILE, REQUESTS_CA_BUNDLE or PIP_CERT
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    cache_dir: Path | None = None  # default: LAMBDA_BUILDER_CACHE_DIR or ~/.cache/lambda-builder
    use_cache: bool = True

    def __post_init__(self) -> None:
        for name in ("project_dir", "input", "requirements", "ca_bundle", "cache_dir"):
            value = getattr(self, name)
            if isinstance(value, str):  # a str from untyped code: still a path
                object.__setattr__(self, name, Path(value))
        # An unknown runtime or architecture fails when the construct is made, not mid-synth.
        get_runtime(self.runtime)
        parse_architecture(self.architecture)

    @property
    def lambda_runtime(self) -> Runtime:
        return get_runtime(self.runtime)

    @property
    def lambda_architecture(self) -> Architecture:
        return parse_architecture(self.architecture)

    @property
    def target(self) -> str:
        return f"{self.lambda_runtime.name}/{self.lambda_architecture.value}"

    def config(self, zip_path: Path | None, ca_bundle: Path | None) -> BuildConfig:
        """The API's configuration, with a function zip written to ``zip_path`` if given."""
        return BuildConfig(
            architecture=self.lambda_architecture,
            index=IndexConfig(
                index_url=self.index_url, extra_index_urls=tuple(self.extra_index_urls)
            ),
            base_image=self.base_image,
            ca_bundle=ca_bundle,
            use_cache=self.use_cache,
            cache_dir=self.cache_dir,
            compile_bytecode=self.compile_bytecode,
            quiet=True,
            artifacts=ArtifactOptions(
                zip_path=zip_path, slim=self.slim, excludes=tuple(self.excludes)
            ),
        )
