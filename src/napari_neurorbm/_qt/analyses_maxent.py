"""The pairwise max-ent tab: the pairwise maximum-entropy model fitted to the training frames of the viewer's
recording, beside independent units and the viewer's RBM (when it holds one). Top: each model's test
log-likelihood per frame as its gain over independent units (bars, labelled with the log-likelihood and
the pairwise model's share of the RBM's gain). Below: the moments check, the fitted model's pair
covariances against the training frames'. Export writes the numbers (CSV), the figure (PNG) and the
fitted model's file, which `neurorbm loglik` and `neurorbm heat` read."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import numpy as np
import pandas as pd
import pyqtgraph as pg

from napari_neurorbm._qt.analyses_tab import PLOT_MIN_HEIGHT, AnalysisTab, pen
from napari_neurorbm._qt.colors import SERIES_COLORS
from napari_neurorbm.analysis.baseline import DRAWN_PAIRS, MaxEntResult, agreement_text, iter_maxent
from napari_neurorbm.analysis.generation import check_same_units
from napari_neurorbm.configs import MaxEntConfig
from napari_neurorbm.progress import Progress

COLOURS = {"independent": SERIES_COLORS["independent"], "pairwise": SERIES_COLORS["pairwise"],
           "RBM": SERIES_COLORS["generated"]}
TITLE_SIZE = "9pt"  # two plots share the figure's height and a narrow dock's width


class MaxEntTab(AnalysisTab):
    title = "Pairwise max-ent baseline"
    label = "Max-ent"
    name = "maxent"
    config = MaxEntConfig
    fields = ("l2", "pl_iterations", "updates", "minutes", "ais_betas", "device")  # the CLI has them all
    text_fields = ("l2",)  # auto, or 0.1 to 1e-5: no spin box step suits it
    inputs = ("raster", "model")

    def __init__(self, state) -> None:
        super().__init__(state)
        self.export_button.setToolTip("The numbers as a CSV table, the figure as a PNG and the fitted "
                                      "pairwise model (<name>_pairwise.npz, for neurorbm loglik and heat) "
                                      "beside it")
        self.view.removeItem(self.legend)  # no legend: the bars and the axes say what they are
        self.moments_plot = self.view.addPlot(row=1, col=0)
        self.view.setMinimumHeight(PLOT_MIN_HEIGHT + 60)
        for side in ("left", "bottom"):
            self.moments_plot.getAxis(side).enableAutoSIPrefix(False)
        self.view.ci.layout.setRowStretchFactor(0, 2)
        self.view.ci.layout.setRowStretchFactor(1, 3)

    def missing(self) -> str | None:
        if self.state.raster is None:
            return "Needs a recording: load and binarize one first (Load & binarize)."
        return None

    def job(self, config: MaxEntConfig) -> Generator[Progress, None, MaxEntResult]:
        model = self.state.model
        if model is not None:
            check_same_units(model, self.state.raster)
        return iter_maxent(self.state.raster, config, model.rbm if model is not None else None)

    def _clear(self) -> None:
        super()._clear()
        self.moments_plot.clear()

    def draw(self, result: MaxEntResult) -> None:
        self._draw_likelihoods(result)
        self._draw_moments(result)

    def _draw_likelihoods(self, result: MaxEntResult) -> None:
        """Horizontal bars of the gains over independent units, top to bottom, each labelled."""
        table, p = result.table(), self.plot
        rows = np.arange(len(table))[::-1]  # the first model on top
        gains = table["gain_over_independent"].to_numpy()
        brushes = [pg.mkBrush(COLOURS[m]) for m in table["model"]]
        p.addItem(pg.BarGraphItem(x0=0, y=rows, height=0.6, width=gains, brushes=brushes, pen=pg.mkPen(None)))
        for y, (model, ll, gain) in zip(rows, table[["model", "test_ll", "gain_over_independent"]].itertuples(
                index=False), strict=True):
            label = pg.TextItem(f"{ll:.3f}", color=COLOURS[model], anchor=(0, 0.5))
            label.setPos(max(gain, 0), y)
            p.addItem(label)
        p.getAxis("left").setTicks([[(y, m) for y, m in zip(rows, table["model"], strict=True)], []])
        low, high = min(0.0, gains.min()), max(0.0, gains.max())
        p.setXRange(low, high + 0.4 * max(high - low, 1e-3), padding=0.02)  # room for the labels
        p.setYRange(-0.6, len(table) - 0.4, padding=0)
        p.setLabel("bottom", "gain over independent (nats/frame)")
        share = result.share
        p.setTitle("test log-likelihood per frame" + ("" if share is None else
                                                      f"<br>pairwise: {share:.2f} of the RBM's gain"),
                   size=TITLE_SIZE)

    def _draw_moments(self, result: MaxEntResult) -> None:
        """The model's pair covariances against the data's (a sample of DRAWN_PAIRS at most), y = x."""
        data, model = result.covariances(DRAWN_PAIRS)
        pairs = len(result.fit.free) * (len(result.fit.free) - 1) // 2
        p = self.moments_plot
        p.plot(data, model, pen=None, symbol="o", symbolSize=4, symbolPen=None,
               symbolBrush=(*SERIES_COLORS["pairwise"], 140))
        p.addItem(pg.InfiniteLine((0, 0), angle=45, pen=pen((200, 200, 200), width=1, dashed=True)))
        if len(data):
            low, high = min(data.min(), model.min()), max(data.max(), model.max())
            p.setRange(xRange=(low, high), yRange=(low, high))  # one scale: y = x is the diagonal
        p.setTitle(f"pair covariances{agreement_text(result.moments_agreement(), ': ')}", size=TITLE_SIZE)
        p.setLabel("bottom", "training frames" + (f" ({len(data):,} of {pairs:,} pairs)" if len(data) < pairs
                                                  else ""))
        p.setLabel("left", f"model ({result.moments_method})")

    def table(self, result: MaxEntResult) -> pd.DataFrame:
        return result.table()

    def describe(self, result: MaxEntResult) -> str:
        s = result.summary()
        lls = f"independent {s['independent_test_ll']:.3f}, pairwise {s['pairwise_test_ll']:.3f}"
        if result.rbm is None:
            tail = " (no RBM in the viewer: train or open one to compare)"
        else:
            lls += f", RBM {s['rbm_test_ll']:.3f}"
            share = s["share_of_rbm_gain"]
            tail = "" if share is None else f"; pairwise: {share:.2f} of the RBM's gain"
        se = f" ± {s['log_z_stderr']:.1g}" if s["log_z_method"] == "ais" else ""
        l2 = f"L2 {s['l2']:g}" + ("" if s["l2_tried"] is None else " (auto)")
        return (f"Test log-likelihood per frame: {lls} nats{tail}. Pair covariances, model vs data"
                f"{agreement_text(s, ': ')} ({s['units']} units, {l2}, log Z {s['log_z_method']}{se}).")

    def extra_files(self, csv: Path) -> list[tuple[str, Path]]:
        """The fitted model's file <name>_pairwise.npz beside the CSV and PNG."""
        model = self.result.save(csv.with_name(f"{csv.stem}_pairwise.npz"), self.state.raster)
        return [("the pairwise model {} (neurorbm loglik and heat read it)", model)]
