"""The keychain facade: every backend failure becomes one clear error, and no secret ever leaks."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import jeepney.wrappers
import keyring
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import pytest
import secretstorage.exceptions
from keyring.backend import KeyringBackend

from cronmirror_desktop.core.errors import InvalidValue, SecretStoreError
from cronmirror_desktop.core.secrets import ENV_ALLOW_INSECURE, KEYRING_SERVICE, SecretName, SecretStore
from tests.keyring_memory import MemoryKeyring

REPO_ROOT = Path(__file__).resolve().parents[1]
SECRET = "eyJhbGciOiJIUzI1NiJ9.service-role-very-secret-value"


class RaisingKeyring(KeyringBackend):
    """Raises `error` from every operation, with the secret in the exception text (as a careless backend
    might) so the tests can check it is never passed on."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error

    def delete_password(self, service: str, username: str) -> None:
        raise self.error


class PlaintextKeyring(MemoryKeyring):
    """Stands in for keyrings.alt.file.PlaintextKeyring (same class name, which is what is checked)."""


def _dbus_error() -> Exception:
    message = SimpleNamespace(header=SimpleNamespace(fields={}), body=(f"timeout {SECRET}",))
    return jeepney.wrappers.DBusErrorResponse(message)


# -- working keychain -----------------------------------------------------------------------------


