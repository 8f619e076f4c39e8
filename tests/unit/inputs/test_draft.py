"""The generated requirements file: hash policy, index options, private file mode."""

from __future__ import annotations

import stat
from pathlib import Path

from builder.inputs.draft import Draft, Index, Pin, apply_hash_policy, index_lines, write_draft
from builder.inputs.indexes import PYPI_URL, indexes_for_lock
from builder.requirements_file import parse_requirements


def test_all_hashes_are_kept_when_every_non_directory_pin_has_them(tmp_path: Path) -> None:
    draft = Draft(
        pins=[Pin("a", "a==1", ("sha256:aa",)), Pin("lib", str(tmp_path), is_directory=True)]
    )
    assert apply_hash_policy(draft).pins[0].hashes == ("sha256:aa",)
    assert draft.warnings == []


def test_a_vcs_pin_turns_hash_checking_off_with_a_warning() -> None:
    draft = Draft(
        pins=[Pin("a", "a==1", ("sha256:aa",)), Pin("b", "b @ git+https://example.com/b@abc")]
    )
    checked = apply_hash_policy(draft)
    assert all(not pin.hashes for pin in checked.pins)
    assert "hash checking is off because b" in checked.warnings[0]


def test_pypi_stays_default_and_other_indexes_are_added() -> None:
    lines = index_lines([Index(PYPI_URL, default=True), Index("https://corp.example/simple/")])
    assert lines == ["--extra-index-url https://corp.example/simple/"]


def test_a_default_index_replaces_pypi_and_plain_http_hosts_are_trusted() -> None:
    lines = index_lines(
        [
            Index("http://mirror.corp:8080/simple/", default=True),
            Index("http://127.0.0.1:9/simple/"),
            Index("https://flat.example/wheels/", flat=True),
        ]
    )
    assert lines == [
        "--index-url http://mirror.corp:8080/simple/",
        "--extra-index-url http://127.0.0.1:9/simple/",
        "--find-links https://flat.example/wheels/",
        "--trusted-host mirror.corp",
    ]


def test_lock_registry_that_is_not_configured_replaces_pypi() -> None:
    chosen = indexes_for_lock([], ["http://127.0.0.1:9/simple/", "http://127.0.0.1:9/simple/"])
    assert chosen == [Index("http://127.0.0.1:9/simple/", default=True)]


def test_configured_index_brings_its_name_and_credentials_to_the_lock_url() -> None:
    configured = [Index("https://u:p@corp.example/simple/", name="corp")]
    chosen = indexes_for_lock(configured, [PYPI_URL, "https://corp.example/simple"])
    assert chosen == [Index(PYPI_URL), configured[0]]


def test_written_file_is_private_and_reads_back_as_written(tmp_path: Path) -> None:
    draft = Draft(
        pins=[
            Pin("a", 'a==1 ; python_version >= "3.9"', ("sha256:aa", "sha256:bb")),
            Pin("lib", str(tmp_path / "lib"), is_directory=True),
        ],
        indexes=[Index("https://u:p@corp.example/simple/", default=True)],
    )
    (tmp_path / "lib").mkdir()
    path = write_draft(draft, tmp_path / "out" / "requirements.txt")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    parsed = parse_requirements(path, environ={})
    assert parsed.index.index_url == "https://u:p@corp.example/simple/"
    assert parsed.hashes() == {"a": ["sha256:aa", "sha256:bb"]}
    assert parsed.local_projects() == [tmp_path / "lib"]
