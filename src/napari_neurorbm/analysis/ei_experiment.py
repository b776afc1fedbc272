"""Seed 004's E/I experiment with RBMs: is the synchrony of the excitatory units predicted as well by a model
of them alone as by a model that includes the inhibitory units?

Seed 004 (Zanoci, Dehghani & Tegmark 2019) found that a pairwise model of the excitatory neurons alone
overpredicts their synchrony, while a model of E and I together captures it. Here two RBMs with the same
settings train on the same training frames (the raster's split): one on the E units alone, one on all
classified units (E and I; units of unknown class are left out of both). Each generates frames by Gibbs
sampling in time from its training frames; the E units' active count per frame, K, gives P(K) of each model
(the E columns of the E+I model's frames) against P(K) of the held-out test frames. Distances: total
variation 1/2 sum_K |P - Q| and KL(data || model) with the model's counts smoothed by half a count per K
(Krichevsky-Trofimov), so that a K the model never generated costs a finite amount.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from napari_neurorbm.analysis.generation import GEN, iter_generate
from napari_neurorbm.analysis.statistics import active_counts
from napari_neurorbm.atomic import save_figure, write_csv, write_text
from napari_neurorbm.configs import EIConfig, TrainConfig
from napari_neurorbm.data.celltypes import EXCITATORY, INHIBITORY, UNCLASSIFIED
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, prefixed
from napari_neurorbm.rbm.trainer import Trainer

MODELS = {"e_only": "model of E alone", "e_and_i": "model of E and I"}
COLOURS = {"data": "black", "e_only": "tab:orange", "e_and_i": "tab:blue"}


@dataclass
class EIResult:
    """P(K) of the E units (index K = 0..n_E) in the test frames and from each model, and the two models."""

    p_k: dict[str, np.ndarray]  # "data", "e_only", "e_and_i"
    counts: dict[str, np.ndarray]  # frames with each K, same keys
    n_e: int
    n_i: int
    trainers: dict[str, Trainer]  # "e_only", "e_and_i"
    n_unknown: int = 0  # units of unknown class, left out of both models

    def summary(self) -> dict:
        """The headline numbers, JSON-ready: units, distances to the data, mean and variance of K."""
        data = self.counts["data"]
        out: dict = {"units": {"E": self.n_e, "I": self.n_i, "unknown": self.n_unknown},
                     "test_frames": int(data.sum())}
        for key in ("data", *MODELS):
            k = _moments(self.counts[key])
            out[key] = {"mean_k": k[0], "var_k": k[1]}
            if key != "data":
                out[key].update(total_variation=total_variation(self.p_k["data"], self.p_k[key]),
                                kl=kl_divergence(data, self.counts[key]))
        return out

    def table(self) -> pd.DataFrame:
        """P(K) per K: columns K, data, e_only, e_and_i."""
        return pd.DataFrame({"K": np.arange(self.n_e + 1), **self.p_k})


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """1/2 sum |p - q| of two distributions on the same support."""
    return float(0.5 * np.abs(np.asarray(p) - np.asarray(q)).sum())


def kl_divergence(data_counts: np.ndarray, model_counts: np.ndarray) -> float:
    """KL(data || model) in nats from counts per K; the model's counts get half a count per K."""
    p = data_counts / data_counts.sum()
    q = (model_counts + 0.5) / (model_counts.sum() + 0.5 * len(model_counts))
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / q[nz])))


