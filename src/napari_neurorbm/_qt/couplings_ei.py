"""The Couplings dock's "E/I" tab: histograms of the effective couplings J_ij of E-E, E-I and I-I pairs, with
each pair type's count, mean and share of positive couplings (:mod:`napari_neurorbm.analysis.ei_couplings`).

The units' classes come from the model's metadata (a model trained on a raster with classes), else from the
loaded raster when its rows are the model's.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from napari_neurorbm._qt.colors import CLASS_COLORS
from napari_neurorbm._qt.qc_plots import log_ticks
from napari_neurorbm.analysis.couplings import CouplingsResult
from napari_neurorbm.analysis.ei_couplings import class_couplings
from napari_neurorbm.data.celltypes import describe_classes
from napari_neurorbm.data.raster import Raster

PAIR_COLOURS = {"E-E": CLASS_COLORS["E"], "E-I": "#ffb000", "I-I": CLASS_COLORS["I"]}


def unit_classes(result: CouplingsResult, raster: Raster | None) -> np.ndarray | None:
    """The E/I classes of the result's units: the model's, else the raster's rows; None without any."""
    model = result.model
    classes = None if model is None else model.classes
    if classes is None and raster is not None and raster.n_units == len(result.J):
        classes = raster.classes
    return classes if describe_classes(classes) else None


class ClassCouplingsPlot(pg.GraphicsLayoutWidget):
    """J_ij histograms by pair type, a line per type in the legend below."""

    def __init__(self) -> None:
        super().__init__()
        self.plot = self.addPlot(title="J_ij by putative class", row=0, col=0)
        self.plot.setLabel("bottom", "J_ij")
        self.plot.setLabel("left", "density")
        self.plot.setLogMode(y=True)  # most J_ij are near 0; the tails, where the classes differ, need room
        self.plot.setMinimumHeight(160)
        for side in ("left", "bottom"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.legend = pg.LegendItem(labelTextSize="8pt")
        self.addItem(self.legend, row=1, col=0)

    def show_result(self, result: CouplingsResult, raster: Raster | None) -> None:
        """Redraw for ``result`` (the classes from its model or ``raster``)."""
        self.plot.clear()
        self.legend.clear()
        classes = unit_classes(result, raster)
        if classes is None:
            self.plot.setTitle("J_ij by class: the units have no E/I class (no spike waveform width)")
            return
        by_class = class_couplings(result.J, classes)
        self.plot.setTitle(f"J_ij by putative class ({describe_classes(classes)})")
        edges, density = by_class.histograms()
        positive = np.concatenate([d[d > 0] for d in density.values()])
        self.plot.getAxis("left").setTicks([log_ticks(positive.min(), positive.max())])
        for name, row in by_class.summary().items():
            if not row["n"]:
                continue
            pen = pg.mkPen(PAIR_COLOURS[name], width=2)
            shown = np.where(density[name] > 0, density[name], np.nan)  # log axis: empty bins left out
            curve = self.plot.plot(edges, shown, stepMode="center", pen=pen, connect="finite")
            self.legend.addItem(curve, f"{name} n={row['n']} · mean {row['mean']:+.3g} · "
                                       f"{row['positive']:.0%} positive")
        dashed = pg.mkPen((200, 200, 200), style=pg.QtCore.Qt.PenStyle.DashLine)
        self.plot.addItem(pg.InfiniteLine(0.0, angle=90, pen=dashed))
