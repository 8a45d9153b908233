"""Base URLs as people paste them, made exact; and URLs made safe to show.

Users copy URLs from dashboards, `.env` files and browser bars: with trailing slashes, an API path already
appended, or without a scheme. A URL we cannot use is a configuration error with a clear message, found
when the value is set or loaded rather than as a connection error later.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from cronmirror_desktop.core.errors import InvalidValue


def normalize_base_url(raw: str, *, what: str, strip_suffixes: tuple[str, ...] = ()) -> str:
    """`raw` as `scheme://host[:port][/path]` without trailing slashes or any of `strip_suffixes`.

    Raises `InvalidValue` naming `what` (e.g. "The Control API URL") when there is no http(s) scheme or
    no host, or when the URL carries a query or fragment. Credentials in the URL are kept (a proxy may need
    them) but never shown: see `redact_url`.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidValue(f"{what} is empty.")
    if "://" not in text:
        example = redact_url("http://" + text).rstrip("/")
        raise InvalidValue(
            f"{what} needs a scheme: {redact_url(example)[len('http://') :]!r} has none.",
            f"Write it with http:// or https://, e.g. {example}",
        )
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise InvalidValue(f"{what} is not a valid URL: {exc}.") from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise InvalidValue(f"{what} must start with http:// or https://, not {parts.scheme}://.")
    if not parts.hostname:
        raise InvalidValue(f"{what} has no host name: {redact_url(text)!r}.")
    if parts.query or parts.fragment:
        raise InvalidValue(f"{what} must not contain '?' or '#': {redact_url(text)!r}.")
    path = parts.path.rstrip("/")
    changed = True
    while changed:
        changed = False
        for suffix in strip_suffixes:
            if path.lower().endswith(suffix.lower()):
                path = path[: -len(suffix)].rstrip("/")
                changed = True
    netloc = parts.netloc
    if port is None and netloc.endswith(":"):
        netloc = netloc[:-1]
    return urlunsplit((parts.scheme.lower(), netloc, path, "", ""))


def redact_url(url: str) -> str:
    """`url` without user, password, query or fragment: safe for logs, errors and the UI."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
