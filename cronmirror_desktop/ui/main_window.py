"""The main window: toolbar (project, search, filters, Worker, Run), banner, connection panel, the job
table with its details pane, and the Run requests dock. All data comes from the `AppController`; the
hosted worker's controls and status line come from a `WorkerMenu` (the menu-bar icon shows the same).

Window geometry, the dock layout, the splitter and the table's columns (widths, order, sort) are saved
in the QSettings object handed in, so tests can use a throwaway file.

Long because it is one thing: it builds the window and wires its parts to the controller; the parts
themselves (models, dock, details, panels) live in their own modules.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QItemSelection,
    QProcess,
    QSettings,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cronmirror_desktop.core.rows import CronMirrorJob, ProjectInfo
from cronmirror_desktop.core.store import LiveState
from cronmirror_desktop.ui import icons, status_messages
from cronmirror_desktop.ui.banner import Banner, BannerKind
from cronmirror_desktop.ui.chips import JobStatusDelegate
from cronmirror_desktop.ui.cli_args import app_command
from cronmirror_desktop.ui.column_fit import ColumnFit
from cronmirror_desktop.ui.connection_panel import ConnectionPanel
from cronmirror_desktop.ui.controller import AppController
from cronmirror_desktop.ui.details_pane import DetailsPane
from cronmirror_desktop.ui.elided_label import ElidedLabel
from cronmirror_desktop.ui.job_actions import JobActions
from cronmirror_desktop.ui.job_filter import (
    ENABLED_FILTER_LABELS,
    STATUS_FILTER_LABELS,
    JobFilterProxy,
)
from cronmirror_desktop.ui.job_model import (
    COL_DURATION,
    COL_ENABLED,
    COL_HOST,
    COL_LAST,
    COL_NAME,
    COL_NEXT,
    COL_SCHEDULE,
    COL_STATUS,
    ObjectRole,
)
from cronmirror_desktop.ui.jobs_file_actions import open_jobs_file
from cronmirror_desktop.ui.request_dock import RequestDock
from cronmirror_desktop.ui.status_messages import (
    LOADING_TEXT,
    OPEN_JOBS_FILE,
    SHOW_DEMO,
    START_WORKER,
    not_configured_banner,
)
from cronmirror_desktop.ui.theme import is_dark
from cronmirror_desktop.ui.toast import Toast
from cronmirror_desktop.ui.worker_menu import WorkerMenu

__all__ = ["LOADING_TEXT", "ElidedLabel", "MainWindow", "not_configured_banner"]

#: The empty table's buttons: what each next step is called.
EMPTY_ACTION_LABELS = {
    START_WORKER: "Start worker",
    OPEN_JOBS_FILE: "Open jobs.toml",
    SHOW_DEMO: "Show the demo",
}
#: Keystrokes in the search that arrive within one frame (60 Hz) are applied together at its end.
SEARCH_FRAME_MS = 16
#: 2: the job table got a Host column (a header state saved for 7 columns does not fit 8).
SETTINGS_VERSION = 2
#: The narrowest window: the toolbar still fits, the table shows Name and Status (column_fit.py).
MIN_WIDTH = 860
#: Below this window width the toolbar is compact (see `_fit_toolbar`).
TOOLBAR_COMPACT_WIDTH = 1060
#: Below this width of the table and details together, the details pane collapses (the table keeps the
#: room; double-click a job or drag the splitter's handle to bring it back).
DETAILS_COLLAPSE_WIDTH = 1000


class MainWindow(QMainWindow):
    settingsRequested = Signal()

    def __init__(
        self,
        controller: AppController,
        settings: QSettings,
        *,
        open_settings: Callable[[QWidget], object] | None = None,
        worker_menu: WorkerMenu | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.controller = controller
        self.settings = settings
        self._open_settings = open_settings
        self.worker_menu = worker_menu
        self.setWindowTitle("CronMirror")
        self._icons_dark: bool | None = None
        self.setMinimumSize(QSize(MIN_WIDTH, 520))
        self.setUnifiedTitleAndToolBarOnMac(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self.proxy = JobFilterProxy(self)
        self.proxy.setSourceModel(controller.job_model)

        self._build_toolbar()
        self._build_central()
        self.job_actions = JobActions(self, controller, self.table)  # menu, double-click, pending requests
        self.dock = RequestDock(controller, self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        self.requests_action.setChecked(True)
        self.requests_action.toggled.connect(self.dock.setVisible)
        self.dock.visibilityChanged.connect(self._dock_visibility)
        self.toast = Toast(self.central)
        self._build_shortcuts()
        self._build_status_bar()

        controller.notice.connect(self.toast.show_message)
        controller.projectsChanged.connect(self._projects_changed)
        controller.projectChanged.connect(self._project_changed)
        controller.loadingChanged.connect(self._update_empty_state)
        controller.liveStateChanged.connect(self._live_changed)
        controller.busyChanged.connect(self._busy_changed)
        controller.storeChanged.connect(self._update_banner)
        controller.workersChanged.connect(self._update_banner)
        controller.request_model.activeCountChanged.connect(self._update_banner)
        controller.clock.ticked.connect(self._clock_ticked)
        self._banner_due: datetime | None = None
        #: How "Show the demo" starts a demo (a second app, detached); tests replace it.
        self.launch: Callable[[str, list[str]], object] = QProcess.startDetached
        #: How "Open jobs.toml" opens a file (the desktop's editor); tests replace it.
        self.open_url: Callable[[QUrl], object] = QDesktopServices.openUrl
        model = controller.job_model
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved):
            signal.connect(self._update_empty_state)
        model.hostsChanged.connect(self._hosts_changed)
        # A Snapshot (after a reconnect or a refresh) resets the model: keep the selected job selected.
        model.modelAboutToBeReset.connect(self._remember_selection)
        model.modelReset.connect(self._restore_selection)
        self._kept_selection: str | None = None
        for signal in (
            self.proxy.modelReset,
            self.proxy.rowsInserted,
            self.proxy.rowsRemoved,
            self.proxy.layoutChanged,
        ):
            signal.connect(self._update_empty_state)
        self.banner.actionClicked.connect(self._banner_action)
        self.connection_panel.settingsRequested.connect(self.open_settings)
        self.details.runRequested.connect(self.run_job)

        self.resize(1280, 800)
        self.resizeDocks([self.dock], [230], Qt.Orientation.Vertical)
        self._restore_layout()
        self._hosts_changed(controller.job_model.hosts())
        self._projects_changed(controller.projects)
        self._project_changed(controller.project_id)
        self._update_banner()
        self._update_empty_state()

    # -- construction -------------------------------------------------------------------------

    def _build_toolbar(self) -> None:
        dark = is_dark()
        bar = QToolBar("Main", self)
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.setIconSize(QSize(18, 18))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar

        project_label = QLabel("Project", bar)
        project_label.setContentsMargins(6, 0, 4, 0)
        self.project_label_action = bar.addWidget(project_label)
        self.project_combo = QComboBox(bar)
        self.project_combo.setObjectName("projectCombo")
        self.project_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.project_combo.setMinimumContentsLength(12)
        self.project_combo.setToolTip("Which project's jobs to show (the id both tables are scoped by)")
        self.project_combo.activated.connect(self._project_chosen)
        bar.addWidget(self.project_combo)
        bar.addSeparator()

        self.search = QLineEdit(bar)
        self.search.setObjectName("searchField")
        self.search.setPlaceholderText("Search jobs by name")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(icons.icon("search", dark), QLineEdit.ActionPosition.LeadingPosition)
        self.search.setMinimumWidth(220)
        self.search.setMaximumWidth(360)
        self.search.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._search_timer.setInterval(SEARCH_FRAME_MS)
        self._search_timer.timeout.connect(self._apply_search)
        self.search.textChanged.connect(self._search_typed)
        self.search.returnPressed.connect(self._search_return)
        bar.addWidget(self.search)

        self.enabled_combo = QComboBox(bar)
        self.enabled_combo.setObjectName("enabledFilter")
        for mode, label in ENABLED_FILTER_LABELS.items():
            self.enabled_combo.addItem(label, str(mode))
        self.enabled_combo.setToolTip("Show all jobs, or only enabled or disabled ones")
        self.enabled_combo.currentIndexChanged.connect(
            lambda i: self.proxy.set_enabled_filter(self.enabled_combo.itemData(i))
        )
        bar.addWidget(self.enabled_combo)

        self.status_combo = QComboBox(bar)
        self.status_combo.setObjectName("statusFilter")
        for status, label in STATUS_FILTER_LABELS.items():
            self.status_combo.addItem(label, str(status))
        self.status_combo.setToolTip("Filter by the status of each job's last run")
        self.status_combo.currentIndexChanged.connect(
            lambda i: self.proxy.set_status_filter(self.status_combo.itemData(i))
        )
        bar.addWidget(self.status_combo)

        self.host_combo = QComboBox(bar)
        self.host_combo.setObjectName("hostFilter")
        self.host_combo.setToolTip("Show the jobs of every Mac mini, or of one")
        self.host_combo.currentIndexChanged.connect(
            lambda i: self.proxy.set_host_filter(self.host_combo.itemData(i))
        )
        #: Shown only while the project's jobs live on more than one host (see `_hosts_changed`).
        self.host_filter_action = bar.addWidget(self.host_combo)
        self.host_filter_action.setVisible(False)

        spacer = QWidget(bar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)

        self.worker_button: QToolButton | None = None
        self.worker_popup: QMenu | None = None
        if self.worker_menu is not None:
            self._build_worker_button(bar, self.worker_menu)

        self.run_action = QAction(icons.icon("run", dark), "Run", self)
        self.run_action.setObjectName("runAction")
        self.run_action.setShortcuts([QKeySequence("Ctrl+R")])
        self.run_action.setToolTip("Run the selected job now (Ctrl+R or Return)")
        self.run_action.setEnabled(False)
        self.run_action.triggered.connect(self.run_selected)
        bar.addAction(self.run_action)

        self.refresh_action = QAction(icons.icon("refresh", dark), "Refresh", self)
        self.refresh_action.setObjectName("refreshAction")
        self.refresh_action.setShortcuts([QKeySequence("Ctrl+Shift+R"), QKeySequence(Qt.Key.Key_F5)])
        self.refresh_action.setToolTip("Fetch jobs and requests again (Ctrl+Shift+R or F5)")
        self.refresh_action.triggered.connect(self.refresh)
        bar.addAction(self.refresh_action)

        self.requests_action = QAction(icons.icon("requests", dark), "Requests", self)
        self.requests_action.setObjectName("requestsAction")
        self.requests_action.setCheckable(True)
        self.requests_action.setToolTip("Show or hide the Run requests dock")
        bar.addAction(self.requests_action)

        self.settings_action = QAction(icons.icon("settings", dark), "Settings", self)
        self.settings_action.setObjectName("settingsAction")
        self.settings_action.setShortcuts(
            [QKeySequence(QKeySequence.StandardKey.Preferences), QKeySequence("Ctrl+,")]
        )
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.settings_action.triggered.connect(self.open_settings)
        bar.addAction(self.settings_action)
        # Run keeps its word (it is what the window is for); the others are icons with tooltips, which
        # keeps the toolbar within the minimum window width.
        for action in (self.refresh_action, self.requests_action, self.settings_action):
            button = bar.widgetForAction(action)
            if isinstance(button, QToolButton):
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)

    def _build_worker_button(self, bar: QToolBar, worker_menu: WorkerMenu) -> None:
        """The hosted worker's menu, filled by the same code as the menu-bar icon's (see worker_menu.py)."""
        button = QToolButton(bar)
        button.setObjectName("workerButton")
        button.setText("In-app worker")
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        popup = QMenu(button)
        popup.setObjectName("workerMenu")
        popup.aboutToShow.connect(lambda: worker_menu.populate(popup, with_open=False))
        button.setMenu(popup)
        bar.addWidget(button)
        self.worker_button = button
        self.worker_popup = popup

    def _build_central(self) -> None:
        central = QWidget(self)
        central.setObjectName("central")
        self.central = central
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.banner = Banner(central)
        self.connection_panel = ConnectionPanel(self.controller, central)
        layout.addWidget(self.banner)
        layout.addWidget(self.connection_panel)

        self.table = QTableView(central)
        self.table.setObjectName("jobTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 12)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionsMovable(True)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSortIndicator(COL_NAME, Qt.SortOrder.AscendingOrder)
        fm = self.table.fontMetrics()
        em = fm.horizontalAdvance("M")
        widths = {
            COL_NAME: em * 13,
            COL_SCHEDULE: fm.horizontalAdvance("At 07:00, Monday through Friday") + 16,
            COL_NEXT: fm.horizontalAdvance("in 23 h 59 min") + 16,
            COL_LAST: fm.horizontalAdvance("5 h 59 min ago") + 16,
            COL_STATUS: fm.horizontalAdvance("Succeeded") + 44,
            COL_DURATION: fm.horizontalAdvance("3 min 4 s") + 18,
            COL_ENABLED: fm.horizontalAdvance("Enabled") + 20,
            COL_HOST: fm.horizontalAdvance("mac-mini-studio") + 16,
        }
        for column, width in widths.items():
            self.table.setColumnWidth(column, width)
        # In a narrow window the long columns give way (and elide) so Name and Status stay in view.
        self.column_fit = ColumnFit(self.table, {c: w for c, w in widths.items() if c != COL_NAME})
        header.moveSection(header.visualIndex(COL_HOST), 1)  # right after the name, when it is shown
        self.table.setColumnHidden(COL_HOST, True)
        self.table.setItemDelegateForColumn(COL_STATUS, JobStatusDelegate(self.table))
        # The name takes whatever width is left; the others keep theirs (and stay resizable).
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(fm.horizontalAdvance("Name") + 24)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.installEventFilter(self)

        # Over an empty table: why it is empty, and the next steps (buttons) when there are any.
        self.empty_state = QWidget(self.table.viewport())
        self.empty_state.setObjectName("emptyState")
        box = QVBoxLayout(self.empty_state)
        box.setContentsMargins(24, 24, 24, 24)
        box.addStretch(1)
        self.empty_label = QLabel(self.empty_state)
        self.empty_label.setObjectName("emptyText")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setEnabled(False)
        box.addWidget(self.empty_label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.empty_buttons: dict[str, QPushButton] = {}
        for action, label in EMPTY_ACTION_LABELS.items():
            button = QPushButton(label, self.empty_state)
            button.setObjectName(f"empty_{action}")
            button.clicked.connect(lambda _checked=False, a=action: self.empty_action(a))
            button.hide()
            buttons.addWidget(button)
            self.empty_buttons[action] = button
        buttons.addStretch(1)
        box.addLayout(buttons)
        box.addStretch(1)
        self.table.viewport().installEventFilter(self)

        self.details = DetailsPane(self.controller, central)
        self.details.setMinimumWidth(320)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, central)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setCollapsible(1, True)  # the details give way in a narrow window (_fit_details)
        self.splitter.setSizes([920, 360])
        self.splitter.splitterMoved.connect(self._details_moved_by_hand)
        #: The details pane's share of the width before the window got too narrow for it (None: not
        #: collapsed by us).
        self._details_share_before: float | None = None
        self.splitter.installEventFilter(self)
        self.table.doubleClicked.connect(lambda _index: self.show_details())
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

    def _build_shortcuts(self) -> None:
        find = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        find.activated.connect(self.focus_search)
        self.find_shortcut = find
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.search)
        escape.setContext(Qt.ShortcutContext.WidgetShortcut)
        escape.activated.connect(self._clear_search)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setSizeGripEnabled(True)
        self.count_label = QLabel(bar)
        self.count_label.setObjectName("jobCount")
        bar.addPermanentWidget(self.count_label)
        self.worker_line: ElidedLabel | None = None
        if self.worker_menu is not None:
            self.worker_line = ElidedLabel(bar)
            self.worker_line.setObjectName("workerStatus")
            self.worker_line.setContentsMargins(6, 0, 6, 0)
            bar.addWidget(self.worker_line, 1)
            self.worker_menu.changed.connect(self.update_worker_line)
            self.worker_menu.changed.connect(self._update_banner)
            self.worker_menu.changed.connect(self._update_empty_state)
            self.connection_panel.own_worker_id = self.worker_menu.worker_id
            self.update_worker_line()

    def update_worker_line(self) -> None:
        """The worker's status line and light (status bar and the toolbar button), from live state."""
        if self.worker_menu is None or self.worker_line is None:
            return
        summary = self.worker_menu.summary()
        text = summary.line if not summary.problem else f"{summary.line} · ⚠ {summary.problem}"
        self.worker_line.set_full_text(text)
        self.worker_line.setToolTip(
            summary.problem or f"The worker inside this app, for project {self.worker_menu.project_id}"
        )
        if self.worker_button is not None:
            self.worker_button.setIcon(icons.icon(f"light-{summary.light}", is_dark(self.palette())))
            self.worker_button.setToolTip(summary.line)

    # -- actions ------------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _clear_search(self) -> None:
        self.search.clear()
        self._apply_search()
        self.table.setFocus()

    def _search_typed(self, _text: str) -> None:
        """Apply the search at the end of the frame its first keystroke arrived in; later keystrokes of
        that frame join it. A keystroke never restarts the wait (a debounce would: fast typing then
        filtered nothing until a pause), so the table follows the typing frame by frame."""
        if not self._search_timer.isActive():
            self._search_timer.start()

    def _apply_search(self) -> None:
        self._search_timer.stop()
        self.proxy.set_search_text(self.search.text())
        self._update_empty_state()

    def _search_return(self) -> None:
        self._apply_search()
        if self.proxy.rowCount() and not self.table.selectionModel().hasSelection():
            self.table.selectRow(0)
        self.table.setFocus()

    def selected_job(self) -> CronMirrorJob | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.proxy.data(rows[0], ObjectRole)

    def select_job(self, job_id: str) -> bool:
        row = self.controller.job_model.row_of_job(job_id)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.controller.job_model.index(row, 0))
        if not index.isValid():
            return False
        self.table.selectRow(index.row())
        self.table.scrollTo(index)
        return True

    def reveal_job(self, job_id: str) -> bool:
        """Select a job even when the search or a filter hides it (a notification was clicked): the
        filters are cleared only when they are what hides it."""
        if self.select_job(job_id):
            return True
        if self.controller.job_model.row_of_job(job_id) is None:
            return False
        self.search.clear()
        self._apply_search()
        for combo in (self.enabled_combo, self.status_combo, self.host_combo):
            if combo.count():
                combo.setCurrentIndex(0)
        return self.select_job(job_id)

    def run_selected(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.run_job(job.job_id)

    def run_job(self, job_id: str) -> None:
        if job_id:
            self.controller.spawn(f"run:{job_id}", self.controller.run_job(job_id))

    def refresh(self) -> None:
        self.controller.refresh()

    def open_settings(self) -> None:
        self.settingsRequested.emit()
        if self._open_settings is not None:
            self._open_settings(self)

    # -- reactions ----------------------------------------------------------------------------

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        job = self.selected_job()
        self.run_action.setEnabled(job is not None and bool(job.job_id))
        self.details.show_job(job)

    def _remember_selection(self) -> None:
        job = self.selected_job()
        self._kept_selection = job.job_id if job is not None else None

    def _restore_selection(self) -> None:
        kept, self._kept_selection = self._kept_selection, None
        if kept is not None:
            self.select_job(kept)

    def _projects_changed(self, projects: list[ProjectInfo]) -> None:
        combo = self.project_combo
        combo.blockSignals(True)
        combo.clear()
        for project in projects:
            count = (
                f" — {project.job_count} job{'s' if project.job_count != 1 else ''}"
                if project.job_count
                else ""
            )
            combo.addItem(f"{project.project_id}{count}", project.project_id)
        if not projects and self.controller.project_id:
            combo.addItem(self.controller.project_id, self.controller.project_id)
        index = combo.findData(self.controller.project_id)
        combo.setCurrentIndex(max(0, index))
        combo.setEnabled(combo.count() > 1)
        combo.blockSignals(False)

    def _project_changed(self, project_id: str) -> None:
        index = self.project_combo.findData(project_id)
        if index >= 0:
            self.project_combo.setCurrentIndex(index)
        suffix = " (demo)" if self.controller.demo else ""
        self.setWindowTitle(f"CronMirror — {project_id}{suffix}" if project_id else "CronMirror")
        self.details.show_job(None)

    def _project_chosen(self, index: int) -> None:
        project_id = self.project_combo.itemData(index)
        if project_id and project_id != self.controller.project_id:
            self.controller.switch_project(project_id)

    def _hosts_changed(self, hosts: list[str]) -> None:
        """Several Mac minis on one project: show which one each job lives on, and let the user pick one."""
        several = len(hosts) > 1
        self.table.setColumnHidden(COL_HOST, not several)
        self.column_fit.fit()
        current = self.proxy.host_filter
        combo = self.host_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("All hosts", None)
        for host in hosts:
            combo.addItem(host, host)
        index = combo.findData(current) if current in hosts else 0
        combo.setCurrentIndex(max(0, index))
        combo.blockSignals(False)
        self.host_filter_action.setVisible(several)
        if current is not None and (current not in hosts or not several):
            self.proxy.set_host_filter(None)
            self._update_empty_state()

    def _busy_changed(self, busy: bool) -> None:
        self.run_action.setEnabled(not busy and self.selected_job() is not None)

    def _dock_visibility(self, visible: bool) -> None:
        if not self.isMinimized():
            self.requests_action.blockSignals(True)
            self.requests_action.setChecked(self.dock.isVisibleTo(self))
            self.requests_action.blockSignals(False)

    def _live_changed(self, _state: LiveState, _detail: str) -> None:
        self._update_banner()

    def _can_start_worker(self) -> bool:
        menu = self.worker_menu
        return (
            menu is not None
            and menu.summary().can_start
            and menu.project_id == self.controller.project_id
            and not self.controller.demo
        )

    def _update_banner(self, *_args: object) -> None:
        """The banner's one message (status_messages decides); woken again when "no worker seen" would
        start to hold."""
        c = self.controller
        self.banner.show_message(status_messages.banner_message(c, can_start_worker=self._can_start_worker()))
        _, self._banner_due = c.waiting_for_a_worker()
        c.clock.wake_at(self._banner_due)
        self._update_empty_state()

    def _clock_ticked(self) -> None:
        if self._banner_due is not None and self._banner_due <= self.controller.clock.now:
            self._update_banner()

    def _banner_action(self, kind: str) -> None:
        if kind == BannerKind.NO_WORKER and self.worker_menu is not None:
            self.worker_menu.start()
        else:
            self.open_settings()

    def empty_action(self, action: str) -> None:
        """A next step offered by the empty table."""
        if action == START_WORKER and self.worker_menu is not None:
            self.worker_menu.start()
        elif action == OPEN_JOBS_FILE:
            self.open_jobs_file()
        elif action == SHOW_DEMO:
            self.launch(*app_command("--demo"))

    def open_jobs_file(self) -> None:
        """This computer's jobs.toml in the desktop's editor (jobs_file_actions.py)."""
        from cronmirror_desktop.core.config import resolve_config
        from worker.configured import jobs_file_path

        path = jobs_file_path(resolve_config())
        try:
            open_jobs_file(path, self.open_url)
        except OSError as exc:
            self.toast.show_message("error", f"Could not create {path}: {exc}")

    def _update_empty_state(self, *_args: object) -> None:
        total = self.controller.job_model.rowCount()
        shown = self.proxy.rowCount()
        empty = status_messages.empty_text(
            self.controller, total=total, shown=shown, can_start_worker=self._can_start_worker()
        )
        self.empty_label.setText(empty.text if empty is not None else "")
        for action, button in self.empty_buttons.items():
            button.setVisible(empty is not None and action in empty.actions)
        self.empty_state.setVisible(empty is not None)
        self.empty_state.resize(self.table.viewport().size())
        if total:
            noun = "job" if total == 1 else "jobs"
            text = f"{shown:,} of {total:,} {noun}" if shown != total else f"{total:,} {noun}"
            self.count_label.setText(text)
        else:
            self.count_label.setText("")

    def eventFilter(self, watched: object, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self.empty_state.resize(self.table.viewport().size())
        elif watched is getattr(self, "splitter", None) and event.type() == QEvent.Type.Resize:
            QTimer.singleShot(0, self._fit_details)  # after the splitter has laid out its panes
        elif (
            watched is self.table
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)  # type: ignore[attr-defined]
            and not event.modifiers()  # type: ignore[attr-defined]
        ):
            self.run_selected()
            return True
        return super().eventFilter(watched, event)  # type: ignore[arg-type]

    def _refresh_icons(self) -> None:
        """Toolbar icons in the ink of the current palette (the theme can change while running)."""
        dark = is_dark(self.palette())
        if dark == self._icons_dark:
            return
        self._icons_dark = dark
        for action, name in (
            (self.run_action, "run"),
            (self.refresh_action, "refresh"),
            (self.requests_action, "requests"),
            (self.settings_action, "settings"),
        ):
            action.setIcon(icons.icon(name, dark))
        self.dock.cancel_button.setIcon(icons.icon("cancel", dark))
        self.details.run_button.setIcon(icons.icon("run", dark))
        self.update_worker_line()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_toolbar()

    def _fit_toolbar(self) -> None:
        """In a narrow window the toolbar gives up words, never controls: the worker button shows its
        light only (its name and state are in the tooltip and the status bar), the "Project" label goes
        (the combo says it), the search field may get narrower."""
        compact = self.width() < TOOLBAR_COMPACT_WIDTH
        self.project_label_action.setVisible(not compact)
        self.search.setMinimumWidth(160 if compact else 220)
        if self.worker_button is not None:
            self.worker_button.setToolButtonStyle(
                Qt.ToolButtonStyle.ToolButtonIconOnly
                if compact
                else Qt.ToolButtonStyle.ToolButtonTextBesideIcon
            )

    def _fit_details(self) -> None:
        """Collapse the details pane while the window is narrow; give it back its share when it is not."""
        total = self.splitter.width()
        sizes = self.splitter.sizes()
        if total <= 0 or len(sizes) != 2 or sum(sizes) <= 0:
            return
        if total < DETAILS_COLLAPSE_WIDTH:
            if sizes[1] > 0 and self._details_share_before is None:
                self._details_share_before = sizes[1] / sum(sizes)
                self.splitter.setSizes([total, 0])
        elif self._details_share_before is not None:
            self._uncollapse()

    def _uncollapse(self) -> None:
        share, self._details_share_before = self._details_share_before or 0.28, None
        total = self.splitter.width()
        width = max(self.details.minimumWidth(), round(total * share))
        self.splitter.setSizes([max(0, total - width), width])

    def _details_moved_by_hand(self, _pos: int, _index: int) -> None:
        if self.splitter.sizes()[1] > 0:
            self._details_share_before = None  # opened by hand: it stays until the window changes

    @property
    def details_collapsed(self) -> bool:
        return self.splitter.sizes()[1] == 0

    def show_details(self) -> None:
        """Bring a collapsed details pane back (a double-click on a job does)."""
        if self.details_collapsed:
            if self._details_share_before is None:
                self._details_share_before = 0.28
            self._uncollapse()

    def _splitter_state(self) -> QByteArray:
        """The splitter as the user left it: a pane collapsed only because the window is narrow is saved
        open, at its share, so a wider window next time shows it."""
        share = self._details_share_before
        if share is None:
            return self.splitter.saveState()
        total = max(1, sum(self.splitter.sizes()))
        width = round(total * share)
        self.splitter.setSizes([total - width, width])
        state = self.splitter.saveState()
        self.splitter.setSizes([total, 0])
        return state

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) and hasattr(
            self, "dock"
        ):
            self._refresh_icons()
            self.table.viewport().update()
            self.dock.view.viewport().update()
            self._update_banner()

    # -- persistence --------------------------------------------------------------------------

    def _restore_layout(self) -> None:
        s = self.settings
        if s.value("layout/version", 0, type=int) != SETTINGS_VERSION:
            return
        geometry = s.value("mainWindow/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = s.value("mainWindow/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        header = s.value("jobTable/header")
        if isinstance(header, QByteArray):
            self.table.horizontalHeader().restoreState(header)
            fit = self.column_fit
            for column in list(fit.preferred):
                if self.table.columnWidth(column) > 0:
                    fit.preferred[column] = self.table.columnWidth(column)
        splitter = s.value("mainWindow/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        requests = s.value("requests/header")
        if isinstance(requests, QByteArray):
            self.dock.view.horizontalHeader().restoreState(requests)

    def save_layout(self) -> None:
        s = self.settings
        s.setValue("layout/version", SETTINGS_VERSION)
        s.setValue("mainWindow/geometry", self.saveGeometry())
        s.setValue("mainWindow/state", self.saveState())
        s.setValue("jobTable/header", self.column_fit.preferred_state())
        s.setValue("mainWindow/splitter", self._splitter_state())
        s.setValue("requests/header", self.dock.view.horizontalHeader().saveState())
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        super().closeEvent(event)
