"""What an installed (or frozen) CronMirror needs: every package listed, every resource reachable."""

from __future__ import annotations

import struct
import tomllib
from pathlib import Path

import pytest

from cronmirror_desktop.core import resources

REPO = Path(__file__).resolve().parent.parent


def test_every_python_package_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for top in ("cronmirror_desktop", "worker")
        for init in (REPO / top).rglob("__init__.py")
    }
    found |= {
        "cronmirror_desktop.resources",
        "cronmirror_desktop.resources.icons",
        "cronmirror_desktop.resources.linux",
    }
    assert found == listed


def test_resources_are_reachable_through_the_package() -> None:
    for path in (*resources.app_icon_files(), *resources.tray_icon_files(), *resources.tray_icon_files(True)):
        assert path.read_bytes().startswith(b"\x89PNG")
    assert resources.resource("linux", "app.cronmirror.desktop").read_text().startswith("[Desktop Entry]")


def test_a_missing_resource_names_itself() -> None:
    with pytest.raises(FileNotFoundError, match=r"icons/nope\.png"):
        resources.resource("icons", "nope.png")


def test_the_icns_is_a_well_formed_container() -> None:
    data = resources.resource("icons", "cronmirror.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    offset, kinds = 8, []
    while offset < len(data):
        kind, length = data[offset : offset + 4], struct.unpack(">I", data[offset + 4 : offset + 8])[0]
        assert data[offset + 8 : offset + 16] == b"\x89PNG\r\n\x1a\n"
        kinds.append(kind)
        offset += length
    assert offset == len(data)
    assert {b"icp4", b"ic07", b"ic10"} <= set(kinds)
