"""The build-all manifest: defaults, paths, and one clear error per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.architectures import Architecture
from builder.errors import InputError, UsageError
from builder.inputs.manifest import find_manifest, image_tag, load_manifest, selected

EXAMPLE = """
[defaults]
runtime = "python3.12"
arch = ["x86_64", "arm64"]

[functions.api]
source = "functions/api"
requirements = "functions/api/requirements.txt"
outputs = ["zip", "dir"]
handler = "app.handler"

[functions.worker]
source = "functions/worker"
runtime = ["python3.11", "python3.13"]
arch = "arm64"
compile-bytecode = true
exclude = ["*.md"]

[layers.shared]
requirements = "layers/shared/requirements.txt"
"""


def project(root: Path, manifest: str = EXAMPLE, name: str = "lambda-builder.toml") -> Path:
    for function in ("api", "worker"):
        (root / "functions" / function).mkdir(parents=True, exist_ok=True)
        (root / "functions" / function / "requirements.txt").write_text("purepkg==1.0\n")
    (root / "layers" / "shared").mkdir(parents=True, exist_ok=True)
    (root / "layers" / "shared" / "requirements.txt").write_text("purepkg==1.0\n")
    (root / name).write_text(manifest)
    return root / name


def error_of(root: Path, manifest: str) -> UsageError:
    with pytest.raises(UsageError) as caught:
        load_manifest(project(root, manifest))
    return caught.value


def test_defaults_apply_and_targets_override_them(tmp_path: Path) -> None:
    api, worker, shared = load_manifest(project(tmp_path))
    assert (api.name, api.kind, api.handler) == ("api", "function", "app.handler")
    assert [r.name for r in api.runtimes] == ["python3.12"]
    assert api.architectures == (Architecture.X86_64, Architecture.ARM64)
    assert api.outputs == ("zip", "dir")
    assert api.source == tmp_path / "functions" / "api"
    assert api.requirements == tmp_path / "functions" / "api" / "requirements.txt"
    assert [r.name for r in worker.runtimes] == ["python3.11", "python3.13"]
    assert [r.name for r in shared.runtimes] == ["python3.12"]
    assert worker.architectures == (Architecture.ARM64,)
    assert worker.outputs == ("dir", "zip")  # a function's default
    assert worker.compile_bytecode and worker.exclude == ("*.md",)
    assert (shared.kind, shared.outputs, shared.handler) == ("layer", ("layer",), None)


def test_pyproject_table_is_found_and_read(tmp_path: Path) -> None:
    table = EXAMPLE.replace("[defaults]", "[tool.lambda-builder.defaults]")
    table = table.replace("[functions.", "[tool.lambda-builder.functions.")
    table = table.replace("[layers.", "[tool.lambda-builder.layers.")
    path = project(tmp_path, '[project]\nname = "x"\n' + table, "pyproject.toml")
    assert find_manifest(tmp_path) == path
    assert [t.name for t in load_manifest(path)] == ["api", "worker", "shared"]


def test_lambda_builder_toml_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.lambda-builder.functions.x]\nsource='.'\n")
    path = project(tmp_path)
    assert find_manifest(tmp_path) == path


def test_no_manifest_is_an_error_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(UsageError) as caught:
        find_manifest(tmp_path)
    assert "lambda-builder.toml" in str(caught.value) and caught.value.hint


def test_unknown_key_names_file_target_and_key(tmp_path: Path) -> None:
    error = error_of(tmp_path, EXAMPLE.replace("handler =", "handlr ="))
    assert str(error) == f"{tmp_path / 'lambda-builder.toml'}: unknown key functions.api.handlr"


def test_unknown_key_in_pyproject_names_the_whole_path(tmp_path: Path) -> None:
    text = '[tool.lambda-builder.functions.api]\nsource = "functions/api"\nruntme = "3.12"\n'
    path = project(tmp_path, text, "pyproject.toml")
    with pytest.raises(UsageError, match=r"unknown key tool\.lambda-builder\.functions\.api"):
        load_manifest(path)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('runtime = "python3.12"', 'runtime = "python3.99"', "defaults.runtime: unknown runtime"),
        ('arch = "arm64"', 'arch = "sparc"', "functions.worker.arch: unknown architecture 'sparc'"),
        ('outputs = ["zip", "dir"]', 'outputs = ["tarball"]', "functions.api.outputs.0: "),
        ('handler = "app.handler"', 'handler = "app"', "functions.api.handler: 'app' is not"),
        (
            "compile-bytecode = true",
            'compile-bytecode = "yes"',
            "functions.worker.compile-bytecode",
        ),
        ('arch = "arm64"', "arch = 64", "functions.worker.arch: expected a name or a list of"),
        ('arch = "arm64"', 'arch = ["arm64", 7]', "functions.worker.arch: expected a name or a"),
    ],
)
def test_bad_values_name_target_and_field(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in EXAMPLE
    error = error_of(tmp_path, EXAMPLE.replace(old, new))
    assert f"lambda-builder.toml: {expected}" in str(error)


def test_missing_source_directory(tmp_path: Path) -> None:
    error = error_of(tmp_path, EXAMPLE.replace('"functions/worker"', '"functions/gone"'))
    assert "functions.worker.source: directory not found" in str(error)


def test_missing_requirements_file(tmp_path: Path) -> None:
    error = error_of(tmp_path, EXAMPLE.replace("layers/shared/requirements", "layers/nope"))
    assert "layers.shared.requirements: file not found" in str(error)


def test_a_target_must_name_something_to_build(tmp_path: Path) -> None:
    error = error_of(tmp_path, '[defaults]\nruntime = "3.12"\n[functions.empty]\nhandler = "a.b"\n')
    assert "functions.empty.source: names nothing to build" in str(error)


def test_a_runtime_is_required(tmp_path: Path) -> None:
    error = error_of(tmp_path, '[functions.api]\nsource = "functions/api"\n')
    assert "functions.api.runtime: no runtime" in str(error)
    assert error.hint and "[defaults]" in error.hint


def _with_image(outputs: str, image: str | None) -> str:
    line = f"outputs = {outputs}" + (f'\nimage = "{image}"' if image is not None else "")
    return EXAMPLE.replace('outputs = ["zip", "dir"]', line)


def test_an_image_tag_per_runtime_and_architecture(tmp_path: Path) -> None:
    api, _worker, _shared = load_manifest(project(tmp_path, _with_image('["image"]', "api:{arch}")))
    assert api.outputs == ("image",) and api.image == "api:{arch}"
    assert image_tag(api.image, api.runtimes[0], Architecture.ARM64) == "api:arm64"


@pytest.mark.parametrize(
    ("outputs", "image", "problem"),
    [
        ('["image"]', None, "functions.api.image: outputs has image, but no tag"),
        ('["zip"]', "api:1", "functions.api.image: is set, but outputs has no image"),
        ('["image"]', "api:1", "functions.api.image: one tag for several archs"),
    ],
)
def test_image_outputs_are_checked(
    tmp_path: Path, outputs: str, image: str | None, problem: str
) -> None:
    assert problem in str(error_of(tmp_path, _with_image(outputs, image)))


def test_an_image_needs_the_handler(tmp_path: Path) -> None:
    text = _with_image('["image"]', "api:{arch}").replace('handler = "app.handler"\n', "")
    assert "functions.api.handler: an image needs its handler" in str(error_of(tmp_path, text))


def test_requirements_and_input_exclude_each_other(tmp_path: Path) -> None:
    text = EXAMPLE.replace(
        'requirements = "layers', 'input = "functions/api/requirements.txt"\nrequirements = "layers'
    )
    assert "layers.shared.input: requirements and input both" in str(error_of(tmp_path, text))


def test_a_name_that_is_no_directory_name_is_refused(tmp_path: Path) -> None:
    error = error_of(tmp_path, EXAMPLE.replace("[functions.api]", '[functions."../api"]'))
    assert "the name is also a directory name" in str(error)


def test_a_function_and_a_layer_cannot_share_a_name(tmp_path: Path) -> None:
    error = error_of(tmp_path, EXAMPLE.replace("[layers.shared]", "[layers.api]"))
    assert "'api' is both a function and a layer" in str(error)


def test_syntax_errors_name_the_file(tmp_path: Path) -> None:
    path = project(tmp_path, "[functions.api\n")
    with pytest.raises(InputError, match=r"lambda-builder\.toml"):
        load_manifest(path)


def test_only_picks_targets_and_rejects_unknown_names(tmp_path: Path) -> None:
    targets = load_manifest(project(tmp_path))
    assert [t.name for t in selected(targets, ["shared", "api"])] == ["api", "shared"]
    assert selected(targets, []) == targets
    with pytest.raises(UsageError, match="no target of the manifest: web"):
        selected(targets, ["web"])


def test_comma_separated_names_work_as_on_the_command_line(tmp_path: Path) -> None:
    text = EXAMPLE.replace('arch = "arm64"', 'arch = "arm64, x86_64"')
    _, worker, _ = load_manifest(project(tmp_path, text))
    assert worker.architectures == (Architecture.ARM64, Architecture.X86_64)
