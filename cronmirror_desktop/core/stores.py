"""Which Store to open for a configuration: the one decision the app, the CLI and the worker share."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from cronmirror_desktop.core.config import EffectiveConfig
from cronmirror_desktop.core.localstore import LocalStore
from cronmirror_desktop.core.store import Store


def open_store(
    config: EffectiveConfig,
    *,
    role: Literal["anon", "service_role"] = "anon",
    local: bool = False,
    local_path: Path | None = None,
) -> Store:
    """The configured store: Supabase when it is set up (or selected), else the embedded file.

    `role="service_role"` is for the worker (mirror writes, claims). Raises NotConfigured when Supabase
    is selected explicitly but its URL or key is missing; `local=True` always opens the embedded store.
    """
    if local or config.store.value != "supabase":
        return LocalStore(local_path or config.paths.local_store_file)
    credentials = config.supabase_credentials(role=role)
    return supabase_store(credentials.url, credentials.key.get_secret_value())


def supabase_store(url: str, key: str) -> Store:
    """A Supabase store for a URL and key (also ones typed into Settings and not saved yet, to test them).
    Raises NotConfigured for an empty or invalid URL or key."""
    from cronmirror_desktop.core.supabasestore import SupabaseStore  # heavy import, only when needed

    return SupabaseStore(url, key)
