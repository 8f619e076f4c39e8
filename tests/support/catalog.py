"""The fixture packages every pipeline test draws from, built once per test session."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import fixture_packages as fp
from tests.support.package_index import build_tools_wheels

ARM_MARKER = 'armonly>=1.0; platform_machine == "aarch64"'


@dataclass
class Catalog:
    files: list[Path] = field(default_factory=list)
    by_name: dict[str, Path] = field(default_factory=dict)
    index: Any = None

    def add(self, key: str, path: Path) -> Path:
        self.files.append(path)
        self.by_name[key] = path
        return path

    def hash(self, key: str) -> str:
        return fp.sha256_of(self.by_name[key])


def build_catalog(dest: Path, tools_cache: Path) -> Catalog:
    """One package per behaviour the pipeline must handle; names say what they exercise."""
    catalog = Catalog()
    for tool in build_tools_wheels(tools_cache):
        catalog.add(tool.name, tool)
    catalog.add("purepkg", fp.pure_wheel(dest, "purepkg", "1.0"))
    catalog.add("needspure", fp.pure_wheel(dest, "needspure", "1.0", requires=["purepkg>=1.0"]))
    # Only a manylinux_2_24 wheel (the ruamel.yaml.clib case) plus an sdist, for both machines.
    catalog.add(
        "m224-x86", fp.tagged_wheel(dest, "m224pkg", "1.0", "py3-none-manylinux_2_24_x86_64")
    )
    catalog.add(
        "m224-arm", fp.tagged_wheel(dest, "m224pkg", "1.0", "py3-none-manylinux_2_24_aarch64")
    )
    catalog.add("m224-sdist", fp.sdist(dest, "m224pkg", "1.0", "pure"))
    # Only a manylinux_2_28 wheel: too new for Amazon Linux 2, fine for Amazon Linux 2023.
    catalog.add(
        "m228",
        fp.tagged_wheel(
            dest, "m228pkg", "1.0", "py3-none-manylinux_2_28_x86_64.manylinux_2_28_aarch64"
        ),
    )
    # A manylinux_2_28 wheel and an sdist: pass 1 takes the wheel, the sdist must be fetched.
    catalog.add(
        "m228src-wheel", fp.tagged_wheel(dest, "m228src", "1.0", "py3-none-manylinux_2_28_x86_64")
    )
    catalog.add("m228src-sdist", fp.sdist(dest, "m228src", "1.0", "pure"))
    catalog.add(
        "macpkg-wheel", fp.tagged_wheel(dest, "macpkg", "1.0", "cp311-cp311-macosx_11_0_arm64")
    )
    catalog.add("macpkg-sdist", fp.sdist(dest, "macpkg", "1.0", "pure"))
    catalog.add("cext", fp.sdist(dest, "cextpkg", "1.0", "c-extension"))
    catalog.add("optc", fp.sdist(dest, "optcpkg", "1.0", "optional-c"))
    # setup.py only (netifaces, crcmod): built by the image's setuptools without pip's processes.
    catalog.add("legacyc", fp.sdist(dest, "legacycpkg", "1.0", "c-extension", setup_py_only=True))
    catalog.add("legacyoptc", fp.sdist(dest, "legacyoptc", "1.0", "optional-c", setup_py_only=True))
    catalog.add("broken", fp.sdist(dest, "brokenpkg", "1.0", "broken"))
    catalog.add("hashpkg", fp.pure_wheel(dest, "hashpkg", "1.0"))
    # The wrapt 1.13 case: setup.py imports inspect.formatargspec, gone in Python 3.11, so the
    # metadata step fails. 1.1 fails the same way; 1.2 (an sdist) and 2.0 (a wheel) work.
    catalog.add("argspec-1.0", fp.pre311_sdist(dest, "argspecpkg", "1.0"))
    catalog.add("argspec-1.1", fp.pre311_sdist(dest, "argspecpkg", "1.1"))
    catalog.add("argspec-1.2", fp.sdist(dest, "argspecpkg", "1.2", "pure"))
    catalog.add("argspec-2.0", fp.pure_wheel(dest, "argspecpkg", "2.0"))
    catalog.add("armonly", fp.pure_wheel(dest, "armonly", "1.0"))
    catalog.add("markerparent", fp.pure_wheel(dest, "markerparent", "1.0", requires=[ARM_MARKER]))
    # In the allow-list, and only ever published with a wheel Lambda's glibc cannot load.
    catalog.add("pyyaml", fp.tagged_wheel(dest, "PyYAML", "6.0", "py3-none-manylinux_2_28_x86_64"))
    catalog.add(
        "datapkg",
        fp.pure_wheel(
            dest,
            "datapkg",
            "1.0",
            data_files={
                "purelib/datapkg_extra.py": "EXTRA = 1\n",
                "scripts/datapkg-tool": fp.executable("#!/bin/sh\necho hi\n"),
            },
            extra_files={"datapkg/run.sh": fp.executable("#!/bin/sh\necho run\n")},
        ),
    )
    return catalog
