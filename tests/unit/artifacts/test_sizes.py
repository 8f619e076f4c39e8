"""Who owns each file, the biggest contributors, and Lambda's size limits."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from builder.artifacts.sizes import (
    UNZIPPED_LIMIT,
    ZIPPED_LIMIT,
    attribute,
    check_unzipped,
    largest,
    measure,
    megabytes,
    owners_from_records,
    package_label,
    read_owners,
    record_paths,
    zipped_warning,
)
from builder.artifacts.zips import BundleFile
from builder.errors import ArtifactError

RECORDS = {
    "numpy-1.26.4.dist-info": "numpy/__init__.py,sha256=x,10\nnumpy/core/_multiarray.so,,\n"
    "numpy.libs/libopenblas.so,,\nnumpy-1.26.4.dist-info/RECORD,,\n",
    "six-1.16.0.dist-info": "six.py,sha256=y,5\nsix-1.16.0.dist-info/RECORD,,\n",
}


def files(sizes: dict[str, int]) -> list[BundleFile]:
    return [BundleFile(name, Path("/nowhere") / name, size) for name, size in sizes.items()]


def test_package_labels_come_from_dist_info_names() -> None:
    assert package_label("numpy-1.26.4.dist-info") == "numpy 1.26.4"
    assert package_label("zope.interface-6.0.dist-info") == "zope.interface 6.0"


def test_every_file_gets_an_owner() -> None:
    owners = owners_from_records(RECORDS)
    bundle = files(
        {
            "numpy/__init__.py": 1,
            "numpy/core/_multiarray.so": 1,
            "numpy/__pycache__/__init__.cpython-311.pyc": 1,
            "numpy/extra.txt": 1,
            "numpy.libs/libopenblas.so": 1,
            "six.py": 1,
            "__pycache__/six.cpython-311.pyc": 1,
            "app.py": 1,
            "__pycache__/app.cpython-311.pyc": 1,
            "data/model.bin": 1,
        }
    )
    assert attribute(bundle, owners) == {
        "numpy/__init__.py": "numpy 1.26.4",
        "numpy/core/_multiarray.so": "numpy 1.26.4",
        "numpy/__pycache__/__init__.cpython-311.pyc": "numpy 1.26.4",
        "numpy/extra.txt": "numpy 1.26.4",
        "numpy.libs/libopenblas.so": "numpy 1.26.4",
        "six.py": "six 1.16.0",
        "__pycache__/six.cpython-311.pyc": "six 1.16.0",
        "app.py": "app.py (source)",
        "__pycache__/app.cpython-311.pyc": "app.py (source)",
        "data/model.bin": "data (source)",
    }


def test_largest_contributors_are_ranked_by_size() -> None:
    owners = owners_from_records(RECORDS)
    ranked = largest(
        files(
            {
                "numpy/__init__.py": 100,
                "numpy.libs/libopenblas.so": 900,
                "six.py": 50,
                "data/model.bin": 2000,
            }
        ),
        owners,
    )
    assert [(item.name, item.size, item.files) for item in ranked] == [
        ("data (source)", 2000, 1),
        ("numpy 1.26.4", 1000, 2),
        ("six 1.16.0", 50, 1),
    ]


def test_owners_are_read_from_the_bundle(tmp_path: Path) -> None:
    for name, text in RECORDS.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "RECORD").write_text(text)
    assert read_owners(tmp_path)["six.py"] == "six 1.16.0"


def test_a_bundle_under_the_limit_passes() -> None:
    check_unzipped(measure(files({"a.py": UNZIPPED_LIMIT}), {}), "bundle", "python3.12/x86_64")


def test_an_oversize_bundle_fails_with_the_numbers_and_largest_contributors() -> None:
    owners = owners_from_records(RECORDS)
    report = measure(
        files(
            {"numpy.libs/libopenblas.so": 200_000_000, "six.py": 10, "data/model.bin": 70_000_000}
        ),
        owners,
    )
    with pytest.raises(ArtifactError) as raised:
        check_unzipped(report, "bundle", "python3.12/x86_64")
    message = str(raised.value)
    assert message.startswith("[python3.12/x86_64] the bundle is 257.5 MB (270,000,010 bytes)")
    assert "250.0 MB (262,144,000 bytes)" in message
    assert "numpy 1.26.4 190.7 MB, data (source) 66.8 MB, six 1.16.0 0.0 MB" in message
    assert raised.value.hint and "--slim" in raised.value.hint
    assert raised.value.exit_code == 8


def test_zipped_size_over_50_mb_is_a_warning_with_the_numbers() -> None:
    assert zipped_warning("function-zip", Path("app.zip"), ZIPPED_LIMIT) is None
    warning = zipped_warning("function-zip", Path("app.zip"), ZIPPED_LIMIT + 1)
    assert warning is not None and "50.0 MB" in warning and "52,428,801 bytes" in warning
    assert "S3" in warning


def test_measure_counts_and_records_removals() -> None:
    report = measure(
        files({"a.py": 3, "b.py": 4}), {}, removed_files=2, removed_bytes=10, stripped_files=1
    )
    assert (
        report.unzipped,
        report.files,
        report.removed_files,
        report.removed_bytes,
        report.stripped_files,
    ) == (7, 2, 2, 10, 1)
    assert (report.unzipped_limit, report.zipped_limit) == (262_144_000, 52_428_800)
    assert megabytes(262_144_000) == "250.0 MB"


@pytest.mark.parametrize(
    "written",
    ["pkg/a.py", "./pkg//a.py", "pkg/./a.py", "pkg/", "pkg/.", "pkg/../a.py", "with, comma/a.py"],
)
def test_record_paths_are_read_as_posix_paths_inside_the_bundle(written: str) -> None:
    row = '"' + written + '",sha256=x,1\n'
    assert record_paths(row + "/etc/passwd,,\n../out.py,,\n") == [PurePosixPath(written).as_posix()]
