"""Two functions of one uv workspace, synthesized twice: real builds, real cloud assemblies."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.standins import ensure_standin

pytestmark = pytest.mark.docker

MEMBERS = ("orders", "payments")


def synthesize(workspace: Path, cache_dir: Path, outdir: Path) -> dict[str, Any]:
    """An App with one LambdaBuilderFunction per workspace member; what it synthesized."""
    import aws_cdk as cdk

    from builder.cdk import LambdaBuilderFunction

    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Shop")
    functions = {
        member: LambdaBuilderFunction(
            stack,
            member.capitalize(),
            project_dir=workspace,
            package=member,
            handler=f"{member}.handler.handler",
            runtime="python3.11",
            architecture="x86_64",
            base_image=ensure_standin("python3.11", "x86_64"),
            cache_dir=cache_dir,
        )
        for member in MEMBERS
    }
    app.synth()
    template = json.loads((outdir / "Shop.template.json").read_text())
    assets = json.loads((outdir / "Shop.assets.json").read_text())["files"]
    keys = {
        member: resource["Properties"]["Code"]["S3Key"]
        for logical, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
        for member in MEMBERS
        if logical.startswith(member.capitalize())
    }
    reports = {
        member: function.code_builder.artifact(function).report
        for member, function in functions.items()
    }
    return {"keys": keys, "assets": assets, "reports": reports}


@pytest.fixture(scope="module")
def synths(
    workspace: Path, cache_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[tuple[Path, dict[str, Any]]]]:
    runs = []
    for name in ("first", "second"):
        outdir = tmp_path_factory.mktemp(f"cdk-out-{name}")
        runs.append((outdir, synthesize(workspace, cache_dir, outdir)))
    yield runs


def test_asset_hash_is_the_zip_sha256_and_the_s3_key(
    synths: list[tuple[Path, dict[str, Any]]],
) -> None:
    outdir, synth = synths[0]
    assert set(synth["keys"]) == set(MEMBERS)
    for member, key in synth["keys"].items():
        sha = key.removesuffix(".zip")
        staged = outdir / f"asset.{sha}.zip"
        assert hashlib.sha256(staged.read_bytes()).hexdigest() == sha, member
        asset = synth["assets"][sha]
        assert asset["source"] == {"path": staged.name, "packaging": "file"}
        assert [d["objectKey"] for d in asset["destinations"].values()] == [key]
        report_sha = [
            a.sha256 for a in synth["reports"][member].artifacts if a.kind == "function-zip"
        ]
        assert report_sha == [sha]
    assert len(set(synth["keys"].values())) == 2
    # Only the finished zips are left in the assembly: no build directories, no temp zips.
    assert not [p.name for p in outdir.iterdir() if p.name.startswith(".lambda-builder-")]


def test_each_zip_holds_its_handler_and_only_its_dependencies(
    synths: list[tuple[Path, dict[str, Any]]],
) -> None:
    outdir, synth = synths[0]
    for member, key in synth["keys"].items():
        other = {"orders": "payments", "payments": "orders"}[member]
        with zipfile.ZipFile(outdir / f"asset.{key}") as archive:
            names = set(archive.namelist())
        assert f"{member}/handler.py" in names
        assert "shop_common/__init__.py" in names
        assert {"needspure/__init__.py", "purepkg/__init__.py"} <= names
        assert not any(n.startswith(f"{other}/") for n in names)
        packages = {p.name for p in synth["reports"][member].packages}
        assert packages == {member, "shop-common", "needspure", "purepkg"}
        assert synth["reports"][member].mode == "container"
        code = (
            f"import sys; sys.path.insert(0, {str(outdir / f'asset.{key}')!r}); "
            f"from {member}.handler import handler; print(handler({{}}, None))"
        )
        run = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
        assert run.stdout.strip() == f"hello {member} from shop_common with needspure 1.0", (
            run.stderr
        )


def test_second_synth_has_identical_hashes_and_reuses_the_build(
    synths: list[tuple[Path, dict[str, Any]]],
) -> None:
    (first_dir, first), (second_dir, second) = synths
    assert first["keys"] == second["keys"]
    for key in first["keys"].values():
        assert (first_dir / f"asset.{key}").read_bytes() == (
            second_dir / f"asset.{key}"
        ).read_bytes()
    assert {r.dependency_cache for r in second["reports"].values()} == {"hit"}


def synthesize_bundled(workspace: Path, cache_dir: Path, outdir: Path) -> tuple[str, Path]:
    """``Code.from_asset`` with LambdaBuilderBundling: CDK's own asset, bundled by us."""
    import aws_cdk as cdk
    from aws_cdk import aws_lambda

    from builder.cdk import FunctionBuild, LambdaBuilderBundling

    build = FunctionBuild(
        workspace,
        package="orders",
        runtime="python3.11",
        base_image=ensure_standin("python3.11", "x86_64"),
        cache_dir=cache_dir,
    )
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Bundled")
    aws_lambda.Function(
        stack,
        "Orders",
        code=aws_lambda.Code.from_asset(
            str(workspace),
            bundling=LambdaBuilderBundling.options(build),
            asset_hash_type=cdk.AssetHashType.OUTPUT,
        ),
        handler="orders.handler.handler",
        runtime=aws_lambda.Runtime("python3.11", aws_lambda.RuntimeFamily.PYTHON),
    )
    app.synth()
    assets = json.loads((outdir / "Bundled.assets.json").read_text())["files"]
    [(asset_hash, asset)] = [(h, a) for h, a in assets.items() if a["source"]["packaging"] == "zip"]
    return asset_hash, outdir / asset["source"]["path"]


def test_local_bundling_builds_the_asset_directory_and_never_falls_back(
    synths: list[tuple[Path, dict[str, Any]]], workspace: Path, cache_dir: Path, tmp_path: Path
) -> None:
    first_hash, first = synthesize_bundled(workspace, cache_dir, tmp_path / "one")
    second_hash, _ = synthesize_bundled(workspace, cache_dir, tmp_path / "two")
    assert first_hash == second_hash
    assert (first / "orders" / "handler.py").is_file()
    assert (first / "shop_common" / "__init__.py").is_file()
    assert (first / "needspure" / "__init__.py").is_file()
    assert not (first / "payments").exists() and not (first / "uv.lock").exists()
    # The same files as the zip LambdaBuilderFunction made from the same build.
    outdir, synth = synths[0]
    with zipfile.ZipFile(outdir / f"asset.{synth['keys']['orders']}") as archive:
        zipped = set(archive.namelist())
    assert {p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file()} == zipped
