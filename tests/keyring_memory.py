"""An in-memory keyring backend for tests: no keychain prompts, no D-Bus, nothing left behind.

Installed for every test by the autouse fixture in `conftest.py`; subprocesses get it with
`PYTHON_KEYRING_BACKEND=tests.keyring_memory.MemoryKeyring` and the repository root on `PYTHONPATH`.
"""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """A dict. `priority` is high so keyring would pick it, but tests install it explicitly anyway."""

    priority = 100  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise PasswordDeleteError("not found") from None
