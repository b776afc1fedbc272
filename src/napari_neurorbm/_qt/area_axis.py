"""A pyqtgraph axis of area names for plots with one row per unit: each area's name at the middle of its
rows, the biggest areas' first, as many as leave a line of text between any two at the axis's current
length in pixels (a plot that shrinks or zooms shows fewer or more names, never two on top of each other).

pyqtgraph's own ``hideOverlappingLabels`` only drops labels that run past the axis's ends."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy.QtGui import QFontMetricsF

from napari_neurorbm._qt.labels import thin
from napari_neurorbm.data.raster import Raster


class AreaAxis(pg.AxisItem):
    """A left (or right) axis that names the area blocks of a raster's rows; see the module docstring."""

    def __init__(self, orientation: str = "left") -> None:
        super().__init__(orientation)
        self._centres = np.zeros(0)
        self._rows = np.zeros(0)
        self._names: list[str] = []

    def set_areas(self, raster: Raster) -> None:
        """Name the area blocks of ``raster``'s rows (row k at data coordinate k)."""
        blocks = raster.area_blocks()
        self._centres = np.array([(s + e - 1) / 2 for _, s, e in blocks], dtype=float)
        self._rows = np.array([e - s for _, s, e in blocks], dtype=float)
        self._names = [str(a) for a, _, _ in blocks]
        self.picture = None  # pyqtgraph redraws the axis from tickValues on its next paint
        self.update()

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        """The centres of the areas whose names fit ``size`` pixels along the axis (one level of ticks). An
        inverted axis (rows top down) has ``minVal`` > ``maxVal``."""
        low, high = sorted((minVal, maxVal))
        shown = (self._centres >= low) & (self._centres <= high)
        if not shown.any() or high <= low:
            return [(1.0, [])]
        line = QFontMetricsF(self.style["tickFont"] or self.font()).height()
        pixels = self._centres[shown] * size / (high - low)
        keep = thin(pixels, self._rows[shown], line)
        return [(1.0, sorted(self._centres[shown][keep]))]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        names = dict(zip(self._centres, self._names, strict=True))
        return [names.get(v, "") for v in values]
