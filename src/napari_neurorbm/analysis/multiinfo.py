"""How much of a group's collective structure pairwise correlations explain: I2/IN (Schneidman et al. 2006;
seed 004).

For a group of n <= 15 units, with entropies in nats:
- S1: independent units with the data's means (the maximum entropy given the means);
- S2: the pairwise maximum-entropy (Ising) model matching the means and pair moments, fitted and its
  entropy computed exactly by enumerating the 2^n states;
- SN: the data's own entropy, the plug-in entropy of the observed patterns extrapolated to infinite data
  (Strong et al. 1998: S(N) = S + a/N + b/N^2 over subsamples of the frames).
I_N = S1 - SN is the multi-information, I_2 = S1 - S2 the part pairwise correlations account for, and
I2/IN their ratio (about 0.9 in the retina). For a model the numerator is its own multi-information over
the group, S1 of its own means less the entropy of its marginal: a model whose rates are a little off would
otherwise move S1 - S by more than the whole multi-information (a tenth of a nat in ten retina cells).

The ratio has a meaning only where IN stands above chance: the pairwise model fitted to T frames gains
n(n-1)/4T nats of I2 from its couplings however independent the units are (each fitted coupling, half a
chi-square degree of freedom per frame), so a group whose IN is no larger (sparse cortical units in a few
thousand frames) is left out; MultiInfo says how many were.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np

from napari_neurorbm.data.synthetic import hidden_states as all_states
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress

MAX_GROUP = 15  # 2^15 states: enumeration stays in memory and fast
FRACTIONS = (1.0, 0.5, 0.25)  # subsample sizes of the entropy extrapolation
L2 = 1e-8  # keeps couplings finite for pairs that never fire together (tiny: moments match to ~1e-8)


def ising_energy(v, h, J):
    """E(v) = -h.v - sum_{i<j} J_ij v_i v_j of patterns v (rows; numpy arrays or torch tensors alike)."""
    return -(v @ h) - 0.5 * ((v @ J) * v).sum(-1)


@dataclass(frozen=True)
class Pairwise:
    """P(v) proportional to exp(h.v + sum_{i<j} J_ij v_i v_j) over n binary units (J symmetric, zero
    diagonal)."""

    h: np.ndarray
    J: np.ndarray

    def log_p(self) -> np.ndarray:
        """log P of every state, in the order of :func:`all_states`."""
        e = -ising_energy(all_states(len(self.h)), self.h, self.J)
        return e - _logsumexp(e)

    def entropy(self) -> float:
        return _entropy_of(self.log_p())


def fit_pairwise(means: np.ndarray, pairs: np.ndarray, l2: float = L2, tol: float = 1e-10,
                 max_iter: int = 100) -> Pairwise:
    """The pairwise maximum-entropy model whose <v_i> and <v_i v_j> are ``means`` and ``pairs`` (n x n, its
    upper triangle used): Newton's method on the concave log-likelihood, by enumeration."""
    n = len(means)
    if not 1 <= n <= MAX_GROUP:
        raise NeuroRBMError(f"an exact pairwise fit enumerates 2^n states: n must be 1 to {MAX_GROUP}, "
                            f"got {n}")
    iu = np.triu_indices(n, 1)
    phi = _features(all_states(n), iu)
    target = np.r_[means, np.asarray(pairs)[iu]]
    theta = np.zeros(phi.shape[1])
    for _ in range(max_iter):
        p = _softmax(phi @ theta)
        mom = phi.T @ p
        grad = target - mom - l2 * theta
        if np.abs(grad).max() < tol:
            break
        hess = (phi * p[:, None]).T @ phi - np.outer(mom, mom) + l2 * np.eye(len(theta))
        theta = _line_search(phi, target, theta, np.linalg.solve(hess, grad), l2)
    return _model(theta, n, iu)


def fit_to_frames(x: np.ndarray) -> Pairwise:
    """:func:`fit_pairwise` to the means and pair moments of 0/1 frames (frames x n)."""
    x = np.asarray(x, dtype=np.float64)
    return fit_pairwise(x.mean(axis=0), x.T @ x / len(x))


