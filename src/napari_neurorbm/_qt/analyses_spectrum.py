"""The PC spectrum tab: cross-validated variance against rank, log-log, for the recording, the generated
activity (when the Generate dock made some), independent neurons and a time-shuffled copy, each with its
fitted power law (dashed) and exponent alpha in the legend; the areas' exponents in the numbers below."""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import pandas as pd

from napari_neurorbm._qt.analyses_tab import AnalysisTab, pen
from napari_neurorbm._qt.colors import SERIES_COLORS
from napari_neurorbm._qt.qc_plots import log_ticks
from napari_neurorbm.analysis.spectrum import Spectrum
from napari_neurorbm.analysis.suite import iter_spectra, spectra_table
from napari_neurorbm.configs import SpectrumConfig
from napari_neurorbm.progress import Progress

DRAWN = {"recording": "recording", "generated": "generated", "independent": "independent neurons",
         "time_shuffled": "time-shuffled"}


class SpectrumTab(AnalysisTab):
    title = "PC spectrum"
    label = "Spectrum"
    name = "spectrum"
    config = SpectrumConfig
    inputs = ("raster", "generated")

    def missing(self) -> str | None:
        if self.state.raster is None:
            return "Needs a recording: load and binarize one first (Load & binarize)."
        return None

    def job(self, config: SpectrumConfig) -> Generator[Progress, None, dict[str, Spectrum]]:
        return iter_spectra(self.state.raster, config, self.state.generated)

    def draw(self, spectra: dict[str, Spectrum]) -> None:
        p = self.plot
        p.setLogMode(x=True, y=True)
        p.setLabel("bottom", "PC rank")
        p.setLabel("left", "cross-validated variance")
        p.setTitle("cvPCA spectrum")
        shown = []
        for key, label in DRAWN.items():
            s = spectra.get(key)
            if s is None:
                continue
            rank = np.arange(1, len(s.variance) + 1)
            positive = s.variance > 0
            colour = SERIES_COLORS[key]
            curve = p.plot(rank[positive], s.variance[positive], pen=pen(colour))
            self.legend.addItem(curve, f"{label}: α = {alpha_text(s.alpha)}")
            fit_rank, fit = s.power_law()
            if fit_rank.size:
                p.plot(fit_rank, fit, pen=pen(colour, width=1.5, dashed=True))
            head = s.variance[: s.ranks[1]]
            shown.append(head[head > 0])
        values = np.concatenate(shown)
        if values.size:  # the view spans the variances up to the last fitted rank: the tail beyond falls to
            lo, hi = values.min(), values.max()  # round-off (1e-21 in 1124 Steinmetz units) and leaves it
            p.getAxis("bottom").setTicks([log_ticks(1, max(len(s.variance) for s in spectra.values()))])
            p.getAxis("left").setTicks([log_ticks(lo, hi)])
            p.setYRange(np.log10(lo), np.log10(hi))

    def table(self, spectra: dict[str, Spectrum]) -> pd.DataFrame:
        return spectra_table(spectra)

    def describe(self, spectra: dict[str, Spectrum]) -> str:
        first, last = spectra["recording"].ranks
        alphas = [f"{label} {alpha_text(spectra[k].alpha)}" for k, label in DRAWN.items() if k in spectra]
        line = f"Exponent α of variance ~ rank^-α over ranks {first}-{last} (dashed): {', '.join(alphas)}."
        areas = [(k.removeprefix("area:"), s.alpha) for k, s in spectra.items() if k.startswith("area:")]
        if areas:
            line += " Areas: " + ", ".join(f"{a} {alpha_text(alpha)}" for a, alpha in areas) + "."
        return line


def alpha_text(alpha: float) -> str:
    """An exponent with two decimals; '–' where there was nothing to fit (fewer than 3 positive variances in
    the rank range)."""
    return f"{alpha:.2f}" if np.isfinite(alpha) else "–"
