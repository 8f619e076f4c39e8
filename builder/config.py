"""Build configuration: what the API and CLI accept, validated once at the edge."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from builder.architectures import Architecture
from builder.incontainer.protocol import DEFAULT_ALLOWLIST

# pip's --keyring-provider values (builder.host.keyrings says what each does here).
KeyringProvider = Literal["auto", "disabled", "import", "subprocess"]
KEYRING_PROVIDERS: tuple[str, ...] = get_args(KeyringProvider)
# Where the pipeline runs: containers through the engine's API, or a BuildKit build (buildx).
Backend = Literal["docker", "buildx"]
BACKENDS: tuple[str, ...] = get_args(Backend)


class IndexConfig(BaseModel):
    """Where pip looks for packages; URLs may carry credentials and are never logged."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] = ()


class ImageOptions(BaseModel):
    """``build --image``: a Lambda container image of the finished bundle (builder.artifacts)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tag: str
    handler: str  # the image's CMD, e.g. app.handler
    push: bool = False


class ArtifactOptions(BaseModel):
    """What to make of a built bundle: zips, slimming, checks (see builder.artifacts)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    zip_path: Path | None = None
    layer_zip_path: Path | None = None
    layer_layout: Literal["python", "site-packages"] = "python"
    slim: bool = False
    excludes: tuple[str, ...] = ()
    verify: bool = False
    image: ImageOptions | None = None


class BuildConfig(BaseModel):
    """Everything about a build except what to build (requirements) and for which runtime."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    architecture: Architecture = Architecture.X86_64
    index: IndexConfig = Field(default_factory=IndexConfig)
    use_container: bool = True
    base_image: str | None = None
    ca_bundle: Path | None = None
    use_cache: bool = True
    cache_dir: Path | None = None
    allowlist: tuple[str, ...] = DEFAULT_ALLOWLIST
    verbose: bool = False
    quiet: bool = False
    compile_bytecode: bool = False
    ssh: bool = False
    # None: PIP_KEYRING_PROVIDER or pip's configuration, else "auto".
    keyring_provider: KeyringProvider | None = None
    artifacts: ArtifactOptions = Field(default_factory=ArtifactOptions)
    docker_host_network: bool | None = None  # None: decide from where the engine runs
    # Foreign architectures: resolve natively and emulate only compilation (builder.docker.cross).
    cross_resolution: bool = True
    backend: Backend = "docker"
    # --backend buildx only: the buildx builder (None: the current one), and cache
    # import/export specs passed to `docker buildx build` verbatim.
    builder: str | None = None
    cache_to: tuple[str, ...] = ()
    cache_from: tuple[str, ...] = ()
