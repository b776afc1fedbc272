"""Synthetic multi-area session drawn exactly from a known binary RBM: the sample data and a test oracle.

The ground truth is an RBM whose hidden units mostly couple to one brain area each (a few weaker ones
span areas). The hidden layer is small enough to enumerate, so frames are exact samples: h from
p(h) ∝ exp(c·h + Σ_i softplus(b_i + (W h)_i)), then v | h. Hidden states persist across frames
(kept with probability ``persistence``, else redrawn from p(h)), which leaves every frame's marginal
exact while making the raster look like a recording. Each unit also gets a spike waveform width: a share
``inhibitory_share`` of each area's units narrow (putative inhibitory, below 0.4 ms), the rest broad. numpy
only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_neurorbm.data.session import Session
from napari_neurorbm.errors import NeuroRBMError

AREA_NAMES = ("VISp", "VISl", "VISal", "VISrl", "VISam", "VISpm", "LGd", "LP", "CA1", "CA3", "DG", "APN")
MAX_HIDDEN = 14
EDGE = 1e-4  # spikes keep this fraction of a bin away from its edges, so re-binning is exact
_CHUNK = 8192  # frames drawn at once (bounds memory for long sessions)


@dataclass
class SyntheticTruth:
    """The ground-truth RBM (W is visible x hidden) and the exact binary frames (frames x units)."""

    W: np.ndarray
    b: np.ndarray
    c: np.ndarray
    areas: np.ndarray
    frames: np.ndarray
    bin_s: float
    hidden_areas: np.ndarray

    def marginals(self) -> np.ndarray:
        """Exact p(v_i = 1) of the ground-truth RBM."""
        return exact_marginals(self.W, self.b, self.c)


def hidden_states(n_hidden: int) -> np.ndarray:
    """All 2**n_hidden binary hidden states, one per row (float64)."""
    codes = np.arange(2**n_hidden)[:, None]
    return ((codes >> np.arange(n_hidden)) & 1).astype(np.float64)


def hidden_distribution(W: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every hidden state and its exact probability p(h) (visible layer summed out)."""
    h = hidden_states(W.shape[1])
    logw = h @ c + np.logaddexp(0.0, b + h @ W.T).sum(axis=1)
    p = np.exp(logw - logw.max())
    return h, p / p.sum()


