"""The keychain facade: the only code that talks to `keyring`.

Keychains fail in many ways — no backend at all (`keyring.backends.fail`, what a headless Linux gets), a
locked keychain, a D-Bus Secret Service that does not answer, a backend that cannot start — and each
library raises something different. Here every one of them becomes one `SecretStoreError` with a message
and a hint a person can act on, so the app shows a sentence instead of a traceback and the CLI exits with
the "not configured" code.

Secret values never leave this module except as `pydantic.SecretStr` (whose str/repr is masked), and
are never logged or put into an exception — not even a backend's own exception text, which is dropped
from the error chain.

Backends that would store secrets unencrypted (keyrings.alt's `PlaintextKeyring`) or silently drop them
(`keyring.backends.null`) are refused unless the user opts in with `CRONMIRROR_ALLOW_INSECURE_KEYRING=1`.

`keyring` itself is imported at the first keychain access, not with this module: the app's start on the
embedded store reads no secret and should not pay for it.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from pydantic import SecretStr

from cronmirror_desktop.core.errors import InvalidValue, SecretStoreError

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

KEYRING_SERVICE = "CronMirror"
ENV_ALLOW_INSECURE = "CRONMIRROR_ALLOW_INSECURE_KEYRING"

T = TypeVar("T")


class SecretName(StrEnum):
    """The secrets CronMirror keeps; the value is the keychain account name under `KEYRING_SERVICE`."""

    ANON_KEY = "supabase_anon_key"
    SERVICE_ROLE_KEY = "supabase_service_role_key"
    CONTROL_API_TOKEN = "control_api_token"  # noqa: S105 - an account name, not a password

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    SecretName.ANON_KEY: "the Supabase anon key",
    SecretName.SERVICE_ROLE_KEY: "the Supabase service-role key",
    SecretName.CONTROL_API_TOKEN: "the Control API token",
}

#: Account used to ask "can this keychain be read at all?" without touching a real secret.
_PROBE_ACCOUNT = "cronmirror-probe"


@dataclass(frozen=True)
class KeychainStatus:
    """Whether secrets can be kept in the keychain, and if not, why (for Settings and `doctor`)."""

    usable: bool
    backend: str | None
    message: str | None = None
    hint: str | None = None


def backend_name(backend: KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _platform_hint() -> str:
    if sys.platform == "darwin":
        return "Open Keychain Access and check that your login keychain exists and is unlocked."
    if sys.platform == "win32":
        return "Check that Windows Credential Manager is available for your account."
    return (
        "Start and unlock a Secret Service (GNOME Keyring or KWallet), or set the keys as environment "
        "variables instead (SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY, CONTROL_API_TOKEN). To accept an "
        f"unencrypted key file, install keyrings.alt and set {ENV_ALLOW_INSECURE}=1."
    )


def _refusal(backend: KeyringBackend, allow_insecure: bool) -> SecretStoreError | None:
    """Why `backend` must not be used, or None. Chained backends are checked member by member."""
    from keyring.backend import KeyringBackend

    members = getattr(backend, "backends", None)
    if isinstance(members, list | tuple) and members:
        for member in members:
            if isinstance(member, KeyringBackend) and (refusal := _refusal(member, allow_insecure)):
                return refusal
        return None
    name = backend_name(backend)
    if type(backend).__module__ == "keyring.backends.null":
        return SecretStoreError(
            f"The keychain is switched off for Python ({name}): keys would be silently dropped.",
            "Remove the keyring configuration that selects keyring.backends.null, or set the keys as "
            "environment variables.",
        )
    if "plaintext" in type(backend).__qualname__.lower() and not allow_insecure:
        return SecretStoreError(
            f"The only keychain available ({name}) stores keys unencrypted in a file, so CronMirror "
            "does not use it.",
            "Set the keys as environment variables, or accept the unencrypted file with "
            f"{ENV_ALLOW_INSECURE}=1.",
        )
    return None


def _describe_failure(exc: Exception, action: str) -> SecretStoreError:
    """One user-facing error for any backend exception. Never includes the exception's own text."""
    import keyring.errors

    kind = type(exc)
    module = kind.__module__ or ""
    hint = _platform_hint()
    if isinstance(exc, keyring.errors.NoKeyringError):
        message = f"No system keychain is available on this machine, so CronMirror could not {action}."
    elif isinstance(exc, keyring.errors.KeyringLocked):
        message = f"The keychain is locked, so CronMirror could not {action}."
        hint = "Unlock your keychain (it usually asks for your login password) and try again."
    elif isinstance(exc, keyring.errors.InitError):
        message = f"The keychain could not be opened ({kind.__name__}), so CronMirror could not {action}."
    elif module.split(".")[0] in {"jeepney", "secretstorage", "dbus"} or "dbus" in kind.__name__.lower():
        message = (
            f"The Secret Service (D-Bus) did not answer ({kind.__name__}), so CronMirror could not {action}."
        )
    elif isinstance(exc, keyring.errors.KeyringError):
        message = f"The keychain refused to {action} ({kind.__name__})."
    else:
        message = f"The keychain failed while trying to {action} ({kind.__name__})."
    return SecretStoreError(message, hint)


