"""Wheel and sdist file names, and which wheel tags run on which Lambda target."""

from __future__ import annotations

import pytest

from builder.incontainer.tags import (
    DistFile,
    Target,
    canonical_name,
    explicit_platforms,
    is_platform_compatible,
    is_tag_compatible,
    is_wheel_compatible,
    parse_filename,
    platform_glibc,
)

PY311_X86 = Target(3, 11, "x86_64", (2, 26))
PY311_ARM = Target(3, 11, "aarch64", (2, 26))
PY312_X86 = Target(3, 12, "x86_64", (2, 34))
PY312_ARM = Target(3, 12, "aarch64", (2, 34))


def _wheel(filename: str) -> DistFile:
    dist = parse_filename(filename)
    assert dist is not None, filename
    return dist


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("Ruamel.Yaml_Clib", "ruamel-yaml-clib"),
        ("ruamel-yaml-clib", "ruamel-yaml-clib"),
        ("PyYAML", "pyyaml"),
        ("zope__interface", "zope-interface"),
        ("a-_.b", "a-b"),
    ],
)
def test_canonical_name_follows_pep_503(written: str, canonical: str) -> None:
    assert canonical_name(written) == canonical


def test_target_abi_and_description_name_glibc_machine_and_abi() -> None:
    assert PY311_X86.abi == "cp311"
    assert PY311_X86.describe() == "manylinux_2_26_x86_64 cp311"
    assert PY312_ARM.describe() == "manylinux_2_34_aarch64 cp312"


# --- wheel file names ------------------------------------------------------------------------


def test_wheel_filename_gives_canonical_name_version_and_tag() -> None:
    dist = _wheel("Foo_Bar-2.0.1-cp311-cp311-manylinux_2_17_x86_64.whl")
    assert dist == DistFile(
        "Foo_Bar-2.0.1-cp311-cp311-manylinux_2_17_x86_64.whl",
        "foo-bar",
        "2.0.1",
        True,
        (("cp311", "cp311", "manylinux_2_17_x86_64"),),
    )


def test_compressed_tag_set_expands_to_every_combination() -> None:
    dist = _wheel("PyYAML-6.0.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    assert dist.name == "pyyaml"
    assert dist.tags == (
        ("cp311", "cp311", "manylinux_2_17_x86_64"),
        ("cp311", "cp311", "manylinux2014_x86_64"),
    )
    both = _wheel("six-1.16.0-py2.py3-none-any.whl")
    assert both.tags == (("py2", "none", "any"), ("py3", "none", "any"))


def test_wheel_with_build_tag_keeps_version_and_tags() -> None:
    dist = _wheel("foo-1.0-1build2-py3-none-any.whl")
    assert (dist.name, dist.version, dist.tags) == ("foo", "1.0", (("py3", "none", "any"),))


@pytest.mark.parametrize(
    "filename",
    ["foo-1.0-py3-none.whl", "foo-py3-none-any.whl", "a-b-c-d-e-f-g.whl", ".whl"],
)
def test_wheel_name_with_wrong_number_of_parts_is_not_a_dist(filename: str) -> None:
    assert parse_filename(filename) is None


# --- sdist file names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "name", "version"),
    [
        ("requests-2.31.0.tar.gz", "requests", "2.31.0"),
        ("ruamel.yaml.clib-0.2.8.tar.gz", "ruamel-yaml-clib", "0.2.8"),
        ("Django-4.2.zip", "django", "4.2"),
        ("backports.zoneinfo-0.2.1.tar.bz2", "backports-zoneinfo", "0.2.1"),
        ("foo-bar-baz-1.0rc1.tgz", "foo-bar-baz", "1.0rc1"),
        ("plain-3.tar", "plain", "3"),
        ("Zope_Interface-6.0.post1.tar.gz", "zope-interface", "6.0.post1"),
    ],
)
def test_sdist_filename_splits_at_the_last_hyphen(filename: str, name: str, version: str) -> None:
    dist = parse_filename(filename)
    assert dist == DistFile(filename, name, version, False)
    assert dist is not None and dist.tags == ()


@pytest.mark.parametrize(
    "filename",
    ["noversion.tar.gz", "-1.0.tar.gz", "README.txt", "foo-1.0.exe", "foo-1.0.tar.gz.part", ""],
)
def test_unrecognised_file_names_are_not_dists(filename: str) -> None:
    assert parse_filename(filename) is None