def exact_marginals(W: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Exact p(v_i = 1) = Σ_h p(h) σ(b_i + (W h)_i), by enumerating the hidden layer."""
    h, p = hidden_distribution(W, b, c)
    return p @ _sigmoid(b + h @ W.T)


def make_synthetic(
    n_areas: int = 5,
    units_per_area: int = 40,
    duration_s: float = 600.0,
    bin_s: float = 0.02,
    seed: int = 0,
    persistence: float = 0.8,
    extra_spikes: float = 0.3,
    inhibitory_share: float = 0.2,
) -> tuple[Session, SyntheticTruth]:
    """A session of spike times whose ``bin_s`` binarization is exactly ``truth.frames``.

    Each active (unit, bin) holds 1 + Poisson(``extra_spikes``) spikes at uniform times inside the bin.
    """
    _check(n_areas, units_per_area, duration_s, bin_s, persistence, extra_spikes)
    if not 0.0 <= inhibitory_share <= 1.0:
        raise NeuroRBMError(f"the inhibitory share must be in [0, 1], got {inhibitory_share}")
    rng = np.random.default_rng(seed)
    areas = np.repeat(np.asarray(AREA_NAMES[:n_areas]), units_per_area)
    W, hidden_areas = _couplings(rng, n_areas, units_per_area)
    rates = np.clip(np.exp(rng.normal(np.log(1.5), 0.6, len(areas))) * bin_s, 0.003, 0.3)
    b, c = _calibrate(W, rates)
    n_frames = int(np.floor(duration_s / bin_s + 1e-9))
    frames = _sample_frames(rng, W, b, c, n_frames, persistence)
    times, index = _spike_times(rng, frames, bin_s, extra_spikes)
    session = Session(
        name="synthetic",
        source=f"synthetic ground-truth RBM ({n_areas} areas x {units_per_area} units, seed {seed})",
        unit_ids=np.arange(len(areas)),
        areas=areas,
        start_s=0.0,
        stop_s=n_frames * bin_s,
        spike_times=times,
        spike_index=index,
        waveform_ms=_widths(np.random.default_rng([seed, 1]), n_areas, units_per_area, inhibitory_share),
    )
    truth = SyntheticTruth(W=W, b=b, c=c, areas=areas, frames=frames, bin_s=bin_s, hidden_areas=hidden_areas)
    return session, truth


def synthetic_session(**kw) -> Session:
    """Just the session of :func:`make_synthetic` (the plugin's sample data)."""
    return make_synthetic(**kw)[0]


def _check(n_areas, units_per_area, duration_s, bin_s, persistence, extra_spikes) -> None:
    if not 1 <= n_areas <= len(AREA_NAMES):
        raise NeuroRBMError(f"the synthetic session has 1 to {len(AREA_NAMES)} areas, got {n_areas}")
    if units_per_area < 1:
        raise NeuroRBMError(f"units per area must be at least 1, got {units_per_area}")
    if not bin_s > 0 or not duration_s >= bin_s:
        raise NeuroRBMError(f"need 0 < bin ({bin_s} s) <= duration ({duration_s} s)")
    if not 0.0 <= persistence < 1.0 or not extra_spikes >= 0:
        raise NeuroRBMError("persistence must be in [0, 1) and extra spikes >= 0")


def _widths(rng: np.random.Generator, n_areas: int, per: int, share: float) -> np.ndarray:
    """Trough-to-peak widths (ms): ``share`` of each area's units narrow (0.15-0.35 ms), the rest broad
    (0.45-1 ms), as the two modes of cortical recordings. Drawn from a stream of their own, so that the
    frames do not depend on them."""
    narrow = np.zeros((n_areas, per), dtype=bool)
    for row in narrow:
        row[rng.choice(per, size=round(share * per), replace=False)] = True
    widths = np.where(narrow, rng.uniform(0.15, 0.35, narrow.shape), rng.uniform(0.45, 1.0, narrow.shape))
    return widths.reshape(-1)


def _couplings(rng: np.random.Generator, n_areas: int, per: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights with area blocks: area hidden units couple strongly (mostly excitatory) to their own area;
    a few cross-area hidden units couple more weakly to two or three areas; everything else is faint."""
    per_area = 2 if 2 * n_areas + 1 <= MAX_HIDDEN else 1
    n_cross = min(2, MAX_HIDDEN - per_area * n_areas)
    n_hidden = per_area * n_areas + n_cross
    W = rng.normal(0.0, 0.05, (n_areas * per, n_hidden))
    gain = min(1.0, np.sqrt(40 / per))  # larger areas: weaker weights, so hidden units never lock on
    labels = []
    for k in range(n_areas):
        for j in range(per_area):
            members = k * per + rng.choice(per, size=max(1, per // 2), replace=False)
            W[members, k * per_area + j] = gain * rng.normal(1.2, 0.6, len(members))
            labels.append(AREA_NAMES[k])
    for a in range(per_area * n_areas, n_hidden):
        picked = np.sort(rng.choice(n_areas, size=min(n_areas, int(rng.integers(2, 4))), replace=False))
        for k in picked:
            W[k * per : (k + 1) * per, a] = gain * rng.normal(0.5, 0.3, per)
        labels.append("+".join(AREA_NAMES[k] for k in picked))
    return W, np.asarray(labels)


def _calibrate(
    W: np.ndarray, rates: np.ndarray, hidden_p: float = 0.15, steps: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Biases (b, c) whose exact visible marginals are close to the target spike probabilities per bin,
    with each hidden unit on about ``hidden_p`` of the time (damped fixed-point steps on b)."""
    target = np.log(rates) - np.log1p(-rates)
    b = target - W.sum(axis=1) * hidden_p
    lift = np.logaddexp(0.0, b[:, None] + W) - np.logaddexp(0.0, b[:, None])
    c = np.log(hidden_p / (1 - hidden_p)) - lift.sum(axis=0)
    for _ in range(steps):
        m = exact_marginals(W, b, c)
        b += 0.5 * (target - (np.log(m) - np.log1p(-m)))
    return b, c


def _sample_frames(
    rng: np.random.Generator, W: np.ndarray, b: np.ndarray, c: np.ndarray, n_frames: int, persistence: float
) -> np.ndarray:
    """Exact frames (frames x units, uint8): a persistent chain of exact p(h) draws, then v | h."""
    h, p = hidden_distribution(W, b, c)
    fresh = rng.choice(len(p), size=n_frames, p=p)
    redraw = rng.random(n_frames) >= persistence
    redraw[0] = True
    state = fresh[np.maximum.accumulate(np.where(redraw, np.arange(n_frames), 0))]
    used, which = np.unique(state, return_inverse=True)
    p_v = _sigmoid(b + h[used] @ W.T)
    frames = np.empty((n_frames, len(b)), dtype=np.uint8)
    for lo in range(0, n_frames, _CHUNK):
        rows = which[lo : lo + _CHUNK]
        frames[lo : lo + len(rows)] = rng.random((len(rows), len(b))) < p_v[rows]
    return frames


def _spike_times(
    rng: np.random.Generator, frames: np.ndarray, bin_s: float, extra: float
) -> tuple[np.ndarray, np.ndarray]:
    """Flat sorted spike times per unit and their index: 1 + Poisson(extra) spikes per active bin."""
    unit, frame = np.nonzero(frames.T)
    n = 1 + rng.poisson(extra, size=len(unit))
    unit, frame = np.repeat(unit, n), np.repeat(frame, n)
    times = (frame + EDGE + (1.0 - 2 * EDGE) * rng.random(len(frame))) * bin_s
    order = np.lexsort((times, unit))
    index = np.r_[0, np.cumsum(np.bincount(unit, minlength=frames.shape[1]))]
    return times[order], index


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))
