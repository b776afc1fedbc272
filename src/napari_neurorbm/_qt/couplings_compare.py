"""The Couplings dock's "Compare sessions" tab: the replicate model files of two sessions (different neurons),
their area couplings J_AB side by side with standard errors, and the difference with its z
(analysis/compare.py): a plot of J_AB of B against A with ±1 SE bars, and the table sorted by |z|."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyqtgraph as pg
from qtpy.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from napari_neurorbm._qt.couplings_plots import cell_exponent, power_of_ten
from napari_neurorbm._qt.train_files import MODEL_FILTER
from napari_neurorbm.analysis.compare import Comparison, iter_compare_files
from napari_neurorbm.atomic import write_csv
from napari_neurorbm.configs import CouplingsConfig
from napari_neurorbm.errors import NeuroRBMError

HEADERS = ["areas", "A ± se", "B ± se", "B − A", "z"]  # J_AB of session A, of B, their difference
COLOURS = {"same": (200, 200, 200), "changed": (255, 210, 60)}  # |z| below / at least the threshold
CSV_FILTER = "CSV table (*.csv);;All files (*)"


class ComparePanel(QWidget):
    """Pick each session's replicate files, compare them on the dock's runner (``start(job, text, on_done)``),
    show the result. ``settings`` gives the dock's form (areas' minimum units, threshold, device), ``fail``
    reports a one-line error, ``say`` a result."""

    def __init__(self, start: Callable, settings: Callable[[], CouplingsConfig], fail: Callable[[str], None],
                 say: Callable[[str], None]) -> None:
        super().__init__()
        self._start, self._settings, self._fail, self._say = start, settings, fail, say
        self.paths: dict[str, list[str]] = {"A": [], "B": []}
        self.comparison: Comparison | None = None
        grid = QGridLayout()
        self.file_labels: dict[str, QLabel] = {}
        for row, side in enumerate(self.paths):
            button = QPushButton(f"Session {side}…")
            button.setToolTip(f"Two or more replicate model files of session {side}")
            button.clicked.connect(lambda _=False, s=side: self._pick(s))
            self.file_labels[side] = QLabel("no files", wordWrap=True)
            grid.addWidget(button, row, 0)
            grid.addWidget(self.file_labels[side], row, 1)
        grid.setColumnStretch(1, 1)
        self.compare_button = QPushButton("Compare", toolTip="J_AB of both sessions over their common areas")
        self.compare_button.clicked.connect(self.compare)
        self.view = pg.GraphicsLayoutWidget()
        self.plot = self.view.addPlot(title="J_AB of session B against A")
        self.plot.setMinimumHeight(220)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.verticalHeader().setVisible(False)
        self.table.setMinimumHeight(140)
        self.export_button = QPushButton("Export table (CSV)…", enabled=False)
        self.export_button.clicked.connect(self._pick_csv)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        for widget in (self.compare_button, self.view, self.table, self.export_button):
            layout.addWidget(widget)
        self._label_axes()

    def _label_axes(self) -> None:
        self.plot.setLabel("bottom", "J_AB of session A")
        self.plot.setLabel("left", "J_AB of session B")
        for side in ("left", "bottom"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)

    # ---- files and job ----------------------------------------------------------------------------
    def _pick(self, side: str) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, f"Session {side}: replicate models", str(Path.home()),
                                                MODEL_FILTER)
        if paths:
            self.set_files(side, paths)

    def set_files(self, side: str, paths: list[str]) -> None:
        """The replicate model files of session ``side`` ("A" or "B")."""
        self.paths[side] = [str(p) for p in paths]
        names = [Path(p).name for p in paths]
        self.file_labels[side].setText(f"{len(names)} files: {', '.join(names)}")

    def compare(self) -> None:
        """Start comparing the two sessions on the dock's runner."""
        cfg = self._settings()
        try:
            for side, paths in self.paths.items():
                if len(paths) < 2:
                    raise NeuroRBMError(f"session {side}: pick two or more replicate model files, got "
                                        f"{len(paths)}")
        except NeuroRBMError as exc:
            self._fail(str(exc))
            return
        job = iter_compare_files(self.paths["A"], self.paths["B"], cfg.min_units, device=cfg.device)
        self._start(job, "Comparing the sessions…", self.show_comparison)

    # ---- showing ----------------------------------------------------------------------------------
    def show_comparison(self, comparison: Comparison) -> None:
        """Draw the plot and fill the table of a finished comparison."""
        self.comparison = comparison
        self.export_button.setEnabled(True)
        self.redraw()
        s = comparison.summary(self._settings().reliable_t)
        self._say(f"Compared {s['area_pairs']} area pairs over {len(s['areas'])} common areas; "
                  f"{s['changed']} differ by |z| ≥ {s['z_limit']:g}.")

    def redraw(self, *_: object) -> None:
        """Draw the comparison again (e.g. at another threshold)."""
        if self.comparison is None:
            return
        table, limit = self.comparison.table, self._settings().reliable_t
        changed = (table["z"].abs() >= limit).to_numpy()
        self._draw_plot(table, changed, limit)
        self._fill_table(table.iloc[np.argsort(-table["z"].abs().to_numpy(), kind="stable")], limit)

    def _draw_plot(self, table: pd.DataFrame, changed: np.ndarray, limit: float) -> None:
        self.plot.clear()
        x, y = table["J_a"].to_numpy(), table["J_b"].to_numpy()
        lo, hi = float(np.nanmin([x, y])), float(np.nanmax([x, y]))
        pad = 0.05 * (hi - lo or 1.0)
        dashed = pg.mkPen((150, 150, 150), style=pg.QtCore.Qt.PenStyle.DashLine)
        self.plot.plot([lo - pad, hi + pad], [lo - pad, hi + pad], pen=dashed)  # B = A
        for kind, picked in (("same", ~changed), ("changed", changed)):
            if not picked.any():
                continue
            colour = COLOURS[kind]
            se_a, se_b = table["se_a"].to_numpy()[picked], table["se_b"].to_numpy()[picked]
            self.plot.addItem(pg.ErrorBarItem(x=x[picked], y=y[picked], width=2 * se_a, height=2 * se_b,
                                              pen=pg.mkPen(colour)))
            self.plot.plot(x[picked], y[picked], pen=None, symbol="o", symbolSize=7, symbolBrush=colour,
                           symbolPen=None)
        for k in np.flatnonzero(changed):
            text = pg.TextItem(_pair(table.iloc[k]), color=COLOURS["changed"], anchor=(0, 1))
            text.setPos(x[k], y[k])
            self.plot.addItem(text)
        self.plot.setTitle(f"B against A, ±1 SE; yellow: |z| ≥ {limit:g}")

    def _fill_table(self, table: pd.DataFrame, limit: float) -> None:
        """One row per area pair, strongest |z| first: J_AB ± standard error of each session and their
        difference in units of 10^k (the headers say k), and z."""
        k = cell_exponent(table[["J_a", "J_b"]].to_numpy())
        unit = f" {power_of_ten(k)}" if k else ""
        self.table.setHorizontalHeaderLabels([HEADERS[0], *(h + unit for h in HEADERS[1:4]), HEADERS[4]])
        self.table.setRowCount(len(table))
        scale = 10.0**-k
        for r, (_, row) in enumerate(table.iterrows()):
            a, b = scale * row[["J_a", "se_a", "J_b", "se_b"]].to_numpy(float).reshape(2, 2)
            cells = [_pair(row), f"{a[0]:.3g} ± {a[1]:.2g}", f"{b[0]:.3g} ± {b[1]:.2g}",
                     f"{scale * row['diff']:+.3g}", f"{row['z']:+.1f}"]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if abs(row["z"]) >= limit:
                    item.setForeground(pg.mkColor(COLOURS["changed"]))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()

    # ---- export -----------------------------------------------------------------------------------
    def _pick_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the comparison", str(Path.home() / "compare.csv"),
                                              CSV_FILTER)
        if path:
            self.export_csv(path)

    def export_csv(self, path: str | Path) -> Path | None:
        """Write the comparison's table (analysis.compare.COLUMNS) as CSV; None on failure."""
        try:
            if self.comparison is None:
                raise NeuroRBMError("compare two sessions first")
            write_csv(path, self.comparison.table, index=False)
        except NeuroRBMError as exc:
            self._fail(str(exc))
            return None
        self._say(f"Wrote {path}")
        return Path(path)


def _pair(row: pd.Series) -> str:
    """'VISp' for a within-area row, 'VISp–VISl' between two areas."""
    return row["area_1"] if row["area_1"] == row["area_2"] else f"{row['area_1']}–{row['area_2']}"
