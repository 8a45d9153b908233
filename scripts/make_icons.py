"""Regenerate CronMirror's icon files from the SVG sources in resources/icons/.

    python scripts/make_icons.py          # writes the PNG sizes, the tray templates and cronmirror.icns

Renders with Qt's SVG renderer (offscreen, no display needed). The .icns is assembled here (PNG entries,
the container format Apple documents), so it can be rebuilt on Linux too; on macOS `iconutil` would give the
same result from an .iconset folder.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
APP_SIZES = (16, 32, 48, 64, 128, 256, 512, 1024)
#: ICNS entry types holding PNG data, by pixel size (the @2x types share sizes with larger 1x ones).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"ic11", 32),
    (b"icp6", 64),
    (b"ic12", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic13", 256),
    (b"ic09", 512),
    (b"ic14", 512),
    (b"ic10", 1024),
)


def render(svg: Path, size: int) -> bytes:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def icns(pngs: dict[int, bytes]) -> bytes:
    body = b"".join(kind + struct.pack(">I", len(pngs[size]) + 8) + pngs[size] for kind, size in ICNS_TYPES)
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    pngs = {size: render(ICONS / "cronmirror.svg", size) for size in APP_SIZES}
    for size, data in pngs.items():
        (ICONS / f"cronmirror-{size}.png").write_bytes(data)
    (ICONS / "cronmirror.icns").write_bytes(icns(pngs))
    for name in ("tray", "tray-active"):
        (ICONS / f"{name}-template.png").write_bytes(render(ICONS / f"{name}.svg", 22))
        (ICONS / f"{name}-template@2x.png").write_bytes(render(ICONS / f"{name}.svg", 44))
    del app
    print(f"wrote {len(APP_SIZES)} app icon sizes, cronmirror.icns and 4 tray templates into {ICONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
