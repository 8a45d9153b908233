"""Icons drawn with QPainter at every size and device pixel ratio, so they are sharp on Retina screens.

No image files to ship or to go missing in a frozen app: each icon is a small drawing function rendered
into pixmaps at 1x, 2x and 3x for the sizes Qt asks for most. Results are cached per theme.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

from cronmirror_desktop.ui.theme import signal_color

Draw = Callable[[QPainter, QRectF, bool], None]

_SIZES = (16, 20, 24, 32, 48)
_SCALES = (1.0, 2.0, 3.0)


def render(draw: Draw, size: int, scale: float, dark: bool) -> QPixmap:
    pixmap = QPixmap(round(size * scale), round(size * scale))
    pixmap.setDevicePixelRatio(scale)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    draw(painter, QRectF(0, 0, size, size), dark)
    painter.end()
    return pixmap


def _icon(draw: Draw, dark: bool) -> QIcon:
    icon = QIcon()
    for size in _SIZES:
        for scale in _SCALES:
            icon.addPixmap(render(draw, size, scale, dark))
    return icon


def _ink(dark: bool) -> QColor:
    return QColor("#D6D6DB" if dark else "#3C3C43")


# -- status ---------------------------------------------------------------------------------------


def _disc(p: QPainter, r: QRectF, color: QColor) -> QRectF:
    inset = r.width() * 0.1
    disc = r.adjusted(inset, inset, -inset, -inset)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawEllipse(disc)
    return disc


def _round_pen(color: QColor, width: float) -> QPen:
    pen = QPen(color, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _mark_pen(r: QRectF) -> QPen:
    return _round_pen(QColor("white"), max(1.4, r.width() * 0.11))


def draw_ok(p: QPainter, r: QRectF, dark: bool) -> None:
    d = _disc(p, r, signal_color("ok", dark))
    p.setPen(_mark_pen(r))
    p.setBrush(Qt.BrushStyle.NoBrush)
    w = d.width()
    path = QPainterPath(QPointF(d.left() + w * 0.27, d.top() + w * 0.52))
    path.lineTo(d.left() + w * 0.44, d.top() + w * 0.68)
    path.lineTo(d.left() + w * 0.74, d.top() + w * 0.34)
    p.drawPath(path)


def draw_error(p: QPainter, r: QRectF, dark: bool) -> None:
    d = _disc(p, r, signal_color("error", dark))
    p.setPen(_mark_pen(r))
    a, b = d.width() * 0.32, d.width() * 0.68
    p.drawLine(QPointF(d.left() + a, d.top() + a), QPointF(d.left() + b, d.top() + b))
    p.drawLine(QPointF(d.left() + b, d.top() + a), QPointF(d.left() + a, d.top() + b))


def draw_skipped(p: QPainter, r: QRectF, dark: bool) -> None:
    d = _disc(p, r, signal_color("skipped", dark))
    p.setPen(_mark_pen(r))
    y = d.center().y()
    p.drawLine(QPointF(d.left() + d.width() * 0.3, y), QPointF(d.right() - d.width() * 0.3, y))


def draw_never(p: QPainter, r: QRectF, dark: bool) -> None:
    inset = r.width() * 0.16
    pen = QPen(signal_color("never", dark), max(1.2, r.width() * 0.08))
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(r.adjusted(inset, inset, -inset, -inset))


def draw_warning(p: QPainter, r: QRectF, dark: bool) -> None:
    w = r.width()
    tri = QPolygonF(
        [
            QPointF(r.left() + w * 0.5, r.top() + w * 0.1),
            QPointF(r.left() + w * 0.95, r.top() + w * 0.88),
            QPointF(r.left() + w * 0.05, r.top() + w * 0.88),
        ]
    )
    p.setPen(_round_pen(signal_color("warning", dark), w * 0.06))
    p.setBrush(signal_color("warning", dark))
    p.drawPolygon(tri)
    p.setPen(_mark_pen(r))
    p.drawLine(
        QPointF(r.left() + w * 0.5, r.top() + w * 0.38), QPointF(r.left() + w * 0.5, r.top() + w * 0.6)
    )
    p.drawPoint(QPointF(r.left() + w * 0.5, r.top() + w * 0.75))


def draw_info(p: QPainter, r: QRectF, dark: bool) -> None:
    """An "i" in a disc: a notice that is neither a success nor a problem (never ▶, which means Run)."""
    d = _disc(p, r, signal_color("info", dark))
    p.setPen(_mark_pen(r))
    x, w = d.center().x(), d.width()
    p.drawLine(QPointF(x, d.top() + w * 0.45), QPointF(x, d.top() + w * 0.74))
    p.drawPoint(QPointF(x, d.top() + w * 0.28))


def draw_light(color_name: str) -> Draw:
    def draw(p: QPainter, r: QRectF, dark: bool) -> None:
        inset = r.width() * 0.25
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(signal_color(color_name, dark))
        p.drawEllipse(r.adjusted(inset, inset, -inset, -inset))

    return draw


# -- toolbar ----------------------------------------------------------------------------------------


def _line_pen(r: QRectF, dark: bool, color: QColor | None = None) -> QPen:
    return _round_pen(color or _ink(dark), max(1.3, r.width() * 0.085))


def draw_run(p: QPainter, r: QRectF, dark: bool) -> None:
    w = r.width()
    tri = QPolygonF(
        [
            QPointF(r.left() + w * 0.28, r.top() + w * 0.18),
            QPointF(r.left() + w * 0.82, r.top() + w * 0.5),
            QPointF(r.left() + w * 0.28, r.top() + w * 0.82),
        ]
    )
    color = QColor("#34C759" if dark else "#1E8E3E")
    p.setPen(_round_pen(color, w * 0.08))
    p.setBrush(color)
    p.drawPolygon(tri)


def draw_refresh(p: QPainter, r: QRectF, dark: bool) -> None:
    w = r.width()
    box = r.adjusted(w * 0.2, w * 0.2, -w * 0.2, -w * 0.2)
    p.setPen(_line_pen(r, dark))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawArc(box, 60 * 16, 290 * 16)
    # arrow head at the arc's start (60°)
    cx, cy, rad = box.center().x(), box.center().y(), box.width() / 2
    ang = math.radians(60)
    tip = QPointF(cx + rad * math.cos(ang), cy - rad * math.sin(ang))
    head = QPolygonF([tip + QPointF(-w * 0.2, -w * 0.04), tip, tip + QPointF(-w * 0.04, w * 0.2)])
    p.drawPolyline(head)


def draw_settings(p: QPainter, r: QRectF, dark: bool) -> None:
    w = r.width()
    c = r.center()
    p.setPen(_line_pen(r, dark))
    p.setBrush(Qt.BrushStyle.NoBrush)
    for i in range(8):
        ang = math.radians(i * 45)
        inner, outer = w * 0.3, w * 0.42
        p.drawLine(
            QPointF(c.x() + inner * math.cos(ang), c.y() + inner * math.sin(ang)),
            QPointF(c.x() + outer * math.cos(ang), c.y() + outer * math.sin(ang)),
        )
    p.drawEllipse(c, w * 0.27, w * 0.27)
    p.drawEllipse(c, w * 0.1, w * 0.1)


def draw_search(p: QPainter, r: QRectF, dark: bool) -> None:
    w = r.width()
    p.setPen(_line_pen(r, dark, QColor("#8E8E93")))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(QRectF(r.left() + w * 0.16, r.top() + w * 0.16, w * 0.48, w * 0.48))
    p.drawLine(
        QPointF(r.left() + w * 0.58, r.top() + w * 0.58), QPointF(r.left() + w * 0.84, r.top() + w * 0.84)
    )


def draw_cancel(p: QPainter, r: QRectF, dark: bool) -> None:
    w = r.width()
    p.setPen(_line_pen(r, dark))
    a, b = w * 0.28, w * 0.72
    p.drawLine(QPointF(r.left() + a, r.top() + a), QPointF(r.left() + b, r.top() + b))
    p.drawLine(QPointF(r.left() + b, r.top() + a), QPointF(r.left() + a, r.top() + b))


def draw_requests(p: QPainter, r: QRectF, dark: bool) -> None:
    w = r.width()
    p.setPen(_line_pen(r, dark))
    for i, y in enumerate((0.3, 0.5, 0.7)):
        p.drawPoint(QPointF(r.left() + w * 0.2, r.top() + w * y))
        p.drawLine(
            QPointF(r.left() + w * 0.35, r.top() + w * y),
            QPointF(r.left() + w * (0.82 - 0.1 * i), r.top() + w * y),
        )


def draw_app(p: QPainter, r: QRectF, dark: bool) -> None:
    """The app icon: a clock face on a blue rounded square, with a mirrored second hand."""
    w = r.width()
    box = r.adjusted(w * 0.06, w * 0.06, -w * 0.06, -w * 0.06)
    path = QPainterPath()
    path.addRoundedRect(box, w * 0.22, w * 0.22)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(QColor("#1A73E8")))
    p.drawPath(path)
    c = box.center()
    p.setBrush(QColor("white"))
    p.drawEllipse(c, w * 0.3, w * 0.3)
    pen = QPen(QColor("#1D1D1F"), max(1.0, w * 0.06))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    p.drawLine(c, QPointF(c.x(), c.y() - w * 0.2))
    p.drawLine(c, QPointF(c.x() + w * 0.14, c.y() + w * 0.06))
    p.setPen(QPen(QColor("#1A73E8"), max(1.0, w * 0.04)))
    p.drawLine(c, QPointF(c.x() - w * 0.14, c.y() + w * 0.06))


_DRAWINGS: dict[str, Draw] = {
    "ok": draw_ok,
    "error": draw_error,
    "skipped": draw_skipped,
    "never": draw_never,
    "warning": draw_warning,
    "info": draw_info,
    "run": draw_run,
    "refresh": draw_refresh,
    "settings": draw_settings,
    "search": draw_search,
    "cancel": draw_cancel,
    "requests": draw_requests,
    "app": draw_app,
    "light-live": draw_light("live"),
    "light-connecting": draw_light("connecting"),
    "light-down": draw_light("down"),
    "light-off": draw_light("off"),
}

NAMES = tuple(_DRAWINGS)


@cache
def icon(name: str, dark: bool = False) -> QIcon:
    """The named icon for the light or dark theme (cached; names are listed in `NAMES`)."""
    return _icon(_DRAWINGS[name], dark)
