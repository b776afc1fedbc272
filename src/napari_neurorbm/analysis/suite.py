"""The analyses beyond the paper (PC spectrum, DMD, multi-information, heat capacity) run on a Raster and
the RBM fitted to it, as jobs yielding Progress (cancellable at each yield), with their curves as tables and
their headline numbers: what the commands (``neurorbm spectrum``, ``dmd``, ``multiinfo``, ``heat``), the
report's pages and the napari Analyses dock share, so that each computes the same thing.

Spectrum and DMD work on the spike counts (frames x units); multi-information on the 0/1 frames.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from napari_neurorbm.analysis.dmd import DMD, dmd_of
from napari_neurorbm.analysis.generation import GEN, iter_generate
from napari_neurorbm.analysis.heat import HeatCurve, iter_heat, temperatures
from napari_neurorbm.analysis.heat_subsets import SubsetCurves, iter_heat_subsets
from napari_neurorbm.analysis.multiinfo import MultiInfo, Pairwise, iter_multi_information
from napari_neurorbm.analysis.spectrum import Spectrum, large_areas, spectrum_of, time_shuffled
from napari_neurorbm.analysis.statistics import independent_samples
from napari_neurorbm.configs import DMDConfig, HeatConfig, MultiInfoConfig, SpectrumConfig
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.model import RBM

MODEL_FRAMES = 20_000  # generated frames whose hidden states sample the RBM's equilibrium
ModelSamples = tuple[np.ndarray, np.ndarray, np.ndarray]  # W, b and hidden states of an RBM


def activity(raster: Raster) -> np.ndarray:
    """The spike counts as frames x units, float64."""
    return raster.counts.T.astype(np.float64)


def block_frames(raster: Raster, cfg: SpectrumConfig) -> int:
    """cvPCA's block length in frames of ``raster`` (at least one)."""
    return max(1, round(cfg.block_ms / 1000 / raster.bin_s))


# ---------------------------------------------------------------- PC spectrum


def iter_spectra(raster: Raster, cfg: SpectrumConfig, generated: Raster | None = None
                 ) -> Generator[Progress, None, dict[str, Spectrum]]:
    """Cross-validated spectra of the recording, a time-shuffled copy, independent neurons with the same
    rates, ``generated`` (when given) and each area with at least ``cfg.min_area_units`` units
    ("area:NAME"), each with its power law fitted from ``cfg.first_rank``. With ``cfg.halves`` "repeats"
    the recording's own spectra (and its controls') split its trials; generated activity, which has no
    trials, is always split in time blocks."""
    x = activity(raster)
    areas = np.asarray(raster.areas).astype(str)
    parts = [("recording", raster, lambda: x), ("time_shuffled", raster, lambda: time_shuffled(x)),
             ("independent", raster, lambda: independent_samples(x.mean(axis=0), len(x)))]
    if generated is not None:
        parts.append(("generated", generated, lambda: activity(generated)))
    parts += [(f"area:{a}", raster, lambda a=a: x[:, areas == a])
              for a in large_areas(areas, cfg.min_area_units)]
    out = {}
    for i, (name, source, values) in enumerate(parts):
        yield Progress("spectrum", i, len(parts), name)
        block = block_frames(source, cfg)
        repeats = cfg.halves == "repeats" and source is raster
        out[name] = spectrum_of(values(), block, source.segment_starts, first=cfg.first_rank, repeats=repeats)
    yield Progress("spectrum", len(parts), len(parts), "done")
    return out


def spectra_table(spectra: dict[str, Spectrum]) -> pd.DataFrame:
    """Rank and one column of cross-validated variances per spectrum (NaN past a shorter one's end)."""
    n = max(len(s.variance) for s in spectra.values())
    table = pd.DataFrame({"rank": np.arange(1, n + 1)})
    for name, s in spectra.items():
        table[name] = np.r_[s.variance, np.full(n - len(s.variance), np.nan)]
    return table


def spectra_summary(spectra: dict[str, Spectrum], units: int) -> dict:
    """The exponent of each spectrum, the recording's fitted rank range and its number of ``units``."""
    alphas = {name: s.alpha for name, s in spectra.items()}
    return {"alpha": alphas, "ranks": list(spectra["recording"].ranks), "units": int(units)}


# ---------------------------------------------------------------- DMD


def iter_dmd(raster: Raster, cfg: DMDConfig, generated: Raster | None = None
             ) -> Generator[Progress, None, dict[str, DMD]]:
    """DMD of the recording's top ``cfg.pcs`` PCs, and of ``generated`` (generated in time) when given."""
    sources = {"recording": raster} | ({"generated": generated} if generated is not None else {})
    out = {}
    for i, (name, source) in enumerate(sources.items()):
        yield Progress("DMD", i, len(sources), name)
        out[name] = dmd_of(source.counts.T, cfg.pcs, source.segment_starts)
    yield Progress("DMD", len(sources), len(sources), "done")
    return out


def dmd_table(results: dict[str, DMD]) -> pd.DataFrame:
    """Source, real and imaginary part of every eigenvalue."""
    return pd.concat([pd.DataFrame({"source": name, "real": r.eigenvalues.real, "imag": r.eigenvalues.imag})
                      for name, r in results.items()], ignore_index=True)


def dmd_summary(results: dict[str, DMD]) -> dict:
    """Per source: the share of real eigenvalues and the largest modulus; and the PCs used."""
    first = next(iter(results.values()))
    return {"pcs": first.k} | {name: {"real_fraction": r.real_fraction,
                                      "largest_modulus": float(np.abs(r.eigenvalues).max())}
                               for name, r in results.items()}


