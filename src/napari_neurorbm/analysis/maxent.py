"""The pairwise maximum-entropy (Ising) model of a whole recording (Schneidman et al. 2006; seed 004):
fields h and couplings J whose means <v_i> and pair moments <v_i v_j> match the training frames'.

Two stages. The pseudolikelihood fit (Aurell & Ekeberg 2012, PRL 108:090201) maximises the mean over frames
of sum_i log P(v_i | the other units), a logistic regression of every unit on all others with one symmetric
J, which needs no partition function: full-batch L-BFGS with a small L2 penalty on J. It is close to, but
not at, the maximum-entropy solution; moment matching then follows the gradient of the log-likelihood,
<v_i v_j>_data - <v_i v_j>_model (and the means), with the model's moments estimated from persistent Gibbs
chains (:class:`~.ising.IsingChains`). The gradient is centred on the data means (as the RBM's, Melchior et
al. 2016), each parameter's step is scaled by the inverse of its Fisher information for nearly independent
units, and the model returned is a polynomially weighted average of the iterates,
which cancels most of the chains' sampling noise.

Units that never fire in the training frames (or always do) carry no information on their couplings: they
are left out of the fit and added back as independent units at the clipped mean (the clip the RBM's
starting biases and the independent baseline use), so that test frames where they fire keep a finite
likelihood.

The moments check (:func:`iter_model_moments`) gives the fitted model's means and pair moments, to set
beside the training frames' (:class:`Moments`): exact up to 20 units, else from chains.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from napari_neurorbm.analysis.ising import MAX_EXACT, IsingChains, iter_moments_sampled, moments_exact
from napari_neurorbm.analysis.multiinfo import Pairwise
from napari_neurorbm.configs import MaxEntConfig
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.model import base_biases, pick_device
from napari_neurorbm.rbm.sampling import binary_matmul

CLIP = 1e-4  # means of constant units, as the RBM's base biases and the independent baseline clip them
LINE_SEARCH = 25  # evaluations allowed in one L-BFGS line search
LR_DECAY = 100.0  # updates over which the moment-matching step falls to 1/sqrt(2) of its start
CONVERGED = 1e-7  # the pseudolikelihood fit stops when an iteration gains less than this share
L2_GRID = (0.1, 0.03, 0.01, 0.003, 0.001, 3e-4, 1e-4, 3e-5, 1e-5)  # the L2 penalties auto tries, in order
HELD_OUT = 5  # auto holds out one in this many training frames to judge each penalty
PL_SELECT_ITERATIONS = 200  # at most, per penalty tried (converged fits took 15-130 on the real recordings)
MOMENT_SWEEPS = 100  # sweeps of the chains that estimate the fitted model's moments (beyond 20 units)


@dataclass(frozen=True)
class Frames:
    """Training frames of the units that vary (``free``), as a bool mask (frames x free units) on the CPU or
    floats elsewhere, and their moments: counts and C = X^T X."""

    x: torch.Tensor
    xt: torch.Tensor  # X^T, in the same form
    counts: torch.Tensor
    second: torch.Tensor
    free: np.ndarray
    means: np.ndarray  # of all units, clipped

    @property
    def n_frames(self) -> int:
        return self.x.shape[0]

    def product(self, W: torch.Tensor) -> torch.Tensor:
        """X W (frames x columns of W): the sum of the rows of W of each frame's active units on a CPU."""
        return binary_matmul(self.x, W) if self.x.dtype == torch.bool else self.x @ W

    def transposed_product(self, S: torch.Tensor) -> torch.Tensor:
        """X^T S (free units x columns of S)."""
        return binary_matmul(self.xt, S) if self.x.dtype == torch.bool else self.xt @ S


def training_frames(frames: np.ndarray, device: torch.device) -> Frames:
    """The frames' free units and moments on ``device`` (float32), with their clipped means."""
    x = np.asarray(frames)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise NeuroRBMError(f"a pairwise fit needs at least 2 frames of at least 2 units, got {x.shape}")
    means = x.mean(axis=0, dtype=np.float64)
    free = np.flatnonzero((means > 0) & (means < 1))
    if len(free) < 2:
        raise NeuroRBMError("fewer than 2 units vary in the training frames: there is no pairwise structure "
                            "to fit")
    mask = torch.as_tensor(np.ascontiguousarray(x[:, free] != 0))
    if device.type == "cpu":
        xf, xt = mask, mask.T.contiguous()
        second = binary_matmul(xt, mask.float())
    else:
        xf = mask.to(device, torch.float32)
        xt = xf.T.contiguous()
        second = xt @ xf
    return Frames(xf, xt, second.diagonal().clone(), second, free, np.clip(means, CLIP, 1 - CLIP))


