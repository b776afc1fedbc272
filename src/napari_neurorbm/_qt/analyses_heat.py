"""The heat capacity tab: C(T) per neuron of the viewer's model over a grid of temperatures, with T = 1 (the
fitted model) and the peak marked."""

from __future__ import annotations

from collections.abc import Generator

import pandas as pd
import pyqtgraph as pg

from napari_neurorbm._qt.analyses_tab import AnalysisTab, pen
from napari_neurorbm._qt.colors import SERIES_COLORS
from napari_neurorbm.analysis.heat import HeatCurve
from napari_neurorbm.analysis.suite import heat_summary, heat_table, iter_heat_curve
from napari_neurorbm.configs import HeatConfig
from napari_neurorbm.progress import Progress


class HeatTab(AnalysisTab):
    title = "Heat capacity"
    label = "Heat"
    name = "heat"
    config = HeatConfig
    inputs = ("model",)

    def missing(self) -> str | None:
        if self.state.model is None:
            return "Needs a model: train one (Train RBM) or load a model file first."
        return None

    def job(self, config: HeatConfig) -> Generator[Progress, None, HeatCurve]:
        return iter_heat_curve(self.state.model.rbm, config)

    def draw(self, curve: HeatCurve) -> None:
        p = self.plot
        p.setLabel("bottom", "temperature T")
        p.setLabel("left", "C(T) per neuron")
        p.setTitle(f"C(T), {curve.method}")
        colour = SERIES_COLORS["generated"]
        line = p.plot(curve.T, curve.C, pen=pen(colour), symbol="o", symbolSize=4, symbolPen=None,
                      symbolBrush=colour)
        self.legend.addItem(line, f"RBM, {self.state.model.rbm.n_visible} units")
        one = pg.InfiniteLine(1.0, angle=90, pen=pen((200, 200, 200), width=1, dashed=True),
                              label="T = 1", labelOpts={"position": 0.95, "color": (200, 200, 200)})
        p.addItem(one)
        peak = p.plot([curve.peak_T], [curve.C.max()], pen=None, symbol="star", symbolSize=16,
                      symbolPen=pg.mkPen("w"), symbolBrush=colour)
        self.legend.addItem(peak, f"peak: T = {curve.peak_T:.2f}, C = {curve.C.max():.3f}")

    def table(self, curve: HeatCurve) -> pd.DataFrame:
        return heat_table(curve)

    def describe(self, curve: HeatCurve) -> str:
        s = heat_summary(curve, self.state.model.rbm.n_visible)
        at_one = f"; at T = 1: {s['C_at_T1']:.3f}" if s["C_at_T1"] is not None else ""
        return (f"C(T) per neuron peaks at T = {s['peak_T']:.2f} (C = {s['peak_C']:.3f}){at_one}; "
                f"{s['method']}, {s['units']} units.")
