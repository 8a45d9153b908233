"""A smaller ICU data library for the Linux bundle: ICU's own format, only the items Qt can ask for here.

PySide6's Linux wheels link QtCore against ICU, whose data library (`libicudata.so.NN`, 31 MB) was a fifth
of the bundle. QtCore calls ICU for four things (the `*_73` symbols it imports):
- collation (`ucol_*`, QCollator): the app sorts in Python, but Qt's own file dialog (Settings, Import a
  .env file) sorts its entries with QCollator;
- case mapping for a locale (`u_strToUpper/Lower`, QLocale::toUpper): its tables are compiled into
  libicuuc, not the data library;
- time zone display names (`ucal_*`, QTimeZone::displayName): the app formats dates and zones in Python;
- text codecs Qt has no own code for (`ucnv_*`, QStringDecoder("Shift-JIS")): the app decodes in Python.

So the build writes a new data library in ICU's own format (a "CmnD" table of contents and the items,
exported as the symbol `icudtNN_dat` that libicuuc links against) holding only the root collation (0.9
MB). Every locale then collates by the Unicode default order, which is the English one; what is lost is
locale tailorings (Swedish sorts Ä after Z with the full data), zone display names (empty) and legacy
codecs (invalid decoders), each of which ICU reports as missing data and Qt handles. Without any data
QCollator would fall back to comparing code points, with a warning each time ("Could not create
collator"). tests/test_icu_data.py checks both with the wheel's real ICU.

Building the library needs a C compiler driver (`cc`, to assemble and link the data); build.spec keeps
the original library without one, and says so.

    python packaging/icu_data.py LIB            # list the items of an ICU data library, biggest first
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

#: The items kept: the root collation rules and the Unicode collation data they build on.
KEEP = ("coll/root.res", "coll/ucadata.icu")

_DATA_SYMBOL = re.compile(rb"icudt\d+_dat")
_SHT_DYNSYM = 11
_ITEM_ALIGN = 16
#: The filler byte ICU's own packager (pkgdata) pads with: a repacked library is byte-identical.
_PAD = b"\xaa"


class IcuDataError(Exception):
    """The library is not what this module understands (no ICU data symbol, not a CmnD table)."""


def data_symbol(library: bytes) -> tuple[str, int, int]:
    """The ICU data symbol of an ELF64 little-endian shared library: (name, file offset, size)."""
    if library[:4] != b"\x7fELF" or library[4] != 2 or library[5] != 1:
        raise IcuDataError("not a 64-bit little-endian ELF file")
    (shoff,) = struct.unpack_from("<Q", library, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", library, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", library, shoff + i * shentsize) for i in range(shnum)]
    for section in sections:
        if section[1] != _SHT_DYNSYM:
            continue
        strtab = sections[section[6]]
        entsize = section[9] or 24
        for offset in range(section[4], section[4] + section[5], entsize):
            st_name, _, _, st_shndx, st_value, st_size = struct.unpack_from("<IBBHQQ", library, offset)
            start = strtab[4] + st_name
            name = library[start : library.index(b"\0", start)]
            if _DATA_SYMBOL.fullmatch(name) and 0 < st_shndx < len(sections):
                holder = sections[st_shndx]
                return name.decode(), st_value - holder[3] + holder[4], st_size
    raise IcuDataError("no icudtNN_dat symbol: not an ICU data library")


def read_items(blob: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Split ICU common data ("CmnD" format 1) into its header and its (name, bytes) items, in order."""
    if len(blob) < 32 or blob[2:4] != b"\xda\x27":
        raise IcuDataError("no ICU data header")
    (header_size,) = struct.unpack_from("<H", blob, 0)
    if blob[12:16] != b"CmnD" or blob[16] != 1:
        raise IcuDataError(f"data format {blob[12:16]!r} version {blob[16]}, expected CmnD 1")
    toc = blob[header_size:]
    (count,) = struct.unpack_from("<I", toc, 0)
    entries = [struct.unpack_from("<II", toc, 4 + 8 * i) for i in range(count)]
    items = []
    for i, (name_offset, data_offset) in enumerate(entries):
        name = toc[name_offset : toc.index(b"\0", name_offset)].decode("ascii")
        end = entries[i + 1][1] if i + 1 < count else len(toc)
        items.append((name, toc[data_offset:end]))
    return blob[:header_size], items


def pack_items(header: bytes, items: Sequence[tuple[str, bytes]]) -> bytes:
    """The inverse of `read_items`: a CmnD table of contents (names, then 16-byte aligned items).
    ICU looks names up by binary search, so `items` must stay in the order `read_items` gave."""
    names = b"".join(name.encode("ascii") + b"\0" for name, _ in items)
    table_size = 4 + 8 * len(items)
    data_start = _align(table_size + len(names))
    entries, data, name_offset = [], bytearray(), table_size
    for name, item in items:
        entries.append((name_offset, data_start + len(data)))
        name_offset += len(name) + 1
        data += item + _PAD * (_align(len(item)) - len(item))
    table = struct.pack("<I", len(items)) + b"".join(struct.pack("<II", *entry) for entry in entries)
    padding = _PAD * (data_start - table_size - len(names))
    return header + table + names + padding + bytes(data)


def _align(size: int) -> int:
    return (size + _ITEM_ALIGN - 1) // _ITEM_ALIGN * _ITEM_ALIGN


def kept(name: str, keep: Sequence[str] = KEEP) -> bool:
    """Whether an item (named "icudt73l/coll/root.res") is one of `keep` (named "coll/root.res")."""
    return name.partition("/")[2] in keep


def build_library(source: Path, out_dir: Path, *, keep: Callable[[str], bool] = kept, cc: str = "cc") -> Path:
    """Write `out_dir/<source's name>`: an ICU data library with only the items `keep` accepts, under the
    same symbol and soname. Raises IcuDataError or OSError/CalledProcessError when it cannot."""
    compiler = shutil.which(cc)
    if compiler is None:
        raise IcuDataError(f"no C compiler ({cc}) to build the smaller ICU data library")
    library = source.read_bytes()
    symbol, offset, size = data_symbol(library)
    header, items = read_items(library[offset : offset + size])
    out_dir.mkdir(parents=True, exist_ok=True)
    blob = out_dir / f"{symbol}.bin"
    blob.write_bytes(pack_items(header, [item for item in items if keep(item[0])]))
    assembly = out_dir / f"{symbol}.s"
    assembly.write_text(
        "\t.section .rodata\n"
        f"\t.globl {symbol}\n"
        f"\t.type {symbol}, %object\n"
        f"\t.balign {_ITEM_ALIGN}\n"
        f"{symbol}:\n"
        f'\t.incbin "{blob.name}"\n'
        f"\t.size {symbol}, . - {symbol}\n"
        '\t.section .note.GNU-stack,"",%progbits\n'
    )
    target = out_dir / source.name
    subprocess.run(
        [compiler, "-shared", "-nostdlib", f"-Wl,-soname,{source.name}", "-o", target.name, assembly.name],
        cwd=out_dir,
        check=True,
    )
    return target


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    library = Path(argv[0]).read_bytes()
    _symbol, offset, size = data_symbol(library)
    _header, items = read_items(library[offset : offset + size])
    for name, item in sorted(items, key=lambda entry: -len(entry[1])):
        print(f"{len(item):10,d} {'kept' if kept(name) else '    '} {name}")
    print(f"{len(items)} items, {sum(len(item) for _, item in items):,d} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
