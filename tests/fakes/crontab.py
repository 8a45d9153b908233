"""A stand-in for the `crontab` tool, with a real crontab file: `-l` prints it (or "no crontab for <user>",
exit 1, when there is none), `-` installs what arrives on stdin. Calls are logged.

    tool = install_fake_crontab(tmp_path, "0 3 * * * /usr/bin/backup\\n")
    source = CrontabSource([str(tool.path), "-l"])   # installs with `<tool> -`
    tool.change_at_next_read("# edited by hand\\n")  # someone saves meanwhile: appended after the next -l

Why a stand-in: cron(8) is not installed on the test machines; what the worker relies on (`crontab -l`
prints the file, `crontab -` replaces it from stdin) is all the stand-in does.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

SCRIPT = """#!/bin/sh
printf '%s\\n' "$*" >> {log}
case "$1" in
  -l)
    if [ ! -f {file} ]; then echo "no crontab for $(id -un)" >&2; exit 1; fi
    cat {file}
    if [ -f {meanwhile} ]; then cat {meanwhile} >> {file}; rm -f {meanwhile}; fi
    ;;
  -)
    cat > {file}.new && mv {file}.new {file}
    ;;
  *) echo "usage: crontab [-l | -]" >&2; exit 1 ;;
esac
"""


@dataclass(frozen=True)
class FakeCrontab:
    path: Path
    file: Path
    log: Path
    meanwhile: Path

    def text(self) -> str:
        return self.file.read_text()

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def change_at_next_read(self, appended: str) -> None:
        """The crontab changes right after the next `-l` has printed it (someone edits it meanwhile)."""
        self.meanwhile.write_text(appended)


def install_fake_crontab(directory: Path, content: str | None) -> FakeCrontab:
    directory.mkdir(parents=True, exist_ok=True)
    tool = FakeCrontab(
        directory / "crontab",
        directory / "crontab.txt",
        directory / "crontab.log",
        directory / "meanwhile.txt",
    )
    if content is not None:
        tool.file.write_text(content)
    quoted = {name: shlex.quote(str(getattr(tool, name))) for name in ("file", "log", "meanwhile")}
    tool.path.write_text(SCRIPT.format(**quoted))
    tool.path.chmod(0o755)
    return tool
