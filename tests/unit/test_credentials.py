"""Index credentials from URLs, tool variables, netrc and keyring; SSH agent forwarding."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from builder.credentials import (
    Credentials,
    complete_pip_env,
    complete_url,
    expand_variables,
    named_index_credentials,
    poetry_variable_name,
    ssh_forwarding,
    uv_variable_name,
)
from builder.errors import UsageError
from builder.inputs.indexes import poetry_indexes, uv_indexes
from builder.redact import redact


@pytest.fixture
def netrc_file(tmp_path: Path) -> Path:
    path = tmp_path / "netrc"
    path.write_text(
        "machine corp.example login deploy password n3trc-pa55\n"
        "default login anyone password d3fault-pa55\n"
    )
    path.chmod(0o600)
    return path


def test_netrc_entry_for_the_host_is_put_in_the_url(netrc_file: Path) -> None:
    url = complete_url("https://corp.example/simple/", environ={"NETRC": str(netrc_file)})
    assert url == "https://deploy:n3trc-pa55@corp.example/simple/"
    assert "n3trc-pa55" not in redact(f"log line {url} and n3trc-pa55 alone")


def test_netrc_default_entry_is_never_sent_to_other_hosts(netrc_file: Path) -> None:
    url = complete_url("https://pypi.org/simple/", environ={"NETRC": str(netrc_file)})
    assert url == "https://pypi.org/simple/"


def test_credentials_given_for_the_same_host_are_reused(tmp_path: Path) -> None:
    # A CodeArtifact token on --index-url also serves the lock's copy of the URL.
    token_url = "https://aws:T0KEN%2Fx@dom-1.d.codeartifact.us-east-1.amazonaws.com/pypi/r/simple/"
    bare = "https://dom-1.d.codeartifact.us-east-1.amazonaws.com/pypi/r/simple"
    env = complete_pip_env(
        {"PIP_INDEX_URL": token_url, "PIP_EXTRA_INDEX_URL": bare}, {"NETRC": str(tmp_path / "none")}
    )
    assert env["PIP_EXTRA_INDEX_URL"] == bare.replace("https://", "https://aws:T0KEN%2Fx@")
    assert "T0KEN/x" not in redact("the token T0KEN/x")


def test_url_credentials_win_over_netrc(netrc_file: Path) -> None:
    url = "https://me:mine@corp.example/simple/"
    assert complete_url(url, environ={"NETRC": str(netrc_file)}) == url


def test_find_links_paths_are_left_alone(netrc_file: Path) -> None:
    env = complete_pip_env(
        {"PIP_FIND_LINKS": "/lambda-builder/inputs/0/wheels"}, {"NETRC": str(netrc_file)}
    )
    assert env == {"PIP_FIND_LINKS": "/lambda-builder/inputs/0/wheels"}


def test_tool_variable_names_follow_uv_and_poetry() -> None:
    assert uv_variable_name("my-corp.index") == "MY_CORP_INDEX"
    assert poetry_variable_name("my-corp") == "MY_CORP"


def test_uv_index_credentials_come_from_its_variables() -> None:
    pyproject = {
        "tool": {
            "uv": {
                "index": [
                    {"name": "corp-index", "url": "https://corp.example/simple/", "default": True}
                ]
            }
        }
    }
    environ = {"UV_INDEX_CORP_INDEX_USERNAME": "me", "UV_INDEX_CORP_INDEX_PASSWORD": "p@ss:w/rd"}
    [index] = uv_indexes(pyproject, environ)
    assert index.url == "https://me:p%40ss%3Aw%2Frd@corp.example/simple/"
    assert index.default and index.name == "corp-index"
    assert "p@ss:w/rd" not in redact("p@ss:w/rd") and "p%40ss" not in redact("p%40ss%3Aw%2Frd")


def test_poetry_sources_use_http_basic_variables_and_first_primary_replaces_pypi() -> None:
    pyproject = {
        "tool": {
            "poetry": {
                "source": [
                    {"name": "corp", "url": "https://corp.example/simple/", "priority": "primary"},
                    {
                        "name": "extra",
                        "url": "https://extra.example/simple/",
                        "priority": "supplemental",
                    },
                    {"name": "PyPI", "priority": "primary"},
                ]
            }
        }
    }
    environ = {"POETRY_HTTP_BASIC_CORP_USERNAME": "u", "POETRY_HTTP_BASIC_CORP_PASSWORD": "pw1234"}
    corp, extra, pypi = poetry_indexes(pyproject, environ)
    assert corp.url == "https://u:pw1234@corp.example/simple/" and corp.default
    assert not extra.default and not pypi.default
    assert pypi.url == "https://pypi.org/simple/"


def test_named_credentials_absent_gives_none() -> None:
    assert named_index_credentials("UV_INDEX_X_", {}) is None


def test_pipfile_variables_are_expanded_and_encoded_in_userinfo() -> None:
    url = expand_variables(
        "https://${USER_X}:${PASS_X}@corp.example/${PATH_X}/simple",
        {"USER_X": "me", "PASS_X": "a/b@c", "PATH_X": "x/y"},
    )
    assert url == "https://me:a%2Fb%40c@corp.example/x/y/simple"


@pytest.fixture
def agent_socket(tmp_path: Path) -> Iterator[str]:
    path = str(tmp_path / "agent.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    yield path
    server.close()


def test_ssh_agent_socket_is_mounted_never_a_key(agent_socket: str, tmp_path: Path) -> None:
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "known_hosts").write_text("github.com ssh-ed25519 AAAA\n")
    (tmp_path / ".ssh" / "id_ed25519").write_text("PRIVATE KEY\n")
    forwarding = ssh_forwarding(
        {"SSH_AUTH_SOCK": agent_socket, "HOME": str(tmp_path)},
        engine_is_local=True,
        platform="linux",
    )
    assert set(forwarding.volumes) == {agent_socket, str(tmp_path / ".ssh" / "known_hosts")}
    assert forwarding.environment["SSH_AUTH_SOCK"] == "/run/lambda-builder-ssh/agent.sock"
    assert "StrictHostKeyChecking=yes" in forwarding.environment["GIT_SSH_COMMAND"]
    assert forwarding.warnings == []


def test_ssh_without_known_hosts_warns(agent_socket: str, tmp_path: Path) -> None:
    forwarding = ssh_forwarding(
        {"SSH_AUTH_SOCK": agent_socket, "HOME": str(tmp_path)},
        engine_is_local=True,
        platform="linux",
    )
    assert "accept-new" in forwarding.environment["GIT_SSH_COMMAND"]
    assert "known_hosts" in forwarding.warnings[0]


def test_ssh_on_docker_desktop_for_mac_uses_its_forwarded_agent(tmp_path: Path) -> None:
    forwarding = ssh_forwarding({"HOME": str(tmp_path)}, engine_is_local=True, platform="darwin")
    assert "/run/host-services/ssh-auth.sock" in forwarding.volumes


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "SSH_AUTH_SOCK is not set"),
        ({"SSH_AUTH_SOCK": "/nonexistent/agent"}, "is not a socket"),
    ],
)
def test_ssh_without_an_agent_is_a_clear_error(environ: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        ssh_forwarding(environ, engine_is_local=True, platform="linux")
    assert "ssh-add" in (caught.value.hint or "")


def test_ssh_with_a_remote_engine_is_refused(agent_socket: str) -> None:
    with pytest.raises(UsageError, match="remote engine"):
        ssh_forwarding({"SSH_AUTH_SOCK": agent_socket}, engine_is_local=False, platform="linux")


class Keyring:
    """A keyring with one entry per (service, username); records what it was asked."""

    def __init__(self, entries: dict[tuple[str, str | None], Credentials]):
        self.entries = entries
        self.asked: list[tuple[str, str | None]] = []

    def __call__(self, url: str, username: str | None) -> Credentials | None:
        self.asked.append((url, username))
        return self.entries.get((url, username))


INDEX = "https://corp.example/simple/"


def test_keyring_fills_a_url_nothing_else_gives_credentials(tmp_path: Path) -> None:
    keyring = Keyring({(INDEX, None): Credentials("aws", "k3y/ring:pa55")})
    url = complete_url(INDEX, environ={"NETRC": str(tmp_path / "none")}, keyring=keyring)
    assert url == "https://aws:k3y%2Fring%3Apa55@corp.example/simple/"
    assert "k3y" not in redact(f"{url} k3y/ring:pa55 k3y%2Fring%3Apa55")


def test_url_same_host_and_netrc_credentials_win_over_keyring(netrc_file: Path) -> None:
    keyring = Keyring({(INDEX, None): Credentials("aws", "from-keyring")})
    environ = {"NETRC": str(netrc_file)}
    assert "n3trc-pa55" in complete_url(INDEX, environ=environ, keyring=keyring)
    own = "https://me:mine@corp.example/simple/"
    assert complete_url(own, environ=environ, keyring=keyring) == own
    env = complete_pip_env(
        {
            "PIP_INDEX_URL": "https://aws:T0KEN@other.example/a/",
            "PIP_EXTRA_INDEX_URL": "https://other.example/b/",
        },
        environ,
        keyring,
    )
    assert env["PIP_EXTRA_INDEX_URL"] == "https://aws:T0KEN@other.example/b/"
    assert keyring.asked == []


def test_a_user_name_without_password_asks_keyring_for_that_user(tmp_path: Path) -> None:
    # pip's subprocess provider documents this form: https://oauth2accesstoken@host/...
    keyring = Keyring({(INDEX, "oauth2accesstoken"): Credentials("oauth2accesstoken", "ya29.t0k")})
    environ = {"NETRC": str(tmp_path / "none")}
    url = complete_url(
        INDEX.replace("//", "//oauth2accesstoken@"), environ=environ, keyring=keyring
    )
    assert url == "https://oauth2accesstoken:ya29.t0k@corp.example/simple/"
    token = "https://gh-T0KEN-1234@corp.example/simple/"  # a token as the user name stays
    assert complete_url(token, environ=environ, keyring=keyring) == token
    assert keyring.asked == [(INDEX, "oauth2accesstoken"), (INDEX, "gh-T0KEN-1234")]


def test_keyring_is_not_asked_about_paths(tmp_path: Path) -> None:
    keyring = Keyring({})
    env = complete_pip_env(
        {"PIP_FIND_LINKS": "/lambda-builder/inputs/wheels file:///srv/wheels"},
        {"NETRC": str(tmp_path / "none")},
        keyring,
    )
    assert env["PIP_FIND_LINKS"] == "/lambda-builder/inputs/wheels file:///srv/wheels"
    assert keyring.asked == []
