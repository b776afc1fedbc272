"""The area-name axis of the per-unit plots: names never closer than a line of text at the axis's length,
the biggest areas' first, all of them when there is room."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtGui import QFontMetricsF

from napari_neurorbm._qt.area_axis import AreaAxis
from test_gui_layout import AREAS, SIZES, many_areas

pytestmark = pytest.mark.gui


def test_area_names_are_thinned_to_the_axis_length(qtbot) -> None:
    raster = many_areas(50)
    axis = AreaAxis("left")
    axis.set_areas(raster)
    line = QFontMetricsF(axis.font()).height()
    n_rows = raster.n_units
    for size in (120.0, 300.0):
        (_, values), = axis.tickValues(-0.5, n_rows - 0.5, size)
        pixels = np.asarray(values) * size / n_rows
        assert len(values) < len(SIZES) and np.all(np.diff(pixels) >= line)
        assert axis.tickStrings(values, 1.0, 1.0)[0] == AREAS[0]  # the biggest area keeps its name
    (_, values), = axis.tickValues(-0.5, n_rows - 0.5, 2 * line * n_rows)  # two lines a row
    assert axis.tickStrings(values, 1.0, 1.0) == AREAS  # room for every name
    (_, inverted), = axis.tickValues(n_rows - 0.5, -0.5, 2 * line * n_rows)  # rows top down (invertY)
    assert inverted == values
