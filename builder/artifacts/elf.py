"""A pure-Python ELF reader: machine, GLIBC symbol versions, and stripping of unused tables."""

from __future__ import annotations

import mmap
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

MAGIC = b"\x7fELF"
MACHINE_NAMES = {
    3: "x86 (32-bit)",
    8: "MIPS",
    20: "PowerPC",
    21: "PowerPC64",
    22: "s390",
    40: "ARM (32-bit)",
    62: "x86_64",
    183: "aarch64",
    243: "RISC-V",
}
ET_EXEC, ET_DYN = 2, 3
SHT_SYMTAB, SHT_STRTAB, SHT_NOBITS, SHT_REL, SHT_RELA = 2, 3, 8, 9, 4
SHT_GNU_VERNEED = 0x6FFFFFFE
SHF_ALLOC, SHF_INFO_LINK = 0x2, 0x40
PT_LOAD, PT_DYNAMIC = 1, 2
DT_STRTAB, DT_VERNEED, DT_VERNEEDNUM = 5, 0x6FFFFFFE, 0x6FFFFFFF
_GLIBC = re.compile(r"^GLIBC_(\d+(?:\.\d+)+)$")

Data = Union[bytes, mmap.mmap]


class ElfError(ValueError):
    """Not an ELF file, or one whose tables point outside the file."""


@dataclass(frozen=True)
class Section:
    index: int
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    info: int
    align: int


@dataclass(frozen=True)
class Segment:
    type: int
    offset: int
    vaddr: int
    filesz: int


@dataclass(frozen=True)
class ElfFile:
    """What the checks need: class, byte order, type, machine, tables, version needs."""

    is_64: bool
    order: str  # "<" or ">"
    type: int
    machine: int
    sections: tuple[Section, ...]
    segments: tuple[Segment, ...]
    needs: dict[str, frozenset[str]] = field(default_factory=dict)  # library -> versions
    shoff: int = 0
    shstrndx: int = 0

    @property
    def machine_name(self) -> str:
        return MACHINE_NAMES.get(self.machine, f"machine {self.machine}")

    @property
    def glibc_versions(self) -> list[tuple[int, ...]]:
        """Every ``GLIBC_x.y[.z]`` version the file needs, oldest first."""
        found = {glibc_version(name) for names in self.needs.values() for name in names}
        return sorted(version for version in found if version is not None)

    @property
    def max_glibc(self) -> tuple[int, ...] | None:
        versions = self.glibc_versions
        return versions[-1] if versions else None


