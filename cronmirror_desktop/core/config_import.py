"""Import the values CronMirror knows from a `.env` file people already have (the ClawdOS web app's, a
worker's): secrets into the keychain, plain values into the settings file. Reports names, never secrets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cronmirror_desktop.core.config import CONFIG_KEYS, PROJECT, SERVICE_ROLE_KEY, Source, checked_value
from cronmirror_desktop.core.config_write import assign_setting, validated_settings
from cronmirror_desktop.core.dotenv import parse_dotenv
from cronmirror_desktop.core.errors import CronMirrorError, InvalidValue, SecretStoreError
from cronmirror_desktop.core.paths import AppPaths, app_paths
from cronmirror_desktop.core.secrets import SecretStore
from cronmirror_desktop.core.settings import load_settings, save_settings


@dataclass(frozen=True)
class DotenvImport:
    """What an import did. Holds names only for secrets; plain values (URLs, ids) may be shown."""

    source: str
    settings_set: tuple[tuple[str, str], ...] = ()
    secrets_stored: tuple[str, ...] = ()
    #: Recognised names that lost to a higher-precedence name in the same file.
    shadowed: tuple[str, ...] = ()
    #: Names in the file CronMirror does not use.
    ignored: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    used_names: Mapping[str, str] = field(default_factory=dict)

    def summary(self) -> list[str]:
        """Lines for the CLI and the import dialog; never a secret value."""
        lines = [f"Imported from {self.source}:"]
        lines += [
            f"  {key} = {value}  (settings, from {self.used_names.get(key, key)})"
            for key, value in self.settings_set
        ]
        lines += [
            f"  {key}: stored in the keychain (from {self.used_names.get(key, key)})"
            for key in self.secrets_stored
        ]
        if not self.settings_set and not self.secrets_stored:
            lines.append("  nothing")
        if self.shadowed:
            lines.append("Not used (a higher-precedence name is in the file): " + ", ".join(self.shadowed))
        if self.ignored:
            lines.append("Not CronMirror settings (ignored): " + ", ".join(self.ignored))
        lines += [f"Note: {note}" for note in self.notes]
        lines += [f"Problem: {problem}" for problem in self.problems]
        return lines


def import_dotenv(
    source: Path | str,
    *,
    text: str | None = None,
    paths: AppPaths | None = None,
    secrets: SecretStore | None = None,
) -> DotenvImport:
    """Import the values CronMirror knows from a `.env` file: secrets into the keychain, plain values into
    the settings file (saved once, atomically). A secret the keychain won't take is reported, and stored
    nowhere else. `text` overrides reading `source` (which then only names it)."""
    paths = app_paths() if paths is None else paths
    if text is None:
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CronMirrorError(
                f"Could not read {source}: {getattr(exc, 'strerror', None) or type(exc).__name__}."
            ) from None
    parsed = parse_dotenv(text)
    problems = list(parsed.problems)
    notes: list[str] = []
    known = {name for spec in CONFIG_KEYS for name in spec.env}
    ignored = tuple(name for name in parsed.values if name not in known)
    shadowed: list[str] = []
    chosen: dict[str, tuple[str, str]] = {}
    for spec in CONFIG_KEYS:
        present = [name for name in spec.env if parsed.values.get(name, "").strip()]
        if present:
            chosen[spec.key] = (present[0], parsed.values[present[0]].strip())
            shadowed += present[1:]

    store = SecretStore() if secrets is None else secrets
    stored: list[str] = []
    for spec in CONFIG_KEYS:
        if spec.secret is None or spec.key not in chosen:
            continue
        try:
            store.set(spec.secret, chosen[spec.key][1])
        except (SecretStoreError, InvalidValue) as exc:
            problems.append(
                f"{spec.key} (from {chosen[spec.key][0]}) was not stored: {exc.message} {exc.hint}".strip()
            )
            continue
        stored.append(spec.key)
        if spec is SERVICE_ROLE_KEY:
            notes.append(
                "the service-role key can rewrite the mirror: keep it only on the Mac mini's keychain."
            )

    loaded = load_settings(paths.settings_file)
    data = loaded.settings.model_dump(mode="json")
    settings_set: list[tuple[str, str]] = []
    for spec in CONFIG_KEYS:
        if spec.secret is not None or spec.key not in chosen:
            continue
        name, raw = chosen[spec.key]
        checked = checked_value(spec, raw, Source.ENV, name, ())
        if checked.problem:
            problems.append(checked.problem)
            continue
        assert checked.value is not None
        if spec is PROJECT:
            data["current_project"] = checked.value
            if checked.value not in data["project_ids"]:
                data["project_ids"].append(checked.value)
        else:
            assert spec.setting is not None
            assign_setting(data, spec.setting, checked.value)
        settings_set.append((spec.key, checked.value))
    if settings_set:
        settings, _ = validated_settings(data, "the imported values")
        save_settings(settings, paths.settings_file)
    return DotenvImport(
        source=str(source),
        settings_set=tuple(settings_set),
        secrets_stored=tuple(stored),
        shadowed=tuple(shadowed),
        ignored=ignored,
        problems=tuple(problems),
        notes=tuple(notes),
        used_names={key: name for key, (name, _) in chosen.items()},
    )
