"""pyqtgraph plots of the Clamp dock: the change in firing probability per unit and per area, ± SE over
chains, with a colour key. Area labels are thinned to the room the plot has."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

from napari_neurorbm._qt.area_axis import AreaAxis
from napari_neurorbm._qt.colors import area_colors
from napari_neurorbm.analysis.generation import ClampResult
from napari_neurorbm.data.raster import Raster

UP, DOWN, NOISE, CLAMPED = (240, 90, 80), (80, 150, 250), (150, 150, 150), (255, 170, 0)
MIN_HEIGHT = 380
AREA_ROW_PX = 16  # screen height of each area's bar and name in the per-area plot
AREA_PLOT_EXTRA_PX = 90  # the per-area plot's title, x axis and axis label
AREAS_SHARE = 2 / 5  # the per-area plot's share of the height (stretch 2 against the per-unit plot's 3)


class ClampPlots(QWidget):
    """Δ firing probability per unit (rows in the raster's order, top down) and per area, ± SE over chains,
    above a colour key."""

    def __init__(self) -> None:
        super().__init__()
        self.graphics = pg.GraphicsLayoutWidget()
        self.unit_axis = AreaAxis("left")
        self.units = self.graphics.addPlot(row=0, col=0, title="Δ firing probability per unit",
                                           axisItems={"left": self.unit_axis})
        self.areas = self.graphics.addPlot(row=1, col=0, title="Δ per area (free units)")
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)
        for p in (self.units, self.areas):
            p.invertY(True)
            p.setLabel("bottom", "Δ P(active), clamped − control")
            p.getAxis("bottom").enableAutoSIPrefix(False)
            p.showGrid(x=True, y=False, alpha=0.25)
        self.key = QLabel()
        self.key.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, stretch=1)
        layout.addWidget(self.key)
        self.setMinimumHeight(MIN_HEIGHT)

    def show_result(self, result: ClampResult, raster: Raster) -> None:
        """Redraw both plots from ``result`` (the raster gives the area blocks and colours)."""
        self._plot_units(result, raster)
        self._plot_areas(result, raster)

    def _plot_units(self, result: ClampResult, raster: Raster) -> None:
        p = self.units
        p.clear()
        rows = np.arange(len(result.delta))
        free, beyond = ~result.is_clamped, result.beyond & ~result.is_clamped
        p.addItem(pg.InfiniteLine(0, angle=90, pen=pg.mkPen((200, 200, 200), width=1)))
        p.addItem(pg.ErrorBarItem(x=result.delta[free], y=rows[free], left=result.delta_se[free],
                                  right=result.delta_se[free], beam=0, pen=pg.mkPen((110, 110, 110))))
        groups = (
            (free & ~beyond, NOISE, "o", "within noise"),
            (beyond & (result.delta > 0), UP, "o", f"up, beyond {result.n_sigma:g} SE"),
            (beyond & (result.delta < 0), DOWN, "o", f"down, beyond {result.n_sigma:g} SE"),
        )
        clamped = result.is_clamped
        groups += ((clamped, CLAMPED, "t2", "clamped, drawn at 0"),)
        key = []
        for mask, colour, symbol, name in groups:
            if mask.any():
                p.plot(np.where(clamped[mask], 0.0, result.delta[mask]), rows[mask], pen=None, symbol=symbol,
                       symbolSize=9 if symbol == "t2" else 6, symbolPen=None, symbolBrush=colour,
                       name=f"{name} ({int(mask.sum())})")
            mark = "▶" if symbol == "t2" else "●"
            key.append(f"<span style='color:rgb{colour}'>{mark}</span>&nbsp;{name}&nbsp;({int(mask.sum())})")
        self.key.setText(" &nbsp; ".join(key) + " &nbsp; · bars: ± SE over chains")
        self.unit_axis.set_areas(raster)
        for _, start, _ in raster.area_blocks()[1:]:  # a faint line between areas
            p.addItem(pg.InfiniteLine(start - 0.5, angle=0, pen=pg.mkPen((90, 90, 90), width=1)))
        p.setYRange(-0.5, len(rows) - 0.5, padding=0.01)

    def _plot_areas(self, result: ClampResult, raster: Raster) -> None:
        p = self.areas
        p.clear()
        colours = area_colors(raster.areas)
        names = list(result.area_names)
        y = np.arange(len(names))
        delta = np.nan_to_num(result.area_delta)
        se = np.nan_to_num(result.area_se)
        brushes = [pg.mkBrush(*(255 * colours[a][:3]).astype(int), 200) for a in names]
        pens = [pg.mkPen("w", width=2) if b else pg.mkPen(None) for b in result.area_beyond]
        bars = pg.BarGraphItem(x0=np.zeros(len(y)), y=y, height=0.6, width=delta, brushes=brushes, pens=pens)
        p.addItem(bars)
        p.addItem(pg.ErrorBarItem(x=delta, y=y, left=se, right=se, beam=0.25, pen=pg.mkPen("w")))
        p.addItem(pg.InfiniteLine(0, angle=90, pen=pg.mkPen((200, 200, 200), width=1)))
        for i, hit in enumerate(result.area_beyond):
            if hit:
                star = pg.TextItem("*", color="w", anchor=(0, 0.5))
                star.setPos(delta[i] + np.sign(delta[i] or 1) * (se[i] + 0.05 * np.abs(delta).max()), i)
                p.addItem(star)
        p.getAxis("left").setTicks([list(enumerate(names))])
        p.getAxis("left").setStyle(hideOverlappingLabels=False)  # every bar keeps its name: the plot grows
        p.setYRange(-0.6, len(names) - 0.4, padding=0)
        areas_px = AREA_ROW_PX * len(names) + AREA_PLOT_EXTRA_PX
        self.setMinimumHeight(max(MIN_HEIGHT, round(areas_px / AREAS_SHARE) + 80))
        p.setTitle(f"Δ per area (free units), ± SE; * beyond {result.n_sigma:g} SE")
