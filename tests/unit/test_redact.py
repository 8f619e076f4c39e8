"""Credentials never reach a log line, a report or an error message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from builder import redact as redact_module
from builder.redact import redact, register_secret, secrets_in_url


@pytest.fixture(autouse=True)
def no_registered_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(redact_module, "_SECRETS", set())
    yield


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Looking in indexes: https://alice:s3cr3t@pypi.example/simple",
            "Looking in indexes: https://alice:****@pypi.example/simple",
        ),
        ("git+https://ghp_token123@github.com/org/repo", "git+https://****@github.com/org/repo"),
        ("http://user:@host/x", "http://user:****@host/x"),
        ("https://pypi.org/simple", "https://pypi.org/simple"),
        ("mail me at someone@example.com", "mail me at someone@example.com"),
        (
            "a https://u:p1@one/ and https://u:p2@two/",
            "a https://u:****@one/ and https://u:****@two/",
        ),
    ],
)
def test_credentials_in_urls_are_hidden_and_hosts_kept(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_registered_secret_is_hidden_wherever_it_appears() -> None:
    register_secret("hunter2-token")
    assert redact("Authorization: Bearer hunter2-token; again hunter2-token") == (
        "Authorization: Bearer ****; again ****"
    )


def test_longer_secret_is_replaced_before_a_shorter_one_inside_it() -> None:
    register_secret("abcd")
    register_secret("abcdefgh")
    assert redact("x abcdefgh y abcd") == "x **** y ****"


def test_very_short_values_are_not_registered_so_text_stays_readable() -> None:
    register_secret("abc")
    register_secret("")
    assert redact("abc abc") == "abc abc"


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("https://alice:s3cr3t@pypi.example/simple", ["s3cr3t"]),
        ("https://token-only@pypi.example/simple", ["token-only"]),
        ("https://pypi.example/simple", []),
        ("http://proxy.example:3128", []),
    ],
)
def test_secrets_in_url_is_the_password_or_else_the_token(url: str, secrets: list[str]) -> None:
    assert secrets_in_url(url) == secrets
