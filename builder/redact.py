"""Removing credentials from anything that is about to be shown or written."""

from __future__ import annotations

import re

# user:password@ and token@ in URLs; the password or token is replaced, the host kept.
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
_SECRETS: set[str] = set()


def register_secret(value: str) -> None:
    """Remember a value (a password, a token) that must never be printed."""
    if len(value) >= 4:
        _SECRETS.add(value)


def registered_secrets() -> frozenset[str]:
    """Every value registered so far: what must not reach an artifact either."""
    return frozenset(_SECRETS)


def secrets_in_url(url: str) -> list[str]:
    match = _URL_USERINFO.search(url)
    if not match:
        return []
    user, _sep, password = match.group("userinfo").partition(":")
    return [password] if password else [user]


def redact(text: str) -> str:
    def hide(match: re.Match[str]) -> str:
        user, sep, _password = match.group("userinfo").partition(":")
        return f"{match.group('scheme')}{user if sep else '****'}{':****' if sep else ''}@"

    text = _URL_USERINFO.sub(hide, text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "****")
    return text