def iter_pseudolikelihood(data: Frames, l2: float, iterations: int, deadline: float = math.inf,
                          start: tuple[torch.Tensor, torch.Tensor] | None = None
                          ) -> Generator[Progress, None, tuple[torch.Tensor, torch.Tensor, int]]:
    """(h, J) of the free units maximising the pseudolikelihood less (l2 / 2) sum_{i<j} J_ij^2, by full-batch
    L-BFGS from ``start`` (default: independent units), and the iterations done: ``iterations``, fewer when
    L-BFGS converges or the monotonic clock passes ``deadline``; one progress record per iteration."""
    n, t = data.second.shape[0], data.n_frames
    if start is None:
        h, J = base_biases(data.counts / t), torch.zeros(n, n, device=data.second.device)
    else:
        h, J = (x.detach().clone() for x in start)
    # one iteration per step() call, with up to LINE_SEARCH evaluations in its line search
    opt = torch.optim.LBFGS([h, J], lr=1.0, max_iter=1, max_eval=LINE_SEARCH + 1, history_size=10,
                            line_search_fn="strong_wolfe")

    def closure() -> float:
        z = data.product(J).add_(h)
        # sum_t x_t.z_t = counts.h + sum_ij C_ij J_ij: from the moments, without the frames
        loss = F.softplus(z).sum(dtype=torch.float64) - data.counts @ h - (data.second * J).sum()
        s = torch.sigmoid(z, out=z)
        h.grad = s.sum(0).sub_(data.counts).div_(t)
        g = data.transposed_product(s)  # X^T S; the symmetric gradient is (X^T S + S^T X) / 2 - C
        J.grad = (g + g.T).div_(2 * t).sub_(data.second / t).add_(J, alpha=l2 / 2).fill_diagonal_(0)
        return float(loss) / t + l2 / 4 * float((J * J).sum())

    done, before = 0, math.inf
    while done < iterations and time.monotonic() < deadline:
        value = float(opt.step(closure))  # the value before this iteration's step
        done += 1
        yield Progress("pseudolikelihood", done, iterations,
                       f"iteration {done}/{iterations}: -log PL {value:.4f} per frame")
        if before - value <= CONVERGED * abs(value):
            break
        before = value
    return h, J, done


def neg_log_pseudolikelihood(frames: torch.Tensor, h: torch.Tensor, J: torch.Tensor) -> float:
    """-sum_i log P(v_i | the other units) of the model (h, J), averaged over 0/1 ``frames`` (frames x units,
    float): what the pseudolikelihood fit minimises, here of frames it did not see."""
    z = frames @ J + h
    return float((F.softplus(z) - frames * z).sum(1, dtype=torch.float64).mean())


@dataclass(frozen=True)
class PenaltyChoice:
    """The L2 penalty chosen, -log PL per held-out frame of each penalty tried (in the order tried), and the
    wall time of the choice."""

    l2: float
    scores: tuple[tuple[float, float], ...]
    seconds: float


