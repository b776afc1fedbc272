"""Statistics of binary activity (frames x units) comparing real and generated data (paper 001, Fig. 3, 6).

Static statistics treat frames as independent samples; temporal ones respect segments (stretches of
contiguous frames: trials of a recording, or independent Markov chains of a generated run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations, pairwise
from math import comb

import numpy as np
import torch
import torch.nn.functional as F

from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.model import RBM
from napari_neurorbm.rbm.partition import free_energy

SETS = ("train", "test", "generated", "independent")
COMPARED = ("test", "generated", "independent")


# ---------------------------------------------------------------- moments


def means(frames: np.ndarray) -> np.ndarray:
    """Probability of each unit being active in a frame (float64, per unit)."""
    return np.asarray(frames, dtype=np.float64).mean(axis=0)


def covariance(frames: np.ndarray) -> np.ndarray:
    """Connected pairwise correlations <v_i v_j> - <v_i><v_j>, a units x units matrix (1/M normalisation)."""
    x = np.asarray(frames, dtype=np.float64)
    x = x - x.mean(axis=0)
    return (x.T @ x) / len(x)


def upper(matrix: np.ndarray) -> np.ndarray:
    """The entries above the diagonal (i < j), row by row."""
    return matrix[np.triu_indices(matrix.shape[0], k=1)]


def random_triplets(n_units: int, count: int, seed: int = 0) -> np.ndarray:
    """``count`` distinct triplets i < j < k (count x 3), drawn uniformly without repeats and seeded; all of
    them, in order, when there are at most ``count``. The one triplet sampler: the connected three-point
    correlations of Fig. 3 and the eq. (14) triplet norm of the couplings use it."""
    if n_units < 3:
        return np.zeros((0, 3), dtype=np.int64)
    if count >= comb(n_units, 3):
        return np.array(list(combinations(range(n_units), 3)), dtype=np.int64)
    rng = np.random.default_rng(seed)
    picked = np.zeros((0, 3), dtype=np.int64)
    while len(picked) < count:
        draw = np.sort(rng.integers(0, n_units, size=(2 * count, 3)), axis=1)
        draw = draw[(draw[:, 0] < draw[:, 1]) & (draw[:, 1] < draw[:, 2])]
        both = np.concatenate([picked, draw])
        _, first = np.unique(both, axis=0, return_index=True)
        picked = both[np.sort(first)]
    return picked[:count]


def connected_triplets(frames: np.ndarray, triplets: np.ndarray, chunk_elems: int = 4_000_000) -> np.ndarray:
    """Connected three-point correlations <(v_i-m_i)(v_j-m_j)(v_k-m_k)> for each row (i, j, k) of triplets,
    of 0/1 frames.

    Expanded into raw moments, E[v_i v_j v_k] - m_i E[v_j v_k] - m_j E[v_i v_k] - m_k E[v_i v_j]
    + 2 m_i m_j m_k, each moment an exact count of frames where the units spike together: the AND of the
    units' bit-packed columns, popcounted (64 frames per word instead of three float products per frame).
    """
    x = np.asarray(frames)
    n = len(x)
    if not np.isin(x, (0, 1)).all():
        raise NeuroRBMError("three-point correlations need 0/1 frames")
    words = _packed_columns(x)  # units x words
    m = x.mean(axis=0, dtype=np.float64)
    step = max(1, chunk_elems // max(1, words.shape[1]))
    out = np.empty(len(triplets), dtype=np.float64)
    for s in range(0, len(triplets), step):
        i, j, k = triplets[s : s + step].T
        wi, wj, wk = words[i], words[j], words[k]
        ij, ik, jk = wi & wj, wi & wk, wj & wk
        ijk = _together(ij & wk, n)
        out[s : s + step] = (ijk - m[i] * _together(jk, n) - m[j] * _together(ik, n)
                             - m[k] * _together(ij, n) + 2 * m[i] * m[j] * m[k])
    return out


def _packed_columns(x: np.ndarray) -> np.ndarray:
    """Each unit's 0/1 column packed 64 frames to a word (units x words, uint64; padding frames are 0)."""
    packed = np.packbits(x.astype(bool, copy=False), axis=0)  # bytes x units
    pad = -len(packed) % 8
    packed = np.concatenate([packed, np.zeros((pad, packed.shape[1]), np.uint8)]) if pad else packed
    return np.ascontiguousarray(packed.T).view(np.uint64)


