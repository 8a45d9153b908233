"""The environment a job (and the gateway CLI) starts with: the worker's own, minus CronMirror's secrets.

A job that prints its environment must not print the service-role key (its output reaches
`cron_run_requests.result`, which the anon key can read). So every variable that holds one of our secrets,
under any name we accept (`SUPABASE_SERVICE_ROLE_KEY`, `SUPABASE_SERVICE_KEY`, ...), is left out, and so is
any `CRONMIRROR_*` variable whose name says it is a secret. Redacting the values from what a job prints
(`worker.redact`) is the second line of defence.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from cronmirror_desktop.core.config import SECRET_ENV_NAMES

_SECRET_WORDS = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSPHRASE|CREDENTIAL", re.IGNORECASE)


def is_secret_variable(name: str) -> bool:
    """True for a variable a job must never see."""
    if name in SECRET_ENV_NAMES:
        return True
    return name.upper().startswith("CRONMIRROR_") and _SECRET_WORDS.search(name) is not None


def job_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) without our secret variables."""
    source = os.environ if base is None else base
    return {name: value for name, value in source.items() if not is_secret_variable(name)}
