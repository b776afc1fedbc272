"""The E/I tab: seed 004's experiment (:mod:`napari_neurorbm.analysis.ei_experiment`) on the viewer's
recording. Two RBMs train with the same settings on its training frames, one of the putative excitatory units
alone, one of E and I (units of unknown class left out of both); each generates frames, and P(K) of the E
units (K active per frame) from both models is drawn against the test frames' on a log axis, with their
distances (total variation, KL) in the numbers below. Export writes the P(K) table, the figure and the
numbers (JSON) side by side.

The units' classes come from their spike waveform widths (Load & binarize, "E/I threshold"); a recording
without any says so in one line and the tab does not run.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path

import numpy as np
import pandas as pd
from qtpy.QtWidgets import QGroupBox

from napari_neurorbm._qt.analyses_tab import AnalysisTab, pen
from napari_neurorbm._qt.colors import SERIES_COLORS
from napari_neurorbm._qt.forms import ConfigForm
from napari_neurorbm._qt.qc_plots import log_ticks
from napari_neurorbm._qt.train_form import SHORT_LABELS, TEXT_FIELDS
from napari_neurorbm.analysis.ei_experiment import MODELS, EIResult, check_classes, iter_ei_experiment
from napari_neurorbm.atomic import write_text
from napari_neurorbm.configs import EIConfig, TrainConfig
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress

# ei_experiment.COLOURS on napari's dark canvas: the recording light as in every tab, the model of E alone
# orange and the model of E and I blue (the hues of the command's figure)
COLOURS = {"data": SERIES_COLORS["recording"], "e_only": SERIES_COLORS["pairwise"],
           "e_and_i": SERIES_COLORS["time_shuffled"]}
# the training settings of both models the tab shows (the Train dock's names); the others keep TrainConfig's
# defaults, as `neurorbm ei` does
TRAIN_FIELDS = ("n_hidden", "updates", "minutes", "batch", "seed", "device")
FEW_K = 12  # up to this many K on the x axis, a tick at each (K is a count)


class EITab(AnalysisTab):
    title = "E/I experiment"
    label = "E/I"
    name = "ei"
    config = EIConfig
    inputs = ("raster",)

    def _lay_out(self) -> None:
        """The base's frame, with the training settings of both models below the tab's own in its box."""
        text = [f for f in TEXT_FIELDS if f in TRAIN_FIELDS]
        overrides = {f: {"label": label} for f, label in SHORT_LABELS.items() if f in TRAIN_FIELDS}
        self.train = ConfigForm(TrainConfig(), only=TRAIN_FIELDS, text=text, overrides=overrides)
        super()._lay_out()
        self.findChild(QGroupBox).layout().addWidget(self.train.native)

    def missing(self) -> str | None:
        raster = self.state.raster
        if raster is None:
            return "Needs a recording: load and binarize one first (Load & binarize)."
        try:
            check_classes(raster)
        except NeuroRBMError as exc:
            return str(exc)
        return None

    def job(self, config: EIConfig) -> Generator[Progress, None, EIResult]:
        return iter_ei_experiment(self.state.raster, self.train.config(), config)

    def draw(self, result: EIResult) -> None:
        p = self.plot
        p.setLogMode(y=True)
        p.setLabel("bottom", f"K, active E units per frame (of {result.n_e})")
        p.setLabel("left", "P(K)")
        unknown = f", {result.n_unknown} unknown" if result.n_unknown else ""  # left out of both models
        p.setTitle(f"E synchrony: {result.n_e} E, {result.n_i} I units{unknown}")
        s = result.summary()
        for key in ("data", *MODELS):
            prob = result.p_k[key]
            k = np.flatnonzero(prob)  # a log axis: the K never seen are left out
            colour = COLOURS[key]
            line = p.plot(k, prob[k], pen=pen(colour), symbol="o", symbolSize=4, symbolPen=None,
                          symbolBrush=colour)
            label = (f"test frames ({s['test_frames']})" if key == "data" else
                     f"{MODELS[key]}: TV {s[key]['total_variation']:.3f}, KL {s[key]['kl']:.3f}")
            self.legend.addItem(line, f"{label}; K {s[key]['mean_k']:.2f} ± {np.sqrt(s[key]['var_k']):.2f}")
        shown = np.concatenate([prob[prob > 0] for prob in result.p_k.values()])
        p.getAxis("left").setTicks([log_ticks(shown.min(), shown.max())])
        top = max(int(np.flatnonzero(prob).max()) for prob in result.p_k.values())
        p.getAxis("bottom").setTicks([[(k, str(k)) for k in range(top + 1)]] if top < FEW_K else None)

    def table(self, result: EIResult) -> pd.DataFrame:
        """P(K) per K: columns K, data, e_only, e_and_i (the command's p_k.csv)."""
        return result.table()

    def describe(self, result: EIResult) -> str:
        """The distances in one line (K's mean ± sd of each is in the legend)."""
        s = result.summary()
        names = {"e_only": "E alone", "e_and_i": "E and I"}
        distances = ", ".join(f"{name} {s[key]['total_variation']:.3f} / {s[key]['kl']:.3f}"
                              for key, name in names.items())
        out = f" {result.n_unknown} units of unknown class are left out of both." if result.n_unknown else ""
        return f"TV / KL to the test frames' P(K): {distances}.{out}"

    def extra_files(self, csv: Path) -> list[tuple[str, Path]]:
        """The headline numbers as JSON beside the CSV and PNG (the command's summary.json)."""
        numbers = csv.with_suffix(".json")
        return [("{}", write_text(numbers, json.dumps(self.result.summary(), indent=2)))]
