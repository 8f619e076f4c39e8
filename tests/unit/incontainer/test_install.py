"""Installing wheels flat into a bundle: merged schemes, dropped extras, clashes, RECORD."""

from __future__ import annotations

import base64
import calendar
import csv
import hashlib
import os
import stat
import zipfile
from pathlib import Path

import pytest

from builder.artifacts.slim import normalise_record
from builder.incontainer.install import (
    OUTPUT_TOKEN,
    InstallError,
    claim_target,
    destination,
    hand_over,
    install_wheels,
    member_mtime_ns,
    plan_install,
)
from tests.support.fixture_packages import executable, pure_wheel, tagged_wheel, write_wheel


def _raw_wheel(path: Path, members: dict[str, bytes], modes: dict[str, int] | None = None) -> str:
    """A zip written member by member, for layouts the fixture builder refuses to write."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | (modes or {}).get(name, 0o644)) << 16
            archive.writestr(info, data)
    return str(path)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def _files(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        ("pkg/__init__.py", "pkg/__init__.py"),
        ("pkg-1.0.dist-info/METADATA", "pkg-1.0.dist-info/METADATA"),
        ("pkg-1.0.data/purelib/extra.py", "extra.py"),
        ("pkg-1.0.data/platlib/pkg/_speedups.so", "pkg/_speedups.so"),
        ("My.Odd_Name-2.0.data/purelib/odd/__init__.py", "odd/__init__.py"),
        ("PyYAML-6.0.1.data/platlib/_yaml.so", "_yaml.so"),
        ("pkg-1.0.data/scripts/tool", None),
        ("pkg-1.0.data/headers/pkg.h", None),
        ("pkg-1.0.data/data/share/man/tool.1", None),
        ("pkg/", None),
    ],
)
def test_destination_flattens_lib_schemes_and_drops_the_rest(
    member: str, expected: str | None
) -> None:
    assert destination(member) == expected


def test_purelib_and_platlib_data_are_merged_at_the_top(tmp_path: Path) -> None:
    wheel = tagged_wheel(
        tmp_path / "dists",
        "merged",
        "1.0",
        "cp311-cp311-manylinux_2_17_x86_64",
        data_files={"purelib/pure_extra.py": "P = 1\n", "platlib/merged/_native.so": b"\x7fELF"},
    )
    target = tmp_path / "target"
    install_wheels([str(wheel)], str(target))
    assert (target / "pure_extra.py").read_text() == "P = 1\n"
    assert (target / "merged" / "_native.so").read_bytes() == b"\x7fELF"
    assert (target / "merged" / "__init__.py").is_file()
    assert not any(path.name.endswith(".data") for path in target.iterdir())


def test_data_directory_is_recognised_whatever_the_name_spelling(tmp_path: Path) -> None:
    wheel = _raw_wheel(
        tmp_path / "Odd.Name-1.0-py3-none-any.whl",
        {
            "Odd.Name-1.0.data/purelib/odd_name/__init__.py": b"A = 1\n",
            "odd_name-1.0.data/platlib/odd_name/_c.so": b"so",
            "Odd.Name-1.0.dist-info/RECORD": b"",
        },
    )
    target = tmp_path / "target"
    install_wheels([wheel], str(target))
    assert _files(target) == [
        "Odd.Name-1.0.dist-info/RECORD",
        "odd_name/__init__.py",
        "odd_name/_c.so",
    ]


def test_scripts_headers_and_data_are_dropped_and_listed(tmp_path: Path) -> None:
    wheel = pure_wheel(
        tmp_path / "dists",
        "tooling",
        data_files={
            "scripts/tooling-cli": "#!/bin/sh\n",
            "headers/tooling.h": "int x;\n",
            "data/share/doc/readme.txt": "doc\n",
        },
    )
    target = tmp_path / "target"
    plan = install_wheels([str(wheel)], str(target))
    assert sorted(plan.dropped) == [
        "tooling-1.0-py3-none-any.whl:tooling-1.0.data/data/share/doc/readme.txt",
        "tooling-1.0-py3-none-any.whl:tooling-1.0.data/headers/tooling.h",
        "tooling-1.0-py3-none-any.whl:tooling-1.0.data/scripts/tooling-cli",
    ]
    assert not (target / "bin").exists()
    assert not any("readme" in name or name.endswith(".h") for name in _files(target))


def test_exec_bits_are_kept_and_other_files_are_0644(tmp_path: Path) -> None:
    wheel = pure_wheel(
        tmp_path / "dists",
        "runner",
        extra_files={"runner/helper.sh": executable("#!/bin/sh\n"), "runner/data.txt": "x"},
        data_files={"platlib/runner/tool": executable(b"\x7fELF")},
    )
    target = tmp_path / "target"
    install_wheels([str(wheel)], str(target))
    assert stat.S_IMODE((target / "runner" / "helper.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((target / "runner" / "tool").stat().st_mode) == 0o755
    assert stat.S_IMODE((target / "runner" / "data.txt").stat().st_mode) == 0o644


def test_modes_do_not_depend_on_the_umask_or_on_a_file_already_there(tmp_path: Path) -> None:
    wheel = _raw_wheel(
        tmp_path / "modes-1.0-py3-none-any.whl",
        {"modes/run": b"#!/bin/sh\n", "modes/data.txt": b"x"},
        modes={"modes/run": 0o755},
    )
    target = tmp_path / "target"
    (target / "modes").mkdir(parents=True)
    (target / "modes" / "data.txt").write_text("old")
    os.chmod(target / "modes" / "data.txt", 0o600)
    previous = os.umask(0o077)
    try:
        install_wheels([wheel], str(target))
    finally:
        os.umask(previous)
    assert stat.S_IMODE((target / "modes" / "run").stat().st_mode) == 0o755
    assert stat.S_IMODE((target / "modes" / "data.txt").stat().st_mode) == 0o644
    assert (target / "modes" / "data.txt").read_bytes() == b"x"


def test_installed_files_carry_the_times_stored_in_the_wheel(tmp_path: Path) -> None:
    wheel = _raw_wheel(tmp_path / "stamped-1.0-py3-none-any.whl", {"stamped/a.py": b"A = 1\n"})
    one, two = tmp_path / "one", tmp_path / "two"
    install_wheels([wheel], str(one))
    install_wheels([wheel], str(two))
    stamp = calendar.timegm((2020, 1, 1, 0, 0, 0)) * 10**9  # the member's date, as UTC
    assert (one / "stamped" / "a.py").stat().st_mtime_ns == stamp
    assert (two / "stamped" / "a.py").stat().st_mtime_ns == stamp


def test_a_member_time_zips_cannot_hold_becomes_1980() -> None:
    info = zipfile.ZipInfo("a.py", date_time=(1980, 1, 1, 0, 0, 0))
    assert member_mtime_ns(info) == 315532800 * 10**9
    info.date_time = (1980, 0, 0, 0, 0, 0)  # no such date, as some writers leave it
    assert member_mtime_ns(info) == 315532800 * 10**9


def test_setuid_and_group_bits_in_a_wheel_are_not_installed(tmp_path: Path) -> None:
    wheel = _raw_wheel(
        tmp_path / "suid-1.0-py3-none-any.whl",
        {"suid/run": b"#!/bin/sh\n"},
        modes={"suid/run": 0o6777},
    )
    install_wheels([wheel], str(tmp_path / "target"))
    assert stat.S_IMODE((tmp_path / "target" / "suid" / "run").stat().st_mode) == 0o755


def test_clash_with_different_content_raises_naming_both_wheels(tmp_path: Path) -> None:
    first = pure_wheel(tmp_path, "alpha", extra_files={"shared/__init__.py": "A = 1\n"})
    second = pure_wheel(tmp_path, "beta", extra_files={"shared/__init__.py": "B = 2\n"})
    target = tmp_path / "target"
    with pytest.raises(InstallError) as caught:
        install_wheels([str(second), str(first)], str(target))
    message = str(caught.value)
    assert "alpha-1.0-py3-none-any.whl" in message
    assert "beta-1.0-py3-none-any.whl" in message
    assert "shared/__init__.py" in message
    assert "different content" in message
    assert not target.exists() or _files(target) == []


def test_clash_through_a_data_directory_is_detected(tmp_path: Path) -> None:
    first = pure_wheel(tmp_path, "alpha", extra_files={"common.py": "A\n"})
    second = pure_wheel(tmp_path, "beta", data_files={"purelib/common.py": "B\n"})
    with pytest.raises(InstallError, match=r"alpha.*beta.*common\.py"):
        plan_install([str(first), str(second)])


def test_identical_files_in_two_wheels_are_installed_once(tmp_path: Path) -> None:
    namespace = "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n"
    first = pure_wheel(tmp_path, "ns-alpha", extra_files={"ns/__init__.py": namespace})
    second = pure_wheel(tmp_path, "ns-beta", extra_files={"ns/__init__.py": namespace})
    target = tmp_path / "target"
    plan = install_wheels([str(first), str(second)], str(target))
    assert (target / "ns" / "__init__.py").read_text() == namespace
    assert plan.files["ns/__init__.py"][0] == str(first)
    assert "ns_alpha/__init__.py" in _files(target)
    assert "ns_beta/__init__.py" in _files(target)


@pytest.mark.parametrize(
    "member",
    [
        "/etc/passwd",
        "../escaped.py",
        "pkg/../../escaped.py",
        "pkg-1.0.data/purelib/../../escaped.py",
        "pkg-1.0.data/platlib/../../../escaped.py",
        "pkg\\..\\escaped.py",
    ],
)
def test_unsafe_member_path_is_rejected_before_anything_is_written(
    tmp_path: Path, member: str
) -> None:
    target = tmp_path / "deep" / "er" / "target"
    wheel = _raw_wheel(
        tmp_path / "pkg-1.0-py3-none-any.whl", {"pkg/__init__.py": b"", member: b"evil"}
    )
    with pytest.raises(InstallError) as caught:
        install_wheels([wheel], str(target))
    assert "unsafe path" in str(caught.value)
    assert repr(member) in str(caught.value)
    assert "pkg-1.0-py3-none-any.whl" in str(caught.value)
    assert not list(tmp_path.rglob("escaped.py"))


def test_file_that_is_not_a_zip_raises_install_error_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "broken-1.0-py3-none-any.whl"
    broken.write_bytes(b"this is not a zip archive")
    with pytest.raises(InstallError, match=r"broken-1\.0-py3-none-any\.whl.*not a readable wheel"):
        install_wheels([str(broken)], str(tmp_path / "target"))


def test_a_member_whose_bytes_do_not_match_its_crc_raises_install_error(tmp_path: Path) -> None:
    payload = b"VALUE = 'the original bytes of this module'\n"
    wheel = Path(_raw_wheel(tmp_path / "pkg-1.0-py3-none-any.whl", {"pkg/mod.py": payload}))
    data = wheel.read_bytes()
    wheel.write_bytes(data.replace(payload, payload.upper(), 1))  # stored, so findable
    with pytest.raises(InstallError, match=r"pkg-1\.0-py3-none-any\.whl.*pkg/mod\.py"):
        install_wheels([str(wheel)], str(tmp_path / "target"))


def _read_record(path: Path) -> list[list[str]]:
    with path.open(newline="") as stream:
        return list(csv.reader(stream))


def test_record_is_rewritten_for_the_flat_layout_with_correct_hashes(tmp_path: Path) -> None:
    wheel = pure_wheel(
        tmp_path / "dists",
        "recorded",
        extra_files={"recorded/tool.sh": executable("#!/bin/sh\n")},
        data_files={"purelib/recorded_extra.py": "E = 1\n", "scripts/recorded": "#!/bin/sh\n"},
    )
    target = tmp_path / "target"
    install_wheels([str(wheel)], str(target))
    rows = _read_record(target / "recorded-1.0.dist-info" / "RECORD")
    assert rows[-1] == ["recorded-1.0.dist-info/RECORD", "", ""]
    listed = [row[0] for row in rows[:-1]]
    assert listed == sorted(listed)
    assert set(listed) == set(_files(target)) - {"recorded-1.0.dist-info/RECORD"}
    assert "recorded_extra.py" in listed
    assert not any(".data/" in path for path in listed)
    for path, digest, size in rows[:-1]:
        data = (target / path).read_bytes()
        assert digest == _record_hash(data), path
        assert size == str(len(data)), path


def test_record_rows_are_in_path_order_as_the_host_keeps_them(tmp_path: Path) -> None:
    """``GMT`` before ``GMT+0`` ('+' sorts before ','): the host then need not rewrite it."""
    wheel = pure_wheel(
        tmp_path / "dists",
        "zones",
        extra_files={"zones/GMT+0": "b", "zones/GMT": "a", "zones/GMT-1": "c", "zones/G M": "d"},
    )
    target = tmp_path / "target"
    install_wheels([str(wheel)], str(target))
    record = "zones-1.0.dist-info/RECORD"
    text = (target / record).read_text(encoding="utf-8")
    listed = [row[0] for row in _read_record(target / record)[:-1]]
    assert listed == sorted(listed)
    assert listed.index("zones/GMT") < listed.index("zones/GMT+0")
    present = set(_files(target))
    assert normalise_record(text, record, present.__contains__, {}) is text


def test_each_wheel_record_lists_only_its_own_files(tmp_path: Path) -> None:
    first = pure_wheel(tmp_path, "first")
    second = pure_wheel(tmp_path, "second")
    target = tmp_path / "target"
    install_wheels([str(first), str(second)], str(target))
    first_rows = {row[0] for row in _read_record(target / "first-1.0.dist-info" / "RECORD")}
    second_rows = {row[0] for row in _read_record(target / "second-1.0.dist-info" / "RECORD")}
    assert "first/__init__.py" in first_rows and "second/__init__.py" not in first_rows
    assert "second/__init__.py" in second_rows and "first/__init__.py" not in second_rows


def test_install_is_byte_identical_whatever_the_wheel_order(tmp_path: Path) -> None:
    wheels = [
        str(pure_wheel(tmp_path / "dists", name, data_files={"purelib/x_" + name: name}))
        for name in ("zeta", "alpha", "mid")
    ]
    one, two = tmp_path / "one", tmp_path / "two"
    install_wheels(wheels, str(one))
    install_wheels(list(reversed(wheels)), str(two))
    assert _files(one) == _files(two)
    for relative in _files(one):
        assert (one / relative).read_bytes() == (two / relative).read_bytes(), relative


def test_plan_maps_each_destination_to_its_wheel_and_member(tmp_path: Path) -> None:
    wheel = write_wheel(
        tmp_path,
        "mapped",
        "2.0",
        "py3-none-any",
        {"mapped/__init__.py": ""},
        data_files={"platlib/mapped/_x.so": b"x"},
    )
    plan = plan_install([str(wheel)])
    assert plan.files["mapped/_x.so"] == (str(wheel), "mapped-2.0.data/platlib/mapped/_x.so")
    assert plan.files["mapped/__init__.py"] == (str(wheel), "mapped/__init__.py")
    assert plan.dropped == []


def test_install_creates_missing_target_directories(tmp_path: Path) -> None:
    wheel = pure_wheel(tmp_path, "nested", extra_files={"nested/a/b/c.py": "C = 1\n"})
    target = tmp_path / "does" / "not" / "exist"
    install_wheels([str(wheel)], str(target))
    assert (target / "nested" / "a" / "b" / "c.py").read_text() == "C = 1\n"
    assert os.path.isdir(target / "nested-1.0.dist-info")


def test_the_output_token_is_removed_before_installing(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / OUTPUT_TOKEN).write_text("planted by the host")
    claim_target(str(target))
    assert list(target.iterdir()) == []
    claim_target(str(tmp_path / "new"))  # no token, no directory yet: both fine
    assert (tmp_path / "new").is_dir()


def test_hand_over_gives_every_file_and_directory_to_the_owner(tmp_path: Path) -> None:
    # Only root may give files away; anyone else can test handing them to themselves.
    uid, gid = (4242, 4343) if os.getuid() == 0 else (os.getuid(), os.getgid())
    target = tmp_path / "target"
    wheel = pure_wheel(tmp_path, "alpha", extra_files={"alpha/sub/data.txt": "x"})
    install_wheels([str(wheel)], str(target))
    (target / "link").symlink_to("alpha")
    hand_over(str(target), f"{uid}:{gid}")
    paths = [target, *target.rglob("*")]
    assert len(paths) > 5
    assert {(p.lstat().st_uid, p.lstat().st_gid) for p in paths} == {(uid, gid)}