def _together(words: np.ndarray, n: int) -> np.ndarray:
    """The fraction of the ``n`` frames set in each row of packed words."""
    return np.bitwise_count(words).sum(axis=1, dtype=np.int64) / n


@dataclass(frozen=True)
class Fit:
    """Least-squares line y = slope * x + intercept through a scatter, and its Pearson r."""

    slope: float
    intercept: float
    r: float


def fit_line(x: np.ndarray, y: np.ndarray) -> Fit:
    """Ordinary least squares of y on x with Pearson's r; NaN where x (or y, for r) does not vary."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) < 2:
        return Fit(np.nan, np.nan, np.nan)
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy, sxy = (dx @ dx), (dy @ dy), (dx @ dy)
    slope = sxy / sxx if sxx > 0 else np.nan
    r = sxy / np.sqrt(sxx * syy) if sxx > 0 and syy > 0 else np.nan
    return Fit(float(slope), float(y.mean() - slope * x.mean()), float(r))


# ---------------------------------------------------------------- PCA, activity, energies


def principal_axes(cov: np.ndarray, k: int = 2, iterations: int = 30, seed: int = 0) -> np.ndarray:
    """The top-k eigenvectors of a covariance matrix (k x units), each signed so its largest entry is > 0.

    Seeded block power iteration with a few extra vectors and a final Rayleigh-Ritz step: the same axes as a
    full eigendecomposition for the leading, separated eigenvalues, in a fraction of its time on 2000 units.
    """
    n = cov.shape[0]
    q = np.random.default_rng(seed).standard_normal((n, min(n, k + 8)))
    for _ in range(iterations):
        q, _ = np.linalg.qr(cov @ q)
    _, vecs = np.linalg.eigh(q.T @ cov @ q)
    axes = (q @ vecs[:, ::-1][:, :k]).T
    sign = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    return axes * sign[:, None]


def project(frames: np.ndarray, mean: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Coordinates of frames on principal axes (frames x k), centred on ``mean``."""
    return (np.asarray(frames, dtype=np.float64) - mean) @ axes.T


def active_counts(frames: np.ndarray) -> np.ndarray:
    """K, the number of active units in each frame."""
    return np.asarray(frames).sum(axis=1, dtype=np.int64)


def p_k(frames: np.ndarray) -> np.ndarray:
    """P(K): the fraction of frames with K = 0, 1, ..., n_units active units."""
    k = active_counts(frames)
    return np.bincount(k, minlength=np.asarray(frames).shape[1] + 1) / max(1, len(k))


def free_energies(rbm: RBM, frames: np.ndarray, batch: int = 4096) -> np.ndarray:
    """F(v) of each frame under the model, as a float64 numpy array (the energy histograms of Fig. 3)."""
    return free_energy(rbm, np.asarray(frames), chunk=batch).double().cpu().numpy()


