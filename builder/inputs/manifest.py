"""The build-all manifest: the functions and layers of a repository, in one TOML table.

Read from ``lambda-builder.toml`` or from ``[tool.lambda-builder]`` in ``pyproject.toml``.
Validation is strict: an unknown key, runtime, architecture or output, or a missing source, is
one error that names the file, the target and the field, before anything is built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from builder.architectures import Architecture, parse_architecture
from builder.errors import BuilderError, UsageError
from builder.inputs.project import load_toml, table
from builder.runtimes import Runtime, get_runtime

MANIFEST_NAME = "lambda-builder.toml"
PYPROJECT_TABLE = ("tool", "lambda-builder")
OutputKind = Literal["dir", "zip", "layer", "image"]
SUPPORTED_OUTPUTS: tuple[str, ...] = ("dir", "zip", "layer", "image")
DEFAULT_OUTPUTS: dict[str, tuple[str, ...]] = {"function": ("dir", "zip"), "layer": ("layer",)}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_HANDLER = re.compile(r"[A-Za-z_][\w.]*\.[A-Za-z_]\w*\Z")


def _listed(value: Any) -> Any:
    """``runtime = "python3.12"`` or a list of them; commas split as on the command line."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("expected a name or a list of names")
    return [part.strip() for item in value for part in item.split(",") if part.strip()]


Names = Annotated[list[str], BeforeValidator(_listed)]


class _Table(BaseModel):
    # kebab-case keys, as pyproject.toml tables write them (compile-bytecode, layer-layout).
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        alias_generator=lambda name: name.replace("_", "-"),
    )


