"""Tar streams to and from containers: faithful round trips, nothing escapes on extraction."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from builder.docker.archive import extract_safely, tar_directory
from builder.errors import PipelineError


def _tar(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _file(name: str, data: bytes, mode: int = 0o644, uid: int = 0) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.mode, info.uid, info.gid = mode, uid, uid
    return info, data


def _dir(name: str, mode: int = 0o755) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, mode
    return info, None


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def _chunks(data: bytes, size: int = 1000) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_directory_round_trips_with_contents_exec_bits_and_symlinks(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "pkg" / "sub").mkdir(parents=True)
    (source / "pkg" / "__init__.py").write_text("A = 1\n")
    (source / "pkg" / "sub" / "data.bin").write_bytes(bytes(range(256)) * 40)
    (source / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(source / "run.sh", 0o750)
    os.symlink("pkg/__init__.py", source / "alias.py")
    data = tar_directory(source, "bundle").read()
    out = tmp_path / "out"
    extract_safely(_chunks(data), out)
    assert (out / "pkg" / "__init__.py").read_text() == "A = 1\n"
    assert (out / "pkg" / "sub" / "data.bin").read_bytes() == bytes(range(256)) * 40
    assert _mode(out / "run.sh") == 0o755
    assert _mode(out / "pkg" / "__init__.py") == 0o644
    assert os.readlink(out / "alias.py") == "pkg/__init__.py"
    assert not (out / "bundle").exists(), "the arcname component is stripped"


def test_tar_members_sit_under_arcname_and_belong_to_root(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "file.txt").write_text("x")
    with tarfile.open(
        fileobj=io.BytesIO(tar_directory(tmp_path / "src", "job").read()), mode="r"
    ) as tar:
        members = tar.getmembers()
    assert sorted(member.name for member in members) == ["job", "job/file.txt"]
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "root", "root")}


def test_extracted_files_belong_to_the_caller_whatever_the_tar_says(tmp_path: Path) -> None:
    data = _tar(_dir("out", 0o700), _file("out/owned.txt", b"x", uid=12345))
    extract_safely([data], tmp_path / "dest")
    extracted = tmp_path / "dest" / "owned.txt"
    assert extracted.stat().st_uid == os.getuid()
    assert extracted.stat().st_gid == os.getgid()


def test_setuid_setgid_and_sticky_bits_are_dropped(tmp_path: Path) -> None:
    data = _tar(
        _file("out/suid", b"x", mode=0o4755),
        _file("out/sgid", b"x", mode=0o2711),
        _file("out/plain", b"x", mode=0o1666),
        _dir("out/dir", mode=0o3777),
    )
    extract_safely([data], tmp_path)
    assert _mode(tmp_path / "suid") == 0o755
    assert _mode(tmp_path / "sgid") == 0o755
    assert _mode(tmp_path / "plain") == 0o644
    assert _mode(tmp_path / "dir") == 0o755


def test_strip_zero_keeps_every_component(tmp_path: Path) -> None:
    extract_safely([_tar(_file("a/b.txt", b"b"))], tmp_path, strip=0)
    assert (tmp_path / "a" / "b.txt").read_bytes() == b"b"


@pytest.mark.parametrize("name", ["/etc/evil", "/tmp/evil"])
def test_absolute_member_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(PipelineError, match="leaves the output"):
        extract_safely([_tar(_file(name, b"x"))], tmp_path / "dest", strip=0)


def test_absolute_member_never_lands_outside_after_stripping(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    with contextlib.suppress(PipelineError):
        extract_safely([_tar(_file(f"{tmp_path}/outside.txt", b"x"))], dest)
    assert not (tmp_path / "outside.txt").exists()


@pytest.mark.parametrize("name", ["out/../escaped.txt", "out/sub/../../escaped.txt", "out/.."])
def test_member_climbing_out_with_dot_dot_is_refused(tmp_path: Path, name: str) -> None:
    dest = tmp_path / "dest"
    with pytest.raises(PipelineError, match=r"refusing to extract .*it leaves the output"):
        extract_safely([_tar(_file(name, b"x"))], dest)
    assert not (tmp_path / "escaped.txt").exists()


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("out/link", "/etc/passwd"),
        ("out/link", "../outside"),
        ("out/sub/link", "../../outside"),
    ],
)
def test_symlink_pointing_outside_is_refused(tmp_path: Path, name: str, target: str) -> None:
    dest = tmp_path / "dest"
    with pytest.raises(PipelineError) as caught:
        extract_safely([_tar(_link(name, target))], dest)
    assert "points outside the output" in str(caught.value)
    assert target in str(caught.value)
    assert not any(path.is_symlink() for path in dest.rglob("*"))


def test_symlink_through_an_earlier_symlink_is_resolved_before_trusting_it(
    tmp_path: Path,
) -> None:
    data = _tar(_link("out/here", "."), _link("out/escape", "here/../.."))
    # "here/../.." reads as inside, but "here" is the destination itself: one level up is out.
    with pytest.raises(PipelineError, match="points outside"):
        extract_safely([data], tmp_path / "dest")


def test_symlink_inside_the_output_is_kept(tmp_path: Path) -> None:
    data = _tar(_file("out/pkg/real.py", b"x"), _link("out/pkg/alias.py", "real.py"))
    extract_safely([data], tmp_path)
    assert os.readlink(tmp_path / "pkg" / "alias.py") == "real.py"
    assert (tmp_path / "pkg" / "alias.py").read_bytes() == b"x"


def test_hard_link_inside_is_copied_and_outside_is_refused(tmp_path: Path) -> None:
    data = _tar(
        _file("out/real.so", b"elf", mode=0o755),
        _link("out/copy.so", "out/real.so", tarfile.LNKTYPE),
    )
    extract_safely([data], tmp_path / "ok")
    assert (tmp_path / "ok" / "copy.so").read_bytes() == b"elf"
    assert _mode(tmp_path / "ok" / "copy.so") == 0o755
    outside = _tar(_link("out/stolen", "out/../../secret", tarfile.LNKTYPE))
    with pytest.raises(PipelineError, match="points outside"):
        extract_safely([outside], tmp_path / "bad")


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_device_files_and_fifos_are_refused(tmp_path: Path, kind: bytes) -> None:
    info = tarfile.TarInfo("out/dev")
    info.type = kind
    with pytest.raises(PipelineError, match="not a file or directory"):
        extract_safely([_tar((info, None))], tmp_path)
    assert not (tmp_path / "dev").exists()