# --- platforms -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "machine", "glibc"),
    [
        ("manylinux_2_28_x86_64", "x86_64", (2, 28)),
        ("manylinux_2_17_aarch64", "aarch64", (2, 17)),
        ("manylinux1_x86_64", "x86_64", (2, 5)),
        ("manylinux2010_x86_64", "x86_64", (2, 12)),
        ("manylinux2014_x86_64", "x86_64", (2, 17)),
        ("manylinux2014_aarch64", "aarch64", (2, 17)),
        ("manylinux_2_28_aarch64", "x86_64", None),
        ("manylinux2014_x86_64", "aarch64", None),
        ("musllinux_1_1_x86_64", "x86_64", None),
        ("linux_x86_64", "x86_64", None),
        ("any", "x86_64", None),
    ],
)
def test_platform_glibc_reads_modern_and_legacy_manylinux_tags(
    platform: str, machine: str, glibc: tuple[int, int] | None
) -> None:
    assert platform_glibc(platform, machine) == glibc


def test_glibc_bound_is_inclusive_for_both_runtime_generations() -> None:
    assert is_platform_compatible("manylinux_2_26_x86_64", PY311_X86)
    assert not is_platform_compatible("manylinux_2_27_x86_64", PY311_X86)
    assert is_platform_compatible("manylinux_2_34_aarch64", PY312_ARM)
    assert not is_platform_compatible("manylinux_2_35_aarch64", PY312_ARM)


def test_wheel_tagged_manylinux_2_28_is_rejected_for_glibc_2_26() -> None:
    wheel = _wheel("numpy-2.0.0-cp311-cp311-manylinux_2_28_x86_64.whl")
    assert not is_wheel_compatible(wheel, PY311_X86)


def test_wheel_tagged_manylinux_2_28_is_accepted_for_glibc_2_34() -> None:
    wheel = _wheel("numpy-2.0.0-cp312-cp312-manylinux_2_28_x86_64.whl")
    assert is_wheel_compatible(wheel, PY312_X86)
    arm = _wheel("numpy-2.0.0-cp312-cp312-manylinux_2_28_aarch64.whl")
    assert is_wheel_compatible(arm, PY312_ARM)


# --- the full interpreter/abi/platform matrix ------------------------------------------------

ACCEPTED_ON_PY311_X86 = [
    ("cp311", "cp311", "manylinux_2_17_x86_64"),
    ("cp311", "cp311", "manylinux_2_26_x86_64"),
    ("cp311", "cp311", "manylinux_2_5_x86_64"),
    ("cp311", "cp311", "manylinux1_x86_64"),
    ("cp311", "cp311", "manylinux2010_x86_64"),
    ("cp311", "cp311", "manylinux2014_x86_64"),
    ("cp311", "cp311", "linux_x86_64"),
    ("cp311", "abi3", "manylinux_2_17_x86_64"),
    ("cp37", "abi3", "manylinux2014_x86_64"),
    ("cp38", "abi3", "manylinux_2_17_x86_64"),
    ("cp311", "none", "any"),
    ("py3", "none", "any"),
    ("py3", "none", "manylinux_2_17_x86_64"),
    ("py311", "none", "any"),
    ("py38", "none", "any"),
    ("py3", "abi3", "any"),
]

REJECTED_ON_PY311_X86 = [
    ("cp311", "cp311", "manylinux_2_27_x86_64"),  # glibc too new
    ("cp311", "cp311", "manylinux_2_28_x86_64"),
    ("cp311", "cp311", "manylinux_2_17_aarch64"),  # other machine
    ("cp311", "cp311", "manylinux2014_aarch64"),
    ("cp311", "cp311", "linux_aarch64"),
    ("cp311", "cp311", "musllinux_1_1_x86_64"),  # musl, macOS, Windows
    ("cp311", "cp311", "musllinux_1_2_x86_64"),
    ("cp311", "cp311", "macosx_11_0_x86_64"),
    ("cp311", "cp311", "macosx_10_9_universal2"),
    ("cp311", "cp311", "win_amd64"),
    ("py3", "none", "win32"),
    ("cp312", "cp312", "manylinux_2_17_x86_64"),  # other CPython
    ("cp310", "cp310", "manylinux_2_17_x86_64"),
    ("cp310", "cp311", "manylinux_2_17_x86_64"),
    ("cp312", "abi3", "manylinux_2_17_x86_64"),  # abi3 from a newer Python
    ("cp311", "cp311d", "manylinux_2_17_x86_64"),  # debug ABI
    ("cp27", "cp27mu", "manylinux1_x86_64"),
    ("cp3", "none", "any"),
    ("py2", "none", "any"),  # Python 2 only
    ("py27", "none", "any"),
    ("py312", "none", "any"),  # newer Python
    ("py3", "cp311", "any"),
    ("pp310", "pypy310_pp73", "manylinux_2_17_x86_64"),  # PyPy
    ("cp3x", "abi3", "any"),
]


