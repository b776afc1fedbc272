"""Cross-validated PC variance spectrum and its power-law exponent (seed 002; Stringer et al. 2019).

cvPCA estimates the variance of each principal component that is shared between two repeats of the same
activity, so independent noise (Poisson spiking) does not inflate it: the PCs come from repeat A alone and
the variance of PC k is the covariance, across samples, of A's and B's projections on it. Without repeated
trials the two "repeats" are interleaved time blocks: block 2i (A) beside block 2i + 1 (B), a block length
apart, which keeps the activity that persists over a block and drops what changes from bin to bin. With
repeated trials of one stimulus (the raster's segments, all of one length) A is the mean over the even trials
and B over the odd ones, frame by frame of the stimulus: the shared variance is then the stimulus-driven
variance, as in Stringer et al.
The exponent alpha of variance ~ rank^-alpha is fitted by least squares in log-log over a rank range.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from napari_neurorbm.errors import NeuroRBMError

FIRST_RANK = 11  # the power law is fitted from this rank (1-based) ...
MIN_UNITS_PER_AREA = 100  # areas with fewer units get no spectrum of their own


@dataclass(frozen=True)
class Spectrum:
    """Cross-validated variance of each PC (rank 1 first; may be <= 0 where nothing is shared) and the
    power law fitted over ranks ``ranks[0]..ranks[1]`` (1-based, inclusive)."""

    variance: np.ndarray
    alpha: float
    ranks: tuple[int, int]

    def power_law(self) -> tuple[np.ndarray, np.ndarray]:
        """The fitted line over its rank range: ranks and A * rank^-alpha (empty when there is no fit)."""
        alpha, amplitude = power_law_fit(self.variance, *self.ranks)
        if not np.isfinite(alpha):
            return np.zeros(0), np.zeros(0)
        ranks = np.arange(self.ranks[0], min(self.ranks[1], len(self.variance)) + 1, dtype=np.float64)
        return ranks, amplitude * ranks**-alpha


def cv_spectrum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """cvPCA of two repeats (samples x units each, paired row by row): PCs of ``a``, and for each the mean
    product of the centred projections of ``a`` and ``b``, in decreasing order of a's variance."""
    a, b = _centred(a), _centred(b)
    if a.shape != b.shape:
        raise NeuroRBMError(f"the two repeats differ in shape: {a.shape} and {b.shape}")
    if len(a) < 2:
        raise NeuroRBMError("cvPCA needs at least 2 samples per repeat")
    _, _, vt = np.linalg.svd(a, full_matrices=False)
    return np.einsum("tk,tk->k", a @ vt.T, b @ vt.T) / len(a)


def interleaved_halves(x: np.ndarray, block: int, segment_starts: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Two "repeats" of frames x units activity without trials: consecutive blocks of ``block`` frames paired
    (block 2i with block 2i + 1), never across a segment boundary (the recording's gaps)."""
    if block < 1:
        raise NeuroRBMError(f"the block length must be at least one frame, got {block}")
    n = len(x)
    starts = np.unique(np.r_[0, [] if segment_starts is None else segment_starts, n].astype(np.int64))
    pick_a = []
    for lo, hi in pairwise(starts):
        first = np.arange(lo, hi - 2 * block + 1, 2 * block)
        pick_a.extend(s + np.arange(block) for s in first)
    if not pick_a:
        raise NeuroRBMError(f"no two consecutive blocks of {block} frames fit in any segment")
    rows = np.concatenate(pick_a)
    return x[rows], x[rows + block]


def repeat_halves(x: np.ndarray, segment_starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two halves of repeated trials: the segments of frames x units activity are trials of one stimulus
    (at least two, all of one length); the mean over the even trials and the mean over the odd ones (stimulus
    frames x units each)."""
    bounds = np.r_[np.asarray(segment_starts, dtype=np.int64), len(x)]
    lengths = np.diff(bounds)
    if len(lengths) < 2 or (lengths != lengths[0]).any() or bounds[0] != 0:
        n_lengths = len(set(lengths.tolist()))
        kinds = "one segment" if len(lengths) < 2 else f"{len(lengths)} segments of {n_lengths} lengths"
        raise NeuroRBMError(f"no repeated trials to split: the raster has {kinds}; repeats need two or more "
                            "segments of one length (use halves 'blocks')")
    trials = np.asarray(x, dtype=np.float64).reshape(len(lengths), lengths[0], -1)
    return trials[0::2].mean(axis=0), trials[1::2].mean(axis=0)


def power_law_exponent(variance: np.ndarray, first: int = FIRST_RANK, last: int | None = None) -> float:
    """alpha of variance ~ rank^-alpha by least squares in log-log over ranks first..last (1-based;
    default last = N/2), using the positive variances only; NaN when fewer than 3 remain."""
    return power_law_fit(variance, first, last)[0]


def power_law_fit(variance: np.ndarray, first: int = FIRST_RANK, last: int | None = None
                  ) -> tuple[float, float]:
    """(alpha, A) of variance ~ A rank^-alpha, fitted as :func:`power_law_exponent` says (NaNs: no fit)."""
    last = len(variance) // 2 if last is None else last
    ranks = np.arange(1, len(variance) + 1)
    keep = (ranks >= first) & (ranks <= last) & (variance > 0)
    if keep.sum() < 3:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(np.log(ranks[keep]), np.log(variance[keep]), 1)
    return float(-slope), float(np.exp(intercept))


def spectrum_of(x: np.ndarray, block: int, segment_starts: np.ndarray | None = None,
                first: int = FIRST_RANK, last: int | None = None, repeats: bool = False) -> Spectrum:
    """The cross-validated spectrum of frames x units activity, with its exponent: from interleaved blocks,
    or with ``repeats`` from the segments as repeated trials (:func:`repeat_halves`)."""
    x = np.asarray(x, dtype=np.float64)
    if repeats:
        var = cv_spectrum(*repeat_halves(x, np.zeros(1) if segment_starts is None else segment_starts))
    else:
        var = cv_spectrum(*interleaved_halves(x, block, segment_starts))
    last = len(var) // 2 if last is None else last
    return Spectrum(var, power_law_exponent(var, first, last), (first, last))


def time_shuffled(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each unit's frames circularly shifted by its own random offset: single units keep their rates and
    autocorrelation, the correlations between units are destroyed (the control spectrum)."""
    rng = np.random.default_rng(seed)
    out = np.empty_like(x)
    for j, shift in enumerate(rng.integers(0, len(x), x.shape[1])):
        out[:, j] = np.roll(x[:, j], shift)
    return out


def large_areas(areas: np.ndarray, min_units: int = MIN_UNITS_PER_AREA) -> list[str]:
    """The areas with at least ``min_units`` units, sorted: those that get a spectrum of their own."""
    names, counts = np.unique(np.asarray(areas).astype(str), return_counts=True)
    return [str(a) for a, c in zip(names, counts, strict=True) if c >= min_units]


def _centred(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise NeuroRBMError(f"activity must be samples x units, got shape {x.shape}")
    return x - x.mean(axis=0)