def glibc_version(name: str) -> tuple[int, ...] | None:
    """``GLIBC_2.34`` -> (2, 34); anything else (``GLIBC_PRIVATE``, ``GLIBCXX_3.4``) -> None."""
    match = _GLIBC.match(name)
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def version_text(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def _unpack(fmt: str, data: Data, offset: int) -> tuple[int, ...]:
    try:
        return struct.unpack_from(fmt, data, offset)
    except struct.error:
        raise ElfError(f"truncated ELF structure at offset {offset}") from None


def _cstring(data: Data, offset: int) -> str:
    if offset < 0 or offset >= len(data):
        raise ElfError(f"string offset {offset} outside the file")
    end = data.find(b"\0", offset)
    return bytes(data[offset : end if end >= 0 else len(data)]).decode("ascii", "replace")


def _header(data: Data) -> tuple[bool, str, tuple[int, ...]]:
    if len(data) < 20 or data[:4] != MAGIC:
        raise ElfError("not an ELF file")
    if data[4] not in (1, 2) or data[5] not in (1, 2):
        raise ElfError(f"unknown ELF class {data[4]} or byte order {data[5]}")
    is_64, order = data[4] == 2, "<" if data[5] == 1 else ">"
    fields = _unpack(order + ("HHIQQQIHHHHHH" if is_64 else "HHIIIIIHHHHHH"), data, 16)
    return is_64, order, fields


def _sections(
    data: Data, is_64: bool, order: str, shoff: int, shentsize: int, shnum: int, shstrndx: int
) -> tuple[Section, ...]:
    if shoff == 0 or shnum == 0:
        return ()
    fmt = order + ("IIQQQQIIQQ" if is_64 else "IIIIIIIIII")
    raw = [_unpack(fmt, data, shoff + index * shentsize) for index in range(shnum)]
    names_offset = raw[shstrndx][4] if shstrndx < shnum else None
    sections = []
    for index, (name, kind, flags, _addr, offset, size, link, info, align, _es) in enumerate(raw):
        text = _cstring(data, names_offset + name) if names_offset is not None else ""
        sections.append(Section(index, text, kind, flags, offset, size, link, info, align))
    return tuple(sections)


def _segments(
    data: Data, is_64: bool, order: str, phoff: int, phentsize: int, phnum: int
) -> tuple[Segment, ...]:
    segments = []
    for index in range(phnum):
        if is_64:
            kind, _flags, offset, vaddr, _paddr, filesz, _memsz, _align = _unpack(
                order + "IIQQQQQQ", data, phoff + index * phentsize
            )
        else:
            kind, offset, vaddr, _paddr, filesz, _memsz, _flags, _align = _unpack(
                order + "IIIIIIII", data, phoff + index * phentsize
            )
        segments.append(Segment(kind, offset, vaddr, filesz))
    return tuple(segments)


def _walk_verneed(
    data: Data, order: str, offset: int, count: int, strtab: int
) -> dict[str, frozenset[str]]:
    needs: dict[str, set[str]] = {}
    for _ in range(count):
        _version, aux_count, file_name, aux, following = _unpack(order + "HHIII", data, offset)
        library = needs.setdefault(_cstring(data, strtab + file_name), set())
        aux_offset = offset + aux
        for _ in range(aux_count):
            _hash, _flags, _other, name, aux_next = _unpack(order + "IHHII", data, aux_offset)
            library.add(_cstring(data, strtab + name))
            if aux_next == 0:
                break
            aux_offset += aux_next
        if following == 0:
            break
        offset += following
    return {library: frozenset(names) for library, names in needs.items()}


def _address_to_offset(segments: tuple[Segment, ...], address: int) -> int | None:
    for segment in segments:
        if segment.type == PT_LOAD and segment.vaddr <= address < segment.vaddr + segment.filesz:
            return address - segment.vaddr + segment.offset
    return None


def _needs_from_dynamic(
    data: Data, is_64: bool, order: str, segments: tuple[Segment, ...]
) -> dict[str, frozenset[str]]:
    """The version needs through PT_DYNAMIC, for files whose section headers were removed."""
    dynamic = next((s for s in segments if s.type == PT_DYNAMIC), None)
    if dynamic is None:
        return {}
    entry_fmt, entry_size = (order + "qQ", 16) if is_64 else (order + "iI", 8)
    tags: dict[int, int] = {}
    for position in range(dynamic.offset, dynamic.offset + dynamic.filesz, entry_size):
        tag, value = _unpack(entry_fmt, data, position)
        if tag == 0:
            break
        tags.setdefault(tag, value)
    if DT_VERNEED not in tags or DT_STRTAB not in tags:
        return {}
    verneed = _address_to_offset(segments, tags[DT_VERNEED])
    strtab = _address_to_offset(segments, tags[DT_STRTAB])
    if verneed is None or strtab is None:
        raise ElfError("the dynamic section points outside the loaded segments")
    return _walk_verneed(data, order, verneed, tags.get(DT_VERNEEDNUM, 0), strtab)


def parse_elf(data: Data) -> ElfFile:
    """Parse the header, section and program headers, and the GNU version needs."""
    is_64, order, fields = _header(data)
    (
        kind,
        machine,
        _v,
        _entry,
        phoff,
        shoff,
        _flags,
        _eh,
        phentsize,
        phnum,
        shentsize,
        shnum,
        shstrndx,
    ) = fields
    sections = _sections(data, is_64, order, shoff, shentsize, shnum, shstrndx)
    segments = _segments(data, is_64, order, phoff, phentsize, phnum)
    needs: dict[str, frozenset[str]] = {}
    verneed = next((s for s in sections if s.type == SHT_GNU_VERNEED), None)
    if verneed is not None and verneed.link < len(sections):
        strtab = sections[verneed.link].offset
        needs = _walk_verneed(data, order, verneed.offset, verneed.info, strtab)
    elif not sections:
        needs = _needs_from_dynamic(data, is_64, order, segments)
    return ElfFile(is_64, order, kind, machine, sections, segments, needs, shoff, shstrndx)


def read_elf(path: Path) -> ElfFile | None:
    """Parse ``path`` when it is an ELF file (None otherwise), without reading it all in."""
    with path.open("rb") as stream:
        if stream.read(4) != MAGIC:
            return None
        stream.seek(0)
        with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return parse_elf(data)


# --- stripping -------------------------------------------------------------------------------
# Only tables the dynamic loader never reads go: DWARF debug sections and the static symbol
# table (.symtab with its .strtab). The loader works from program headers, .dynsym and
# .dynstr, which stay byte for byte where they were.


def _removable(elf: ElfFile) -> set[int]:
    removed = {
        s.index
        for s in elf.sections
        if not s.flags & SHF_ALLOC
        and (s.name.startswith((".debug", ".zdebug")) or s.type == SHT_SYMTAB)
    }
    for symtab in [s for s in elf.sections if s.index in removed and s.type == SHT_SYMTAB]:
        strtab = elf.sections[symtab.link] if symtab.link < len(elf.sections) else None
        users = [
            s
            for s in elf.sections
            if s.link == symtab.link and s.index not in removed and s.type != SHT_SYMTAB
        ]
        if (
            strtab is not None
            and strtab.type == SHT_STRTAB
            and not strtab.flags & SHF_ALLOC
            and strtab.index != elf.shstrndx
            and not users
        ):
            removed.add(strtab.index)
    return removed


def _loaded_end(elf: ElfFile, ehsize: int, phend: int) -> int:
    ends = [ehsize, phend]
    ends += [segment.offset + segment.filesz for segment in elf.segments]
    ends += [
        s.offset + s.size for s in elf.sections if s.flags & SHF_ALLOC and s.type != SHT_NOBITS
    ]
    return max(ends)


def _is_strippable(
    elf: ElfFile, removed: set[int], cut: int, file_size: int, shentsize: int
) -> bool:
    """Refuse anything unusual rather than risk a library that no longer loads."""
    if elf.type not in (ET_EXEC, ET_DYN) or not removed or len(elf.sections) >= 0xFF00:
        return False
    last_alloc = max((s.index for s in elf.sections if s.flags & SHF_ALLOC), default=0)
    if min(removed) <= last_alloc or elf.shstrndx in removed:
        return False
    for section in elf.sections:
        if section.index in removed:
            if section.type != SHT_NOBITS and section.size and section.offset < cut:
                return False
            continue
        info_is_index = section.flags & SHF_INFO_LINK or section.type in (SHT_REL, SHT_RELA)
        if section.link in removed or (info_is_index and section.info in removed):
            return False
    data_end = max(
        [s.offset + s.size for s in elf.sections if s.type != SHT_NOBITS]
        + [elf.shoff + len(elf.sections) * shentsize]
    )
    return data_end >= file_size  # bytes after every table (a signature?) stay untouched


def strip_unneeded(data: bytes) -> bytes | None:
    """``data`` without debug sections and static symbols, or None when nothing can go."""
    elf = parse_elf(data)
    _k, _m, _v, _e, phoff, _sh, _f, ehsize, phentsize, phnum, shentsize, _n, _x = _header(data)[2]
    removed = _removable(elf)
    cut = _loaded_end(elf, ehsize, phoff + phentsize * phnum)
    if not _is_strippable(elf, removed, cut, len(data), shentsize):
        return None
    out = bytearray(data[:cut])
    offsets: dict[int, int] = {}
    kept = [s for s in elf.sections if s.index not in removed]
    for section in sorted(kept, key=lambda s: s.offset):
        if section.offset < cut and section.offset + section.size <= cut:
            continue
        if section.type != SHT_NOBITS and section.size:
            out += bytes(-len(out) % max(section.align, 1))
            offsets[section.index] = len(out)
            out += data[section.offset : section.offset + section.size]
        else:
            offsets[section.index] = len(out)
    out += bytes(-len(out) % (8 if elf.is_64 else 4))
    _append_section_headers(out, data, elf, kept, offsets, shentsize)
    stripped = bytes(out)
    check = parse_elf(stripped)
    if check.machine != elf.machine or check.needs != elf.needs:
        return None
    return stripped


def _append_section_headers(
    out: bytearray,
    data: bytes,
    elf: ElfFile,
    kept: list[Section],
    offsets: dict[int, int],
    shentsize: int,
) -> None:
    fmt = elf.order + ("IIQQQQIIQQ" if elf.is_64 else "IIIIIIIIII")
    new_index = {section.index: number for number, section in enumerate(kept)}
    shoff = len(out)
    for section in kept:
        raw = list(_unpack(fmt, data, elf.shoff + section.index * shentsize))
        raw[4] = offsets.get(section.index, section.offset)
        raw[6] = new_index.get(section.link, 0)
        if section.flags & SHF_INFO_LINK or section.type in (SHT_REL, SHT_RELA):
            raw[7] = new_index.get(section.info, 0)
        out += struct.pack(fmt, *raw) + bytes(shentsize - struct.calcsize(fmt))
    position = (40, 60, 62) if elf.is_64 else (32, 48, 50)
    struct.pack_into(elf.order + ("Q" if elf.is_64 else "I"), out, position[0], shoff)
    struct.pack_into(elf.order + "H", out, position[1], len(kept))
    struct.pack_into(elf.order + "H", out, position[2], new_index[elf.shstrndx])