class Options(_Table):
    """What ``[defaults]`` may set, and every target may override."""

    runtime: Names | None = None
    arch: Names | None = None
    outputs: list[OutputKind] | None = None
    slim: bool | None = None
    compile_bytecode: bool | None = None
    verify: bool | None = None
    exclude: list[str] | None = None
    layer_layout: Literal["python", "site-packages"] | None = None

    @field_validator("runtime")
    @classmethod
    def _known_runtimes(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            _check(get_runtime, name)
        return value

    @field_validator("arch")
    @classmethod
    def _known_architectures(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            _check(parse_architecture, name)
        return value


def _check(parse: Any, name: str) -> None:
    """Turn the vocabularies' own errors into validation messages (with their hints)."""
    try:
        parse(name)
    except UsageError as error:
        raise ValueError(f"{error.message} ({error.hint})") from None


class LayerSpec(Options):
    """A layer: dependencies only, from a requirements file, a lock or a workspace member."""

    source: str | None = None  # the project directory an input is detected in
    package: str | None = None  # a uv workspace member
    requirements: str | None = None
    input: str | None = None  # a lock, requirements or pyproject file
    groups: list[str] = Field(default_factory=list)
    extras: list[str] = Field(default_factory=list)


class FunctionSpec(LayerSpec):
    """A function: its source copied over its dependencies; the handler is recorded."""

    handler: str | None = None
    # The container image's tag (outputs = ["image"]); {runtime} and {arch} are filled in.
    image: str | None = None

    @field_validator("handler")
    @classmethod
    def _handler_shape(cls, value: str | None) -> str | None:
        if value is not None and not _HANDLER.match(value):
            raise ValueError(f"{value!r} is not module.function (e.g. app.handler)")
        return value


class Manifest(_Table):
    defaults: Options = Field(default_factory=Options)
    functions: dict[str, FunctionSpec] = Field(default_factory=dict)
    layers: dict[str, LayerSpec] = Field(default_factory=dict)


@dataclass(frozen=True)
class ManifestTarget:
    """One function or layer with the defaults applied and paths resolved."""

    name: str
    kind: Literal["function", "layer"]
    runtimes: tuple[Runtime, ...]
    architectures: tuple[Architecture, ...]
    outputs: tuple[str, ...]
    source: Path | None = None
    package: str | None = None
    requirements: Path | None = None
    input: Path | None = None
    groups: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    handler: str | None = None
    image: str | None = None
    slim: bool = False
    compile_bytecode: bool = False
    verify: bool = False
    exclude: tuple[str, ...] = ()
    layer_layout: Literal["python", "site-packages"] = "python"


def find_manifest(directory: Path, explicit: Path | None = None) -> Path:
    """``--manifest``, else ``lambda-builder.toml``, else a pyproject.toml with the table."""
    if explicit is not None:
        if not explicit.is_file():
            raise UsageError(f"manifest not found: {explicit}", hint="pass an existing file")
        return explicit
    if (directory / MANIFEST_NAME).is_file():
        return directory / MANIFEST_NAME
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file() and table(load_toml(pyproject), *PYPROJECT_TABLE):
        return pyproject
    raise UsageError(
        f"no {MANIFEST_NAME}, and no [tool.lambda-builder] in pyproject.toml, in {directory}",
        hint="write a manifest (see the README's build-all section) or pass --manifest FILE",
    )


def load_manifest(path: Path) -> list[ManifestTarget]:
    """Every target of the manifest at ``path``, validated; relative paths are from its folder."""
    data = load_toml(path)
    if path.name == "pyproject.toml":
        data = table(data, *PYPROJECT_TABLE)
        if not data:
            raise UsageError(f"{path} has no [tool.lambda-builder] table")
    return resolve_manifest(data, path)


def resolve_manifest(data: Mapping[str, Any], path: Path) -> list[ManifestTarget]:
    prefix = "tool.lambda-builder." if path.name == "pyproject.toml" else ""
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as error:
        raise _validation_error(error, path, prefix) from None
    targets = [
        _resolve(name, "function", spec, manifest.defaults, path.parent)
        for name, spec in manifest.functions.items()
    ]
    targets += [
        _resolve(name, "layer", spec, manifest.defaults, path.parent)
        for name, spec in manifest.layers.items()
    ]
    if not targets:
        raise UsageError(f"{path}: names no [functions.NAME] or [layers.NAME] table")
    seen: set[str] = set()
    for target in targets:
        if target.name in seen:
            raise UsageError(f"{path}: {target.name!r} is both a function and a layer")
        seen.add(target.name)
    return [_checked(target, path, prefix) for target in targets]


def _validation_error(error: ValidationError, path: Path, prefix: str) -> UsageError:
    first = error.errors()[0]
    where = prefix + ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        message = f"{path}: unknown key {where}"
        hint = "check the spelling; see the README's build-all section for every key"
    else:
        message = f"{path}: {where}: {first['msg'].removeprefix('Value error, ')}"
        hint = None
    more = len(error.errors()) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return UsageError(message, hint=hint)


def _pick(value: Any, default: Any, fallback: Any) -> Any:
    return value if value is not None else default if default is not None else fallback


def _path(base: Path, value: str | None) -> Path | None:
    return (base / value) if value is not None else None


def _resolve(
    name: str, kind: Literal["function", "layer"], spec: LayerSpec, defaults: Options, base: Path
) -> ManifestTarget:
    return ManifestTarget(
        name=name,
        kind=kind,
        runtimes=tuple(get_runtime(r) for r in _pick(spec.runtime, defaults.runtime, [])),
        architectures=tuple(
            dict.fromkeys(
                parse_architecture(a) for a in _pick(spec.arch, defaults.arch, ["x86_64"])
            )
        ),
        outputs=tuple(dict.fromkeys(_pick(spec.outputs, defaults.outputs, DEFAULT_OUTPUTS[kind]))),
        source=_path(base, spec.source),
        package=spec.package,
        requirements=_path(base, spec.requirements),
        input=_path(base, spec.input),
        groups=tuple(spec.groups),
        extras=tuple(spec.extras),
        handler=spec.handler if isinstance(spec, FunctionSpec) else None,
        image=spec.image if isinstance(spec, FunctionSpec) else None,
        slim=bool(_pick(spec.slim, defaults.slim, False)),
        compile_bytecode=bool(_pick(spec.compile_bytecode, defaults.compile_bytecode, False)),
        verify=bool(_pick(spec.verify, defaults.verify, False)),
        exclude=tuple(_pick(spec.exclude, defaults.exclude, ())),
        layer_layout=_pick(spec.layer_layout, defaults.layer_layout, "python"),
    )


def _checked(target: ManifestTarget, path: Path, prefix: str) -> ManifestTarget:
    """What a schema cannot say: files that must exist, and choices that exclude each other."""
    where = f"{prefix}{target.kind}s.{target.name}"

    def fail(field: str, problem: str, hint: str | None = None) -> BuilderError:
        return UsageError(f"{path}: {where}.{field}: {problem}", hint=hint)

    if not _NAME.match(target.name):
        raise UsageError(
            f"{path}: {where}: the name is also a directory name",
            hint="use letters, digits, '.', '_' and '-'",
        )
    if not target.runtimes:
        raise fail("runtime", "no runtime", hint="set runtime here or in [defaults]")
    if not target.outputs:
        raise fail("outputs", "is empty", hint=f"list some of {', '.join(SUPPORTED_OUTPUTS)}")
    unsupported = [kind for kind in target.outputs if kind not in SUPPORTED_OUTPUTS]
    if unsupported:
        raise fail(
            "outputs",
            f"{', '.join(unsupported)} output is not supported yet",
            hint=f"use {', '.join(SUPPORTED_OUTPUTS)}",
        )
    if "image" in target.outputs or target.image is not None:
        _check_image(target, fail)
    if target.requirements is not None and target.input is not None:
        raise fail("input", "requirements and input both name the input", "keep one of them")
    if target.source is not None and not target.source.is_dir():
        raise fail("source", f"directory not found: {target.source}")
    for field, file in (("requirements", target.requirements), ("input", target.input)):
        if file is not None and not file.is_file():
            raise fail(field, f"file not found: {file}")
    named = (target.source, target.package, target.requirements, target.input)
    if all(value is None for value in named):
        raise fail(
            "source",
            "names nothing to build",
            hint="set source, package, requirements or input",
        )
    return target


def _check_image(target: ManifestTarget, fail: Any) -> None:
    """An image is one function's, for one runtime and architecture per tag."""
    if target.kind != "function":
        raise fail("outputs", "a layer has no container image", hint="drop image from outputs")
    if "image" not in target.outputs:
        raise fail("image", "is set, but outputs has no image", hint='add "image" to outputs')
    if target.image is None:
        raise fail("image", "outputs has image, but no tag", hint='e.g. image = "api:{arch}"')
    if target.handler is None:
        raise fail("handler", "an image needs its handler (the CMD)", hint="e.g. app.handler")
    for field, values in (("{runtime}", target.runtimes), ("{arch}", target.architectures)):
        if len(values) > 1 and field not in target.image:
            raise fail(
                "image",
                f"one tag for several {field[1:-1]}s",
                hint=f"put {field} in the tag, e.g. {target.image}-{field}",
            )


def image_tag(template: str, runtime: Runtime, architecture: Architecture) -> str:
    return template.replace("{runtime}", runtime.name).replace("{arch}", architecture.value)


def selected(targets: Sequence[ManifestTarget], only: Sequence[str]) -> list[ManifestTarget]:
    """The targets ``--only`` names (all of them without it); an unknown name is an error."""
    if not only:
        return list(targets)
    known = {target.name for target in targets}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise UsageError(
            f"--only names no target of the manifest: {', '.join(unknown)}",
            hint=f"targets: {', '.join(sorted(known))}",
        )
    return [target for target in targets if target.name in only]
