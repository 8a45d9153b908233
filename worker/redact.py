"""Redact the secrets the worker holds from text a job produced, before it is reported.

The second line of defence behind the scrubbed job environment (`worker.job_env`): a job could still
read a key from a file or the keychain and print it. Output tails are cut to their last characters, so a
secret may also appear cut at the start of a tail; that leftover is redacted too.
"""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "[redacted]"
#: Shorter values would redact ordinary words; real keys and tokens are far longer.
MIN_SECRET_LENGTH = 8
#: A cut-off piece of a secret at the start of a tail is redacted from this length on.
MIN_FRAGMENT = 6


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        unique = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
        #: Longest first, so a secret containing another is redacted whole.
        self._secrets = tuple(sorted(unique, key=len, reverse=True))

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __call__(self, text: str) -> str:
        if not self._secrets or not text:
            return text
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return self._redact_cut_start(text)

    def _redact_cut_start(self, text: str) -> str:
        """A tail that begins with the end of a secret (the start was cut off): redact that end."""
        for secret in self._secrets:
            for size in range(len(secret) - 1, MIN_FRAGMENT - 1, -1):
                if text.startswith(secret[-size:]):
                    return REDACTED + text[size:]
        return text
