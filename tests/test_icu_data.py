"""packaging/icu_data.py on the ICU that PySide6's Linux wheel ships: the smaller data library the bundle
gets must be what ICU itself reads, and must still collate (Settings' file dialog sorts with QCollator)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packaging"))
import icu_data  # noqa: E402

QT_LIB = Path(__import__("PySide6").__file__).parent / "Qt" / "lib"
WHEEL_ICU = sorted(QT_LIB.glob("libicudata.so.*"))

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="only PySide6's Linux wheels bundle ICU (elsewhere Qt uses the system's)",
)


def wheel_icu() -> Path:
    assert WHEEL_ICU, f"PySide6's Linux wheel ships libicudata in {QT_LIB}"
    return WHEEL_ICU[0]


def items_of(library: Path) -> list[tuple[str, bytes]]:
    data = library.read_bytes()
    _symbol, offset, size = icu_data.data_symbol(data)
    return icu_data.read_items(data[offset : offset + size])[1]


def test_repacking_every_item_gives_the_wheels_data_byte_for_byte() -> None:
    data = wheel_icu().read_bytes()
    symbol, offset, size = icu_data.data_symbol(data)
    assert re.fullmatch(r"icudt\d+_dat", symbol)
    header, items = icu_data.read_items(data[offset : offset + size])
    assert len(items) > 1000
    assert icu_data.pack_items(header, items) == data[offset : offset + size]


def test_the_built_library_holds_exactly_the_kept_items(tmp_path: Path) -> None:
    source = wheel_icu()
    built = icu_data.build_library(source, tmp_path)
    assert built.name == source.name
    assert built.stat().st_size < 2 * 1024 * 1024 < source.stat().st_size
    original = dict(items_of(source))
    kept = items_of(built)
    assert [name.partition("/")[2] for name, _ in kept] == sorted(icu_data.KEEP)
    for name, item in kept:
        assert item == original[name]


#: Run in a fresh process per library: the dynamic loader would hand a second copy of ICU in this
#: process the first one (same sonames), with its data already cached.
COLLATE = """
import ctypes, json, sys
from pathlib import Path
work, locale, words = Path(sys.argv[1]), sys.argv[2].encode(), json.loads(sys.argv[3])
version = next(work.glob("libicudata.so.*")).name.rsplit(".", 1)[1]
icu = ctypes.CDLL(str(next(work.glob("libicui18n.so.*"))))
ucol_open = getattr(icu, f"ucol_open_{version}")
ucol_open.restype = ctypes.c_void_p
ucol_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
strcoll = getattr(icu, f"ucol_strcoll_{version}")
strcoll.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_char_p, ctypes.c_int32]
status = ctypes.c_int(0)
collator = ucol_open(locale, ctypes.byref(status))
if status.value > 0 or not collator:  # ICU: negative values are warnings, positive ones errors
    print(json.dumps(None))
    sys.exit()
def utf16(word):
    return word.encode("utf-16-le"), len(word.encode("utf-16-le")) // 2
remaining, ordered = list(words), []
while remaining:  # selection sort with ICU's comparison
    first = remaining[0]
    for word in remaining[1:]:
        if strcoll(collator, *utf16(word), *utf16(first)) < 0:
            first = word
    remaining.remove(first)
    ordered.append(first)
print(json.dumps(ordered))
"""


def collator_order(data_library: Path, work: Path, locale: str, words: list[str]) -> list[str] | None:
    """Sort `words` with the wheel's real ICU code reading `data_library` (None: ICU found no collator).
    The wheel's libicui18n and libicuuc are copied next to it: they find libicudata through $ORIGIN."""
    work.mkdir()
    for part in ("libicuuc", "libicui18n"):
        for library in QT_LIB.glob(f"{part}.so.*"):
            shutil.copy(library, work / library.name)
    shutil.copy(data_library, work / data_library.name)
    done = subprocess.run(
        [sys.executable, "-c", COLLATE, str(work), locale, json.dumps(words)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: list[str] | None = json.loads(done.stdout)
    return result


WORDS = ["zeta", "Äpfel", "apple", "éclair", "Zebra", "eclair"]


def test_the_smaller_library_collates_every_locale_in_the_unicode_default_order(tmp_path: Path) -> None:
    built = icu_data.build_library(wheel_icu(), tmp_path / "built")
    default = ["Äpfel", "apple", "eclair", "éclair", "Zebra", "zeta"]
    assert collator_order(wheel_icu(), tmp_path / "full-en", "en_US", WORDS) == default
    for locale in ("en_US", "de_DE", "sv_SE", "ja_JP"):
        assert collator_order(built, tmp_path / f"small-{locale}", locale, WORDS) == default
    # What the full data has on top: tailorings, such as Swedish sorting Ä after Z.
    assert collator_order(wheel_icu(), tmp_path / "full-sv", "sv_SE", WORDS) == [*default[1:], "Äpfel"]


def test_without_the_collation_items_icu_has_no_collator(tmp_path: Path) -> None:
    """What the kept items are for: a library without them leaves ICU (and so Qt) without a collator."""
    empty = icu_data.build_library(wheel_icu(), tmp_path / "empty", keep=lambda name: False)
    assert items_of(empty) == []
    assert collator_order(empty, tmp_path / "work", "en_US", WORDS) is None


def test_what_is_not_icu_data_is_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(icu_data.IcuDataError, match="not a 64-bit little-endian ELF"):
        icu_data.data_symbol(b"#!/bin/sh\n")
    uc = next(QT_LIB.glob("libicuuc.so.*"))  # ICU's code library: it only *refers* to the data symbol
    with pytest.raises(icu_data.IcuDataError, match="no icudtNN_dat symbol"):
        icu_data.data_symbol(uc.read_bytes())
    with pytest.raises(icu_data.IcuDataError, match="no ICU data header"):
        icu_data.read_items(b"\0" * 64)
    with pytest.raises(icu_data.IcuDataError, match="no C compiler"):
        icu_data.build_library(wheel_icu(), tmp_path, cc="no-such-compiler-here")
