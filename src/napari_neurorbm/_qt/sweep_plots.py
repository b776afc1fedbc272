"""The Model selection dock's plots (pyqtgraph), the paper's Fig. 2: the train (dashed) and test (solid)
log-likelihood of every run against updates (log axis), coloured by N_h, a star at each run's maximum of
test LL; and the best test LL against N_h, mean and spread over seeds, the chosen N_h ringed. A click on a
curve or a star picks that run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyqtgraph as pg
from qtpy.QtCore import QSize, Qt, Signal
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

from napari_neurorbm._qt.qc_plots import log_ticks
from napari_neurorbm.sweep.selection import RunCurve, Selection, focus_range, size_colors

LINE_WIDTH, PICKED_WIDTH = 1.5, 4.0
STAR_SIZE = 16
CHOSEN_PEN = pg.mkPen((255, 255, 255), width=2)
SPREAD_TIP = "Best test LL of each N_h: mean over its runs (seeds, halves), error bars one standard deviation"


class SweepPlots(QWidget):
    """Fig. 2 of one raster of a sweep; :attr:`picked` gives the name of a run clicked on."""

    picked = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.key = QLabel()  # the legend as text above the plots: it never hides a curve
        self.key.setWordWrap(True)
        self.view = pg.GraphicsLayoutWidget()
        self.curves = self.view.addPlot(row=0, col=0, title="Log-likelihood (nats / frame)")
        self.sizes = self.view.addPlot(row=1, col=0, title="Best test LL by N_h (mean ± SD)")
        self.curves.setLogMode(x=True, y=False)
        self.curves.setLabel("bottom", "update")
        self.sizes.setLabel("bottom", "hidden units N_h")
        for plot in (self.curves, self.sizes):
            plot.setLabel("left", "nats / frame")
            for side in ("left", "bottom"):
                plot.getAxis(side).enableAutoSIPrefix(False)
        self.sizes.setToolTip(SPREAD_TIP)
        self.view.ci.layout.setRowStretchFactor(0, 3)
        self.view.ci.layout.setRowStretchFactor(1, 2)
        self.stars = self.curves.plot(pen=None, symbol="star", symbolSize=STAR_SIZE, symbolPen="k")
        self.stars.sigPointsClicked.connect(self._on_star)
        self.lines: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self.star_names: list[str] = []
        self.selected: str | None = None
        self._colors: dict[int, pg.QtGui.QColor] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.key)
        layout.addWidget(self.view, stretch=1)
        self.setMinimumSize(300, 380)

    def sizeHint(self) -> QSize:
        return self.minimumSize().expandedTo(QSize(400, 520))

    def hasHeightForWidth(self) -> bool:
        """No (the wrapped legend would say yes): the dock's scroll area sizes its body by preferred
        heights, and the plots must not push the dock past the screen."""
        return False

    def draw(self, sel: Selection, raster: str) -> None:
        """Draw the runs of ``raster`` in ``sel`` (its N_h colours are the whole sweep's)."""
        self._colors = {h: pg.mkColor(tuple(round(255 * x) for x in rgba))
                        for h, rgba in size_colors(sel.runs["n_hidden"]).items()}
        names = [n for n in sel.runs.index[sel.runs["raster"] == raster] if n in sel.curves]
        self._draw_curves([sel.curves[n] for n in names])
        self._draw_sizes(sel.sizes[sel.sizes["raster"] == raster], sel.chosen[sel.chosen["raster"] == raster])
        self._show_key(sorted({sel.curves[n].n_hidden for n in names}))
        self.mark(self.selected)

    def clear_plots(self) -> None:
        """Nothing shown (no sweep open)."""
        self.curves.clear()
        self.sizes.clear()
        self.curves.addItem(self.stars)
        self.stars.setData([], [])
        self.lines, self.star_names = {}, []
        self.key.setText("")

    def mark(self, name: str | None) -> None:
        """Draw run ``name``'s curves thicker (the viewer's model)."""
        self.selected = name
        for run, (train, test) in self.lines.items():
            width = PICKED_WIDTH if run == name else LINE_WIDTH
            for item, style in ((train, Qt.PenStyle.DashLine), (test, Qt.PenStyle.SolidLine)):
                item.setPen(pg.mkPen(item.opts["pen"].color(), width=width, style=style))

    def _draw_curves(self, curves: list[RunCurve]) -> None:
        old = set(self.lines)
        for c in curves:
            shown = c.updates > 0  # a log axis: the initial model (update 0) is left out
            x = c.updates[shown]
            if c.name not in self.lines:
                self.lines[c.name] = self._new_lines(c)
            train, test = self.lines[c.name]
            train.setData(x, c.train_ll[shown])
            have = np.isfinite(c.test_ll[shown])
            test.setData(x[have], c.test_ll[shown][have])
        for name in old - {c.name for c in curves}:
            for item in self.lines.pop(name):
                self.curves.removeItem(item)
        updates = np.concatenate([c.updates[c.updates > 0] for c in curves] or [np.zeros(0)])
        if len(updates):
            self.curves.getAxis("bottom").setTicks([log_ticks(updates.min(), updates.max())])
        shown = focus_range(curves)
        if shown is not None and shown[1] > shown[0]:
            self.curves.setYRange(*shown)  # the plateaus, where the stars are (View All shows every point)
        peaks = [(c.name, c.peak, self._colors[c.n_hidden]) for c in curves if c.peak and c.peak[0] > 0]
        self.star_names = [name for name, _, _ in peaks]
        self.stars.setData([p[0] for _, p, _ in peaks], [p[1] for _, p, _ in peaks],
                           symbolBrush=[pg.mkBrush(color) for _, _, color in peaks])

    def _new_lines(self, c: RunCurve) -> tuple[pg.PlotDataItem, pg.PlotDataItem]:
        color = self._colors[c.n_hidden]
        train = self.curves.plot(pen=pg.mkPen(color, width=LINE_WIDTH, style=Qt.PenStyle.DashLine))
        test = self.curves.plot(pen=pg.mkPen(color, width=LINE_WIDTH), symbol="o", symbolSize=4,
                                symbolPen=None, symbolBrush=color)  # a dot at each evaluation
        for item in (train, test):
            item.setCurveClickable(True, width=8)
            item.sigClicked.connect(lambda _item, _ev, name=c.name: self.picked.emit(name))
            item.setToolTip(c.name)
        self.stars.setZValue(10)
        return train, test

    def _draw_sizes(self, sizes: pd.DataFrame, chosen: pd.DataFrame) -> None:
        self.sizes.clear()
        if sizes.empty:
            return
        x = np.log2(sizes["n_hidden"].to_numpy(float))
        mean, spread = sizes["mean"].to_numpy(float), np.nan_to_num(sizes["spread"].to_numpy(float))
        colors = [self._colors[int(h)] for h in sizes["n_hidden"]]
        for lr in sizes["lr"].unique():  # one line per learning rate
            at = (sizes["lr"] == lr).to_numpy()
            self.sizes.plot(x[at], mean[at], pen=pg.mkPen((150, 150, 150), width=1))
        self.sizes.addItem(pg.ErrorBarItem(x=x, y=mean, height=2 * spread, beam=0.12,
                                           pens=[pg.mkPen(c, width=1.5) for c in colors]))
        self.sizes.plot(x, mean, pen=None, symbol="o", symbolSize=9, symbolPen=None,
                        symbolBrush=[pg.mkBrush(c) for c in colors])
        if not chosen.empty:
            self.sizes.plot(np.log2(chosen["n_hidden"].to_numpy(float)), chosen["mean"].to_numpy(float),
                            pen=None, symbol="o", symbolSize=20, symbolBrush=None, symbolPen=CHOSEN_PEN)
        ticks = sorted(set(sizes["n_hidden"].astype(int)))
        self.sizes.getAxis("bottom").setTicks([[(float(np.log2(h)), str(h)) for h in ticks]])
        self.sizes.setXRange(x.min() - 0.5, x.max() + 0.5, padding=0)

    def _show_key(self, sizes: list[int]) -> None:
        entries = [(self._colors[h].name(), "━", f"{h}") for h in sizes]
        spans = [f'<span style="color:{color}">{mark}</span>&nbsp;{text}' for color, mark, text in entries]
        styles = "╍╍ train &nbsp; ━━ test &nbsp; ★ max test LL &nbsp; ○ chosen N_h"
        self.key.setText(("N_h: " + " &nbsp; ".join(spans) + "<br>" if spans else "") + styles)

    def _on_star(self, _item, points, _ev=None) -> None:
        if len(points):
            index = points[0].index()
            if 0 <= index < len(self.star_names):
                self.picked.emit(self.star_names[index])