class SecretStore:
    """Read, write and delete CronMirror's secrets in the OS keychain.

    The backend is resolved lazily, once per instance, under a lock (keyring's own discovery imports every
    backend and may talk to D-Bus), unless one is passed in. Every method either succeeds or raises
    `SecretStoreError`; `status()` never raises. Safe to share between threads.
    """

    def __init__(
        self,
        backend: KeyringBackend | None = None,
        *,
        service: str = KEYRING_SERVICE,
        allow_insecure: bool | None = None,
    ) -> None:
        self._service = service
        self._backend = backend
        self._load_error: SecretStoreError | None = None
        self._loaded = backend is not None
        if allow_insecure is None:
            allow_insecure = os.environ.get(ENV_ALLOW_INSECURE, "").strip().lower() in {"1", "true", "yes"}
        self._allow_insecure = allow_insecure
        self._lock = threading.RLock()
        if backend is not None:
            self._check_backend(backend)

    def __repr__(self) -> str:
        return f"SecretStore(service={self._service!r}, backend={self.backend_name!r})"

    @property
    def backend_name(self) -> str | None:
        """The backend's class path once it is loaded (None before, or when loading failed)."""
        return backend_name(self._backend) if self._backend is not None else None

    # -- backend -------------------------------------------------------------------------------------

    def _check_backend(self, backend: KeyringBackend) -> None:
        self._load_error = _refusal(backend, self._allow_insecure)
        priority = getattr(backend, "priority", "?")
        log.debug("keyring backend: %s (priority %s)", backend_name(backend), priority)

    def _resolve(self) -> KeyringBackend:
        with self._lock:
            if not self._loaded:
                self._loaded = True
                error: SecretStoreError | None = None
                try:
                    import keyring

                    self._backend = keyring.get_keyring()
                except Exception as exc:
                    log.debug("keyring backend failed to load: %s", type(exc).__name__)
                    error = _describe_failure(exc, "open the keychain")
                if error is not None:
                    self._load_error = error
                elif self._backend is not None:
                    self._check_backend(self._backend)
            if self._load_error is not None:
                raise SecretStoreError(self._load_error.message, self._load_error.hint)
            assert self._backend is not None
            return self._backend

    def _call(self, action: str, operation: Callable[[KeyringBackend], T]) -> T:
        """Run `operation` on the backend; any exception becomes a `SecretStoreError` without a chain."""
        with self._lock:
            backend = self._resolve()
            error: SecretStoreError | None = None
            try:
                return operation(backend)
            except Exception as exc:
                # Only the type: a backend's message could quote what it was given.
                log.debug("keyring %s failed: %s", backend_name(backend), type(exc).__name__)
                error = _describe_failure(exc, action)
            # Raised outside the except block, so neither __cause__ nor __context__ holds the original.
            raise error

    # -- secrets -------------------------------------------------------------------------------------

    def get(self, name: SecretName) -> SecretStr | None:
        """The stored secret, or None when it is not stored. Raises `SecretStoreError`."""
        name = SecretName(name)
        value = self._call(
            f"read {name.label}", lambda backend: backend.get_password(self._service, name.value)
        )
        log.debug("keychain read %s: %s", name.value, "found" if value else "not stored")
        return SecretStr(value) if value else None

    def set(self, name: SecretName, value: str | SecretStr) -> None:
        """Store `value` (surrounding whitespace removed). Raises `InvalidValue` for an empty value."""
        name = SecretName(name)
        plain = value.get_secret_value() if isinstance(value, SecretStr) else value
        plain = (plain or "").strip()
        if not plain:
            raise InvalidValue(
                f"{name.label.capitalize()} is empty.", "Paste the whole key, or remove it instead."
            )
        self._call(
            f"store {name.label}", lambda backend: backend.set_password(self._service, name.value, plain)
        )
        log.debug("keychain stored %s", name.value)

    def delete(self, name: SecretName) -> bool:
        """Remove the secret; False when there was none. Raises `SecretStoreError`."""
        name = SecretName(name)

        def operation(backend: KeyringBackend) -> bool:
            # Backends signal "not there" with PasswordDeleteError, which is also their generic
            # failure: look first, so only real failures reach the error mapping.
            if backend.get_password(self._service, name.value) is None:
                return False
            backend.delete_password(self._service, name.value)
            return True

        removed = self._call(f"remove {name.label}", operation)
        log.debug("keychain delete %s: %s", name.value, "removed" if removed else "was not stored")
        return removed

    def status(self) -> KeychainStatus:
        """Can secrets be kept here? Reads a probe entry that never holds a secret; never raises."""
        try:
            self._call(
                "read the keychain", lambda backend: backend.get_password(self._service, _PROBE_ACCOUNT)
            )
        except SecretStoreError as exc:
            return KeychainStatus(False, self.backend_name, exc.message, exc.hint)
        return KeychainStatus(True, self.backend_name)