# ---------------------------------------------------------------- multi-information


def model_samples(rbm: RBM, frames: np.ndarray, seed: int = 0) -> ModelSamples:
    """(W, b, hidden states) of the RBM: one hidden state drawn given each of ``frames`` (generated from the
    RBM, so that the hidden states sample its equilibrium)."""
    import torch

    from napari_neurorbm.rbm.sampling import sample_hidden

    W, b, _ = rbm.numpy()
    hidden = sample_hidden(rbm, torch.as_tensor(np.asarray(frames, dtype=np.float32)),
                           torch.Generator().manual_seed(seed))
    return W, b, hidden.cpu().double().numpy()


def iter_model_samples(rbm: RBM, seed: int = 0, n_frames: int = MODEL_FRAMES
                       ) -> Generator[Progress, None, ModelSamples]:
    """:func:`model_samples` of ``n_frames`` frames generated from random states (the default sampling)."""
    run = yield from iter_generate(rbm, n_frames, GEN.tau, GEN.chains, "random", seed=seed)
    return model_samples(rbm, run.frames, seed)


def iter_multiinfo(raster: Raster, cfg: MultiInfoConfig, rbm: RBM | None = None,
                   model_frames: np.ndarray | None = None) -> Generator[Progress, None, MultiInfo]:
    """I2/IN over random groups of the raster's units; with ``rbm`` (fitted to the raster) also the RBM's
    share, its hidden states drawn given ``model_frames`` (frames generated from it; default: generated
    here)."""
    model = None
    if rbm is not None:
        if rbm.n_visible != raster.n_units:
            raise NeuroRBMError(f"the model has {rbm.n_visible} visible units, the raster {raster.n_units}")
        model = (model_samples(rbm, model_frames, cfg.seed) if model_frames is not None
                 else (yield from iter_model_samples(rbm, cfg.seed)))
    return (yield from iter_multi_information(raster.frames("all"), cfg.group_size, cfg.groups, cfg.seed,
                                              model))


def multiinfo_table(info: MultiInfo) -> pd.DataFrame:
    """Each group's units, its entropies (nats) and ratios."""
    table = pd.DataFrame({"units": [",".join(map(str, g)) for g in info.groups], "S1": info.s1, "S2": info.s2,
                          "SN": info.sn, "i2_over_in": info.i2_over_in})
    if info.s_model is not None:
        table["S_model"], table["S1_model"], table["model_over_in"] = (info.s_model, info.s1_model,
                                                                      info.model_over_in)
    return table


# ---------------------------------------------------------------- heat capacity


def iter_heat_curve(model: RBM | Pairwise, cfg: HeatConfig
                    ) -> Generator[Progress, None, HeatCurve]:
    """C(T) of the model on the config's temperature grid (exact up to 20 units, else Monte Carlo)."""
    grid = temperatures(cfg.t_min, cfg.t_max, cfg.steps)
    return (yield from iter_heat(model, grid, sweeps=cfg.sweeps, chains=cfg.chains, seed=cfg.seed))


def iter_heat_subset_curves(raster: Raster, cfg: HeatConfig) -> Generator[Progress, None, SubsetCurves]:
    """C(T) of pairwise models fitted to ``cfg.subset_draws`` random subsets of each of ``cfg.subsets``
    sizes of the raster's units (all its frames), on the config's temperature grid."""
    if not cfg.subsets:
        raise NeuroRBMError("no subset sizes given: name them, e.g. 5, 10, 15")
    grid = temperatures(cfg.t_min, cfg.t_max, cfg.steps)
    return (yield from iter_heat_subsets(raster.frames("all"), cfg.subsets, cfg.subset_draws, grid, cfg.seed))


@dataclass(frozen=True)
class HeatResult:
    """The model's C(T) and, when subset sizes were asked for, the subsets' curves."""

    curve: HeatCurve
    subsets: SubsetCurves | None = None


def iter_heat_result(model: RBM | Pairwise, raster: Raster | None, cfg: HeatConfig
                     ) -> Generator[Progress, None, HeatResult]:
    """The model's C(T), then the subsets' of ``raster`` when ``cfg.subsets`` names sizes."""
    if cfg.subsets and raster is None:
        raise NeuroRBMError("C(T) of subsets needs a recording: load and binarize one first")
    curve = yield from iter_heat_curve(model, cfg)
    subsets = (yield from iter_heat_subset_curves(raster, cfg)) if cfg.subsets else None
    return HeatResult(curve, subsets)


def heat_table(curve: HeatCurve) -> pd.DataFrame:
    """Columns T and C, and C_stderr of a Monte Carlo curve."""
    table = pd.DataFrame({"T": curve.T, "C": curve.C})
    if curve.stderr is not None:
        table["C_stderr"] = curve.stderr
    return table


def heat_summary(curve: HeatCurve, units: int) -> dict:
    """Where C(T) peaks, its value there and at T = 1 (None when T = 1 is off the grid), and the method."""
    at_one = float(np.interp(1.0, curve.T, curve.C)) if curve.T[0] <= 1 <= curve.T[-1] else None
    peak_se = None if curve.stderr is None else float(curve.stderr[int(np.argmax(curve.C))])
    return {"peak_T": curve.peak_T, "peak_C": float(curve.C.max()), "peak_C_stderr": peak_se,
            "C_at_T1": at_one, "method": curve.method, "units": int(units)}
