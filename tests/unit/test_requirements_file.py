"""Reading requirements files the way pip does, and flattening them for the pipeline."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from builder.errors import InputError
from builder.requirements_file import (
    ParsedRequirements,
    RequirementLine,
    flatten,
    marker_variables,
    parse_requirements,
)

SHA_A = "sha256:" + "a" * 64
SHA_B = "sha256:" + "b" * 64


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _parse(path: Path, environ: dict[str, str] | None = None) -> ParsedRequirements:
    return parse_requirements(path, environ={} if environ is None else environ)


def _specs(lines: list[RequirementLine]) -> list[str]:
    return [line.spec for line in lines]


def _input_error(path: Path, environ: dict[str, str] | None = None) -> InputError:
    with pytest.raises(InputError) as caught:
        _parse(path, environ)
    return caught.value


# --- lines, comments, continuations ----------------------------------------------------------


def test_comments_and_blank_lines_are_ignored_and_line_numbers_kept(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "requirements.txt",
        """\
        # a comment

        six==1.16.0  # pinned for a reason
        requests>=2
        """,
    )
    parsed = _parse(path)
    assert _specs(parsed.requirements) == ["six==1.16.0", "requests>=2"]
    assert [line.lineno for line in parsed.requirements] == [3, 4]
    assert parsed.requirements[0].where == f"{path.resolve()}:3"
    assert [line.name for line in parsed.requirements] == ["six", "requests"]
    assert parsed.files == [path.resolve()]


def test_backslash_continuations_join_and_keep_the_first_line_number(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "requirements.txt",
        f"""\
        first==1.0
        six==1.16.0 \\
            --hash={SHA_A} \\
            --hash={SHA_B}
        last==2.0
        """,
    )
    parsed = _parse(path)
    assert _specs(parsed.requirements) == ["first==1.0", "six==1.16.0", "last==2.0"]
    six = parsed.requirements[1]
    assert six.lineno == 2
    assert six.hashes == [SHA_A, SHA_B]
    assert parsed.requirements[2].lineno == 5


def test_continuation_without_surrounding_spaces_still_separates_the_parts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(f"six==1.16.0\\\n--hash={SHA_A}\n", encoding="utf-8")
    (line,) = _parse(path).requirements
    assert (line.spec, line.hashes) == ("six==1.16.0", [SHA_A])


def test_continuation_on_the_last_line_is_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("six==1.16.0 \\", encoding="utf-8")
    assert _specs(_parse(path).requirements) == ["six==1.16.0"]


def test_hash_sign_inside_a_url_is_not_a_comment(tmp_path: Path) -> None:
    url = "git+https://github.com/org/repo.git@v1#egg=Repo_Name"
    path = _write(tmp_path / "requirements.txt", f"{url}  # comment\n")
    (line,) = _parse(path).requirements
    assert (line.kind, line.spec, line.name) == ("url", url, "repo-name")


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes("\ufeffsix==1.16.0\n".encode())
    assert _specs(_parse(path).requirements) == ["six==1.16.0"]


# --- includes and constraints ----------------------------------------------------------------


def test_includes_and_constraints_are_relative_to_the_file_that_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "reqs" / "base" / "common.txt", "six==1.16.0\n-c ../pins/constraints.txt\n")
    _write(tmp_path / "reqs" / "pins" / "constraints.txt", "urllib3<2\n")
    top = _write(tmp_path / "reqs" / "prod.txt", "-r base/common.txt\nrequests\n")
    monkeypatch.chdir(tmp_path)
    parsed = _parse(Path("reqs/prod.txt"))
    assert _specs(parsed.requirements) == ["six==1.16.0", "requests"]
    assert _specs(parsed.constraints) == ["urllib3<2"]
    assert parsed.files == [
        top.resolve(),
        (tmp_path / "reqs" / "base" / "common.txt").resolve(),
        (tmp_path / "reqs" / "pins" / "constraints.txt").resolve(),
    ]


@pytest.mark.parametrize(
    "line",
    [
        "-r other.txt",
        "-rother.txt",
        "--requirement other.txt",
        "--requirement=other.txt",
    ],
)
def test_every_spelling_of_an_include_is_understood(tmp_path: Path, line: str) -> None:
    _write(tmp_path / "other.txt", "six\n")
    path = _write(tmp_path / "requirements.txt", line + "\n")
    assert _specs(_parse(path).requirements) == ["six"]


def test_includes_inside_a_constraints_file_are_constraints_too(tmp_path: Path) -> None:
    _write(tmp_path / "more.txt", "idna<4\n")
    _write(tmp_path / "constraints.txt", "urllib3<2\n-r more.txt\n")
    path = _write(tmp_path / "requirements.txt", "--constraint=constraints.txt\nrequests\n")
    parsed = _parse(path)
    assert _specs(parsed.requirements) == ["requests"]
    assert _specs(parsed.constraints) == ["urllib3<2", "idna<4"]


def test_the_same_file_included_twice_without_a_loop_is_fine(tmp_path: Path) -> None:
    _write(tmp_path / "common.txt", "six\n")
    _write(tmp_path / "a.txt", "-r common.txt\n")
    path = _write(tmp_path / "requirements.txt", "-r a.txt\n-r common.txt\n")
    assert _specs(_parse(path).requirements) == ["six", "six"]


def test_include_loop_is_an_error_showing_the_chain(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.txt", "-r sub/b.txt\n")
    b = _write(tmp_path / "sub" / "b.txt", "-r ../a.txt\n")
    error = _input_error(a)
    assert "loop" in error.message
    assert f"{a.resolve()} -> {b.resolve()} -> {a.resolve()}" in error.message
    assert error.hint and "-r" in error.hint
    assert error.exit_code == 3


def test_missing_included_file_names_the_resolved_path_and_explains_relativity(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path / "reqs" / "requirements.txt", "-r nothere.txt\n")
    error = _input_error(path)
    assert str((tmp_path / "reqs" / "nothere.txt").resolve()) in error.message
    assert "not found" in error.message
    assert error.hint and "relative to the file that names them" in error.hint


def test_missing_top_level_file_is_an_input_error(tmp_path: Path) -> None:
    error = _input_error(tmp_path / "absent.txt")
    assert "requirements file not found" in error.message


def test_undecodable_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(b"six\xff\xfe\n")
    assert "cannot read requirements file" in _input_error(path).message


# --- environment variables -------------------------------------------------------------------


def test_environment_variables_are_expanded_in_requirements_and_options(tmp_path: Path) -> None:
    _write(tmp_path / "extra" / "more.txt", "idna\n")
    path = _write(
        tmp_path / "requirements.txt",
        """\
        --index-url https://${USER_NAME}:${TOKEN}@index.example/simple
        -r ${DIR}/more.txt
        pkg==${VERSION}
        other==${UNSET_VARIABLE}
        lower==${lower}
        """,
    )
    environ = {"USER_NAME": "me", "TOKEN": "s3cret", "DIR": "extra", "VERSION": "2.0"}
    with pytest.raises(InputError) as caught:
        _parse(path, environ)
    # ${UNSET_VARIABLE} stays as written, which is not a valid version: the error shows the text.
    assert "other==${UNSET_VARIABLE}" in caught.value.message
    path = _write(
        tmp_path / "requirements.txt",
        """\
        --index-url https://${USER_NAME}:${TOKEN}@index.example/simple
        -r ${DIR}/more.txt
        pkg==${VERSION}
        """,
    )
    parsed = _parse(path, environ)
    assert parsed.index.index_url == "https://me:s3cret@index.example/simple"
    assert _specs(parsed.requirements) == ["idna", "pkg==2.0"]
    assert parsed.requirements[1].text == "pkg==${VERSION}", "as written, for error messages"


def test_only_uppercase_braced_variables_are_expanded(tmp_path: Path) -> None:
    path = _write(tmp_path / "requirements.txt", "--extra-index-url https://$HOST/${lower}\n")
    parsed = _parse(path, {"HOST": "nope", "lower": "nope"})
    assert parsed.index.extra_index_urls == ["https://$HOST/${lower}"]


# --- hashes and markers ----------------------------------------------------------------------


def test_hashes_in_both_spellings_are_collected_per_package(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "requirements.txt",
        f"""\
        Six==1.16.0 --hash={SHA_A} --hash {SHA_B}
        idna==3.4
        """,
    )
    parsed = _parse(path)
    assert parsed.requirements[0].spec == "Six==1.16.0"
    assert parsed.requirements[0].hashes == [SHA_A, SHA_B]
    assert parsed.hashes() == {"six": [SHA_A, SHA_B]}


def test_hash_after_a_marker_belongs_to_the_requirement(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "requirements.txt",
        f"six==1.16.0 ; python_version >= '3.8' --hash={SHA_A}\n",
    )
    (line,) = _parse(path).requirements
    assert line.spec == "six==1.16.0 ; python_version >= '3.8'"
    assert line.hashes == [SHA_A]
    assert line.marker_variables == {"python_version"}


def test_malformed_hash_is_an_error_with_the_expected_form(tmp_path: Path) -> None:
    path = _write(tmp_path / "requirements.txt", "six==1.16.0 --hash=deadbeef\n")
    error = _input_error(path)
    assert "malformed hash 'deadbeef'" in error.message
    assert f"{path.resolve()}:1" in error.message
    assert error.hint == "write --hash=sha256:<hex digest>"


def test_other_options_after_a_requirement_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "requirements.txt", "six\npkg --install-option=--prefix=/x\n")
    error = _input_error(path)
    assert "unsupported option on a requirement: --install-option=--prefix=/x" in error.message
    assert f"{path.resolve()}:2" in error.message
    assert "pkg --install-option=--prefix=/x" in error.message


def test_marker_variables_are_collected_from_requirements_and_constraints(
    tmp_path: Path,
) -> None:
    _write(tmp_path / "c.txt", "urllib3<2 ; sys_platform == 'linux'\n")
    path = _write(
        tmp_path / "requirements.txt",
        """\
        -c c.txt
        armonly ; platform_machine == "aarch64" and python_version >= "3.9"
        tomli ; python_full_version < "3.11.0"
        pytest ; extra == "test"
        plain
        """,
    )
    parsed = _parse(path)
    assert parsed.requirements[0].marker_variables == {"platform_machine", "python_version"}
    assert parsed.requirements[3].marker_variables == set()
    assert marker_variables(parsed) == {
        "platform_machine",
        "python_version",
        "python_full_version",
        "sys_platform",
    }


# --- URLs, VCS, local paths ------------------------------------------------------------------


def test_direct_and_vcs_urls_are_kept_as_written(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "requirements.txt",
        """\
        https://files.example/pkgs/thing-1.0.tar.gz
        hg+https://hg.example/repo#egg=HgThing
        named @ https://files.example/named-1.0-py3-none-any.whl
        """,
    )
    lines = _parse(path).requirements
    assert [(line.kind, line.name) for line in lines] == [
        ("url", None),
        ("url", "hgthing"),
        ("url", "named"),
    ]
    assert lines[2].spec == "named @ https://files.example/named-1.0-py3-none-any.whl"


def test_local_paths_with_extras_and_markers_resolve_relative_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "reqs" / "libs" / "mine").mkdir(parents=True)
    (tmp_path / "dists").mkdir()
    archive = tmp_path / "dists" / "thing-1.0-py3-none-any.whl"
    archive.write_bytes(b"")
    path = _write(
        tmp_path / "reqs" / "requirements.txt",
        """\
        ./libs/mine[fast,cli] ; platform_machine == "x86_64"
        ../dists/thing-1.0-py3-none-any.whl
        libs/mine
        """,
    )
    monkeypatch.chdir(tmp_path / "dists")
    parsed = _parse(path)
    first, wheel, bare = parsed.requirements
    mine = (tmp_path / "reqs" / "libs" / "mine").resolve()
    assert (first.kind, first.path, first.spec) == ("path", mine, str(mine))
    assert first.suffix == '[fast,cli] ; platform_machine == "x86_64"'
    assert first.marker_variables == {"platform_machine"}
    assert (wheel.path, wheel.suffix) == (archive.resolve(), "")
    assert bare.path == mine
    assert parsed.local_projects() == [mine, mine]
    assert parsed.local_paths() == sorted({mine, archive.resolve()})


def test_missing_local_path_is_an_error_naming_where_it_was_looked_for(tmp_path: Path) -> None:
    path = _write(tmp_path / "reqs" / "requirements.txt", "./gone[x]\n")
    error = _input_error(path)
    assert f"local path not found: {(tmp_path / 'reqs' / 'gone').resolve()}" in error.message
    assert f"{path.resolve()}:1" in error.message
    assert error.hint and "relative to the requirements file" in error.hint


def test_invalid_marker_on_a_local_path_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    path = _write(tmp_path / "requirements.txt", "./mine ; platform_machine === nonsense\n")
    error = _input_error(path)
    assert "invalid marker" in error.message
    assert "./mine ; platform_machine === nonsense" in error.message


def test_editable_line_is_installed_normally_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    path = _write(tmp_path / "requirements.txt", "six\n-e ./mine\n")
    parsed = _parse(path)
    (warning,) = parsed.warnings
    assert warning.startswith(f"{path.resolve()}:2: -e ./mine ")
    assert "non-editable" in warning
    assert parsed.requirements[1].path == (tmp_path / "mine").resolve()
    assert parsed.requirements[1].text == "-e ./mine"


# --- index options ---------------------------------------------------------------------------


def test_index_options_are_collected_and_find_links_paths_resolved(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "reqs" / "requirements.txt",
        """\
        -i https://primary.example/simple
        --extra-index-url https://extra.example/simple
        --extra-index-url=https://second.example/simple
        -f ../wheels
        --find-links https://links.example/
        --trusted-host primary.example
        --no-index
        --pre
        --prefer-binary
        --only-binary :all:
        --no-binary=lxml
        six
        """,
    )
    index = _parse(path).index
    assert index.index_url == "https://primary.example/simple"
    assert index.extra_index_urls == [
        "https://extra.example/simple",
        "https://second.example/simple",
    ]
    assert index.find_links == [str((tmp_path / "wheels").resolve()), "https://links.example/"]
    assert index.trusted_hosts == ["primary.example"]
    assert (index.no_index, index.pre, index.prefer_binary) == (True, True, True)
    assert (index.only_binary, index.no_binary) == ([":all:"], ["lxml"])


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("--use-feature=fast-deps", "unsupported option --use-feature"),
        ("--frobnicate=1", "unsupported option --frobnicate"),
        ("-Z", "unsupported option -Z"),
        ("--index-url", "--index-url needs a value"),
        ("-r", "-r needs a value"),
        ('--find-links "unterminated', "cannot split the line"),
    ],
)
def test_unsupported_or_incomplete_options_name_file_line_and_text(
    tmp_path: Path, line: str, problem: str
) -> None:
    path = _write(tmp_path / "requirements.txt", "six\n\n" + line + "\n")
    error = _input_error(path)
    assert f"{path.resolve()}:3: {problem}" in error.message
    assert error.message.endswith(f"\n    {line}")
    assert error.hint


@pytest.mark.parametrize("line", ["six>=>1", "not a requirement", "six=1.0", "[extra]only"])
def test_invalid_pep_508_line_is_an_error_with_file_line_and_text(
    tmp_path: Path, line: str
) -> None:
    path = _write(tmp_path / "requirements.txt", f"# header\n{line}\n")
    error = _input_error(path)
    assert f"{path.resolve()}:2: invalid requirement" in error.message
    assert line in error.message
    assert error.hint and "PEP 508" in error.hint


# --- flattening ------------------------------------------------------------------------------


def test_flatten_maps_local_paths_keeps_hashes_and_points_at_constraints(tmp_path: Path) -> None:
    (tmp_path / "libs" / "mine").mkdir(parents=True)
    _write(tmp_path / "constraints.txt", "urllib3<2\n./libs/mine\n")
    path = _write(
        tmp_path / "requirements.txt",
        f"""\
        -c constraints.txt
        --index-url https://secret:token@index.example/simple
        six==1.16.0 --hash={SHA_A} --hash={SHA_B}
        ./libs/mine[cli] ; python_version >= "3.9"
        """,
    )
    parsed = _parse(path)
    mine = str((tmp_path / "libs" / "mine").resolve())
    mapping = {mine: "/lambda-builder/inputs/0/mine"}
    requirements, constraints = flatten(
        parsed, lambda local: mapping[str(local)], "/lambda-builder/c.txt"
    )
    assert requirements == (
        "-c /lambda-builder/c.txt\n"
        f"six==1.16.0 --hash={SHA_A} --hash={SHA_B}\n"
        '/lambda-builder/inputs/0/mine[cli] ; python_version >= "3.9"\n'
    )
    assert constraints == "urllib3<2\n/lambda-builder/inputs/0/mine\n"
    assert "token" not in requirements, "index options travel in the environment"


def test_flatten_without_constraints_has_no_constraints_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "requirements.txt", "six\n")
    requirements, constraints = flatten(_parse(path), str, "/c.txt")
    assert requirements == "six\n"
    assert constraints == "\n"


def test_parse_reads_the_process_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMBDA_BUILDER_TEST_VERSION", "1.2.3")
    path = _write(tmp_path / "requirements.txt", "pkg==${LAMBDA_BUILDER_TEST_VERSION}\n")
    assert _specs(parse_requirements(path).requirements) == ["pkg==1.2.3"]