@pytest.mark.parametrize("tag", ACCEPTED_ON_PY311_X86, ids="-".join)
def test_tag_is_accepted_on_python311_x86_64(tag: tuple[str, str, str]) -> None:
    assert is_tag_compatible(tag, PY311_X86)


@pytest.mark.parametrize("tag", REJECTED_ON_PY311_X86, ids="-".join)
def test_tag_is_rejected_on_python311_x86_64(tag: tuple[str, str, str]) -> None:
    assert not is_tag_compatible(tag, PY311_X86)


def _on_arm(tag: tuple[str, str, str]) -> tuple[str, str, str]:
    interpreter, abi, platform = tag
    return interpreter, abi, platform.replace("x86_64", "aarch64")


@pytest.mark.parametrize(
    "tag",
    [tag for tag in ACCEPTED_ON_PY311_X86 if not tag[2].startswith(("manylinux1", "manylinux20"))],
    ids="-".join,
)
def test_same_tags_are_accepted_on_python311_arm64_with_its_machine(
    tag: tuple[str, str, str],
) -> None:
    assert is_tag_compatible(_on_arm(tag), PY311_ARM)
    if tag[2] != "any":
        assert not is_tag_compatible(tag, PY311_ARM)


def test_abi3_from_an_older_python_runs_on_python312() -> None:
    assert is_tag_compatible(("cp38", "abi3", "manylinux_2_28_aarch64"), PY312_ARM)
    assert is_tag_compatible(("cp312", "abi3", "manylinux_2_34_x86_64"), PY312_X86)
    assert not is_tag_compatible(("cp313", "abi3", "manylinux_2_17_x86_64"), PY312_X86)


def test_compressed_tag_set_is_compatible_when_any_single_tag_is() -> None:
    wheel = _wheel("foo-1.0-cp311-cp311-manylinux_2_28_x86_64.manylinux_2_17_x86_64.whl")
    assert is_wheel_compatible(wheel, PY311_X86)
    only_new = _wheel("foo-1.0-cp311-cp311-manylinux_2_28_x86_64.manylinux_2_31_x86_64.whl")
    assert not is_wheel_compatible(only_new, PY311_X86)
    multi_python = _wheel("foo-1.0-cp310.cp311.cp312-abi3-manylinux2014_aarch64.whl")
    assert is_wheel_compatible(multi_python, PY311_ARM)
    assert not is_wheel_compatible(multi_python, PY311_X86)


def test_sdist_is_never_a_compatible_wheel() -> None:
    sdist = parse_filename("foo-1.0.tar.gz")
    assert sdist is not None
    assert not is_wheel_compatible(sdist, PY311_X86)


# --- explicit --platform lists ---------------------------------------------------------------


def test_explicit_platforms_on_x86_64_list_2_5_to_glibc_and_legacy_aliases() -> None:
    expected = [f"manylinux_2_{minor}_x86_64" for minor in range(26, 4, -1)]
    expected += [
        "manylinux1_x86_64",
        "manylinux2010_x86_64",
        "manylinux2014_x86_64",
        "linux_x86_64",
    ]
    assert explicit_platforms(PY311_X86) == expected


def test_explicit_platforms_on_arm64_start_at_2_17_and_only_alias_manylinux2014() -> None:
    expected = [f"manylinux_2_{minor}_aarch64" for minor in range(34, 16, -1)]
    expected += ["manylinux2014_aarch64", "linux_aarch64"]
    platforms = explicit_platforms(PY312_ARM)
    assert platforms == expected
    assert "manylinux_2_24_aarch64" in platforms
    assert not any("x86_64" in platform for platform in platforms)


@pytest.mark.parametrize(
    "target", [PY311_X86, PY311_ARM, PY312_X86, PY312_ARM], ids=Target.describe
)
def test_every_explicit_platform_is_one_the_target_accepts(target: Target) -> None:
    platforms = explicit_platforms(target)
    assert len(platforms) == len(set(platforms))
    assert all(is_platform_compatible(platform, target) for platform in platforms)
    newer = f"manylinux_2_{target.glibc[1] + 1}_{target.machine}"
    assert newer not in platforms
