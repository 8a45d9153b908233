"""The gateway's own next-run code as a test oracle: where it is installed, random cases, one node run.

The install is the one `scripts/install-gateways` makes (and CI runs): `${CRONMIRROR_GATEWAYS_DIR:-
~/.cache/cronmirror/gateways}` with `node/` (node >= 24 from npm) and `openclaw/` (`openclaw@2026.9.6`).
`node` on PATH is used when the directory has none. Cases are generated from a fixed seed, so a failure
is reproducible; they lean on what differs between schedulers: DST days in zones with odd rules, croner's
syntax and its refusals, top-of-hour stagger, every-jobs with and without a last run.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SCRIPT = Path(__file__).with_name("schedule_reference.mjs")
INSTALL_HINT = (
    "The gateway reference (node >= 24 and openclaw@2026.9.6) is not installed: run scripts/install-gateways "
    "(or set CRONMIRROR_GATEWAYS_DIR to where it is)."
)
MIN_NODE_MAJOR = 24


class ReferenceUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Reference:
    node: Path
    package: Path

    def run(self, cases: list[dict[str, Any]], timeout: float = 300.0) -> dict[str, Any]:
        """All cases in one node process; returns {"openclaw", "node", "tz", "answers": [...]}."""
        with tempfile.TemporaryDirectory(prefix="schedule-reference-") as tmp:
            case_file = Path(tmp) / "cases.json"
            case_file.write_text(json.dumps(cases))
            proc = subprocess.run(
                [str(self.node), str(SCRIPT), str(self.package), str(case_file)],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        if proc.returncode != 0:
            raise RuntimeError(f"node reference failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
        result: dict[str, Any] = json.loads(proc.stdout)
        return result


def gateways_dir() -> Path:
    configured = os.environ.get("CRONMIRROR_GATEWAYS_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "cronmirror" / "gateways"


def find_reference() -> Reference:
    """The installed node and openclaw package, or ReferenceUnavailable saying what is missing."""
    base = gateways_dir()
    package = base / "openclaw" / "node_modules" / "openclaw"
    if not (package / "package.json").is_file() or not list((package / "dist").glob("jobs-scheduling-*.mjs")):
        raise ReferenceUnavailable(f"no openclaw package in {package}")
    candidates = sorted((base / "node" / "node_modules").glob("node-*/bin/node"))
    on_path = shutil.which("node")
    if on_path:
        candidates.append(Path(on_path))
    for node in candidates:
        try:
            version = subprocess.run(
                [str(node), "--version"], capture_output=True, text=True, timeout=30, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        if int(version.lstrip("v").split(".")[0]) >= MIN_NODE_MAJOR:
            return Reference(node, package)
    raise ReferenceUnavailable(f"no node >= {MIN_NODE_MAJOR} in {base / 'node'} or on PATH")


# -- random cases ---------------------------------------------------------------------------------

#: Zones with the rules that matter: none, ordinary DST both hemispheres, negative DST (Dublin), 30-minute
#: DST (Lord Howe), odd offsets, and changes at midnight (Havana, Santiago, Cairo, Beirut, Azores).
ZONES = (
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Dublin",
    "America/New_York",
    "America/Los_Angeles",
    "America/Chicago",
    "America/Phoenix",
    "America/St_Johns",
    "America/Havana",
    "America/Santiago",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Australia/Adelaide",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Africa/Cairo",
    "Asia/Beirut",
    "Asia/Jerusalem",
    "Atlantic/Azores",
    "America/Mexico_City",
)

_MONTHS = ("JAN", "feb", "Mar", "APR", "may", "JUN", "jul", "AUG", "sep", "OCT", "nov", "DEC")
_DAYS = ("SUN", "mon", "Tue", "WED", "thu", "FRI", "sat")


@lru_cache(maxsize=64)
def transitions(zone_name: str, years: tuple[int, ...] = (2026, 2027)) -> tuple[datetime, ...]:
    """UTC instants where the zone's offset changes in `years` (found hour by hour, then to the second)."""
    zone = ZoneInfo(zone_name)
    found: list[datetime] = []
    t = datetime(years[0], 1, 1, tzinfo=UTC)
    end = datetime(years[-1] + 1, 1, 1, tzinfo=UTC)
    previous = t.astimezone(zone).utcoffset()
    while t < end:
        nxt = t + timedelta(hours=1)
        offset = nxt.astimezone(zone).utcoffset()
        if offset != previous:
            lo, hi = t, nxt
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(zone).utcoffset() == previous:
                    lo = mid
                else:
                    hi = mid
            found.append(hi.replace(microsecond=0))
            previous = offset
        t = nxt
    return tuple(found)