def effective_fields(rbm: RBM, frames: np.ndarray, chunk_elems: int = 8_000_000) -> np.ndarray:
    """h_eff_i(v) = F(v with v_i = 0) - F(v with v_i = 1) for all frames and units, in closed form.

    With I = c + vW and s_i = 1 - 2 v_i, setting v_i to its other value moves I to I + s_i W_i, so
    h_eff_i = b_i + s_i sum_a [softplus(I_a + s_i W_ia) - softplus(I_a)]: one softplus per (i, a), no F calls.
    """
    nv, nh = rbm.W.shape
    step = max(1, chunk_elems // (nv * nh))
    out = np.empty((len(frames), nv), dtype=np.float64)
    with torch.no_grad():
        for s in range(0, len(frames), step):
            v = torch.as_tensor(np.asarray(frames[s : s + step]), dtype=rbm.W.dtype, device=rbm.device)
            inp = rbm.hidden_input(v)
            s_ = 1 - 2 * v
            flip = F.softplus(inp[:, None, :] + s_[:, :, None] * rbm.W) - F.softplus(inp)[:, None, :]
            h = rbm.b + s_ * flip.sum(dim=-1)
            out[s : s + step] = h.double().cpu().numpy()
    return out


@dataclass(frozen=True)
class ConditionalCurve:
    """P(v_i = 1 | rest) binned by h_eff_i: mean h_eff, fraction active and its standard error per bin."""

    h: np.ndarray
    p: np.ndarray
    sem: np.ndarray
    count: np.ndarray


def conditional_curve(h_eff: np.ndarray, v: np.ndarray, edges: np.ndarray,
                      min_count: int = 20) -> ConditionalCurve:
    """Bin the (h_eff_i, v_i) pairs of all units and frames by h_eff; bins with < min_count pairs are dropped.

    Pairs outside the edges go to the first or last bin. For data drawn from the model, p follows sigmoid(h).
    """
    h = np.asarray(h_eff, dtype=np.float64).ravel()
    x = np.asarray(v, dtype=np.float64).ravel()
    nb = len(edges) - 1
    idx = np.clip(np.searchsorted(edges, h, side="right") - 1, 0, nb - 1)
    n = np.bincount(idx, minlength=nb)
    keep = n >= max(2, min_count)
    nk = n[keep]
    hs = np.bincount(idx, weights=h, minlength=nb)[keep] / nk
    p = np.bincount(idx, weights=x, minlength=nb)[keep] / nk
    sem = np.sqrt(p * (1 - p) / (nk - 1))
    return ConditionalCurve(hs, p, sem, nk)


def independent_samples(unit_means: np.ndarray, n_frames: int, seed: int = 0) -> np.ndarray:
    """Frames (uint8) of independent neurons: unit i is active with probability unit_means[i]."""
    rng = np.random.default_rng(seed)
    return (rng.random((n_frames, len(unit_means))) < unit_means).astype(np.uint8)


# ---------------------------------------------------------------- temporal statistics


def _segment_ids(n_frames: int, segment_starts: np.ndarray | None) -> np.ndarray:
    starts = np.asarray([0] if segment_starts is None or len(segment_starts) == 0 else segment_starts)
    return np.searchsorted(starts, np.arange(n_frames), side="right") - 1


def lagged_pairs(n_frames: int, segment_starts: np.ndarray | None, lag: int) -> np.ndarray:
    """Frames t such that t and t + lag lie in the same segment."""
    seg = _segment_ids(n_frames, segment_starts)
    if lag >= n_frames:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(seg[: n_frames - lag] == seg[lag:])


def autocorrelation(x: np.ndarray, segment_starts: np.ndarray | None, max_lag: int) -> np.ndarray:
    """Normalised autocorrelation C(lag) = <dx(t) dx(t+lag)> / <dx^2>, lag 0..max_lag, pairs within segments.

    dx is x minus its overall mean; NaN at lags that no segment is long enough for.
    """
    dx = np.asarray(x, dtype=np.float64) - np.mean(x)
    var = dx @ dx / len(dx)
    out = np.full(max_lag + 1, np.nan)
    for lag in range(max_lag + 1):
        t = lagged_pairs(len(dx), segment_starts, lag)
        if len(t) and var > 0:
            out[lag] = (dx[t] @ dx[t + lag]) / len(t) / var
    return out


def window_counts(k: np.ndarray, segment_starts: np.ndarray | None, width: int) -> np.ndarray:
    """Population spike counts: K(t) summed over non-overlapping windows of ``width`` frames in each segment.

    The incomplete window at the end of each segment is left out.
    """
    k = np.asarray(k, dtype=np.int64)
    bounds = np.r_[np.asarray([0] if segment_starts is None else segment_starts), len(k)]
    out = [
        k[a : a + (b - a) // width * width].reshape(-1, width).sum(axis=1)
        for a, b in pairwise(bounds)
    ]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Transition:
    """K(t + lag) given K(t): for each observed K(t) value, the mean, std and number of K(t + lag)."""

    lag: int
    k: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    count: np.ndarray


def transition(k: np.ndarray, segment_starts: np.ndarray | None, lag: int, min_count: int = 10) -> Transition:
    """Mean and std of K(t + lag) for each K(t), pairs within segments (rarer K(t) than min_count dropped)."""
    k = np.asarray(k, dtype=np.int64)
    t = lagged_pairs(len(k), segment_starts, lag)
    now, later = k[t], k[t + lag].astype(np.float64)
    n = np.bincount(now, minlength=1)
    s1 = np.bincount(now, weights=later, minlength=1)
    s2 = np.bincount(now, weights=later**2, minlength=1)
    keep = np.flatnonzero(n >= max(1, min_count))
    mean = s1[keep] / n[keep]
    std = np.sqrt(np.maximum(s2[keep] / n[keep] - mean**2, 0))
    return Transition(lag, keep, mean, std, n[keep])


@dataclass
class TemporalStats:
    """Fig. 6 statistics of one time series: autocorrelation of K(t), window counts, K(t + lag) given K(t)."""

    frame_s: float
    autocorr: np.ndarray
    windows: dict[float, np.ndarray]
    transitions: list[Transition]


def temporal_stats(k: np.ndarray, segment_starts: np.ndarray | None, frame_s: float, max_lag: int = 50,
                   windows_s: tuple[float, ...] = (0.1, 0.4), lags: tuple[int, ...] = (1, 2, 5, 10),
                   min_count: int = 10) -> TemporalStats:
    """All temporal statistics of one series K(t) (active units per frame), frames ``frame_s`` s apart.

    A window of w seconds sums round(w / frame_s) frames.
    """
    if frame_s <= 0:
        raise NeuroRBMError(f"the frame duration must be positive, got {frame_s}")
    widths = {w: max(1, round(w / frame_s)) for w in windows_s}
    return TemporalStats(
        frame_s=frame_s,
        autocorr=autocorrelation(k, segment_starts, max_lag),
        windows={w: window_counts(k, segment_starts, n) for w, n in widths.items()},
        transitions=[transition(k, segment_starts, lag, min_count) for lag in lags],
    )


# ---------------------------------------------------------------- everything at once


@dataclass
class StatsReport:
    """Everything the statistics panel and the report draw, for the sets train, test, generated, independent.

    Static statistics use the same number of frames ``n_samples`` from each set; ``fits[stat][set]`` is the
    line of that set's statistic against train's (stat: means, pairs, triplets). ``temporal`` holds the
    series in time: generated, independent, and recording when one was given.
    """

    n_samples: int
    means: dict[str, np.ndarray]
    pairs: dict[str, np.ndarray]
    triplets: np.ndarray
    triplet_values: dict[str, np.ndarray]
    fits: dict[str, dict[str, Fit]]
    pca_mean: np.ndarray
    pca_axes: np.ndarray
    projections: dict[str, np.ndarray]
    p_k: dict[str, np.ndarray]
    energies: dict[str, np.ndarray]
    conditional: dict[str, ConditionalCurve]
    temporal: dict[str, TemporalStats] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        """Slope and Pearson r of every comparison against train: {stat: {set: {"slope", "r"}}}."""
        return {
            stat: {name: {"slope": f.slope, "r": f.r} for name, f in by_set.items()}
            for stat, by_set in self.fits.items()
        }


def _subsample(frames: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    frames = np.asarray(frames)
    if len(frames) <= n:
        return frames
    return frames[np.sort(rng.choice(len(frames), size=n, replace=False))]


def _conditional_all(rbm: RBM, sets: dict[str, np.ndarray], max_frames: int, n_bins: int,
                     rng: np.random.Generator) -> dict[str, ConditionalCurve]:
    picked = {name: _subsample(x, max_frames, rng) for name, x in sets.items()}
    fields_ = {name: effective_fields(rbm, x) for name, x in picked.items()}
    lo, hi = np.percentile(fields_["train"], [0.5, 99.5])
    edges = np.linspace(lo, hi, n_bins + 1)
    return {name: conditional_curve(fields_[name], picked[name], edges) for name in sets}


def compare(train: np.ndarray, test: np.ndarray, generated: np.ndarray, rbm: RBM, bin_s: float, *,
            generated_segments: np.ndarray | None = None, recording_k: np.ndarray | None = None,
            recording_segments: np.ndarray | None = None, n_samples: int | None = None,
            n_triplets: int = 20_000, conditional_frames: int = 1000, n_bins: int = 30, max_lag: int = 50,
            windows_s: tuple[float, ...] = (0.1, 0.4), lags: tuple[int, ...] = (1, 2, 5, 10),
            seed: int = 0) -> StatsReport:
    """Compare train with test, generated and independent-neuron frames (frames x units, 0/1).

    Static statistics use ``n_samples`` frames of each set (default: the smallest set), as in the paper.
    Temporal statistics use the generated run in time (one frame = ``bin_s``; chains start at
    ``generated_segments``) and, when given, ``recording_k``: K(t) of the real raster in time order
    (``raster.binary.sum(axis=0)``), frames ``bin_s`` apart within ``recording_segments``. The independent
    baseline is i.i.d. Bernoulli with train's means.
    """
    n_units = rbm.n_visible
    for name, x in (("train", train), ("test", test), ("generated", generated)):
        if np.ndim(x) != 2 or np.shape(x)[1] != n_units or len(x) < 2:
            raise NeuroRBMError(f"{name} frames must be a (frames >= 2) x {n_units} array, got {np.shape(x)}")
    rng = np.random.default_rng(seed)
    m = n_samples or min(len(train), len(test), len(generated))
    train_means = means(train)
    sets = {
        "train": _subsample(train, m, rng),
        "test": _subsample(test, m, rng),
        "generated": _subsample(generated, m, rng),
        "independent": independent_samples(train_means, m, seed + 1),
    }
    covs = {name: covariance(x) for name, x in sets.items()}
    trip = random_triplets(n_units, n_triplets, seed)
    report = StatsReport(
        n_samples=m,
        means={name: means(x) for name, x in sets.items()},
        pairs={name: upper(c) for name, c in covs.items()},
        triplets=trip,
        triplet_values={name: connected_triplets(x, trip) for name, x in sets.items()},
        fits={},
        pca_mean=means(sets["train"]),
        pca_axes=principal_axes(covs["train"], 2),
        projections={},
        p_k={name: p_k(x) for name, x in sets.items()},
        energies={name: free_energies(rbm, x) for name, x in sets.items()},
        conditional=_conditional_all(rbm, sets, conditional_frames, n_bins, rng),
    )
    report.projections = {name: project(x, report.pca_mean, report.pca_axes) for name, x in sets.items()}
    moments = {"means": report.means, "pairs": report.pairs, "triplets": report.triplet_values}
    for stat, values in moments.items():
        report.fits[stat] = {name: fit_line(values["train"], values[name]) for name in COMPARED}
    temporal_args = {"max_lag": max_lag, "windows_s": windows_s, "lags": lags}
    report.temporal["generated"] = temporal_stats(active_counts(generated), generated_segments, bin_s,
                                                  **temporal_args)
    independent_k = active_counts(independent_samples(train_means, len(generated), seed + 2))
    report.temporal["independent"] = temporal_stats(independent_k, None, bin_s, **temporal_args)
    if recording_k is not None:
        report.temporal["recording"] = temporal_stats(recording_k, recording_segments, bin_s, **temporal_args)
    else:
        report.notes.append("no recording in time was given: temporal statistics show generated data only")
    return report
