"""What can be configured, under which names: the `config` keys, their environment variables (ours
first, then the web app's and ClawdOS's), and where each is stored (a keychain entry or a settings path)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cronmirror_desktop.core.secrets import SecretName

#: ClawdOS's default project (its Control API and worker use it when none is given).
DEFAULT_PROJECT_ID = "front-office"


class Source(StrEnum):
    ENV = "env"
    KEYCHAIN = "keychain"
    SETTINGS = "settings"
    DEFAULT = "default"
    UNSET = "unset"


@dataclass(frozen=True)
class ConfigKey:
    """One configurable value: its `config set` name, label, environment names (highest precedence
    first), and where it is stored (a keychain entry or a dotted settings path)."""

    key: str
    label: str
    env: tuple[str, ...]
    secret: SecretName | None = None
    setting: str | None = None


SUPABASE_URL = ConfigKey(
    "supabase_url", "Supabase URL", ("SUPABASE_URL", "VITE_SUPABASE_URL"), setting="supabase_url"
)
ANON_KEY = ConfigKey(
    "anon_key",
    "Supabase anon key",
    ("SUPABASE_ANON_KEY", "VITE_SUPABASE_PUBLISHABLE_KEY", "VITE_SUPABASE_ANON_KEY"),
    secret=SecretName.ANON_KEY,
)
SERVICE_ROLE_KEY = ConfigKey(
    "service_role_key",
    "Supabase service-role key",
    ("SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_SERVICE_KEY"),
    secret=SecretName.SERVICE_ROLE_KEY,
)
CONTROL_API_URL = ConfigKey(
    "control_api_url",
    "Control API URL",
    ("CONTROL_API_BASE_URL", "VITE_API_BASE_URL"),
    setting="control_api_url",
)
CONTROL_API_TOKEN = ConfigKey(
    "control_api_token",
    "Control API token",
    ("CONTROL_API_TOKEN", "CONTROL_API_KEY"),
    secret=SecretName.CONTROL_API_TOKEN,
)
PROJECT = ConfigKey(
    "project", "Project", ("CRONMIRROR_PROJECT_ID", "CLAWDOS_PROJECT_ID"), setting="current_project"
)
GATEWAY_BIN = ConfigKey(
    "gateway_bin", "Gateway CLI", ("CRONMIRROR_GATEWAY_BIN", "EXECUTOR_BIN"), setting="worker.gateway_bin"
)

#: The values with an environment override, in display order.
CONFIG_KEYS: tuple[ConfigKey, ...] = (
    SUPABASE_URL,
    ANON_KEY,
    SERVICE_ROLE_KEY,
    CONTROL_API_URL,
    CONTROL_API_TOKEN,
    PROJECT,
    GATEWAY_BIN,
)

#: Every environment variable this module reads (tests clear them; `doctor` lists those that are set).
ENV_NAMES: tuple[str, ...] = tuple(name for spec in CONFIG_KEYS for name in spec.env)

#: The environment variables that hold our secrets, under every name we accept (never handed to a job).
SECRET_ENV_NAMES: frozenset[str] = frozenset(
    name for spec in CONFIG_KEYS if spec.secret is not None for name in spec.env
)

#: Each key by its `config` name.
KEYS_BY_NAME: dict[str, ConfigKey] = {spec.key: spec for spec in CONFIG_KEYS}

#: Plain settings `set_value` accepts besides the keys above (dotted paths into `Settings`).
PLAIN_SETTING_KEYS: tuple[str, ...] = (
    "projects",
    "store",
    "worker.sync_interval_s",
    "worker.concurrency",
    "worker.job_timeout_s",
    "worker.grace_period_s",
    "worker.jobs_file",
    "worker.host",
    "worker.new_job_programs",
    "worker.sources.<name>",
)

#: Suffixes people paste with a base URL, removed when it is normalised.
URL_SUFFIXES = {"supabase_url": ("/rest/v1", "/auth/v1", "/realtime/v1"), "control_api_url": ("/api",)}