class CaseMaker:
    """Seeded generator of gateway cases (cron and every) for the differential test."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.transitions = {zone: transitions(zone) for zone in ZONES}

    # -- expressions --

    def number(self, low: int, high: int) -> str:
        return str(self.rng.randint(low, high))

    def simple(self, low: int, high: int, names: tuple[str, ...] = (), name_base: int = 0) -> str:
        """One list item: a value, range, step or (rarely) a name."""
        r = self.rng.random()
        if names and r < 0.15:
            a = self.rng.randrange(len(names))
            if self.rng.random() < 0.5:
                return names[a]
            b = self.rng.randrange(a, len(names))
            return f"{names[a]}-{names[b]}"
        if r < 0.5:
            return self.number(low, high)
        if r < 0.65:
            a = self.rng.randint(low, high)
            return f"{a}-{self.rng.randint(a, high)}"
        if r < 0.85:
            return f"*/{self.rng.choice([1, 2, 3, 5, 7, 10, 12, 15, 20, 30, 45])}"
        a = self.rng.randint(low, high)
        return f"{a}-{self.rng.randint(a, high)}/{self.rng.randint(1, 9)}"

    def field(self, low: int, high: int, star: float, names: tuple[str, ...] = ()) -> str:
        if self.rng.random() < star:
            return "*"
        items = [self.simple(low, high, names) for _ in range(self.rng.choice([1, 1, 1, 2, 3]))]
        return ",".join(items)

    def dom(self) -> str:
        r = self.rng.random()
        if r < 0.55:
            return "*"
        if r < 0.62:
            return "?"
        if r < 0.66:
            return "L"
        if r < 0.69:
            return "LW"
        if r < 0.73:
            return f"{self.rng.randint(1, 31)}W"
        if r < 0.75:
            return f"{self.rng.randint(1, 28)},L"
        if r < 0.77:
            return f"{self.rng.randint(1, 28)}L"
        return self.field(1, 31, 0.0)

    def dow(self) -> str:
        r = self.rng.random()
        if r < 0.55:
            return "*"
        if r < 0.6:
            return "?"
        day = self.rng.randint(0, 7)
        named = self.rng.choice(_DAYS) if self.rng.random() < 0.4 else str(day % 7)
        if r < 0.66:
            return f"{named}#{self.rng.randint(1, 5)}"
        if r < 0.7:
            return f"{named}#L"
        if r < 0.74:
            return f"{named}L"
        if r < 0.8:
            return "+" + self.field(0, 7, 0.0, _DAYS)
        if r < 0.83:
            a = self.rng.randint(0, 5)
            return f"{a}-{self.rng.randint(a, 6)}#L"
        return self.field(0, 7, 0.0, _DAYS)

    def invalid(self) -> str:
        return self.rng.choice(
            [
                f"{self.rng.randint(1, 30)}/15 * * * *",
                "*/0 * * * *",
                f"{self.rng.randint(60, 99)} * * * *",
                "* * *",
                "0 0 * * 8",
                "0 0 32 * *",
                "0 0 L-2 * *",
                "0 0 * * MON#6",
                "0 0 0 * * * */2",
                "@reboot",
                "0 0 W * *",
                "0 0 1-5W * *",
                "0 0 * * * * * *",
                "0 0 5-1 * *",
                "0 12 * * +",
                "/5 * * * *",
                "0 0 * JANUARY *",
                "0 0 ? * 1#0",
                "0 0 1#1 * *",
                "0 9 * * 1-5/0",
            ]
        )

    def dst_expression(self) -> str:
        """Times around 00:00-03:59, where the world's DST changes happen."""
        minute = self.rng.choice(["0", "30", "15", "*/15", "*/20", "0,30", "5,*/20", "*", "45", "59"])
        hour = self.rng.choice(["0", "1", "2", "3", "23", "*", "0-3", "1,2", "*/2", "2,3"])
        tail = self.rng.choice(["* * *", "* * *", "* * SUN", "? * *", "* * 0-6"])
        if self.rng.random() < 0.15:
            return f"{self.rng.choice(['0', '30', '*/10', '*'])} {minute} {hour} {tail}"
        return f"{minute} {hour} {tail}"

    def expression(self) -> str:
        r = self.rng.random()
        if r < 0.05:
            return self.invalid()
        if r < 0.08:
            return self.rng.choice(
                ["@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@midnight", "@DAILY"]
            )
        if r < 0.14:
            return self.rng.choice(["0 * * * *", "0 */2 * * *", "0 */6 * * *", "0 9-17 * * *", "0 0 * * * *"])
        if r < 0.45:
            return self.dst_expression()
        fields = [
            self.field(0, 59, 0.2),
            self.field(0, 23, 0.35),
            self.dom(),
            self.field(1, 12, 0.75, _MONTHS),
            self.dow(),
        ]
        shape = self.rng.random()
        if shape < 0.15:
            fields.insert(0, self.field(0, 59, 0.1))
        elif shape < 0.22:
            fields.insert(0, self.rng.choice(["0", "30", "*/20"]))
            fields.append(self.rng.choice(["*", "2026", "2027", "2026-2028", "2026,2028", "2030"]))
        return " ".join(fields)

    # -- instants --

    def now_ms(self, zone: str) -> int:
        """Mostly within a day and a half of one of the zone's DST changes, else anywhere in 2026-2027."""
        changes = self.transitions[zone]
        if changes and self.rng.random() < 0.75:
            center = self.rng.choice(changes)
            span = self.rng.choice([3_600, 7_200, 36 * 3_600])
            offset = self.rng.randint(-span, span)
            base = center + timedelta(seconds=offset)
        else:
            base = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=self.rng.randint(0, 2 * 365 * 86_400))
        ms = int(base.timestamp()) * 1000
        r = self.rng.random()
        if r < 0.3:
            ms = ms // 60_000 * 60_000  # exactly on a minute, where off-by-one errors live
        elif r < 0.7:
            ms += self.rng.randint(0, 999)
        return ms

    def job_id(self) -> str:
        if self.rng.random() < 0.1:
            return self.rng.choice(["job-1", "daily-report", "Ünïcødé ✓", "x" * 40])
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def cron_case(self) -> dict[str, Any]:
        zone = self.rng.choice(ZONES)
        r = self.rng.random()
        stagger = None if r < 0.8 else 0 if r < 0.9 else self.rng.randint(1, 600_000)
        return {
            "kind": "cron",
            "id": self.job_id(),
            "expr": self.expression(),
            "tz": zone,
            "staggerMs": stagger,
            "now": self.now_ms(zone),
            "count": 3,
        }

    def every_case(self) -> dict[str, Any]:
        every = self.rng.choice([60_000, 300_000, 1_800_000, 3_600_000, 86_400_000, 7_777_777, 1_500])
        now = self.now_ms("UTC")
        created = now - self.rng.randint(0, 30 * 86_400_000)
        r = self.rng.random()
        anchor = None if r < 0.5 else created + self.rng.randint(-86_400_000, 86_400_000)
        if self.rng.random() < 0.1:
            anchor = now + self.rng.randint(1, 86_400_000)  # an anchor still ahead
        last = None if self.rng.random() < 0.3 else now - self.rng.randint(0, 3 * every)
        return {
            "kind": "every",
            "id": self.job_id(),
            "everyMs": every,
            "anchorMs": anchor,
            "createdAtMs": created,
            "lastRunAtMs": last,
            "now": now,
            "count": 3,
        }

    def cases(self, cron: int, every: int) -> list[dict[str, Any]]:
        made = [self.cron_case() for _ in range(cron)] + [self.every_case() for _ in range(every)]
        self.rng.shuffle(made)
        return made
