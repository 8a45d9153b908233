"""Cycles are collected on the GUI thread only (cronmirror_desktop/ui/collector.py).

CPython collects cycles in whichever thread allocates when the counts run over; a cycle holding a Qt object
collected in the store's or the hosted worker's thread deletes that object off the GUI thread. These tests
drop such a cycle and then allocate in another thread, as the app's threads do all the time.
"""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

from PySide6.QtCore import QObject, QTimer

from cronmirror_desktop.ui.collector import GuiThreadCollector


class QtCycle:
    """A Python object that owns a Qt object and refers to itself, as a widget and a slot bound to it do."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.me = self


def drop_a_cycle(freed_in: list[str]) -> None:
    cycle = QtCycle()
    weakref.finalize(cycle, lambda: freed_in.append(threading.current_thread().name))


def allocate_in_a_thread(count: int) -> None:
    """What a busy worker thread does: leaves cyclic garbage behind (asyncio's futures and frames make
    plenty), well past the youngest generation's threshold."""

    def allocate() -> None:
        for _ in range(count):
            node: list[object] = []
            node.append(node)

    thread = threading.Thread(target=allocate, name="busy-worker")
    thread.start()
    thread.join()


def test_a_dropped_cycle_with_a_qt_object_is_freed_on_the_gui_thread_not_where_a_thread_allocates(
    qapp: Any, automatic_gc: None
) -> None:
    collector = GuiThreadCollector()
    collector.start()
    try:
        gc.collect()  # counts at zero: the next threshold is then crossed in the busy thread
        freed_in: list[str] = []
        drop_a_cycle(freed_in)
        threshold0 = gc.get_threshold()[0]
        allocate_in_a_thread(threshold0 * 20)
        assert freed_in == []  # without the collector: ["busy-worker"]
        collector.collect_due()
        assert freed_in == ["MainThread"]
    finally:
        collector.stop()
    assert gc.isenabled()  # given back as it was found


def test_the_collector_runs_on_its_own_timer_while_events_are_processed(qapp: Any, qtbot: Any) -> None:
    collector = GuiThreadCollector(interval_ms=10)
    collector.start()
    try:
        freed_in: list[str] = []
        drop_a_cycle(freed_in)
        allocate_in_a_thread(gc.get_threshold()[0] * 20)
        qtbot.waitUntil(lambda: freed_in == ["MainThread"], timeout=5000)
    finally:
        collector.stop()


def test_start_and_stop_are_idempotent_and_nest_under_a_collector_already_running(qapp: Any) -> None:
    outer = GuiThreadCollector()  # the session's collector is running: automatic collection is off
    was_enabled = gc.isenabled()
    outer.start()
    outer.start()
    inner = GuiThreadCollector()
    inner.start()
    inner.stop()
    assert not gc.isenabled()  # the inner one found it off and leaves it off
    outer.stop()
    outer.stop()
    assert gc.isenabled() == was_enabled


def test_it_refuses_to_start_outside_the_gui_thread(qapp: Any) -> None:
    errors: list[BaseException] = []
    owner = QObject()
    collector = GuiThreadCollector(owner)

    def start() -> None:
        try:
            collector.start()
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=start)
    thread.start()
    thread.join()
    assert len(errors) == 1
    assert "GUI thread" in str(errors[0])
    assert not collector.active
