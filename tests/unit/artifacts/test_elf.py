"""The pure-Python ELF reader and stripper, on hand-made ELF files and this Python's own."""

from __future__ import annotations

import glob
import shutil
import struct
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from builder.artifacts.elf import (
    SHF_ALLOC,
    ElfError,
    glibc_version,
    parse_elf,
    read_elf,
    strip_unneeded,
    version_text,
)

SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_DYNAMIC = 1, 2, 3, 6
SHT_VERNEED = 0x6FFFFFFE


def _strtab(names: list[str]) -> tuple[bytes, dict[str, int]]:
    data, offsets = b"\0", {}
    for name in names:
        if name not in offsets:
            offsets[name] = len(data)
            data += name.encode() + b"\0"
    return data, offsets


def _verneed(order: str, needs: dict[str, list[str]], offsets: dict[str, int]) -> bytes:
    out = b""
    libraries = list(needs.items())
    for number, (library, versions) in enumerate(libraries):
        size = 16 + 16 * len(versions)
        following = size if number + 1 < len(libraries) else 0
        out += struct.pack(order + "HHIII", 1, len(versions), offsets[library], 16, following)
        for index, version in enumerate(versions):
            last = index + 1 == len(versions)
            following_aux = 0 if last else 16
            out += struct.pack(order + "IHHII", 0, 0, 2 + index, offsets[version], following_aux)
    return out


def make_elf(
    *,
    is_64: bool = True,
    little: bool = True,
    machine: int = 62,
    elf_type: int = 3,
    needs: dict[str, list[str]] | None = None,
    debug: bytes = b"",
    symtab: bool = False,
    section_headers: bool = True,
) -> bytes:
    """A minimal shared object: loadable .dynstr/.gnu.version_r/.dynamic, optional extras."""
    order = "<" if little else ">"
    needs = needs if needs is not None else {"libc.so.6": ["GLIBC_2.2.5", "GLIBC_2.17"]}
    dynstr, offsets = _strtab([name for lib, vs in needs.items() for name in [lib, *vs]])
    ehsize, phentsize, shentsize = (64, 56, 64) if is_64 else (52, 32, 40)
    position = ehsize + 2 * phentsize
    # name, type, flags, offset, data, link, info
    sections: list[tuple[str, int, int, int, bytes, int, int]] = []

    def place(
        name: str, kind: int, flags: int, data: bytes, link: int = 0, info: int = 0, align: int = 8
    ) -> int:
        nonlocal position
        position += -position % align
        sections.append((name, kind, flags, position, data, link, info))
        position += len(data)
        return sections[-1][3]

    dynstr_at = place(".dynstr", SHT_STRTAB, SHF_ALLOC, dynstr, align=1)
    verneed = _verneed(order, needs, offsets)
    verneed_at = place(".gnu.version_r", SHT_VERNEED, SHF_ALLOC, verneed, 1, len(needs))
    entry = order + ("qQ" if is_64 else "iI")
    dynamic = b"".join(
        struct.pack(entry, tag, value)
        for tag, value in [
            (5, dynstr_at),
            (0x6FFFFFFE, verneed_at),
            (0x6FFFFFFF, len(needs)),
            (0, 0),
        ]
    )
    dynamic_at = place(".dynamic", SHT_DYNAMIC, SHF_ALLOC | 1, dynamic, 1)
    load_end = position
    if debug:
        place(".debug_info", SHT_PROGBITS, 0, debug, align=1)
    place(".comment", SHT_PROGBITS, 0x30, b"GCC: test\0", align=1)
    if symtab:
        strtab, _names = _strtab(["local_symbol"])
        symbol_size = 24 if is_64 else 16
        table = bytes(symbol_size) * 3
        place(".symtab", SHT_SYMTAB, 0, table, len(sections) + 2, 1)
        place(".strtab", SHT_STRTAB, 0, strtab, align=1)
    names = [name for name, *_rest in sections] + [".shstrtab"]
    shstrtab, name_offsets = _strtab(names)
    place(".shstrtab", SHT_STRTAB, 0, shstrtab, align=1)
    position += -position % 8
    shoff = position if section_headers else 0
    shnum = len(sections) + 1 if section_headers else 0

    out = bytearray(b"\x7fELF" + bytes([2 if is_64 else 1, 1 if little else 2, 1]) + bytes(9))
    header = "HHIQQQIHHHHHH" if is_64 else "HHIIIIIHHHHHH"
    out += struct.pack(
        order + header,
        elf_type,
        machine,
        1,
        0,
        ehsize,
        shoff,
        0,
        ehsize,
        phentsize,
        2,
        shentsize,
        shnum,
        len(sections) if section_headers else 0,
    )
    if is_64:
        out += struct.pack(order + "IIQQQQQQ", 1, 5, 0, 0, 0, load_end, load_end, 0x1000)
        out += struct.pack(
            order + "IIQQQQQQ",
            2,
            6,
            dynamic_at,
            dynamic_at,
            dynamic_at,
            len(dynamic),
            len(dynamic),
            8,
        )
    else:
        out += struct.pack(order + "IIIIIIII", 1, 0, 0, 0, load_end, load_end, 5, 0x1000)
        out += struct.pack(
            order + "IIIIIIII",
            2,
            dynamic_at,
            dynamic_at,
            dynamic_at,
            len(dynamic),
            len(dynamic),
            6,
            8,
        )
    for _name, _kind, _flags, offset, data, *_ in sections:
        out += bytes(offset - len(out)) + data
    if section_headers:
        out += bytes(shoff - len(out)) + bytes(shentsize)
        fmt = order + ("IIQQQQIIQQ" if is_64 else "IIIIIIIIII")
        for name, kind, flags, offset, data, link, info in sections:
            address = offset if flags & SHF_ALLOC else 0
            out += struct.pack(
                fmt, name_offsets[name], kind, flags, address, offset, len(data), link, info, 1, 0
            )
    return bytes(out)