def independent_entropy(means: np.ndarray) -> float:
    """S1: the entropy of independent binary units with these means (nats)."""
    m = np.clip(np.asarray(means, dtype=np.float64), 1e-300, 1 - 1e-16)
    return float(-(m * np.log(m) + (1 - m) * np.log1p(-m)).sum())


def plugin_entropy(x: np.ndarray) -> float:
    """The entropy of the observed patterns' frequencies (nats)."""
    codes = np.asarray(x, dtype=np.int64) @ (1 << np.arange(x.shape[1], dtype=np.int64))
    _, counts = np.unique(codes, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def extrapolated_entropy(x: np.ndarray, fractions: tuple[float, ...] = FRACTIONS, repeats: int = 4,
                         seed: int = 0) -> float:
    """SN: plug-in entropies of random subsamples of the frames (``repeats`` each, averaged) fitted by
    S + a/N + b/N^2 and extrapolated to N = infinity (a quadratic through three sizes is exact)."""
    rng = np.random.default_rng(seed)
    sizes, values = [], []
    for f in fractions:
        k = max(2, round(f * len(x)))
        runs = 1 if k == len(x) else repeats
        values.append(np.mean([plugin_entropy(x[rng.choice(len(x), k, replace=False)]) for _ in range(runs)]))
        sizes.append(k)
    inv = 1.0 / np.asarray(sizes, dtype=np.float64)
    return float(np.polyfit(inv, values, min(2, len(sizes) - 1))[-1])


def rbm_group_means(W: np.ndarray, b: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """The RBM's firing probability of each unit of a group (rows of ``W``, biases ``b``): the mean over its
    equilibrium ``hidden`` states of p(v_i = 1 | h)."""
    a = np.asarray(hidden, dtype=np.float64) @ np.asarray(W, dtype=np.float64).T + b
    return (1.0 / (1.0 + np.exp(-a))).mean(axis=0)


def rbm_group_entropy(W: np.ndarray, b: np.ndarray, hidden: np.ndarray, chunk: int = 2**22) -> float:
    """Entropy of an RBM's marginal over a group of visible units (rows of ``W``, biases ``b``), by
    enumerating the group's states: P(v_G) = mean over model samples h of prod_i p(v_i | h), with ``hidden``
    the model's hidden states (samples x hidden units) drawn at equilibrium."""
    a = np.asarray(hidden, dtype=np.float64) @ np.asarray(W, dtype=np.float64).T + b  # samples x n
    states = all_states(len(b))
    log_norm = np.logaddexp(0.0, a).sum(axis=1)
    p = np.zeros(len(states))
    step = max(1, chunk // len(states))
    for s in range(0, len(a), step):
        p += np.exp(states @ a[s : s + step].T - log_norm[s : s + step]).sum(axis=1)
    p /= len(a)
    return _entropy_of(np.log(np.maximum(p, 1e-300)))


@dataclass(frozen=True)
class MultiInfo:
    """Per group: its units and the entropies S1, S2, SN (and, when a model was given, S of its marginal and
    S1 of its own means); ratios I2/IN (and I_model/IN) per group."""

    groups: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    sn: np.ndarray
    s_model: np.ndarray | None = None
    s1_model: np.ndarray | None = None
    left_out: int = 0  # groups whose multi-information was within chance (see :func:`chance_level`)

    @property
    def i2_over_in(self) -> np.ndarray:
        return (self.s1 - self.s2) / (self.s1 - self.sn)

    @property
    def model_over_in(self) -> np.ndarray | None:
        return None if self.s_model is None else (self.s1_model - self.s_model) / (self.s1 - self.sn)

    def summary(self) -> dict:
        """The headline numbers: mean and spread (standard deviation) over groups."""
        out = {"groups": len(self.groups), "group_size": int(self.groups.shape[1]), "left_out": self.left_out,
               "i2_over_in": float(np.mean(self.i2_over_in)), "i2_over_in_sd": float(np.std(self.i2_over_in))}
        if self.s_model is not None:
            out |= {"model_over_in": float(np.mean(self.model_over_in)),
                    "model_over_in_sd": float(np.std(self.model_over_in))}
        return out


def random_groups(n_units: int, size: int, count: int, seed: int = 0) -> np.ndarray:
    """``count`` groups of ``size`` distinct units each (count x size, each sorted), seeded."""
    if not 2 <= size <= min(MAX_GROUP, n_units):
        raise NeuroRBMError(f"groups need 2 to {min(MAX_GROUP, n_units)} units (enumeration and the raster's "
                            f"{n_units} units), got {size}")
    rng = np.random.default_rng(seed)
    return np.sort(np.array([rng.choice(n_units, size, replace=False) for _ in range(count)]), axis=1)


def iter_multi_information(frames: np.ndarray, size: int = 10, count: int = 100, seed: int = 0,
                           model: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                           ) -> Generator[Progress, None, MultiInfo]:
    """I2/IN over ``count`` random groups of ``size`` units of 0/1 frames (frames x units); with ``model``
    = (W, b, hidden samples) of an RBM, also its marginal's share. Groups whose multi-information is within
    chance (:func:`chance_level`) carry no ratio and are left out, counted in the result and the last
    progress message."""
    x = np.asarray(frames)
    groups = random_groups(x.shape[1], size, count, seed)
    rows = []
    for g, units in enumerate(groups):
        xg = x[:, units].astype(np.float64)
        s1 = independent_entropy(xg.mean(axis=0))
        sn = extrapolated_entropy(xg, seed=seed + g)
        row = [s1, fit_to_frames(xg).entropy(), sn]
        if model is not None:
            W, b, hidden = model
            row += [rbm_group_entropy(W[units], b[units], hidden),
                    independent_entropy(rbm_group_means(W[units], b[units], hidden))]
        rows.append(row)
        yield Progress("multi-information", g + 1, len(groups), f"group {g + 1}/{len(groups)}")
    r = np.asarray(rows)
    chance = chance_level(size, len(x))
    keep = r[:, 0] - r[:, 2] > chance
    if not keep.any():
        raise NeuroRBMError(f"no group's multi-information is above chance ({chance:.2g} nats with "
                            f"{len(x)} frames): the units look independent")
    left_out = int((~keep).sum())
    if left_out:
        yield Progress("multi-information", len(groups), len(groups),
                       f"{left_out} of {len(groups)} groups left out: multi-information within chance")
    s_model, s1_model = (r[keep, 3], r[keep, 4]) if model is not None else (None, None)
    return MultiInfo(groups[keep], r[keep, 0], r[keep, 1], r[keep, 2], s_model, s1_model, left_out)


def chance_level(size: int, n_frames: int) -> float:
    """The I2 (nats) that a pairwise model fitted to ``n_frames`` frames of ``size`` independent units shows
    on average: its size(size - 1)/2 couplings, each fitted to noise, raise the in-sample likelihood by
    half a chi-square degree of freedom per frame. A group's IN must exceed it for I2/IN to mean anything."""
    return size * (size - 1) / 4 / n_frames


def _features(states: np.ndarray, iu: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return np.hstack([states, states[:, iu[0]] * states[:, iu[1]]])


def _model(theta: np.ndarray, n: int, iu: tuple[np.ndarray, np.ndarray]) -> Pairwise:
    J = np.zeros((n, n))
    J[iu] = theta[n:]
    return Pairwise(theta[:n].copy(), J + J.T)


def _line_search(phi: np.ndarray, target: np.ndarray, theta: np.ndarray, step: np.ndarray, l2: float
                 ) -> np.ndarray:
    """The Newton step, halved until the penalised log-likelihood does not fall."""
    def objective(t: np.ndarray) -> float:
        return float(t @ target - _logsumexp(phi @ t) - 0.5 * l2 * t @ t)

    now = objective(theta)
    for _ in range(30):
        trial = theta + step
        if objective(trial) >= now:
            return trial
        step = step / 2
    return theta


def _softmax(e: np.ndarray) -> np.ndarray:
    p = np.exp(e - e.max())
    return p / p.sum()


def _logsumexp(e: np.ndarray) -> float:
    top = e.max()
    return float(top + np.log(np.exp(e - top).sum()))


def _entropy_of(log_p: np.ndarray) -> float:
    return float(-(np.exp(log_p) * log_p).sum())
