"""The report's E/I page: seed 004's experiment (:mod:`.ei_experiment`) with light settings, so that it adds
seconds to the report, and the report's model's effective couplings J_ij by E-E, E-I and I-I pairs
(:mod:`.ei_couplings`) as a table beside the P(K) figure. A raster whose units have no E/I class (no
waveform widths) leaves the page with the reason. matplotlib's Agg canvas only."""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from napari_neurorbm.analysis.couplings import iter_couplings
from napari_neurorbm.analysis.ei_couplings import ClassCouplings, class_couplings
from napari_neurorbm.analysis.ei_experiment import EIResult, draw_p_k, iter_ei_experiment
from napari_neurorbm.configs import EIConfig, TrainConfig
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.progress import Progress, prefixed
from napari_neurorbm.rbm.model import RBM

# each model: 8 hidden units, 200 updates without monitoring; 5000 generated frames (`neurorbm ei` for more)
TRAIN = TrainConfig(n_hidden=8, updates=200, batch=500, chains=500, eval_every=0, checkpoints=0)
EI = EIConfig(frames=5000)
WHAT = (f"Seed 004's experiment with RBMs: one of the putative excitatory units alone and one of E and I "
        f"(classes from spike waveform widths), each with {TRAIN.n_hidden} hidden units trained for "
        f"{TRAIN.updates} updates on the training frames, {EI.frames} frames generated from each; P(K), K "
        "the active E units per frame, against the test frames' (total variation, KL). Seed 004 found that a "
        "pairwise model of E alone overpredicts their synchrony. The table: the report's model's effective "
        "couplings J_ij by pair type. `neurorbm ei` runs the experiment at full size.")


def iter_ei_page(rbm: RBM, raster: Raster) -> Generator[Progress, None, tuple[EIResult, ClassCouplings]]:
    """The experiment on ``raster`` and the couplings of ``rbm`` (fitted to it) by class; a one-line
    NeuroRBMError when the raster's units cannot be split into E and I."""
    result = yield from iter_ei_experiment(raster, TRAIN, EI)  # checks the classes first
    W, b, c = rbm.numpy()
    _, J = yield from prefixed(iter_couplings(W, b, c), "report model: ")
    return result, class_couplings(J, raster.classes)


def ei_page(found: tuple[EIResult, ClassCouplings], rbm: RBM) -> tuple[Figure, pd.DataFrame, dict]:
    """P(K) of the E units (log scale) beside the table of J_ij by pair type; the P(K) table; the numbers
    (the experiment's, and the couplings' under "couplings")."""
    result, by_class = found
    fig = Figure(figsize=(10.5, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    plot, table = fig.subplots(1, 2, width_ratios=(1.7, 1))
    draw_p_k(plot, result)
    table.axis("off")
    rows = [[name, str(row["n"]), *(_cell(row[k], fmt) for k, fmt in (("mean", "+.3g"), ("sd", ".3g"),
                                                                       ("positive", ".0%")))]
            for name, row in by_class.summary().items()]
    cells = table.table(cellText=rows, colLabels=["pairs", "n", "mean $J_{ij}$", "sd", "$J_{ij}$ > 0"],
                        cellLoc="center", loc="upper center")
    cells.auto_set_font_size(False)
    cells.set_fontsize(10)
    for cell in cells.get_celld().values():
        cell.PAD = 0.15  # room either side of the text in the columns sized to it
    cells.auto_set_column_width(range(5))
    cells.scale(1, 1.8)
    table.set_title(f"Effective couplings $J_{{ij}}$ of the report's model\nby putative class "
                    f"({rbm.n_visible} units, {rbm.n_hidden} hidden)", loc="left", fontsize="medium")
    return fig, result.table(), result.summary() | {"couplings": by_class.summary()}


def _cell(value: float | None, fmt: str) -> str:
    return "–" if value is None or not np.isfinite(value) else format(value, fmt)