def check_classes(raster: Raster) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the E units and of all classified units; a one-line error when the split cannot be made."""
    classes = raster.classes
    if np.all(classes == UNCLASSIFIED):
        raise NeuroRBMError(f"{raster.name}: no unit has a spike waveform width, so all {len(classes)} units "
                            "are of unknown class and none is E or I (the source gives no waveform widths; "
                            "phy, Allen and NWB sources can)")
    if not np.any(classes == INHIBITORY):
        raise NeuroRBMError(f"{raster.name}: no unit is putatively inhibitory (narrow spikes); "
                            "a higher E/I threshold when binarizing (--ei-threshold-ms) may find some")
    if not np.any(classes == EXCITATORY):
        raise NeuroRBMError(f"{raster.name}: no unit is putatively excitatory (broad spikes); "
                            "a lower E/I threshold when binarizing (--ei-threshold-ms) may find some")
    if raster.test_frames.size == 0:
        raise NeuroRBMError(f"{raster.name}: the raster has no test frames to compare with "
                            "(binarize with a test fraction)")
    return np.flatnonzero(classes == EXCITATORY), np.flatnonzero(classes != UNCLASSIFIED)


def iter_ei_experiment(raster: Raster, train: TrainConfig, config: EIConfig | None = None
                       ) -> Generator[Progress, None, EIResult]:
    """Train both models, generate from each and compare their P(K) of the E units with the test frames'."""
    e_rows, all_rows = check_classes(raster)
    train.validate()
    config = (config or EIConfig()).validate()
    rasters = {"e_only": raster.take(e_rows, f"{raster.name} E"),
               "e_and_i": raster.take(all_rows, f"{raster.name} E+I")}
    e_columns = {"e_only": np.arange(len(e_rows)), "e_and_i": np.searchsorted(all_rows, e_rows)}
    n_e = len(e_rows)
    counts = {"data": np.bincount(active_counts(rasters["e_only"].frames("test")), minlength=n_e + 1)}
    trainers = {}
    for key, what in MODELS.items():
        trainers[key] = yield from prefixed(Trainer.from_raster(rasters[key], train).run(), f"{what}: ")
        run = yield from prefixed(iter_generate(
            trainers[key].selected[1], config.frames, GEN.tau, min(GEN.chains, config.frames), "data",
            data=rasters[key].frames("train"), seed=train.seed, device=train.device), f"{what}: ")
        counts[key] = np.bincount(active_counts(run.frames[:, e_columns[key]]), minlength=n_e + 1)
    return EIResult(p_k={key: c / c.sum() for key, c in counts.items()}, counts=counts, n_e=n_e,
                    n_i=len(all_rows) - n_e, trainers=trainers, n_unknown=raster.n_units - len(all_rows))


def _moments(counts: np.ndarray) -> tuple[float, float]:
    """Mean and variance of K from the number of frames with each K."""
    k = np.arange(len(counts))
    p = counts / counts.sum()
    mean = float(p @ k)
    return mean, float(p @ (k - mean) ** 2)


def write_ei(result: EIResult, out_dir: Path) -> dict[str, Path]:
    """p_k.csv, p_k.png, summary.json and the two model files (e_only.npz, e_and_i.npz) into ``out_dir``."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NeuroRBMError(f"cannot create the folder {out_dir}: {exc.strerror or exc}") from None
    written = {key: out_dir / name for key, name in
               (("table", "p_k.csv"), ("figure", "p_k.png"), ("summary", "summary.json"))}
    write_csv(written["table"], result.table(), index=False)
    save_figure(ei_figure(result), written["figure"], dpi=110)
    write_text(written["summary"], json.dumps(result.summary(), indent=2))
    for key, trainer in result.trainers.items():
        written[key] = trainer.save(out_dir / f"{key}.npz")
    return written


def ei_figure(result: EIResult) -> Figure:
    """P(K) of the E units, log scale: the test frames and both models, with their distances."""
    fig = Figure(figsize=(6.0, 4.0), layout="constrained")
    FigureCanvasAgg(fig)
    draw_p_k(fig.add_subplot(), result)
    return fig


def draw_p_k(ax: Axes, result: EIResult) -> None:
    """:func:`ei_figure`'s plot on the matplotlib axes ``ax`` (the report's page draws it beside a table)."""
    summary = result.summary()
    for key in ("data", *MODELS):
        p = result.p_k[key]
        k = np.flatnonzero(p)
        label = "test frames" if key == "data" else \
            f"{MODELS[key]} (TV {summary[key]['total_variation']:.3f}, KL {summary[key]['kl']:.3f})"
        ax.plot(k, p[k], color=COLOURS[key], lw=1.5, marker=".", label=label)
    ax.set_yscale("log")
    ax.set_xlabel(f"K, active excitatory units per frame (of {result.n_e})")
    ax.set_ylabel("P(K)")
    ax.set_title(f"Excitatory synchrony: {result.n_e} E units, {result.n_i} I units", loc="left")
    ax.legend(fontsize="small")
