"""Statistics dock (pyqtgraph): recording vs generated vs independent neurons (paper 001, Fig. 3 and 6).

Draws a :class:`~napari_neurorbm.analysis.statistics.StatsReport` in four tabs so it stays readable in a
dock: moments (means, pairwise and 3-point connected correlations against train, with slope m and
Pearson r), the data's PCA plane with marginals, activity (P(K), energies, P(v_i = 1 | rest) against
h_eff), and statistics in time (autocorrelation of K(t), population counts in windows, K(t+Δ) | K(t)).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from napari_neurorbm._qt.colors import SERIES_COLORS
from napari_neurorbm._qt.docking import Dock
from napari_neurorbm.analysis import statistics as st

DOCK_NAME = "NeuroRBM statistics"
COLORS = {"train": SERIES_COLORS["recording"], **SERIES_COLORS}
LAG_COLORS = ((90, 160, 250), (250, 170, 60), (200, 110, 240), (90, 220, 220))
MAX_POINTS = 5000  # dots drawn per set in a scatter (the fits use all of them)
SERIES = ("recording", "generated", "independent")
MOMENTS = {
    "means": "Firing probability ⟨v_i⟩",
    "pairs": "Pairwise connected correlations",
    "triplets": "3-point connected correlations",
}


class PlotGrid(pg.GraphicsLayoutWidget):
    """Plots in one row when the widget is wide, else in two columns."""

    def __init__(self, plots: list[pg.PlotItem]) -> None:
        self._plots: list[pg.PlotItem] = []
        super().__init__()
        self._plots = plots
        self._columns = 0
        self._arrange(2)

    def _arrange(self, columns: int) -> None:
        columns = min(columns, len(self._plots))
        if columns == self._columns:
            return
        for item in self._plots:
            if item.scene() is not None:
                self.removeItem(item)
        for i, item in enumerate(self._plots):
            self.addItem(item, row=i // columns, col=i % columns)
        self._columns = columns

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._plots:
            wide = self.width() > 0.9 * len(self._plots) * self.height()
            self._arrange(len(self._plots) if wide else 2)


class StatsPanel(Dock):
    """Tabs of comparison plots; :meth:`show_report` fills them from a StatsReport."""

    updated = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.report: st.StatsReport | None = None
        self.summary = QLabel("Generate from a model to compare its statistics with the recording.")
        self.summary.setWordWrap(True)
        self.plots = {name: _plot(title) for name, title in MOMENTS.items()}
        self.plots.update({
            "p_k": _plot("P(K), K = active units per frame"),
            "energy": _plot("Free energy F(v) of each frame"),
            "conditional": _plot("P(v_i = 1 | rest) against h_eff"),
            "autocorr": _plot("Autocorrelation of K(t)"),
            "window_0": _plot("Population spike count, 100 ms windows"),
            "window_1": _plot("Population spike count, 400 ms windows"),
            "transition": _plot("K(t+Δ) given K(t)"),
        })
        self.pca_layout = pg.GraphicsLayoutWidget()
        self.pca, self.pca_top, self.pca_right = self._pca_plots()
        self.table = fits_table()
        overview = QWidget()
        row = QHBoxLayout(overview)
        row.setContentsMargins(0, 0, 0, 0)
        numbers = QWidget()
        column = QVBoxLayout(numbers)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(QLabel("Against train: Pearson r and slope m"))
        column.addWidget(self.table, stretch=1)
        row.addWidget(self.pca_layout, stretch=3)
        row.addWidget(numbers, stretch=2)
        self.tabs = QTabWidget()
        self.tabs.addTab(overview, "Overview")
        self.tabs.addTab(PlotGrid([self.plots[k] for k in MOMENTS]), "Moments")
        self.tabs.addTab(PlotGrid([self.plots[k] for k in ("p_k", "energy", "conditional")]), "Activity")
        in_time = ("autocorr", "window_0", "window_1", "transition")
        self.tabs.addTab(PlotGrid([self.plots[k] for k in in_time]), "In time")
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, stretch=1)
        self.body.setMinimumSize(380, 300)
        self._label_axes()

    def _pca_plots(self) -> tuple[pg.PlotItem, pg.PlotItem, pg.PlotItem]:
        lay = self.pca_layout
        top = lay.addPlot(row=0, col=0)
        main = lay.addPlot(row=1, col=0, title=None)
        right = lay.addPlot(row=1, col=1)
        top.setXLink(main)
        right.setYLink(main)
        for p in (top, right):
            p.hideAxis("left")
            p.hideAxis("bottom")
        top.setTitle("Frames on the training data's first two principal components")
        grid = lay.ci.layout
        grid.setRowStretchFactor(0, 1)
        grid.setRowStretchFactor(1, 4)
        grid.setColumnStretchFactor(0, 4)
        grid.setColumnStretchFactor(1, 1)
        main.setLabel("bottom", "PC 1")
        main.setLabel("left", "PC 2")
        return main, top, right

    def _label_axes(self) -> None:
        for name in MOMENTS:
            self.plots[name].setLabel("bottom", "train")
            self.plots[name].setLabel("left", "test / generated / independent")
        labels = {
            "p_k": ("K", "P(K)"), "energy": ("F(v)", "density"),
            "conditional": ("h_eff", "P(v_i = 1 | rest)"),
            "autocorr": ("lag (s)", "C(lag)"), "window_0": ("spikes in window", "density"),
            "window_1": ("spikes in window", "density"), "transition": ("K(t)", "K(t+Δ)"),
        }
        for name, (x, y) in labels.items():
            self.plots[name].setLabel("bottom", x)
            self.plots[name].setLabel("left", y)
        for name in ("p_k", "energy"):
            self.plots[name].setLogMode(x=False, y=True)

    # ---- drawing ----------------------------------------------------------------------------------
    def show_report(self, rep: st.StatsReport) -> None:
        """Redraw every tab from ``rep``."""
        self.report = rep
        rng = np.random.default_rng(0)
        for stat, values in (("means", rep.means), ("pairs", rep.pairs), ("triplets", rep.triplet_values)):
            self._moments(stat, values, rep.fits[stat], rng)
        self._pca(rep, rng)
        self._p_k(rep)
        self._energy(rep)
        self._conditional(rep)
        self._temporal(rep)
        fill_fits_table(self.table, rep)
        self.summary.setText(summary_text(rep))
        self.updated.emit()

    def _moments(self, stat: str, values: dict[str, np.ndarray], fits: dict[str, st.Fit], rng) -> None:
        p = _fresh(self.plots[stat], left=True)
        x = values["train"]
        idx = _thin(len(x), rng)
        for name in ("independent", "test", "generated"):
            fit = fits[name]
            p.plot(x[idx], values[name][idx], pen=None, symbol="o", symbolSize=4, symbolPen=None,
                   symbolBrush=(*COLORS[name], 150), name=f"{name}: m={fit.slope:.2f}, r={fit.r:.2f}")
        if len(x):
            lo, hi = float(np.min(x)), float(np.max(x))
            p.plot([lo, hi], [lo, hi], pen=pg.mkPen("w", width=1, style=pg.QtCore.Qt.PenStyle.DashLine))

    def _pca(self, rep: st.StatsReport, rng) -> None:
        main = _fresh(self.pca, left=True)
        top, right = self.pca_top, self.pca_right
        top.clear()
        right.clear()
        for name in ("independent", "train", "generated"):
            xy = rep.projections[name]
            idx = _thin(len(xy), rng)
            colour = COLORS[name]
            main.plot(xy[idx, 0], xy[idx, 1], pen=None, symbol="o", symbolSize=3, symbolPen=None,
                      symbolBrush=(*colour, 110), name=name)
            for axis, plot, vertical in ((0, top, False), (1, right, True)):
                hist, edges = np.histogram(xy[:, axis], bins=40, density=True)
                centres = (edges[:-1] + edges[1:]) / 2
                x, y = (hist, centres) if vertical else (centres, hist)
                plot.plot(x, y, pen=pg.mkPen(colour, width=1.5))

    def _p_k(self, rep: st.StatsReport) -> None:
        p = _fresh(self.plots["p_k"])
        for name in st.SETS:
            pk = rep.p_k[name]
            k = np.flatnonzero(pk)
            p.plot(k, pk[k], pen=pg.mkPen(COLORS[name], width=1.5), name=name)

    def _energy(self, rep: st.StatsReport) -> None:
        p = _fresh(self.plots["energy"])
        pooled = np.concatenate([rep.energies[n] for n in st.SETS])
        lo, hi = np.percentile(pooled, [0.1, 99.9])
        edges = np.linspace(lo, max(hi, lo + 1e-6), 50)
        for name in st.SETS:
            hist, _ = np.histogram(rep.energies[name], bins=edges, density=True)
            centres = (edges[:-1] + edges[1:]) / 2
            ok = hist > 0
            p.plot(centres[ok], hist[ok], pen=pg.mkPen(COLORS[name], width=1.5), name=name)

    def _conditional(self, rep: st.StatsReport) -> None:
        p = _fresh(self.plots["conditional"], left=True)
        lo, hi = np.inf, -np.inf
        for name in st.SETS:
            c = rep.conditional[name]
            if not len(c.h):
                continue
            lo, hi = min(lo, c.h.min()), max(hi, c.h.max())
            p.addItem(pg.ErrorBarItem(x=c.h, y=c.p, height=2 * c.sem, pen=COLORS[name]))
            p.plot(c.h, c.p, pen=None, symbol="o", symbolSize=5, symbolPen=None, symbolBrush=COLORS[name],
                   name=name)
        if np.isfinite(lo):
            h = np.linspace(lo, hi, 200)
            p.plot(h, 1 / (1 + np.exp(-h)), pen=pg.mkPen((90, 160, 250), width=2), name="sigmoid(h_eff)")

    def _temporal(self, rep: st.StatsReport) -> None:
        series = [n for n in SERIES if n in rep.temporal]
        p = _fresh(self.plots["autocorr"])
        for name in series:
            t = rep.temporal[name]
            lag_s = np.arange(len(t.autocorr)) * t.frame_s
            ok = np.isfinite(t.autocorr)
            p.plot(lag_s[ok], t.autocorr[ok], pen=pg.mkPen(COLORS[name], width=1.5), name=name)
        windows = list(rep.temporal["generated"].windows)[:2] if "generated" in rep.temporal else []
        for i, window in enumerate(windows):
            plot = _fresh(self.plots[f"window_{i}"])
            plot.setTitle(f"Population spike count, {window * 1e3:g} ms windows")
            counts = [rep.temporal[n].windows[window] for n in series]
            edges = count_edges(counts)
            for name, c in zip(series, counts, strict=True):
                if len(c):
                    hist, _ = np.histogram(c, bins=edges, density=True)
                    pen = pg.mkPen(COLORS[name], width=1.5)
                    plot.plot(edges, hist, stepMode="center", pen=pen, name=name)
        self._transitions(rep, [n for n in series if n != "independent"])

    def _transitions(self, rep: st.StatsReport, series: list[str]) -> None:
        """Mean K(t+Δ) for each K(t): one colour per lag Δ, recording solid, generated dashed."""
        p = _fresh(self.plots["transition"], left=True)
        styles = {"recording": pg.QtCore.Qt.PenStyle.SolidLine, "generated": pg.QtCore.Qt.PenStyle.DashLine}
        p.setTitle("K(t+Δ) given K(t): " + ", ".join(f"{n} {'solid' if n == 'recording' else 'dashed'}"
                                                      for n in series))
        for name in series:
            t = rep.temporal[name]
            for j, tr in enumerate(t.transitions):
                colour = LAG_COLORS[j % len(LAG_COLORS)]
                label = f"Δ = {tr.lag * t.frame_s * 1e3:g} ms" if name == series[0] else None
                p.plot(tr.k, tr.mean, pen=pg.mkPen(colour, width=1.5, style=styles[name]), name=label)
        diagonal = [t.k for n in series for t in rep.temporal[n].transitions if len(t.k)]
        if diagonal:
            k = np.concatenate(diagonal)
            p.plot([k.min(), k.max()], [k.min(), k.max()], pen=pg.mkPen((120, 120, 120), width=1))


def fits_table() -> QTableWidget:
    """An empty table: rows are statistics, columns the sets compared with train."""
    table = QTableWidget(len(MOMENTS), len(st.COMPARED))
    table.setHorizontalHeaderLabels(list(st.COMPARED))
    table.setVerticalHeaderLabels(["means", "pairwise", "3-point"])
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setToolTip("Each statistic of test, generated and independent-neuron frames against train's: "
                     "Pearson r and slope m of the least-squares line (1 and 1 is a perfect match)")
    return table


def fill_fits_table(table: QTableWidget, rep: st.StatsReport) -> None:
    """Write 'r = …, m = …' for each statistic (row) and compared set (column)."""
    for i, stat in enumerate(MOMENTS):
        for j, name in enumerate(st.COMPARED):
            fit = rep.fits[stat][name]
            table.setItem(i, j, QTableWidgetItem(f"r = {fit.r:.2f}\nm = {fit.slope:.2f}"))


def summary_text(rep: st.StatsReport) -> str:
    """One paragraph: frames per set, then r and slope of generated and independent vs train per statistic."""
    parts = []
    for stat, label in (("means", "means"), ("pairs", "pairwise"), ("triplets", "3-point")):
        g, i = rep.fits[stat]["generated"], rep.fits[stat]["independent"]
        parts.append(f"{label}: r = {g.r:.2f}, m = {g.slope:.2f} (independent r = {i.r:.2f})")
    text = f"{rep.n_samples} frames per set · generated vs train — " + "; ".join(parts) + "."
    if rep.notes:
        text += " Note: " + "; ".join(rep.notes) + "."
    return text


def count_edges(values: list[np.ndarray], n: int = 40) -> np.ndarray:
    """Histogram edges on whole numbers (bins of one or more counts) covering every set."""
    hi = max((int(v.max()) for v in values if len(v)), default=1)
    step = max(1, -(-hi // n))
    return np.arange(0, hi + step + 1, step) - 0.5


def _plot(title: str) -> pg.PlotItem:
    p = pg.PlotItem(title=title)
    for side in ("left", "bottom"):
        p.getAxis(side).enableAutoSIPrefix(False)
    return p


def _fresh(p: pg.PlotItem, left: bool = False) -> pg.PlotItem:
    """Clear a plot and give it an empty legend in its top-left (``left``) or top-right corner."""
    p.clear()
    if p.legend is not None:
        p.legend.clear()
    else:
        p.addLegend(offset=(5 if left else -5, 5), labelTextSize="8pt", verSpacing=-6)
    return p


def _thin(n: int, rng: np.random.Generator) -> np.ndarray:
    """At most MAX_POINTS of n indices, drawn at random (all of them when there are fewer)."""
    return np.arange(n) if n <= MAX_POINTS else np.sort(rng.choice(n, MAX_POINTS, replace=False))
