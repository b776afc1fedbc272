"""The Model selection dock's table of runs: status, N_h, seed (learning rate and half when the sweep varies
them), best test LL, the update of the maximum, updates done and wall time, one row per run in the plan's
order; picking a row picks the run."""

from __future__ import annotations

import math

import pandas as pd
from qtpy.QtCore import QSize, Qt, Signal
from qtpy.QtGui import QColor
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

COLUMNS = {"status": "status", "n_hidden": "N_h", "seed": "seed", "lr": "lr", "half": "half",
           "best": "best LL", "peak_update": "at", "updates": "updates", "wall_s": "wall s"}
HEADER_TIPS = {"best": "Best test log-likelihood (nats/frame)",
               "peak_update": "Update of the maximum of the test LL (the star)", "updates": "Updates trained",
               "wall_s": "Wall time of the run in seconds",
               "half": "Half of the training frames (0 or 1) the run learnt from"}
VARYING = ("lr", "half")  # shown only when the sweep has more than one value
STATUS_COLORS = {"failed": QColor(240, 90, 90), "running": QColor(120, 200, 255),
                 "pending": QColor(150, 150, 150)}
TIP = ("One row per run of the sweep. Best test LL: the model selection's estimate of a finished run, the "
       "maximum of the test LL so far of a running one. Click a row to make its model the viewer's.")


class RunTable(QTableWidget):
    """The runs of a sweep; :attr:`picked` gives the name of the run whose row was clicked."""

    picked = Signal(str)

    def __init__(self) -> None:
        super().__init__(0, 0)
        self.names: list[str] = []
        self.setToolTip(TIP)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().lineSpacing() + 6)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setMinimumHeight(120)
        self.itemSelectionChanged.connect(self._on_selection)

    def sizeHint(self) -> QSize:
        """About eight rows: the table scrolls."""
        return QSize(super().sizeHint().width(), 9 * self.verticalHeader().defaultSectionSize() + 8)

    def fill(self, runs: pd.DataFrame, selected: str | None = None) -> None:
        """Show ``runs`` (a Selection's ``runs``), ``selected`` highlighted; the scroll position stays."""
        columns = [c for c in COLUMNS if c not in VARYING or runs[c].nunique(dropna=True) > 1]
        self.blockSignals(True)
        if list(runs.index) != self.names or self.columnCount() != len(columns):
            self.clearContents()
            self.setRowCount(len(runs))
            self.setColumnCount(len(columns))
            for col, column in enumerate(columns):
                header = QTableWidgetItem(COLUMNS[column])
                header.setToolTip(HEADER_TIPS.get(column, ""))
                self.setHorizontalHeaderItem(col, header)
            self.names = list(runs.index)
        for row, (name, run) in enumerate(runs.iterrows()):
            for col, column in enumerate(columns):
                self.setItem(row, col, _item(column, run[column], name, run.get("message")))
        self.select_run(selected)
        self.blockSignals(False)

    def select_run(self, name: str | None) -> None:
        """Highlight the row of ``name`` (none for None), without emitting :attr:`picked`."""
        blocked = self.blockSignals(True)
        self.clearSelection()
        if name in self.names:
            self.selectRow(self.names.index(name))
        self.blockSignals(blocked)

    def _on_selection(self) -> None:
        rows = self.selectionModel().selectedRows()
        if rows:
            self.picked.emit(self.names[rows[0].row()])


def _item(column: str, value, name: str, message) -> QTableWidgetItem:
    item = QTableWidgetItem(_text(column, value))
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    tip = name + (f": {message}" if isinstance(message, str) and message else "")
    item.setToolTip(tip)
    if column == "status" and value in STATUS_COLORS:
        item.setForeground(STATUS_COLORS[value])
    return item


def _text(column: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "—"
    if column == "best":
        return f"{value:.4f}"
    if column == "wall_s":
        return f"{value:.0f}"
    if column == "lr":
        return f"{value:g}"
    if column in ("n_hidden", "seed", "half", "peak_update", "updates"):
        return str(int(value))
    return str(value)
