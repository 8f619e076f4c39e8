"""``build --image``: a Lambda container image built, run, inspected, rebuilt and pushed."""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.conftest import REQUIRE_DOCKER, run_cli
from tests.support.catalog import Catalog
from tests.support.package_index import PackageIndex, credential_forms, hermetic_pip_env
from tests.support.standins import ensure_standin

pytestmark = pytest.mark.docker
PREFIX = f"lambda-builder-test-image-{uuid.uuid4().hex[:8]}"
APP = (
    "import cextpkg\nimport needspure\n\n\ndef handler(event, context):\n"
    "    return {{'answer': cextpkg.answer(), 'value': needspure.VALUE, 'event': event, "
    "'version': {version}}}\n"
)
REQUIREMENTS = "cextpkg==1.0\nneedspure==1.0\n"
CALL = "import json, app; print(json.dumps(app.handler({'hello': 'image'}, None)))"


@pytest.fixture(scope="module")
def standin() -> str:
    return ensure_standin("python3.11", "x86_64")


@pytest.fixture(scope="module")
def tags() -> Iterator[list[str]]:
    """Every image reference a test makes; removed (with its image) when the module ends."""
    made: list[str] = []
    yield made
    client = docker.from_env()
    for reference in made:
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.images.remove(reference, force=True)


def new_tag(tags: list[str], name: str = "fn", registry: str = "") -> str:
    tag = f"{registry}{PREFIX}-{name}:{uuid.uuid4().hex[:8]}"
    tags.append(tag)
    return tag


def write_project(root: Path, version: int = 1) -> Path:
    source = root / "src"
    source.mkdir(parents=True, exist_ok=True)
    (source / "app.py").write_text(APP.format(version=version))
    (root / "requirements.txt").write_text(REQUIREMENTS)
    return source


