"""Live training curves (pyqtgraph): train/test log-likelihood with the independent-neuron reference and the
best checkpoint (the paper's Fig. 2), and the free-energy gap of every update below them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import QSize, Qt
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

TEST_PEN = pg.mkPen((255, 160, 60), width=2)
TRAIN_PEN = pg.mkPen((100, 170, 255), width=2, style=Qt.PenStyle.DashLine)
REFERENCE_PEN = pg.mkPen((170, 170, 170), width=1.5, style=Qt.PenStyle.DotLine)
SELECTED_PEN = pg.mkPen((120, 230, 140), width=1.5)
GAP_PEN = pg.mkPen((200, 200, 200), width=1)
BEST_COLOR = (255, 225, 25)
# short: a plot's title sets its minimum width, wider than a narrow dock would clip the plot
GAP_TITLE = "F(data) − F(chains) each update (≈ 0: chains like data)"
GAP_TIP = ("Free-energy gap between the training frames and the persistent chains at each update: about 0 "
           "when the chains look like the data")


class TrainCurves(QWidget):
    """Log-likelihood per frame (train dashed, test solid, as in the paper) and the per-update F gap."""

    def __init__(self) -> None:
        super().__init__()
        self.key = QLabel()  # the legend, as text above the plots: it never hides a curve
        self.key.setWordWrap(True)
        self.view = pg.GraphicsLayoutWidget()
        self.ll = self.view.addPlot(row=0, col=0, title="Log-likelihood per frame (nats)")
        self.gap = self.view.addPlot(row=1, col=0)
        self.gap.setTitle(GAP_TITLE, size="8pt")
        self.view.setToolTip(GAP_TIP)
        self.gap.setMaximumHeight(120)
        self.gap.setXLink(self.ll)
        self.ll.setLabel("left", "nats / frame")
        self.gap.setLabel("bottom", "update")
        self.gap.setLabel("left", "nats")
        for plot in (self.ll, self.gap):  # no grid: it doubles the cost of a repaint
            for side in ("left", "bottom"):
                plot.getAxis(side).enableAutoSIPrefix(False)
        self.test_curve = self.ll.plot(pen=TEST_PEN, symbol="o", symbolSize=4, symbolPen=None,
                                       symbolBrush=TEST_PEN.color())
        self.train_curve = self.ll.plot(pen=TRAIN_PEN)
        self.ptt_points = self.ll.plot(pen=None, symbol="o", symbolSize=8, symbolBrush=None,
                                       symbolPen=TEST_PEN)
        self.best = self.ll.plot(pen=None, symbol="star", symbolSize=18, symbolPen="k",
                                 symbolBrush=BEST_COLOR)
        self.reference = pg.InfiniteLine(angle=0, pen=REFERENCE_PEN, movable=False)
        self.reference.setVisible(False)
        self.ll.addItem(self.reference)
        self.selected = pg.InfiniteLine(angle=90, pen=SELECTED_PEN, movable=False)
        self.selected.setVisible(False)
        self.ll.addItem(self.selected)
        self.gap_curve = self.gap.plot(pen=GAP_PEN)
        self.gap_curve.setDownsampling(auto=True, method="peak")
        self.gap_curve.setClipToView(True)
        self.gap.addItem(pg.InfiniteLine(0.0, angle=0, pen=REFERENCE_PEN, movable=False))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.key)
        layout.addWidget(self.view, stretch=1)
        self._show_key(ptt=False)
        self.setMinimumSize(300, 320)

    def sizeHint(self) -> QSize:
        """A little above the minimum: the dock's plots take the height it has left, not more."""
        return self.minimumSize().expandedTo(QSize(400, 400))

    def hasHeightForWidth(self) -> bool:
        """No (the wrapped legend would say yes): a dock's scroll area then sizes its body by the
        preferred heights, and the plots' preferred height would push the dock past the screen."""
        return False

    def _show_key(self, ptt: bool) -> None:
        entries = [
            (TEST_PEN, "━━", "test"),
            (TRAIN_PEN, "╍╍", "train"),
            (REFERENCE_PEN, "····", "independent neurons (test)"),
            (pg.mkPen(BEST_COLOR), "★", "best (max test LL)"),
            (SELECTED_PEN, "│", "selected"),
        ]
        if ptt:
            entries.insert(1, (TEST_PEN, "○", "test, log Z by PTT"))
        spans = (f'<span style="color:{p.color().name()}">{m}</span>&nbsp;{text}' for p, m, text in entries)
        self.key.setText(" &nbsp; ".join(spans))

    def reset(self) -> None:
        """Empty every curve and marker."""
        for item in (self.test_curve, self.train_curve, self.ptt_points, self.best, self.gap_curve):
            item.setData([], [])
        self.reference.setVisible(False)
        self.selected.setVisible(False)
        self._show_key(ptt=False)

    def show_history(self, history: Sequence[dict], ptt: Sequence[dict] = ()) -> None:
        """Train and test LL of the evaluations (records with ``update``, ``train_ll``, ``test_ll``)."""
        x, train, test = _columns(history, "train_ll", "test_ll")
        self.train_curve.setData(x, train)
        have = np.isfinite(test)
        self.test_curve.setData(x[have], test[have])
        px, ptest = _columns(ptt, "test_ll")
        self.ptt_points.setData(px, ptest)
        self._show_key(ptt=len(px) > 0)

    def show_gaps(self, updates: np.ndarray, gaps: np.ndarray) -> None:
        """The F gap of every update so far."""
        self.gap_curve.setData(updates, gaps)

    def show_reference(self, test_ll: float | None) -> None:
        """The independent-neuron model's test LL as a horizontal line (hidden when unknown)."""
        ok = test_ll is not None and np.isfinite(test_ll)
        self.reference.setVisible(bool(ok))
        if ok:
            self.reference.setValue(float(test_ll))

    def mark_best(self, update: int | None, test_ll: float | None) -> None:
        """The star at the checkpoint of maximal test LL."""
        if update is None or test_ll is None:
            self.best.setData([], [])
        else:
            self.best.setData([update], [test_ll])

    def mark_selected(self, update: int | None) -> None:
        """A vertical line at the update of the model the viewer is looking at."""
        self.selected.setVisible(update is not None)
        if update is not None:
            self.selected.setValue(update)


def _columns(records: Sequence[dict], *keys: str) -> tuple[np.ndarray, ...]:
    """``update`` and the named values of each record as float arrays (NaN where a value is missing)."""
    x = np.array([r["update"] for r in records], dtype=float)
    cols = [np.array([np.nan if r.get(k) is None else r[k] for r in records], dtype=float) for k in keys]
    return (x, *cols)