def iter_choose_l2(x: np.ndarray, device: torch.device, seed: int, deadline: float = math.inf
                   ) -> Generator[Progress, None, PenaltyChoice]:
    """The L2 penalty of L2_GRID whose pseudolikelihood fit to four fifths of the training frames ``x`` best
    predicts the other fifth (drawn at random with ``seed``, as the test frames are). The penalties are tried
    from the largest down, each fit starting from the last, until the held-out score gets worse: weaker
    penalties cost more iterations and, with few frames, only overfit more."""
    began = time.monotonic()
    held = np.zeros(len(x), bool)
    held[np.random.default_rng(seed).permutation(len(x))[: max(1, len(x) // HELD_OUT)]] = True
    data = training_frames(x[~held], device)
    test = torch.as_tensor(np.asarray(x)[np.ix_(held, data.free)], dtype=torch.float32, device=device)
    scores: list[tuple[float, float]] = []
    start = None
    for l2 in L2_GRID:
        h, J, _ = yield from iter_pseudolikelihood(data, l2, PL_SELECT_ITERATIONS, deadline, start)
        start = h, J
        with torch.no_grad():
            scores.append((l2, neg_log_pseudolikelihood(test, h, J)))
        yield Progress("choosing the L2 penalty", len(scores), len(L2_GRID),
                       f"L2 {l2:g}: -log pseudolikelihood {scores[-1][1]:.4f} per held-out frame")
        if scores[-1][1] > min(s for _, s in scores) or time.monotonic() > deadline:
            break
    return PenaltyChoice(min(scores, key=lambda s: s[1])[0], tuple(scores), time.monotonic() - began)


def iter_moment_matching(data: Frames, h: torch.Tensor, J: torch.Tensor, cfg: MaxEntConfig, deadline: float
                         ) -> Generator[Progress, None, tuple[torch.Tensor, torch.Tensor, dict]]:
    """(h, J) of the free units refined by ``cfg.updates`` moment-matching updates from (h, J) (fewer when
    the monotonic clock passes ``deadline``), with the number done and the last update's moment errors."""
    t, dev = data.n_frames, h.device
    mu, second = (data.counts / t).double(), (data.second / t).double()
    gen = torch.Generator(device=dev).manual_seed(cfg.seed)
    start = torch.randint(t, (cfg.chains,), generator=gen, device=dev)  # chains start at training frames
    chains = IsingChains(h, J, data.x[start.to(data.x.device)].T.to(dev, torch.float32), gen)
    # centred parameters: h.v + v.J v / 2 = hc.(v - mu) + (v - mu).J (v - mu) / 2 + const, hc = h + J mu
    J = J.double()
    hc = h.double() + J @ mu
    # steps scaled by the inverse of the Fisher information's diagonal for nearly independent units, var_i
    # for hc_i and var_i var_j for J_ij (the L2 penalty added): a rare unit's parameters move as far per
    # update as a frequent one's
    var = mu * (1 - mu)
    scale_h, scale_J = 1 / var, 1 / (torch.outer(var, var) + cfg.l2)
    mean_hc, mean_J = hc.clone(), J.clone()
    errors = {"mean_error": math.nan, "pair_error": math.nan, "updates": 0}
    for u in range(cfg.updates):
        for _ in range(cfg.sweeps):
            chains.sweep()
        m, cm = (x.double() for x in chains.moments())
        grad_h = mu - m
        cross = torch.outer(mu, m)
        grad_J = (second - cm + cross + cross.T - 2 * torch.outer(mu, mu)).sub_(J, alpha=cfg.l2)
        grad_J.fill_diagonal_(0)
        lr = cfg.lr / math.sqrt(1 + u / LR_DECAY)
        hc += lr * scale_h * grad_h
        J += lr * scale_J * grad_J
        chains.set_model(hc - J @ mu, J)
        # iterates weighted by their index: the later (less noisy, closer) ones count most
        weight = 2 / (u + 2)
        mean_hc += weight * (hc - mean_hc)
        mean_J += weight * (J - mean_J)
        errors = {"mean_error": float(grad_h.abs().max()), "pair_error": float((second - cm).abs().max()),
                  "updates": u + 1}
        yield Progress("moment matching", u + 1, cfg.updates, f"update {u + 1}/{cfg.updates}: largest error "
                       f"of a mean {errors['mean_error']:.2g}, of a pair moment {errors['pair_error']:.2g}")
        if time.monotonic() > deadline:
            break
    return (mean_hc - mean_J @ mu).float(), mean_J.float(), errors


@dataclass(frozen=True)
class Moments:
    """Means <v_i> and pair moments <v_i v_j> (units x units) of some units, of frames or of a model."""

    means: np.ndarray
    pairs: np.ndarray

    def covariances(self) -> np.ndarray:
        """<v_i v_j> - m_i m_j of every pair i < j (upper triangle, row by row): what the fit matches, given
        the means. (Not Pearson's r: divided by the spread of rare units, a handful of coincidences in the
        data or in a sample of the model would make any r.)"""
        return (self.pairs - np.outer(self.means, self.means))[np.triu_indices(len(self.means), 1)]


@dataclass(frozen=True)
class PairwiseFit:
    """A fitted pairwise model of all units; ``free`` are the units fitted (the others are constant in the
    training frames and enter as independent units at the clipped mean) and ``data`` their moments in the
    training frames, which the model matches; its L2 penalty and how it was chosen; the moment errors of the
    chains at the last update (NaN without moment matching); the work done and its wall time."""

    model: Pairwise
    free: np.ndarray
    data: Moments
    frames: int  # the training frames fitted
    l2: float  # the L2 penalty of the fit
    choice: PenaltyChoice | None  # how it was chosen (None: it was given)
    pl_iterations: int
    updates: int
    mean_error: float
    pair_error: float
    seconds: float

    @property
    def constant_units(self) -> int:
        return len(self.model.h) - len(self.free)

    @property
    def fitted(self) -> Pairwise:
        """The model of the free units alone."""
        return Pairwise(self.model.h[self.free], self.model.J[np.ix_(self.free, self.free)])


def iter_fit_pairwise(frames: np.ndarray | Raster, config: MaxEntConfig | None = None
                      ) -> Generator[Progress, None, PairwiseFit]:
    """The pairwise maximum-entropy model of 0/1 training ``frames`` (frames x units; of a raster: its
    training frames; ``config.frames`` of them, evenly spaced, when set): pseudolikelihood, then moment
    matching (see the module's docstring), within ``config.minutes`` when it is set."""
    cfg = (config or MaxEntConfig()).validate()
    began = time.monotonic()
    deadline = began + cfg.minutes * 60 if cfg.minutes else math.inf
    x = spaced(frames.frames("train") if isinstance(frames, Raster) else np.asarray(frames), cfg.frames)
    device = pick_device(cfg.device)
    choice = None
    if cfg.l2 is None:
        choice = yield from iter_choose_l2(x, device, cfg.seed, deadline)
        cfg = cfg.replace(l2=choice.l2)
    data = training_frames(x, device)
    h, J, done = yield from iter_pseudolikelihood(data, cfg.l2, cfg.pl_iterations, deadline)
    errors = {"mean_error": math.nan, "pair_error": math.nan, "updates": 0}
    if cfg.updates:
        h, J, errors = yield from iter_moment_matching(data, h, J, cfg, deadline)
    moments = Moments(*(m.double().cpu().numpy() / data.n_frames for m in (data.counts, data.second)))
    seconds = time.monotonic() - began
    return PairwiseFit(_all_units(data, h, J), data.free, moments, len(x), cfg.l2, choice, done,
                       errors["updates"], errors["mean_error"], errors["pair_error"], seconds)


def iter_model_moments(fit: PairwiseFit, frames: np.ndarray, config: MaxEntConfig | None = None
                       ) -> Generator[Progress, None, tuple[Moments, str]]:
    """The fitted model's moments over its free units, to set beside ``fit.data``, and how they were had:
    by enumeration up to 20 units ("exact"), else ("chains") from ``config.chains`` chains started at
    frames drawn from the training ``frames`` (frames x all units) and sampled for MOMENT_SWEEPS sweeps."""
    cfg = (config or MaxEntConfig()).validate()
    model = fit.fitted
    if len(model.h) <= MAX_EXACT:
        return Moments(*moments_exact(model)), "exact"
    rows = np.random.default_rng(cfg.seed).integers(len(frames), size=cfg.chains)
    start = torch.as_tensor(np.asarray(frames)[np.ix_(rows, fit.free)].T != 0, device=pick_device(cfg.device))
    means, pairs = yield from iter_moments_sampled(model, start, MOMENT_SWEEPS, cfg.seed)
    return Moments(means, pairs), "chains"


def spaced(frames: np.ndarray, at_most: int) -> np.ndarray:
    """At most ``at_most`` of the frames (rows), evenly spaced, in order; all of them when 0."""
    if not at_most or len(frames) <= at_most:
        return frames
    return frames[np.linspace(0, len(frames) - 1, at_most).round().astype(int)]


def _all_units(data: Frames, h: torch.Tensor, J: torch.Tensor) -> Pairwise:
    """The model of the free units with the constant ones added as independent units at the clipped mean."""
    n = len(data.means)
    full_h = base_biases(torch.as_tensor(data.means)).numpy()
    full_J = np.zeros((n, n))
    full_h[data.free] = h.double().cpu().numpy()
    full_J[np.ix_(data.free, data.free)] = J.double().cpu().numpy()
    return Pairwise(full_h, full_J)