def build(
    root: Path, env: dict[str, str], standin: str, tag: str, *extra: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    report = root / f"report-{uuid.uuid4().hex[:6]}.json"
    result = run_cli(
        [
            "build", str(root / "src"), "-r", str(root / "requirements.txt"),
            "--runtime", "python3.11", "--base-image", standin,
            "-o", str(root / "out"), "--report", str(report),
            "--image", tag, "--handler", "app.handler", *extra,
        ],
        env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [target] = json.loads(report.read_text())["targets"]
    return result, target


def run_in_image(tag: str, code: str = CALL) -> str:
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "python", tag, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def inspect(tag: str) -> dict[str, Any]:
    return dict(docker.from_env().images.get(tag).attrs)


def saved_layers(archive: Path, wanted: list[str]) -> dict[str, list[tarfile.TarInfo]]:
    """The members of the ``wanted`` layers of a ``docker save`` archive, by diff_id."""
    layers: dict[str, list[tarfile.TarInfo]] = {}
    with tarfile.open(archive) as saved:
        manifest = json.load(saved.extractfile("manifest.json"))  # type: ignore[arg-type]
        config = json.load(saved.extractfile(manifest[0]["Config"]))  # type: ignore[arg-type]
        for name, diff_id in zip(manifest[0]["Layers"], config["rootfs"]["diff_ids"]):
            if diff_id in wanted:
                with tarfile.open(fileobj=saved.extractfile(name)) as layer:
                    layers[diff_id] = layer.getmembers()
    return layers


@pytest.fixture(scope="module")
def project(
    catalog: Catalog, standin: str, tags: list[str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str], str, dict[str, Any]]:
    """One function built once into an image: (root, env, tag, the report's target)."""
    root = tmp_path_factory.mktemp("image-project")
    write_project(root)
    env = hermetic_pip_env(
        {"PIP_INDEX_URL": catalog.index.url, "LAMBDA_BUILDER_CACHE_DIR": str(root / "cache")}
    )
    tag = new_tag(tags)
    _, target = build(root, env, standin, tag)
    return root, env, tag, target


def test_the_image_runs_the_handler_with_its_dependencies(
    project: tuple[Path, dict[str, str], str, dict[str, Any]], standin: str
) -> None:
    _, _, tag, target = project
    assert json.loads(run_in_image(tag)) == {
        "answer": 42,
        "value": "needspure 1.0",
        "event": {"hello": "image"},
        "version": 1,
    }
    image, base = inspect(tag), inspect(standin)
    assert image["Config"]["Cmd"] == ["app.handler"]
    assert image["Config"]["Entrypoint"] == base["Config"]["Entrypoint"]
    assert image["Config"]["WorkingDir"] == "/var/task"
    assert image["Config"]["Env"] == base["Config"]["Env"]
    assert image["Architecture"] == "amd64"
    record = target["container_image"]
    assert record["tag"] == tag and record["id"] == image["Id"]
    assert record["base_image"] == standin and record["cmd"] == ["app.handler"]
    assert [layer["kind"] for layer in record["layers"]] == ["dependencies", "source"]
    assert image["RootFS"]["Layers"] == base["RootFS"]["Layers"] + [
        layer["digest"] for layer in record["layers"]
    ]


def test_history_shows_the_base_then_two_small_layers(
    project: tuple[Path, dict[str, str], str, dict[str, Any]], standin: str
) -> None:
    _, _, tag, target = project
    history = docker.from_env().images.get(tag).history()
    base_history = docker.from_env().images.get(standin).history()
    ours = history[: len(history) - len(base_history)]
    files = target["container_image"]["layers"][0]["files"]
    assert [entry["CreatedBy"] for entry in ours] == [
        'CMD ["app.handler"]',
        "lambda-builder 0.1.0: source (1 files) in /var/task",
        f"lambda-builder 0.1.0: dependencies ({files} files) in /var/task",
    ]
    assert ours[0]["Size"] == 0
    assert 0 < ours[1]["Size"] < 1000 < ours[2]["Size"] < 1_000_000
    assert [e["Size"] for e in history[len(ours) :]] == [e["Size"] for e in base_history]
    assert [e["CreatedBy"] for e in history[len(ours) :]] == [e["CreatedBy"] for e in base_history]


def test_same_inputs_give_the_same_layers_and_image_id(
    catalog: Catalog, standin: str, tags: list[str], tmp_path: Path
) -> None:
    """Built twice with every cache off and different tags: the same bytes, the same image.

    Wheels only: an sdist compiled twice differs already (pip builds it in a random directory
    whose path ends up in the binary), so its layer is reused through the build cache instead.
    """
    source = write_project(tmp_path)
    (source / "app.py").write_text("import needspure\n\ndef handler(e, c):\n    return 1\n")
    (tmp_path / "requirements.txt").write_text("needspure==1.0\n")
    env = hermetic_pip_env({"PIP_INDEX_URL": catalog.index.url})
    _, first = build(tmp_path, env, standin, new_tag(tags), "--no-cache")
    _, again = build(tmp_path, env, standin, new_tag(tags), "--no-cache")
    assert first["dependency_cache"] == again["dependency_cache"] == "off"
    assert again["container_image"]["layers"] == first["container_image"]["layers"]
    assert again["container_image"]["id"] == first["container_image"]["id"]


def test_a_source_edit_reuses_the_dependency_layer(
    project: tuple[Path, dict[str, str], str, dict[str, Any]],
    standin: str,
    tags: list[str],
    tmp_path: Path,
) -> None:
    root, env, _, first = project
    shutil.copy(root / "requirements.txt", tmp_path / "requirements.txt")
    write_project(tmp_path, version=2)
    tag = new_tag(tags)
    _, edited = build(tmp_path, env, standin, tag)
    old, new = first["container_image"]["layers"], edited["container_image"]["layers"]
    assert new[0] == old[0]  # dependencies: the same digest, so the engine keeps one copy
    assert new[1]["digest"] != old[1]["digest"]
    assert edited["container_image"]["id"] != first["container_image"]["id"]
    assert json.loads(run_in_image(tag))["version"] == 2


# Credentials: an index that needs a password never leaves it in the image.
USER = "aws"
PASSWORD = f"img:s3cret@{secrets.token_hex(8)}"
FORMS = credential_forms(USER, PASSWORD)


@pytest.fixture(scope="module")
def private(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    root = tmp_path_factory.mktemp("private-index")
    with PackageIndex(root, username=USER, password=PASSWORD) as index:
        index.add_all(catalog.files)
        yield index


def test_layers_hold_task_root_files_only_and_never_the_index_password(
    private: PackageIndex, standin: str, tags: list[str], tmp_path: Path
) -> None:
    write_project(tmp_path)
    env = hermetic_pip_env({"LAMBDA_BUILDER_CACHE_DIR": str(tmp_path / "cache")})
    tag = new_tag(tags)
    result, target = build(
        tmp_path, env, standin, tag, "--index-url", private.url_with_credentials()
    )
    assert json.loads(run_in_image(tag))["answer"] == 42
    saved = tmp_path / "saved.tar"
    subprocess.run(["docker", "image", "save", "-o", str(saved), tag], check=True)
    # Every layer, the config and the manifest, streamed: exit code 1 is "not found".
    grep = subprocess.run(
        ["grep", "-a", "-c", "-F", *(arg for form in FORMS for arg in ("-e", form)), str(saved)],
        capture_output=True,
        text=True,
    )
    assert grep.returncode == 1, grep.stdout + grep.stderr
    texts = [
        subprocess.run(
            ["docker", "history", "--no-trunc", tag], capture_output=True, text=True, check=True
        ).stdout,
        json.dumps(inspect(tag)),
        json.dumps(target),
        result.stdout + result.stderr,
    ]
    for text in texts:
        for form in FORMS:
            assert form not in text
    digests = [layer["digest"] for layer in target["container_image"]["layers"]]
    layers = saved_layers(saved, digests)
    dependencies, source = (layers[digest] for digest in digests)
    assert [m.name for m in source] == ["var/task", "var/task/app.py"]
    names = {m.name for m in dependencies}
    assert "var/task/cextpkg/__init__.py" in names and "var/task/app.py" not in names
    assert any(n.startswith("var/task/cextpkg/_native") and n.endswith(".so") for n in names)
    for member in dependencies + source:
        assert member.name == "var/task" or member.name.startswith("var/task/")
        assert (member.uid, member.gid, member.mtime) == (0, 0, 0), member.name
        assert "__pycache__" not in member.name and ".cache" not in member.name
        assert member.mode in (0o644, 0o755), member.name


def test_a_credential_in_the_source_stops_the_image(
    private: PackageIndex, standin: str, tags: list[str], tmp_path: Path
) -> None:
    source = write_project(tmp_path)
    (tmp_path / "requirements.txt").write_text("purepkg==1.0\n")  # wheels only: quicker
    (source / "settings.py").write_text(f"INDEX = {private.url_with_credentials()!r}\n")
    tag = new_tag(tags)
    env = hermetic_pip_env({"LAMBDA_BUILDER_CACHE_DIR": str(tmp_path / "cache")})
    result = run_cli(
        [
            "build", str(source), "-r", str(tmp_path / "requirements.txt"),
            "--runtime", "python3.11", "--base-image", standin, "-o", str(tmp_path / "out"),
            "--index-url", private.url_with_credentials(),
            "--image", tag, "--handler", "app.handler",
        ],
        env,
    )  # fmt: skip
    assert result.returncode == 8, result.stderr
    assert "source layer holds a credential" in result.stderr
    assert PASSWORD not in result.stderr
    with pytest.raises(docker.errors.ImageNotFound):
        docker.from_env().images.get(tag)


def test_bad_image_options_are_refused_before_building(
    standin: str, tmp_path: Path, catalog: Catalog
) -> None:
    write_project(tmp_path)
    env = hermetic_pip_env({"PIP_INDEX_URL": catalog.index.url})
    common = ["build", str(tmp_path / "src"), "--base-image", standin, "-o", str(tmp_path / "o")]
    cases = [
        (["--runtime", "python3.11", "--image", "fn:v1"], "--image needs --handler"),
        (["--runtime", "python3.11", "--handler", "app.handler"], "--handler needs --image"),
        (["--runtime", "python3.11", "--image", "Fn:v1", "--handler", "app.h"], "not a valid"),
        (["--runtime", "python3.11", "--image", "fn", "--handler", "app"], "MODULE.FUNCTION"),
        (
            ["--runtime", "python3.11,python3.13", "--image", "fn", "--handler", "app.handler"],
            "one --runtime and one --arch",
        ),
    ]
    for args, message in cases:
        result = run_cli([*common, *args], env)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
    assert not (tmp_path / "o").exists()


# --push: a registry of our own on 127.0.0.1 (Debian's docker-registry, the distribution server).


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("docker-registry") or shutil.which("registry")
    if binary is None:
        message = "no docker-registry binary (apt-get install docker-registry; .ci/setup-docker)"
        if REQUIRE_DOCKER:
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {tmp_path / 'registry-data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = (tmp_path / "registry.log").open("w")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"the registry did not start: {(tmp_path / 'registry.log').read_text()}")
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def registry_get(url: str, accept: str) -> tuple[bytes, str]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read(), str(response.headers.get("Docker-Content-Digest", ""))


@pytest.fixture(scope="module")
def small_base(tags: list[str], tmp_path_factory: pytest.TempPathFactory) -> str:
    """A base image of a few bytes, so pushing it is quick (the stand-ins weigh 400 MB)."""
    root = tmp_path_factory.mktemp("small-base")
    rootfs = root / "rootfs.tar"
    with tarfile.open(rootfs, "w") as archive:
        for name in ("var", "var/task"):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
    tag = new_tag(tags, "base")
    subprocess.run(
        [
            "docker", "import",
            "--change", "ENV LAMBDA_TASK_ROOT=/var/task",
            "--change", "WORKDIR /var/task",
            "--change", 'ENTRYPOINT ["/lambda-entrypoint.sh"]',
            str(rootfs), tag,
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return tag


def test_push_puts_the_image_in_the_registry(
    catalog: Catalog, registry: str, small_base: str, tags: list[str], tmp_path: Path
) -> None:
    """Built on this host (--no-container) onto a tiny base; pushed by the engine."""
    source = write_project(tmp_path)
    (source / "app.py").write_text("import needspure\n\ndef handler(e, c):\n    return 1\n")
    (tmp_path / "requirements.txt").write_text("needspure==1.0\n")
    env = hermetic_pip_env({"PIP_INDEX_URL": catalog.index.url})
    tag = new_tag(tags, registry=f"{registry}/")
    _, target = build(tmp_path, env, small_base, tag, "--no-container", "--push")
    record = target["container_image"]
    assert target["mode"] == "host"
    assert record["pushed_digest"].startswith("sha256:")
    repository, version = tag[len(registry) + 1 :].rsplit(":", 1)
    manifest, digest = registry_get(
        f"http://{registry}/v2/{repository}/manifests/{version}",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
    assert digest == record["pushed_digest"]
    config_digest = json.loads(manifest)["config"]["digest"]
    assert config_digest == record["id"]
    config, _ = registry_get(f"http://{registry}/v2/{repository}/blobs/{config_digest}", "*/*")
    assert json.loads(config)["rootfs"]["diff_ids"] == [
        *inspect(small_base)["RootFS"]["Layers"],
        *(layer["digest"] for layer in record["layers"]),
    ]
    assert json.loads(config)["config"]["Cmd"] == ["app.handler"]


def test_a_push_nobody_answers_is_one_clear_error(
    catalog: Catalog, small_base: str, tags: list[str], tmp_path: Path
) -> None:
    source = write_project(tmp_path)
    (source / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (tmp_path / "requirements.txt").write_text("")
    tag = new_tag(tags, registry=f"127.0.0.1:{free_port()}/")
    result = run_cli(
        [
            "build", str(source), "-r", str(tmp_path / "requirements.txt"),
            "--runtime", "python3.11", "--base-image", small_base, "--no-container",
            "-o", str(tmp_path / "out"), "--image", tag, "--handler", "app.handler", "--push",
        ],
        hermetic_pip_env({"PIP_INDEX_URL": catalog.index.url}),
    )  # fmt: skip
    assert result.returncode == 7, result.stderr
    assert f"error: [python3.11/x86_64] pushing {tag} failed" in result.stderr
    assert "connection refused" in result.stderr
    assert "log in with `docker login REGISTRY`" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.emulation
def test_an_arm64_image_says_arm64(catalog: Catalog, tags: list[str], tmp_path: Path) -> None:
    standin = ensure_standin("python3.11", "arm64")
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "requirements.txt").write_text("purepkg==1.0\n")
    env = hermetic_pip_env(
        {"PIP_INDEX_URL": catalog.index.url, "LAMBDA_BUILDER_CACHE_DIR": str(tmp_path / "c")}
    )
    tag = new_tag(tags, "arm")
    template = standin.replace("-arm64", "{suffix}")
    _, target = build(tmp_path, env, template, tag, "--arch", "arm64")
    assert target["container_image"]["architecture"] == "arm64"
    image = inspect(tag)
    assert image["Architecture"] == "arm64"
    assert image["RootFS"]["Layers"][:-2] == inspect(standin)["RootFS"]["Layers"]
