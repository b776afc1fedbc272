"""The multi-information tab: I2/IN of each random group (the share of its multi-information that the
pairwise maximum-entropy model explains) and, when the viewer holds a model, the RBM's share, with the mean
over groups (line) and the spread (band, ± one standard deviation)."""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import pandas as pd
import pyqtgraph as pg

from napari_neurorbm._qt.analyses_tab import AnalysisTab, pen
from napari_neurorbm._qt.colors import SERIES_COLORS
from napari_neurorbm.analysis.generation import check_same_units
from napari_neurorbm.analysis.multiinfo import MultiInfo
from napari_neurorbm.analysis.suite import iter_multiinfo, multiinfo_table
from napari_neurorbm.configs import MultiInfoConfig
from napari_neurorbm.progress import Progress


class MultiInfoTab(AnalysisTab):
    title = "Multi-information"
    label = "Multi-info"
    name = "multiinfo"
    config = MultiInfoConfig
    inputs = ("raster", "model")

    def missing(self) -> str | None:
        if self.state.raster is None:
            return "Needs a recording: load and binarize one first (Load & binarize)."
        return None

    def job(self, config: MultiInfoConfig) -> Generator[Progress, None, MultiInfo]:
        model = self.state.model
        if model is not None:
            check_same_units(model, self.state.raster)
        return iter_multiinfo(self.state.raster, config, model.rbm if model is not None else None)

    def draw(self, info: MultiInfo) -> None:
        p = self.plot
        p.setLabel("bottom", "group (sorted by I2/IN)")
        p.setLabel("left", "share of the multi-information")
        p.setTitle(f"{len(info.groups)} groups of {info.groups.shape[1]} units")
        order = np.argsort(info.i2_over_in)
        x = np.arange(1, len(order) + 1)
        series = [("pairwise", "pairwise I2/IN", info.i2_over_in)]
        if info.model_over_in is not None:
            series.append(("generated", "RBM I_RBM/IN", info.model_over_in))
        for key, label, ratio in series:
            colour = SERIES_COLORS[key]
            mean, sd = float(np.mean(ratio)), float(np.std(ratio))
            band = pg.LinearRegionItem((mean - sd, mean + sd), orientation="horizontal", movable=False,
                                       brush=pg.mkBrush(*colour, 40), pen=pg.mkPen(None))
            p.addItem(band)
            p.addItem(pg.InfiniteLine(mean, angle=0, pen=pen(colour, width=1.5)))
            dots = p.plot(x, ratio[order], pen=None, symbol="o", symbolSize=7, symbolPen=None,
                          symbolBrush=colour)
            self.legend.addItem(dots, f"{label}: {mean:.2f} ± {sd:.2f}")
        p.addItem(pg.InfiniteLine(1.0, angle=0, pen=pen((150, 150, 150), width=1, dashed=True)))

    def table(self, info: MultiInfo) -> pd.DataFrame:
        return multiinfo_table(info)

    def describe(self, info: MultiInfo) -> str:
        s = info.summary()
        line = (f"I2/IN = {s['i2_over_in']:.3f} (sd {s['i2_over_in_sd']:.3f}) over {s['groups']} groups of "
                f"{s['group_size']} units")
        if info.left_out:
            line += f" ({info.left_out} more left out: multi-information within chance)"
        if info.s_model is not None:
            line += f"; RBM: {s['model_over_in']:.3f} (sd {s['model_over_in_sd']:.3f})"
        return line + ". Retina, 10-cell groups (Schneidman et al. 2006): about 0.9."