def test_set_get_delete_round_trip(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()
    assert store.get(SecretName.ANON_KEY) is None
    store.set(SecretName.ANON_KEY, f"  {SECRET}\n")
    assert memory_keyring.entries == {(KEYRING_SERVICE, "supabase_anon_key"): SECRET}
    value = store.get(SecretName.ANON_KEY)
    assert value is not None
    assert value.get_secret_value() == SECRET
    assert SECRET not in repr(value)
    assert SECRET not in str(value)
    assert store.delete(SecretName.ANON_KEY) is True
    assert store.delete(SecretName.ANON_KEY) is False
    assert store.get(SecretName.ANON_KEY) is None
    assert store.status().usable


def test_an_empty_secret_is_refused(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(InvalidValue, match="empty"):
        SecretStore().set(SecretName.CONTROL_API_TOKEN, "   ")
    assert memory_keyring.entries == {}


def test_the_backend_is_loaded_lazily_once_under_a_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    backend = MemoryKeyring()
    backend.entries[(KEYRING_SERVICE, "supabase_anon_key")] = SECRET

    def slow_get_keyring() -> KeyringBackend:
        calls.append(threading.current_thread().name)
        time.sleep(0.05)  # keyring's discovery is slow; a second thread must wait, not load again
        return backend

    monkeypatch.setattr(keyring, "get_keyring", slow_get_keyring)
    store = SecretStore()
    assert calls == []
    assert store.backend_name is None
    results: list[str | None] = []

    def read() -> None:
        value = store.get(SecretName.ANON_KEY)
        results.append(value.get_secret_value() if value else None)

    threads = [threading.Thread(target=read, name=f"reader-{n}") for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(calls) == 1
    assert results == [SECRET] * 8
    assert store.backend_name == "tests.keyring_memory.MemoryKeyring"


def test_backend_name_is_logged_at_debug_and_secrets_never(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        store = SecretStore()
        store.set(SecretName.SERVICE_ROLE_KEY, SECRET)
        assert store.get(SecretName.SERVICE_ROLE_KEY) is not None
        store.delete(SecretName.SERVICE_ROLE_KEY)
    assert "keyring backend: tests.keyring_memory.MemoryKeyring" in caplog.text
    assert "supabase_service_role_key" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in repr(store)


# -- failing keychains ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (keyring.errors.NoKeyringError(f"no backend {SECRET}"), "No system keychain is available"),
        (keyring.errors.KeyringLocked(f"locked {SECRET}"), "The keychain is locked"),
        (keyring.errors.InitError(f"init {SECRET}"), "could not be opened (InitError)"),
        (keyring.errors.PasswordSetError(f"set {SECRET}"), "The keychain refused to"),
        (secretstorage.exceptions.SecretServiceNotAvailableException(SECRET), "Secret Service (D-Bus)"),
        (secretstorage.exceptions.LockedException(SECRET), "Secret Service (D-Bus)"),
        (_dbus_error(), "Secret Service (D-Bus) did not answer (DBusErrorResponse)"),
        (RuntimeError(f"boom {SECRET}"), "failed while trying to"),
        (ValueError(SECRET), "(ValueError)"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_every_backend_error_becomes_one_clear_error_without_the_secret(
    error: Exception, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = SecretStore(RaisingKeyring(error))
    raised: list[SecretStoreError] = []
    with caplog.at_level(logging.DEBUG):
        for operation in (
            lambda: store.set(SecretName.SERVICE_ROLE_KEY, SECRET),
            lambda: store.get(SecretName.SERVICE_ROLE_KEY),
            lambda: store.delete(SecretName.SERVICE_ROLE_KEY),
        ):
            with pytest.raises(SecretStoreError) as info:
                operation()
            raised.append(info.value)
    for exc in raised:
        assert expected in exc.message
        assert exc.hint
        assert exc.__cause__ is None
        assert exc.__context__ is None
        for text in (str(exc), repr(exc), exc.message, exc.hint, repr(exc.args)):
            assert SECRET not in text
    assert "the Supabase service-role key" in raised[0].message
    assert SECRET not in caplog.text
    status = store.status()
    assert status.usable is False
    assert status.message
    assert expected in status.message


def test_the_machines_fail_keyring_is_reported_with_what_to_do() -> None:
    store = SecretStore(keyring.backends.fail.Keyring())
    with pytest.raises(SecretStoreError) as info:
        store.get(SecretName.ANON_KEY)
    assert info.value.message.startswith("No system keychain is available on this machine")
    if sys.platform.startswith("linux"):
        assert "SUPABASE_ANON_KEY" in info.value.hint
        assert ENV_ALLOW_INSECURE in info.value.hint
    status = store.status()
    assert (status.usable, status.backend) == (False, "keyring.backends.fail.Keyring")


def test_a_backend_that_cannot_start_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> KeyringBackend:
        raise keyring.errors.InitError(f"dbus: {SECRET}")

    monkeypatch.setattr(keyring, "get_keyring", broken)
    store = SecretStore()
    with pytest.raises(SecretStoreError, match="could not be opened") as info:
        store.get(SecretName.ANON_KEY)
    assert SECRET not in str(info.value)
    assert store.status().usable is False
    assert store.backend_name is None


def test_the_null_backend_is_refused_because_it_drops_secrets(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore(keyring.backends.null.Keyring())
    with pytest.raises(SecretStoreError, match="switched off"):
        store.set(SecretName.ANON_KEY, SECRET)
    assert not store.status().usable


@pytest.mark.parametrize("opt_in", [None, "env", "argument"])
def test_a_plaintext_backend_needs_an_explicit_opt_in(
    opt_in: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if opt_in == "env":
        monkeypatch.setenv(ENV_ALLOW_INSECURE, "1")
    backend = PlaintextKeyring()
    store = SecretStore(backend, allow_insecure=True if opt_in == "argument" else None)
    if opt_in is None:
        with pytest.raises(SecretStoreError, match="unencrypted") as info:
            store.set(SecretName.ANON_KEY, SECRET)
        assert ENV_ALLOW_INSECURE in info.value.hint
        assert backend.entries == {}
    else:
        store.set(SecretName.ANON_KEY, SECRET)
        assert backend.entries


def test_a_chain_that_contains_a_plaintext_backend_is_refused() -> None:
    class Chain(MemoryKeyring):
        def __init__(self) -> None:
            super().__init__()
            self.backends = [MemoryKeyring(), PlaintextKeyring()]

    assert SecretStore(Chain()).status().usable is False
    assert SecretStore(Chain(), allow_insecure=True).status().usable is True


# -- in other processes, through keyring's own configuration --------------------------------------


def _run_status(backend: str | None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    if backend:
        env["PYTHON_KEYRING_BACKEND"] = backend
    code = (
        "import json; from cronmirror_desktop.core.secrets import SecretStore, SecretName\n"
        "s = SecretStore(); st = s.status()\n"
        "print(json.dumps({'usable': st.usable, 'backend': st.backend, 'message': st.message}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_subprocesses_select_the_memory_backend_by_environment() -> None:
    assert _run_status("tests.keyring_memory.MemoryKeyring") == {
        "usable": True,
        "backend": "tests.keyring_memory.MemoryKeyring",
        "message": None,
    }


def test_subprocess_with_the_fail_backend_reports_instead_of_crashing() -> None:
    result = _run_status("keyring.backends.fail.Keyring")
    assert result["usable"] is False
    assert result["backend"] == "keyring.backends.fail.Keyring"
    assert str(result["message"]).startswith("No system keychain is available")


def test_whatever_this_machine_selects_status_answers_without_raising() -> None:
    """On this Debian image keyring picks `fail.Keyring`; on a Mac it is the Keychain."""
    result = _run_status(None)
    assert isinstance(result["usable"], bool)
    if result["backend"] == "keyring.backends.fail.Keyring":
        assert result["usable"] is False
        assert str(result["message"]).startswith("No system keychain is available")
