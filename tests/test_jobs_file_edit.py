"""Editing jobs.toml for action requests: the edited table changes, every byte outside it stays."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from worker.sources import jobs_file_edit
from worker.sources.jobs_file import parse_jobs_file
from worker.sources.jobs_file_edit import EditRefused, edit_file, edit_text

FILE = """\
# My Mac mini's jobs.   Keep this header!
#   (tabs\tand   odd spacing stay as they are)

[jobs.backup]   # the nightly one
name = "Nightly backup"  # shown in the app
cron = "0 3 * * *"          # 03:00
tz = "Europe/Berlin"
command = ["/usr/local/bin/restic", "backup", "/Users/me"]
timeout = "20m"

# ---- between the tables: this comment belongs to nobody's table ----

[jobs."report.weekly"]
name = 'Weekly report'
every = 3600000
command = [
  "/usr/bin/env",   # the program
  "python3", "-c", "print('hi')",
]
enabled = false
[jobs.last]
name = "Last"
command = ["/bin/true"]"""

BACKUP_START = FILE.index("[jobs.backup]")
BACKUP_END = FILE.index('timeout = "20m"') + len('timeout = "20m"')


def outside_kept(old: str, new: str, begin: int, end: int) -> None:
    """Every byte before `begin` and after `end` of `old` is in `new`, unchanged, at both ends."""
    assert new[:begin] == old[:begin]
    tail = old[end:]
    assert new.endswith(tail)


def job(text: str, key: str) -> dict[str, Any]:
    return tomllib.loads(text)["jobs"][key]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("action", "args", "expected"),
    [
        ("disable", {}, {"enabled": False}),
        ("rename", {"name": 'Backup "B" ü'}, {"name": 'Backup "B" ü'}),
        (
            "set_schedule",
            {"kind": "cron", "expr": "30 4 * * 1-5", "tz": "UTC"},
            {"cron": "30 4 * * 1-5", "tz": "UTC"},
        ),
        ("set_schedule", {"kind": "every", "expr": "1800000"}, {"every": "30m"}),
        ("set_schedule", {"kind": "at", "expr": "2027-01-02T03:04:05Z"}, {"at": "2027-01-02T03:04:05Z"}),
    ],
)
def test_an_edit_changes_only_its_table(action: str, args: dict[str, Any], expected: dict[str, Any]) -> None:
    edit = edit_text(FILE, "backup", action, args)
    outside_kept(FILE, edit.text, BACKUP_START, BACKUP_END)
    changed = job(edit.text, "backup")
    for key, value in expected.items():
        assert changed[key] == value
    if action == "set_schedule":
        others = {"cron", "every", "at"} - set(expected)
        assert not others & set(changed)
        assert ("tz" in changed) == ("tz" in expected)
    assert edit.changes
    assert "# shown in the app" in edit.text  # comments inside the table are kept too
    parsed = {j.native_id: j for j in parse_jobs_file(edit.text).jobs}
    assert set(parsed) == {"backup", "report.weekly", "last"}


def test_the_schedules_comment_stays_when_only_the_expression_changes() -> None:
    edit = edit_text(
        FILE, "backup", "set_schedule", {"kind": "cron", "expr": "15 3 * * *", "tz": "Europe/Berlin"}
    )
    assert 'cron = "15 3 * * *"          # 03:00' in edit.text
    assert edit.changes == {
        "schedule": {
            "from": {"cron": "0 3 * * *", "tz": "Europe/Berlin"},
            "to": {"cron": "15 3 * * *", "tz": "Europe/Berlin"},
        }
    }


def test_a_quoted_key_and_a_multiline_array_are_edited_in_place() -> None:
    start = FILE.index('[jobs."report.weekly"]')
    end = FILE.index("enabled = false") + len("enabled = false")
    edit = edit_text(FILE, "report.weekly", "enable", {})
    outside_kept(FILE, edit.text, start, end)
    assert job(edit.text, "report.weekly")["enabled"] is True
    assert '  "/usr/bin/env",   # the program\n' in edit.text
    assert edit.changes == {"enabled": {"from": False, "to": True}}


def test_the_last_table_without_a_final_newline() -> None:
    edit = edit_text(FILE, "last", "disable", {})
    assert edit.text.startswith(FILE[: FILE.index("[jobs.last]")])
    assert job(edit.text, "last")["enabled"] is False


def test_nothing_to_do_is_said_and_changes_nothing() -> None:
    edit = edit_text(FILE, "backup", "enable", {})
    assert (edit.text, edit.changes, edit.summary) == (FILE, {}, "it was already enabled")


def test_delete_takes_the_table_and_leaves_the_comments_around_it() -> None:
    edit = edit_text(FILE, "backup", "delete", {})
    assert edit.text == FILE[:BACKUP_START] + FILE[BACKUP_END + 1 :]
    assert "# ---- between the tables" in edit.text
    assert "backup" not in tomllib.loads(edit.text)["jobs"]


def test_create_appends_a_table_and_keeps_the_file() -> None:
    args = {
        "key": "new.one",
        "name": "New one",
        "command": ["/bin/echo", 'it\'s "quoted"; $(not a shell)'],
        "schedule": {"kind": "every", "expr": "7200000"},
        "timeout": 90,
        "enabled": False,
    }
    edit = edit_text(FILE, "new.one", "create", args)
    assert edit.text.startswith(FILE + "\n\n[jobs.")
    new = job(edit.text, "new.one")
    assert new == {
        "name": "New one",
        "every": "2h",
        "command": ["/bin/echo", 'it\'s "quoted"; $(not a shell)'],
        "timeout": 90,
        "enabled": False,
    }
    (listed,) = [j for j in parse_jobs_file(edit.text).jobs if j.native_id == "new.one"]
    assert listed.run_spec is not None
    assert listed.run_spec.argv == ("/bin/echo", 'it\'s "quoted"; $(not a shell)')
    with pytest.raises(EditRefused, match=r"already has a job \[jobs.backup\]"):
        edit_text(FILE, "backup", "create", {"key": "backup", "command": ["/bin/true"]})


def test_create_in_a_file_that_does_not_exist_yet(tmp_path: Path) -> None:
    path = tmp_path / "jobs.toml"
    edit = edit_file(path, "first", "create", {"key": "first", "command": ["/bin/true"]})
    assert path.read_text() == edit.text
    assert edit.text.startswith("# CronMirror's jobs")
    assert [j.job_id for j in parse_jobs_file(edit.text).jobs] == ["jobs:first"]


def test_an_inline_table_is_edited_through_the_whole_document() -> None:
    text = '# inline\n[jobs]\nsmall = { name = "S", command = ["/bin/true"] }  # keep me\n'
    edit = edit_text(text, "small", "disable", {})
    assert job(edit.text, "small")["enabled"] is False
    assert edit.text.startswith("# inline\n[jobs]\n")
    with pytest.raises(EditRefused, match="not a table of its own"):
        edit_text(text, "small", "delete", {})


def test_an_edit_the_worker_could_not_read_back_is_refused() -> None:
    with pytest.raises(EditRefused, match="would not be usable"):
        edit_text(FILE, "backup", "set_schedule", {"kind": "cron", "expr": "61 * * * *"})
    with pytest.raises(EditRefused, match="no job"):
        edit_text(FILE, "gone", "disable", {})
    with pytest.raises(EditRefused, match="not valid TOML"):
        edit_text("[jobs.a\n", "a", "disable", {})


def test_a_file_saved_by_someone_else_meanwhile_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "jobs.toml"
    path.write_text(FILE)
    real = jobs_file_edit.edit_text

    def someone_saves_meanwhile(*args: Any) -> Any:
        path.write_text(FILE + "\n# saved by hand\n")
        return real(*args)

    monkeypatch.setattr(jobs_file_edit, "edit_text", someone_saves_meanwhile)
    with pytest.raises(EditRefused, match="changed while CronMirror was editing it"):
        edit_file(path, "backup", "disable", {})
    assert path.read_text() == FILE + "\n# saved by hand\n"


def test_the_file_keeps_its_mode_and_its_symlink(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "jobs.toml"
    real.parent.mkdir()
    real.write_text(FILE)
    real.chmod(0o640)
    link = tmp_path / "jobs.toml"
    link.symlink_to(real)
    edit_file(link, "backup", "disable", {})
    assert link.is_symlink()
    assert job(real.read_text(), "backup")["enabled"] is False
    assert os.stat(real).st_mode & 0o777 == 0o640
