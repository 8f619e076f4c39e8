"""A keyring backend for tests: secrets in the JSON file named by LAMBDA_BUILDER_TEST_KEYRING.

Select it the way a user selects a backend::

    PYTHON_KEYRING_BACKEND=tests.support.json_keyring.JsonKeyring
    PYTHONPATH=<repository root>

The file holds ``{"entries": [{"service", "username", "password"}], "fail": "message"}``;
with ``fail`` set every lookup raises, like a locked or logged-out backend. Every question is
appended to ``asked`` in the file, so a test can count them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend
from keyring.credentials import SimpleCredential
from keyring.errors import KeyringError, PasswordSetError

VARIABLE = "LAMBDA_BUILDER_TEST_KEYRING"


def write_keyring(path: Path, entries: list[dict[str, str]], fail: str | None = None) -> Path:
    path.write_text(json.dumps({"entries": entries, "fail": fail, "asked": []}))
    return path


def asked(path: Path) -> list[list[str | None]]:
    return list(json.loads(path.read_text())["asked"])


class JsonKeyring(KeyringBackend):
    priority = 20  # above every real backend, in case the environment does not name it

    def _load(self, service: str, username: str | None) -> dict[str, Any]:
        path = Path(os.environ[VARIABLE])
        data: dict[str, Any] = json.loads(path.read_text())
        data["asked"].append([service, username])
        path.write_text(json.dumps(data))
        if data.get("fail"):
            raise KeyringError(data["fail"])
        return data

    def get_credential(self, service: str, username: str | None) -> SimpleCredential | None:
        for entry in self._load(service, username)["entries"]:
            if entry["service"] == service and username in (None, entry["username"]):
                return SimpleCredential(entry["username"], entry["password"])
        return None

    def get_password(self, service: str, username: str) -> str | None:
        found = self.get_credential(service, username)
        return found.password if found is not None else None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError("read-only test keyring")

    def delete_password(self, service: str, username: str) -> None:
        raise PasswordSetError("read-only test keyring")
