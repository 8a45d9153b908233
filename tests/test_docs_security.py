"""docs/architecture.md's security table names a test for every line: those tests must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_the_security_section_names_exists() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    section = doc[doc.index("## Security invariants") : doc.index("## Where to read more")]
    table = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(table) >= 15
    named = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", section)
    for line in table:
        assert re.search(r"`tests/[\w/]+\.py::test_\w+`", line), f"a line without a test: {line}"
    for path, name in named:
        source = (ROOT / path).read_text()
        assert re.search(rf"^(async )?def {name}\(", source, flags=re.M), f"{path}::{name} does not exist"
