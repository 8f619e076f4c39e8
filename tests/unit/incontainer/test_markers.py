"""Finding dependencies that a wheel chooses by environment markers."""

from __future__ import annotations

import zipfile
from pathlib import Path

from builder.incontainer.markers import foreign_marker_uses, wheel_requirements
from tests.support.fixture_packages import pure_wheel

ARM_ONLY = 'armonly>=1.0; platform_machine == "aarch64"'
LINUX_ONLY = "inotify; sys_platform == 'linux'"
OLD_PYTHON = 'typing-extensions; python_version < "3.8"'
EXTRA = 'pytest; extra == "test"'


def test_wheel_requirements_lists_every_requires_dist_line(tmp_path: Path) -> None:
    wheel = pure_wheel(tmp_path, "picky", requires=["six>=1.0", ARM_ONLY, EXTRA])
    assert wheel_requirements(str(wheel)) == ["six>=1.0", ARM_ONLY, EXTRA]


def test_wheel_without_top_level_metadata_has_no_requirements(tmp_path: Path) -> None:
    wheel = tmp_path / "odd-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("vendor/odd-1.0.dist-info/METADATA", "Requires-Dist: hidden\n")
        archive.writestr("odd/__init__.py", "")
    assert wheel_requirements(str(wheel)) == []


def test_only_markers_reading_the_given_keys_are_reported(tmp_path: Path) -> None:
    wheel = pure_wheel(tmp_path, "picky", requires=["six", ARM_ONLY, LINUX_ONLY, OLD_PYTHON, EXTRA])
    assert foreign_marker_uses([str(wheel)], ["platform_machine"]) == [
        f"picky-1.0-py3-none-any.whl: {ARM_ONLY}"
    ]
    assert foreign_marker_uses([str(wheel)], ["platform_machine", "sys_platform"]) == [
        f"picky-1.0-py3-none-any.whl: {ARM_ONLY}",
        f"picky-1.0-py3-none-any.whl: {LINUX_ONLY}",
    ]


def test_a_key_inside_a_longer_name_or_the_requirement_part_does_not_count(
    tmp_path: Path,
) -> None:
    wheel = pure_wheel(
        tmp_path,
        "lookalike",
        requires=["platform_machine_tools", 'x; platform_machine_extra == "1"'],
    )
    assert foreign_marker_uses([str(wheel)], ["platform_machine"]) == []


def test_uses_are_listed_by_wheel_name_in_sorted_order(tmp_path: Path) -> None:
    zeta = pure_wheel(tmp_path / "z", "zeta", requires=[ARM_ONLY])
    alpha = pure_wheel(tmp_path / "a", "alpha", requires=[ARM_ONLY])
    plain = pure_wheel(tmp_path / "p", "plain", requires=["six"])
    uses = foreign_marker_uses([str(zeta), str(plain), str(alpha)], ["platform_machine"])
    assert [use.split(":")[0] for use in uses] == [
        "alpha-1.0-py3-none-any.whl",
        "zeta-1.0-py3-none-any.whl",
    ]


def test_no_keys_means_no_uses(tmp_path: Path) -> None:
    wheel = pure_wheel(tmp_path, "picky", requires=[ARM_ONLY])
    assert foreign_marker_uses([str(wheel)], []) == []
