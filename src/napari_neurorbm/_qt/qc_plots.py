"""QC dock (pyqtgraph): firing rates per area, active units per frame, activity vs bin width, filters, and
activity around events (:mod:`.qc_events`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QLabel, QVBoxLayout

from napari_neurorbm._qt.colors import area_colors
from napari_neurorbm._qt.docking import Dock
from napari_neurorbm._qt.jobs import JobRunner
from napari_neurorbm._qt.qc_data import QCData, qc_job
from napari_neurorbm._qt.qc_events import PeriEventPlot
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.analysis.peri_event import stationary

if TYPE_CHECKING:
    import napari

    from napari_neurorbm.data.raster import Raster

DOCK_NAME = "NeuroRBM QC"
PLOT_MIN_HEIGHT = 220  # each plot's height when the plots are stacked in one column (the body scrolls)
PLOT_GAP = 12  # room between and around the plots of a row, on top of their own minimum widths
MAX_DECADES = 6  # most powers of ten labelled on a log axis (a short plot has room for no more)


class QCPanel(Dock):
    """Five QC plots of the viewer's current raster, redrawn whenever ``state.raster`` changes (the one around
    events also when ``state.generated`` does)."""

    updated = Signal()

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self._state = get_state(napari_viewer)
        self.runner = JobRunner(self, what="quality control")
        self.summary = QLabel("Load a recording to see its quality-control plots.")
        self.summary.setWordWrap(True)
        self.plots = pg.GraphicsLayoutWidget()
        self.rates = pg.PlotItem(title="Firing rate per area")
        self.active = pg.PlotItem(title="Active units per frame")
        self.widths = pg.PlotItem(title="Mean activity vs bin width")
        self.filters = pg.PlotItem(title="Units removed by each filter")
        self.events = PeriEventPlot()
        self._columns = 0
        self._arrange(2)
        self._label_axes()
        layout = QVBoxLayout(self.body)
        layout.addWidget(self.summary)
        layout.addWidget(self.runner.message)
        layout.addWidget(self.events.row)
        layout.addWidget(self.plots, stretch=1)
        self.body.setMinimumSize(360, 260)
        self._state.events.raster.connect(self._on_raster)
        self._state.events.generated.connect(self._on_generated)
        self._on_generated(self._state.generated)
        if self._state.raster is not None:
            self._on_raster(self._state.raster)

    def _arrange(self, columns: int) -> None:
        """Plots in ``columns`` columns: all in one row, 3 or 2 (a grid) or 1 (stacked; the body scrolls)."""
        if columns == self._columns:
            return
        items = self._items()
        for item in items:
            if item.scene() is not None:
                self.plots.removeItem(item)
        for i, item in enumerate(items):
            self.plots.addItem(item, row=i // columns, col=i % columns)
        self._columns = columns
        self.plots.setMinimumHeight(PLOT_MIN_HEIGHT * len(items) if columns == 1 else 0)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange(self._fitting_columns())

    def _fitting_columns(self) -> int:
        """One row when the dock is wide (e.g. docked at the bottom) and they fit, else a grid of 3 or 2
        columns when they fit side by side, else one column: a plot is never cut at the dock's right edge."""
        widest = max(item.effectiveSizeHint(Qt.SizeHint.MinimumSize).width() for item in self._items())
        margins = self.body.layout().contentsMargins()
        room = self.body_width() - margins.left() - margins.right()
        wide = self.width() > 2.2 * self.height()
        columns = (len(self._items()), 3, 2)
        return next((n for n in columns if (n == 2 or wide) and n * (widest + PLOT_GAP) <= room), 1)

    def _items(self) -> tuple:
        return self.rates, self.active, self.widths, self.filters, self.events.plot

    def _label_axes(self) -> None:
        self.rates.setLabel("bottom", "rate (Hz)")
        self.rates.setLogMode(x=True, y=False)
        self.active.setLabel("bottom", "active units K")
        self.active.setLabel("left", "fraction of frames")
        self.widths.setLabel("bottom", "bin width (ms)")
        self.widths.setLabel("left", "P(unit active in a bin)")
        self.widths.setLogMode(x=True, y=False)
        self.filters.setLabel("bottom", "units removed")
        for plot in (self.rates, self.active, self.widths, self.filters):
            for side in ("left", "bottom"):
                plot.getAxis(side).enableAutoSIPrefix(False)

    def _on_raster(self, raster: Raster | None) -> None:
        """A new raster: its summary replaces any still being computed for an older one."""
        if raster is not None:
            self.runner.restart(qc_job(raster, self._state.session), "Computing the QC plots…", self.show_qc)

    def show_qc(self, qc: QCData) -> None:
        """Redraw every plot from ``qc``."""
        colours = area_colors(qc.rates_hz)
        self._plot_rates(qc, colours)
        self._plot_active(qc)
        self._plot_widths(qc)
        self._plot_filters(qc)
        self.events.set_events(qc.peri_events)
        mean_k = qc.active_per_frame.mean() if qc.active_per_frame.size else 0.0
        self.summary.setText(
            f"{qc.n_units} of {qc.n_source_units} units kept · {qc.active_per_frame.size} frames of "
            f"{qc.bin_ms:g} ms · mean {mean_k:.1f} active units per frame · "
            f"{100 * qc.merged_fraction:.1f}% of spikes shared a bin with another spike of their unit"
        )
        self._arrange(self._fitting_columns())  # the axes' numbers may have widened the plots
        self.updated.emit()

    def _on_generated(self, generated: Raster | None) -> None:
        """A model's generated frames (or none): their stationary activity beside the recording's."""
        self.events.set_generated(None if generated is None else stationary(generated))

    def _plot_rates(self, qc: QCData, colours: dict) -> None:
        """One row per area (in raster order, top down): each unit a dot (jittered), the median a bar."""
        p = self.rates
        p.clear()
        names = list(qc.rates_hz)
        rng = np.random.default_rng(0)
        for i, area in enumerate(names):
            r = qc.rates_hz[area]
            r = r[r > 0]
            if not r.size:
                continue
            brush = pg.mkBrush(*(255 * colours[area]).astype(int))
            y = i + rng.uniform(-0.3, 0.3, r.size)
            p.plot(r, y, pen=None, symbol="o", symbolSize=4, symbolPen=None, symbolBrush=brush)
            p.plot([np.median(r)] * 2, [i - 0.4, i + 0.4], pen=pg.mkPen("w", width=2))
        p.getAxis("left").setTicks([list(enumerate(names))])
        p.setYRange(-0.6, len(names) - 0.4, padding=0)
        p.invertY(True)
        positive = np.concatenate([r[r > 0] for r in qc.rates_hz.values()] or [np.ones(1)])
        if positive.size:
            p.getAxis("bottom").setTicks([log_ticks(positive.min(), positive.max())])

    def _plot_active(self, qc: QCData) -> None:
        p = self.active
        p.clear()
        k = qc.active_per_frame
        if not k.size:
            return
        hist = np.bincount(k) / k.size
        edges = np.arange(hist.size + 1) - 0.5
        p.plot(edges, hist, stepMode="center", fillLevel=0, brush=(90, 150, 240, 120), pen="w")
        dashed = pg.mkPen("y", style=pg.QtCore.Qt.PenStyle.DashLine)
        p.addItem(pg.InfiniteLine(k.mean(), angle=90, pen=dashed))

    def _plot_widths(self, qc: QCData) -> None:
        p = self.widths
        p.clear()
        ok = np.isfinite(qc.mean_activity)
        p.getAxis("bottom").setTicks([[(np.log10(w), f"{w:g}") for w in qc.widths_ms]])
        if ok.any():
            p.plot(qc.widths_ms[ok], qc.mean_activity[ok], pen="w", symbol="o", symbolBrush="w")
        here = np.isclose(qc.widths_ms, qc.bin_ms) & ok
        if here.any():
            p.plot(qc.widths_ms[here], qc.mean_activity[here], pen=None, symbol="o", symbolSize=12,
                   symbolBrush="y", name="current bin")

    def _plot_filters(self, qc: QCData) -> None:
        """One bar per filter (in the order applied), labelled inside the plot with its name and count."""
        p = self.filters
        p.clear()
        report = qc.filter_report or [("no filter", 0)]
        dropped = np.array([n for _, n in report], dtype=float)
        y = np.arange(len(report))
        p.addItem(pg.BarGraphItem(x0=0, y=y, height=0.5, width=dropped, brush=(240, 120, 80, 200)))
        for i, (name, n) in enumerate(report):
            label = pg.TextItem(f"{name}: {n} of {qc.n_source_units}", color="w", anchor=(0, 1))
            label.setPos(0, i - 0.27)
            p.addItem(label)
        p.getAxis("left").setTicks([[]])
        p.setXRange(0, max(1.0, dropped.max()) * 1.1)
        p.setYRange(-0.8, len(report) - 0.3)
        p.invertY(True)


def log_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Log10-axis ticks at the powers of ten from lo to hi (and 2x, 5x over few decades; every 2nd, 3rd...
    power over many, so that at most MAX_DECADES labels share the axis), in plain numbers."""
    out = []
    first, last = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    step = -(-(last - first + 1) // MAX_DECADES)
    for e in range(first, last + 1):
        if e % step:
            continue
        for m in (1, 2, 5) if last - first <= 2 else (1,):
            v = m * 10.0**e
            if lo / 1.5 <= v <= hi * 1.5:
                out.append((np.log10(v), f"{v:g}"))
    return out
