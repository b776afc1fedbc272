"""The DMD tab: eigenvalues of the one-frame linear map of the top PCs in the complex plane, beside the unit
circle, for the recording and the generated activity (when the Generate dock made some)."""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import pandas as pd
import pyqtgraph as pg

from napari_neurorbm._qt.analyses_tab import AnalysisTab, pen
from napari_neurorbm._qt.colors import SERIES_COLORS
from napari_neurorbm.analysis.dmd import DMD, REAL_TOL
from napari_neurorbm.analysis.suite import dmd_table, iter_dmd
from napari_neurorbm.configs import DMDConfig
from napari_neurorbm.progress import Progress

SYMBOLS = {"recording": "o", "generated": "t"}
CIRCLE = np.exp(1j * np.linspace(0, 2 * np.pi, 361))


class DMDTab(AnalysisTab):
    title = "DMD"
    label = "DMD"
    name = "dmd"
    config = DMDConfig
    inputs = ("raster", "generated")

    def missing(self) -> str | None:
        if self.state.raster is None:
            return "Needs a recording: load and binarize one first (Load & binarize)."
        return None

    def job(self, config: DMDConfig) -> Generator[Progress, None, dict[str, DMD]]:
        return iter_dmd(self.state.raster, config, self.state.generated)

    def draw(self, results: dict[str, DMD]) -> None:
        p = self.plot
        p.setAspectLocked(True)
        p.setLabel("bottom", "Re λ")
        p.setLabel("left", "Im λ")
        p.setTitle(f"eigenvalues, top {next(iter(results.values())).k} PCs")
        p.plot(CIRCLE.real, CIRCLE.imag, pen=pen((150, 150, 150), width=1, dashed=True))
        p.addItem(pg.InfiniteLine(0, angle=0, pen=pen((90, 90, 90), width=1)))
        for name, r in results.items():
            ev = r.eigenvalues
            dots = p.plot(ev.real, ev.imag, pen=None, symbol=SYMBOLS[name], symbolSize=8, symbolPen=None,
                          symbolBrush=SERIES_COLORS[name])
            self.legend.addItem(dots, f"{name}: {r.real_fraction:.0%} real, max |λ| {np.abs(ev).max():.3f}")
        p.setRange(xRange=(-1.05, 1.05), yRange=(-1.05, 1.05))

    def table(self, results: dict[str, DMD]) -> pd.DataFrame:
        return dmd_table(results)

    def describe(self, results: dict[str, DMD]) -> str:
        parts = [f"{name}: {r.real_fraction:.0%} of {len(r.eigenvalues)} eigenvalues real "
                 f"(|Im λ| < {REAL_TOL:g}), largest |λ| {np.abs(r.eigenvalues).max():.3f}"
                 for name, r in results.items()]
        return "; ".join(parts) + ". Symmetric dynamics give real eigenvalues (paper 002)."
