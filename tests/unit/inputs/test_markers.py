"""Settling ``extra`` terms of lock markers while leaving the rest to pip."""

from __future__ import annotations

import pytest

from builder.errors import InputError
from builder.inputs.markers import any_of, settle_extras


@pytest.mark.parametrize(
    ("marker", "extras", "expected"),
    [
        ('extra == "aws"', ["aws"], True),
        ('extra == "aws"', [], False),
        ("extra != 'aws'", [], True),
        ('extra == "Foo_Bar"', ["foo-bar"], True),  # extra names compare normalised (PEP 685)
        ('sys_platform == "win32"', [], 'sys_platform == "win32"'),
        ("", ["aws"], True),
        (
            'python_version >= "3.9" and (extra == "a" or extra == "b")',
            ["b"],
            'python_version >= "3.9"',
        ),
        (
            'python_version >= "3.9" and (extra == "a" or platform_machine == "x86_64")',
            [],
            'python_version >= "3.9" and platform_machine == "x86_64"',
        ),
        (
            '(extra == "a" and sys_platform == "linux") or (extra == "b" and os_name == "nt")',
            ["a", "b"],
            'sys_platform == "linux" or os_name == "nt"',
        ),
        ('python_version < "3.10" or extra == "a"', ["a"], True),
        ('python_version < "3.10" and extra == "a"', [], False),
        (
            'platform_machine == "x86_64" and (python_version < "3.10" or os_name == "nt")',
            [],
            'platform_machine == "x86_64" and (python_version < "3.10" or os_name == "nt")',
        ),
    ],
)
def test_extra_terms_are_decided_and_the_rest_kept(
    marker: str, extras: list[str], expected: str | bool
) -> None:
    assert settle_extras(marker, extras) == expected


def test_unreadable_marker_is_an_input_error() -> None:
    with pytest.raises(InputError):
        settle_extras('python_version >= "3.9" and (', [])


def test_extra_compared_with_an_ordering_operator_is_refused() -> None:
    with pytest.raises(InputError, match="unsupported comparison"):
        settle_extras('extra >= "a"', ["a"])


def test_any_of_is_always_when_one_group_needs_the_package_unconditionally() -> None:
    assert any_of(['sys_platform == "linux"', ""]) == ""
    assert (
        any_of(['sys_platform == "linux"', 'sys_platform == "linux"']) == 'sys_platform == "linux"'
    )
    assert any_of(['a == "1"', 'b == "2"']) == '(a == "1") or (b == "2")'