@pytest.mark.parametrize(
    ("is_64", "little"), [(True, True), (False, True), (True, False), (False, False)]
)
def test_machine_and_glibc_versions_in_every_class_and_byte_order(
    is_64: bool, little: bool
) -> None:
    data = make_elf(
        is_64=is_64,
        little=little,
        machine=183,
        needs={
            "libc.so.6": ["GLIBC_2.17", "GLIBC_2.34"],
            "libm.so.6": ["GLIBC_2.29"],
            "libstdc++.so.6": ["GLIBCXX_3.4.30", "CXXABI_1.3"],
        },
    )
    elf = parse_elf(data)
    assert (elf.is_64, elf.machine, elf.machine_name) == (is_64, 183, "aarch64")
    assert elf.needs["libm.so.6"] == {"GLIBC_2.29"}
    assert elf.glibc_versions == [(2, 17), (2, 29), (2, 34)]
    assert elf.max_glibc == (2, 34)


def test_version_needs_are_found_through_the_dynamic_segment_without_sections() -> None:
    elf = parse_elf(make_elf(needs={"libc.so.6": ["GLIBC_2.36"]}, section_headers=False))
    assert elf.sections == ()
    assert elf.max_glibc == (2, 36)


def test_a_file_without_version_needs_needs_no_glibc() -> None:
    assert parse_elf(make_elf(needs={})).max_glibc is None


def test_glibc_version_names() -> None:
    assert glibc_version("GLIBC_2.2.5") == (2, 2, 5)
    assert glibc_version("GLIBC_2.34") == (2, 34)
    assert glibc_version("GLIBC_PRIVATE") is None
    assert glibc_version("GLIBCXX_3.4.30") is None
    assert version_text((2, 2, 5)) == "2.2.5"


def test_truncated_or_foreign_files_are_errors_not_crashes() -> None:
    data = make_elf()
    with pytest.raises(ElfError):
        parse_elf(data[:40])
    with pytest.raises(ElfError):
        parse_elf(b"\x7fELF\x03\x01" + bytes(60))
    with pytest.raises(ElfError):
        parse_elf(b"#!/bin/sh\n")


def test_read_elf_returns_none_for_other_files(tmp_path: Path) -> None:
    (tmp_path / "script.py").write_text("print(1)\n")
    assert read_elf(tmp_path / "script.py") is None
    (tmp_path / "lib.so").write_bytes(make_elf(machine=62))
    found = read_elf(tmp_path / "lib.so")
    assert found is not None and found.machine_name == "x86_64"


def _dynload() -> Path:
    """The interpreter's own extension modules (a virtualenv has none of its own)."""
    return Path(str(sysconfig.get_config_var("DESTSHARED")))


def test_this_interpreters_extension_modules_parse() -> None:
    machine = {"x86_64": 62, "aarch64": 183}.get(sysconfig.get_platform().split("-")[-1])
    modules = glob.glob(str(_dynload() / "*.so"))
    assert modules, "no extension modules next to this Python"
    for module in modules[:20]:
        elf = read_elf(Path(module))
        assert elf is not None and elf.type == 3
        if machine is not None:
            assert elf.machine == machine
        assert elf.max_glibc is None or elf.max_glibc >= (2, 2)


def test_strip_drops_debug_sections_and_symbols_and_keeps_what_loads() -> None:
    original = make_elf(debug=b"\x01" * 5000, symtab=True)
    stripped = strip_unneeded(original)
    assert stripped is not None and len(stripped) < len(original) - 5000
    before, after = parse_elf(original), parse_elf(stripped)
    assert {s.name for s in before.sections} - {s.name for s in after.sections} == {
        ".debug_info",
        ".symtab",
        ".strtab",
    }
    assert after.needs == before.needs and after.machine == before.machine
    loaded = max(s.offset + s.size for s in before.sections if s.flags & SHF_ALLOC)
    assert stripped[64:loaded] == original[64:loaded]  # after the header: same bytes, same place
    assert stripped[:40] == original[:40]  # the header differs only in the section table fields
    comment = next(s for s in after.sections if s.name == ".comment")
    assert stripped[comment.offset : comment.offset + comment.size] == b"GCC: test\0"


def test_strip_leaves_files_alone_when_nothing_can_go_or_it_is_not_a_library() -> None:
    assert strip_unneeded(make_elf()) is None
    assert strip_unneeded(make_elf(elf_type=1, debug=b"x" * 100)) is None  # relocatable .o


def test_stripped_extension_modules_of_this_python_still_import(tmp_path: Path) -> None:
    dynload = _dynload()
    candidates = sorted(dynload.glob("_json.*.so")) + sorted(dynload.glob("_bisect.*.so"))
    assert candidates
    for module in candidates:
        data = module.read_bytes()
        stripped = strip_unneeded(data)
        (tmp_path / module.name).write_bytes(stripped if stripped is not None else data)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import _json, _bisect; "
        "assert _json.__file__.startswith(sys.argv[1]); print(_bisect.bisect_right([1, 2], 1))"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", code, str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
    if shutil.which("readelf"):
        for module in tmp_path.iterdir():
            check = subprocess.run(["readelf", "-a", str(module)], capture_output=True, text=True)
            assert check.returncode == 0 and "Warning" not in check.stderr, check.stderr
