"""The QC panel's plot of population activity around events (pyqtgraph): the recording's active units K
around each event of the chosen kind, mean and spread (± 1 SD across events), and beside it a model's
generated activity (its stationary mean ± 1 SD, :func:`~napari_neurorbm.analysis.peri_event.stationary`)
where a model has generated frames. The numbers come from :mod:`napari_neurorbm.analysis.peri_event`."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from napari_neurorbm.analysis.peri_event import POST_S, PRE_S, PeriEvent

REAL = (90, 150, 240)
GENERATED = (80, 205, 120)


class PeriEventPlot:
    """The plot (``plot``) and the row choosing the kind of event it aligns to (``row``, hidden when the
    recording has no events)."""

    def __init__(self) -> None:
        self.plot = pg.PlotItem(title="Active units around events")
        self.plot.setLabel("bottom", "time from event (s)")
        self.plot.setLabel("left", "active units K")
        for side in ("left", "bottom"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.legend = self.plot.addLegend(offset=(-10, 10), labelTextSize="8pt", brush=(0, 0, 0, 170))
        self.combo = QComboBox()
        self.combo.setToolTip("The kind of event the activity is aligned to")
        self.row = QWidget()
        line = QHBoxLayout(self.row)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(QLabel("Activity around events:"))
        line.addWidget(self.combo)
        line.addStretch(1)
        self.row.hide()
        self._events: dict[str, PeriEvent] = {}
        self._generated: tuple[float, float] | None = None
        self.combo.currentIndexChanged.connect(lambda _: self.redraw())

    @property
    def kind(self) -> str | None:
        """The kind of event shown (None when there is none)."""
        return self.combo.currentData()

    def set_events(self, events: dict[str, PeriEvent]) -> None:
        """A new recording's activity around each kind of event; the kind shown stays where it still
        exists."""
        kind = self.kind
        self._events = dict(events)
        self.combo.blockSignals(True)
        self.combo.clear()
        for name, peri in self._events.items():
            self.combo.addItem(f"{name} ({peri.n_events} events)", name)
        if kind in self._events:
            self.combo.setCurrentIndex(list(self._events).index(kind))
        self.combo.blockSignals(False)
        self.row.setVisible(bool(self._events))
        self.redraw()

    def set_generated(self, stats: tuple[float, float] | None) -> None:
        """The mean and SD of a model's generated K (None: no model run to show)."""
        self._generated = stats
        self.redraw()

    def redraw(self) -> None:
        p = self.plot
        p.clear()
        self.legend.clear()
        peri = self._events.get(self.kind) if self.kind is not None else None
        if peri is None or not np.isfinite(peri.mean).any():
            note = "no events in this recording" if not self._events else "no event in the kept frames"
            text = pg.TextItem(note, color="w", anchor=(0.5, 0.5))
            text.setPos((POST_S - PRE_S) / 2, 0.5)
            p.addItem(text)
            p.setRange(xRange=(-PRE_S, POST_S), yRange=(0, 1))
            return
        p.enableAutoRange()
        lags, mean, sd = peri.lags_s, peri.mean, peri.sd
        if self._generated is not None:
            g_mean, g_sd = self._generated
            _band(p, lags, np.full(lags.shape, g_mean), np.full(lags.shape, g_sd), GENERATED,
                  f"generated (stationary, {g_mean:.3g} ± {g_sd:.2g})", pg.QtCore.Qt.PenStyle.DashLine)
        _band(p, lags, mean, sd, REAL, f"recording, {peri.n_events} events (mean ± SD)",
              pg.QtCore.Qt.PenStyle.SolidLine)
        p.addItem(pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen("y", style=pg.QtCore.Qt.PenStyle.DotLine)))


def _band(p: pg.PlotItem, x: np.ndarray, mean: np.ndarray, sd: np.ndarray, colour: tuple, name: str,
          style) -> None:
    """A mean line named in the legend over a shaded mean ± SD band (lags without a value left out)."""
    ok = np.isfinite(mean)
    x, mean, sd = x[ok], mean[ok], sd[ok]
    low, high = (pg.PlotCurveItem(x, y, pen=pg.mkPen(None)) for y in (mean - sd, mean + sd))
    p.addItem(pg.FillBetweenItem(low, high, brush=(*colour, 70)))
    p.plot(x, mean, pen=pg.mkPen(colour, width=2, style=style), name=name)
