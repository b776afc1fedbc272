"""The heat capacity tab: C(T) per neuron of the viewer's model over a grid of temperatures, with T = 1 (the
fitted model) and the peak marked; with subset sizes set, also the mean C(T) of the pairwise models of random
subsets of the recording's units, one colour per size N."""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import pandas as pd
import pyqtgraph as pg

from napari_neurorbm._qt.analyses_tab import AnalysisTab, pen
from napari_neurorbm._qt.colors import SERIES_COLORS
from napari_neurorbm.analysis.heat_subsets import SubsetCurves, subsets_summary, subsets_table
from napari_neurorbm.analysis.suite import HeatResult, heat_summary, heat_table, iter_heat_result
from napari_neurorbm.configs import HeatConfig
from napari_neurorbm.progress import Progress


class HeatTab(AnalysisTab):
    title = "Heat capacity"
    label = "Heat"
    name = "heat"
    config = HeatConfig
    inputs = ("model", "raster")

    def missing(self) -> str | None:
        if self.state.model is None:
            return "Needs a model: train one (Train RBM) or load a model file first."
        return None

    def job(self, config: HeatConfig) -> Generator[Progress, None, HeatResult]:
        return iter_heat_result(self.state.model.rbm, self.state.raster, config)

    def draw(self, result: HeatResult) -> None:
        curve, p = result.curve, self.plot
        p.setLabel("bottom", "temperature T")
        p.setLabel("left", "C(T) per neuron")
        p.setTitle(f"C(T), {curve.method}")
        colour = SERIES_COLORS["generated"]
        line = p.plot(curve.T, curve.C, pen=pen(colour), symbol="o", symbolSize=4, symbolPen=None,
                      symbolBrush=colour)
        if curve.stderr is not None:  # +- 2 standard errors of the Monte Carlo
            bars = pg.ErrorBarItem(x=curve.T, y=curve.C, height=4 * curve.stderr, pen=pen(colour, width=1))
            p.addItem(bars)
        self.legend.addItem(line, f"RBM, {self.state.model.rbm.n_visible} units")
        # "T = 1" at the foot of its line: the peak, often near T = 1, would hide it at the top
        one = pg.InfiniteLine(1.0, angle=90, pen=pen((200, 200, 200), width=1, dashed=True),
                              label="T = 1", labelOpts={"position": 0.06, "color": (200, 200, 200)})
        p.addItem(one)
        peak = p.plot([curve.peak_T], [curve.C.max()], pen=None, symbol="star", symbolSize=16,
                      symbolPen=pg.mkPen("w"), symbolBrush=colour)
        self.legend.addItem(peak, f"peak: T = {curve.peak_T:.2f}, C = {curve.C.max():.3f}")
        if result.subsets is not None:
            self._draw_subsets(result.subsets)

    def _draw_subsets(self, subsets: SubsetCurves) -> None:
        """The mean curve of each subset size, coloured from cool (small N) to warm (large N)."""
        sizes = subsets.sizes
        for k, n in enumerate(sizes):
            curves = subsets.of_size(n)
            colour = pg.colormap.get("plasma").map(0.15 + 0.7 * k / max(1, len(sizes) - 1), mode="qcolor")
            mean = np.mean([c.C for c in curves], axis=0)
            line = self.plot.plot(curves[0].T, mean, pen=pg.mkPen(colour, width=2))
            self.legend.addItem(line, f"pairwise, N = {n} (mean of {len(curves)})")

    def table(self, result: HeatResult) -> pd.DataFrame:
        """Columns T and C; with subsets also N, draw and units (the model's rows: units 'RBM')."""
        model = heat_table(result.curve)
        if result.subsets is None:
            return model
        model.insert(0, "units", "RBM")
        model.insert(0, "draw", 0)
        model.insert(0, "N", self.state.model.rbm.n_visible)
        return pd.concat([model, subsets_table(result.subsets)], ignore_index=True)

    def describe(self, result: HeatResult) -> str:
        s = heat_summary(result.curve, self.state.model.rbm.n_visible)
        at_one = f"; at T = 1: {s['C_at_T1']:.3f}" if s["C_at_T1"] is not None else ""
        se = "" if s["peak_C_stderr"] is None else f" ± {s['peak_C_stderr']:.3f}"
        text = (f"C(T) per neuron peaks at T = {s['peak_T']:.2f} (C = {s['peak_C']:.3f}{se}){at_one}; "
                f"{s['method']}, {s['units']} units.")
        if result.subsets is not None:
            peaks = ", ".join(f"{n}: {v['mean_curve_peak_T']:.2f}"
                              for n, v in subsets_summary(result.subsets)["sizes"].items())
            text += f" Subsets (pairwise fits), peak T by N: {peaks}."
        return text
