"""C(T) of random subsets of N units, for increasing N: the sharpening of the peak with N (and its drift
towards T = 1) is the signature Tkacik et al. (2015) reported on the retina.

As they did, a model is fitted to each subset: the pairwise maximum-entropy model of the subset's frames
(means and pair moments matched exactly, Newton's method by enumeration: ``fit_to_frames``), and its C(T)
is computed exactly by enumerating the subset's 2^N states. Enumeration bounds N to 15 (``MAX_GROUP``).
Summing the other units out of an RBM does not leave an RBM, so an RBM fitted to all units has no closed
form energy on a subset; a pairwise fit per subset is the cheap, exact-given-the-fit route.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from napari_neurorbm.analysis.heat import HeatCurve, heat_exact
from napari_neurorbm.analysis.multiinfo import MAX_GROUP, fit_to_frames, random_groups
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress


@dataclass(frozen=True)
class SubsetCurves:
    """C(T) of the pairwise model of each subset: ``units`` (one array per curve) and ``curves`` alike, size
    by size, ``draws`` subsets of each size."""

    units: list[np.ndarray]
    curves: list[HeatCurve]
    draws: int

    @property
    def sizes(self) -> list[int]:
        """The subset sizes, ascending, each once."""
        return sorted({len(u) for u in self.units})

    def of_size(self, n: int) -> list[HeatCurve]:
        return [c for u, c in zip(self.units, self.curves, strict=True) if len(u) == n]


def check_sizes(sizes: tuple[int, ...], n_units: int) -> tuple[int, ...]:
    """The sizes sorted; one clear line when a size is beyond enumeration or the raster's units."""
    top = min(MAX_GROUP, n_units)
    bad = [n for n in sizes if not 2 <= n <= top]
    if bad or not sizes:
        raise NeuroRBMError(f"subset sizes must be 2 to {top} (exact pairwise fits enumerate 2^N states; the "
                            f"raster has {n_units} units), got {', '.join(map(str, sizes)) or 'none'}")
    return tuple(sorted(set(sizes)))


def iter_heat_subsets(frames: np.ndarray, sizes: tuple[int, ...], draws: int, T: np.ndarray, seed: int = 0
                      ) -> Generator[Progress, None, SubsetCurves]:
    """For each size N, ``draws`` random subsets of N units of 0/1 ``frames`` (frames x units): the pairwise
    model fitted to the subset's frames and its exact C(T) on the grid ``T``."""
    x = np.asarray(frames)
    sizes = check_sizes(tuple(sizes), x.shape[1])
    units, curves, total = [], [], len(sizes) * draws
    for k, n in enumerate(sizes):
        for d, group in enumerate(random_groups(x.shape[1], n, draws, seed + k)):
            yield Progress("heat capacity of subsets", len(curves), total, f"N = {n}, subset {d + 1}/{draws}")
            units.append(group)
            curves.append(heat_exact(fit_to_frames(x[:, group]), T))
    yield Progress("heat capacity of subsets", total, total, "done")
    return SubsetCurves(units, curves, draws)


def subsets_table(result: SubsetCurves) -> pd.DataFrame:
    """Columns N, draw, units (comma separated), T and C: one row per temperature of each subset's curve."""
    pairs = enumerate(zip(result.units, result.curves, strict=True))
    rows = [pd.DataFrame({"N": len(u), "draw": i % result.draws, "units": ",".join(map(str, u)), "T": c.T,
                          "C": c.C}) for i, (u, c) in pairs]
    return pd.concat(rows, ignore_index=True)


def subsets_summary(result: SubsetCurves) -> dict:
    """Per N: the peak temperature (mean and spread over the subsets), the mean curve's peak and its height,
    and the mean C at T = 1 (None off the grid)."""
    out = {}
    for n in result.sizes:
        curves = result.of_size(n)
        T, mean = curves[0].T, np.mean([c.C for c in curves], axis=0)
        peaks = [c.peak_T for c in curves]
        out[str(n)] = {"peak_T": float(np.mean(peaks)), "peak_T_sd": float(np.std(peaks)),
                       "mean_curve_peak_T": float(T[np.argmax(mean)]), "mean_curve_peak_C": float(mean.max()),
                       "C_at_T1": float(np.interp(1.0, T, mean)) if T[0] <= 1 <= T[-1] else None}
    return {"draws": result.draws, "method": "pairwise fit per subset, exact", "sizes": out}

