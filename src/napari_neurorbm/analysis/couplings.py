"""Effective Ising model of a binary RBM (paper 001, Sec. II.B, eqs. 7-11): fields, pair and triplet terms.

With s = 2v - 1, ĉ_a = c_a + ½ Σ_i W_ia and ŵ = W/2, the marginal energy of the RBM is
-H(s) = Σ_i (b_i/2) s_i + Σ_a softplus(ĉ_a + Σ_i ŵ_ia s_i) + const, and a coupling J_S is the coefficient
2^-N Σ_s (Π_{k∈S} s_k)(-H(s)). In the Gaussian approximation the other spins' sum Σ_{l∉S} ŵ_la s_l is a
N(0, σ²_{a,S}) variable, σ²_{a,S} = Σ_{l∉S} ŵ_la², so each hidden unit contributes a finite difference of
T_a(μ) = E_z softplus(μ + σ_{a,S} z). That difference is evaluated exactly as a Fourier integral over k,
    J^a_ij  = ∫_0^∞ cos(kĉ_a) sin(kŵ_ia) sin(kŵ_ja) e^{-σ²_{a,ij} k²/2} / (k sinh πk) dk,
with a trapezoid rule that converges exponentially; the integrand factorises over i and j, so all J_ij come
out of one float64 matrix product per block of hidden units. docs/couplings.md derives it.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from napari_neurorbm.analysis.statistics import random_triplets
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, drain
from napari_neurorbm.rbm.io import ModelFile
from napari_neurorbm.rbm.model import RBM, pick_device

if TYPE_CHECKING:
    from napari_neurorbm.analysis.reliability import ReplicateCouplings

ArrayLike = np.ndarray | torch.Tensor | Sequence[float]

# Trapezoid rule: -log of the target error (integrand scale ~ |ŵ_i ŵ_j|), and the strip half-width cap
# (the integrand's nearest poles are at k = ±i).
_LOG_EPS = 37.0
_STRIP = 0.9
# Elements per temporary array in the elementwise loops (bounds their memory: 8 bytes each).
_ELEMENTS = 1 << 21


@dataclass(frozen=True)
class SpinModel:
    """The RBM in spin form on one device, float64: ŵ = W/2, ĉ, b and σ²_a = Σ_i ŵ_ia² per hidden unit."""

    w: torch.Tensor
    c_hat: torch.Tensor
    b: torch.Tensor
    var: torch.Tensor

    @property
    def n_visible(self) -> int:
        return self.w.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.w.shape[1]

    @property
    def device(self) -> torch.device:
        return self.w.device


def spin_model(W: ArrayLike, b: ArrayLike, c: ArrayLike, device: str | torch.device = "cpu") -> SpinModel:
    """Check the parameters and rewrite them in spin variables (float64 on `device`)."""
    dev = compute_device(device)
    W, b, c = (torch.as_tensor(x).detach().to(dev, torch.float64) for x in (W, b, c))
    if W.ndim != 2 or b.shape != (W.shape[0],) or c.shape != (W.shape[1],):
        raise NeuroRBMError(
            f"parameter shapes do not match: W {tuple(W.shape)}, b {tuple(b.shape)}, c {tuple(c.shape)}"
        )
    if not all(bool(torch.isfinite(x).all()) for x in (W, b, c)):
        raise NeuroRBMError("the model has non-finite parameters (NaN or inf): it cannot be analysed")
    w = W / 2
    return SpinModel(w=w, c_hat=c + w.sum(0), b=b, var=(w * w).sum(0))


def compute_device(device: str | torch.device) -> torch.device:
    """The torch device for float64 work: 'auto' as in pick_device, MPS (no float64) falls back to CPU."""
    dev = pick_device(device) if isinstance(device, str) else torch.device(device)
    return torch.device("cpu") if dev.type == "mps" else dev


# ---------------------------------------------------------------- quadrature grid


@dataclass(frozen=True)
class _Grid:
    """Trapezoid nodes k ≥ 0 and weights of all hidden units in a row; unit a owns start[a]:start[a+1]."""

    unit: torch.Tensor
    k: torch.Tensor
    weight: torch.Tensor
    start: np.ndarray


def _unit_nodes(c_hat: float, var: float, top: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ∫_0^∞ for one hidden unit, for sets S of up to three spins.

    Step: the integrand is analytic in |Im k| < 1 and grows there like exp(d(|ĉ| + Σ|ŵ|) + σ²d²/2), so the
    trapezoid error is below e^-37 once 2πd/h exceeds that exponent plus 37 (d optimised, ≤ 0.9).
    Range: the integrand decays like exp(-πk - σ²_min k²/2), σ²_min the variance left without the 3 largest ŵ.
    """
    if var == 0.0:
        return np.zeros(0), np.zeros(0)
    d = min(_STRIP, math.sqrt(2 * _LOG_EPS / var))
    h = 2 * math.pi / (abs(c_hat) + top.sum() + var * d / 2 + _LOG_EPS / d)
    rest = max(var - float((top * top).sum()), 0.0)
    if rest > 1e-12:
        k_max = (math.sqrt(math.pi**2 + 2 * rest * _LOG_EPS) - math.pi) / rest
    else:
        k_max = _LOG_EPS / math.pi
    k = np.arange(math.ceil(k_max / h) + 1) * h
    weight = np.full(k.shape, h)
    weight[0] = h / 2
    return k, weight


def _grid(spin: SpinModel) -> _Grid:
    top = spin.w.abs().topk(min(3, spin.n_visible), dim=0).values.T.cpu().numpy()
    c_hat, var = spin.c_hat.cpu().numpy(), spin.var.cpu().numpy()
    parts = [_unit_nodes(float(c_hat[a]), float(var[a]), top[a]) for a in range(spin.n_hidden)]
    sizes = np.array([len(k) for k, _ in parts], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(sizes)])
    dev = spin.device
    return _Grid(
        unit=torch.as_tensor(np.repeat(np.arange(spin.n_hidden), sizes), device=dev),
        k=torch.as_tensor(np.concatenate([np.zeros(0)] + [k for k, _ in parts]), device=dev),
        weight=torch.as_tensor(np.concatenate([np.zeros(0)] + [w for _, w in parts]), device=dev),
        start=start,
    )


def _unit_blocks(grid: _Grid, chunk: int) -> list[tuple[int, int]]:
    """Consecutive hidden-unit ranges with at most `chunk` nodes each (or one unit, if it alone has more)."""
    blocks, first = [], 0
    n_hidden = len(grid.start) - 1
    for a in range(1, n_hidden + 1):
        if grid.start[a] - grid.start[first] > chunk and a - 1 > first:
            blocks.append((first, a - 1))
            first = a - 1
    blocks.append((first, n_hidden))
    return blocks


def _sin_over_k(w: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """sin(k ŵ)/k, equal to ŵ at k = 0."""
    return w * torch.sinc(k * w / math.pi)


def _k_over_sinh(k: torch.Tensor) -> torch.Tensor:
    """k / sinh(πk), equal to 1/π at k = 0."""
    return torch.where(k > 0, k / torch.sinh(math.pi * k.clamp_min(1e-300)), 1 / math.pi)


# ---------------------------------------------------------------- fields and pair couplings


def iter_couplings(W: ArrayLike, b: ArrayLike, c: ArrayLike, *, device: str | torch.device = "cpu",
                   chunk: int = 1024) -> Generator[Progress, None, tuple[np.ndarray, np.ndarray]]:
    """Fields H (n_visible) and pair couplings J (symmetric, zero diagonal), float64, as a progress generator.

    Yields Progress("couplings", hidden units done, n_hidden) after each block of hidden units; `chunk` bounds
    the quadrature nodes per block: about 10 float64 arrays of n_visible x chunk are live besides J.
    """
    if chunk < 1:
        raise NeuroRBMError(f"chunk must be a positive number of nodes, got {chunk}")
    spin = spin_model(W, b, c, device)
    grid = _grid(spin)
    dominant = _dominant_rows(spin)
    H = spin.b / 2 + spin.w.sum(1) / 2
    J = torch.zeros(spin.n_visible, spin.n_visible, dtype=torch.float64, device=spin.device)
    for first, end in _unit_blocks(grid, chunk):
        cols = slice(int(grid.start[first]), int(grid.start[end]))
        _add_block(spin, grid.unit[cols], grid.k[cols], grid.weight[cols], H, J)
        for a in range(first, end):
            if dominant[a] >= 0:
                a_cols = slice(int(grid.start[a]), int(grid.start[a + 1]))
                _add_dominant_row(spin, a, int(dominant[a]), grid.k[a_cols], grid.weight[a_cols], J)
        yield Progress("couplings", end, spin.n_hidden, f"hidden units {end}/{spin.n_hidden}")
    J = (J + J.T) / 2
    J.fill_diagonal_(0.0)
    return H.cpu().numpy(), J.cpu().numpy()


def fields_and_couplings(W: ArrayLike, b: ArrayLike, c: ArrayLike, *, device: str | torch.device = "cpu",
                         chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """H and J of the Gaussian approximation in one call (see iter_couplings)."""
    return drain(iter_couplings(W, b, c, device=device, chunk=chunk))


def _dominant_rows(spin: SpinModel) -> np.ndarray:
    """Per hidden unit, the one visible unit with ŵ² > σ²/2 (its factor could overflow), or -1."""
    w2 = spin.w * spin.w
    top, row = w2.max(dim=0)
    return torch.where(top > spin.var / 2, row, -1).cpu().numpy()


def _add_block(spin: SpinModel, unit: torch.Tensor, k: torch.Tensor, weight: torch.Tensor,
               H: torch.Tensor, J: torch.Tensor) -> None:
    """Add the fields and pair couplings of one block of quadrature columns (hidden unit, node) in place."""
    w = spin.w[:, unit]
    w2 = w * w
    k2 = k * k / 2
    c_hat, var = spin.c_hat[unit], spin.var[unit]
    sk = _sin_over_k(w, k)
    kern = weight * _k_over_sinh(k)
    H += (sk * torch.exp(-(var - w2) * k2)) @ (kern * c_hat * torch.sinc(k * c_hat / math.pi))
    P = sk * torch.exp(-(var / 2 - w2) * k2)
    P = torch.where(w2 > var / 2, 0.0, P)
    J.addmm_(P * (kern * torch.cos(k * c_hat)), P.T)


def _add_dominant_row(spin: SpinModel, a: int, i: int, k: torch.Tensor, weight: torch.Tensor,
                      J: torch.Tensor) -> None:
    """Pairs (i, j) of hidden unit a when ŵ_ia dominates: the Gaussian factor is formed per pair, unsplit."""
    w = spin.w[:, a]
    k2 = k * k / 2
    rest = spin.var[a] - w[i] ** 2 - w[:, None] ** 2
    terms = _sin_over_k(w[:, None], k) * torch.exp(-rest.clamp_min(0.0) * k2)
    row = terms @ (weight * _k_over_sinh(k) * torch.cos(k * spin.c_hat[a]) * _sin_over_k(w[i], k))
    row[i] = 0.0
    J[i] += row
    J[:, i] += row


# ---------------------------------------------------------------- three-body couplings


def three_body(W: ArrayLike, b: ArrayLike, c: ArrayLike, triplets: ArrayLike, *,
               device: str | torch.device = "cpu", chunk: int = 1024) -> np.ndarray:
    """J_ijk of the Gaussian approximation for each row (i, j, k) of `triplets` (distinct units), float64.

    `chunk` bounds the quadrature nodes per block of hidden units, as in iter_couplings.
    """
    spin = spin_model(W, b, c, device)
    tri = _check_units(triplets, 3, spin.n_visible)
    rows, inverse = np.unique(tri, return_inverse=True)
    idx = torch.as_tensor(inverse.reshape(tri.shape), device=spin.device)
    rows_t = torch.as_tensor(rows, device=spin.device)
    grid = _grid(spin)
    out = torch.zeros(len(tri), dtype=torch.float64, device=spin.device)
    for first, end in _unit_blocks(grid, chunk):
        cols = slice(int(grid.start[first]), int(grid.start[end]))
        unit, k = grid.unit[cols], grid.k[cols]
        kern = grid.weight[cols] * k * _k_over_sinh(k) * torch.sin(k * spin.c_hat[unit])
        w = spin.w[rows_t][:, unit]
        sk, w2 = _sin_over_k(w, k), w * w  # triplet rows x columns
        var, k2 = spin.var[unit], k * k / 2
        step = max(1, _ELEMENTS // max(1, len(k)))
        for lo in range(0, len(tri), step):
            i, j, m = idx[lo:lo + step].T
            rest = (var - w2[i] - w2[j] - w2[m]).clamp_min(0.0)
            out[lo:lo + step] -= (sk[i] * sk[j] * sk[m] * torch.exp(-rest * k2)) @ kern
    return out.cpu().numpy()


def _check_units(groups: ArrayLike, k: int, n_visible: int) -> np.ndarray:
    """Rows of ``k`` different unit indices (pairs: k = 2, triplets: k = 3) as an int64 array; bad rows are
    one-line errors."""
    name, count = {2: ("pair", "two"), 3: ("triplet", "three")}[k]
    arr = np.asarray(groups)
    if arr.size == 0:
        return np.zeros((0, k), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != k or not np.issubdtype(arr.dtype, np.integer):
        raise NeuroRBMError(f"{name}s must be an integer array of shape (n, {k}), got shape {arr.shape}")
    if arr.min() < 0 or arr.max() >= n_visible:
        raise NeuroRBMError(f"{name} indices must lie in 0..{n_visible - 1}")
    if any(np.any(arr[:, i] == arr[:, j]) for i in range(k) for j in range(i + 1, k)):
        raise NeuroRBMError(f"each {name} must name {count} different units")
    return arr.astype(np.int64)


def strongest_triplets(W: ArrayLike, b: ArrayLike, c: ArrayLike, J: np.ndarray, k: int, *,
                       n_pairs: int = 100, n_partners: int = 20, per_hidden: int = 6,
                       device: str | torch.device = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """The k triplets (i < j < l) of largest |J_ijl| among candidates, and their J_ijl, strongest first.

    Candidates: each of the `n_pairs` strongest pairs |J_ij| with the `n_partners` units l most coupled to
    both (largest min(|J_il|, |J_jl|)), and, for every hidden unit, all triplets among its `per_hidden`
    largest |W_ia| (J_ijl is a sum over hidden units of products of three weights).
    """
    if k < 0:
        raise NeuroRBMError(f"the number of triplets must be at least 0, got {k}")
    W_np = np.asarray(torch.as_tensor(W).detach().cpu(), dtype=np.float64)
    n = W_np.shape[0]
    if J.shape != (n, n):
        raise NeuroRBMError(f"J has shape {J.shape}, but the model has {n} visible units")
    if k == 0 or n < 3:
        return np.zeros((0, 3), dtype=np.int64), np.zeros(0)
    cand = np.unique(np.concatenate([_pair_candidates(J, n_pairs, n_partners),
                                     _hidden_candidates(W_np, per_hidden)]), axis=0)
    J3 = three_body(W, b, c, cand, device=device)
    best = np.argsort(-np.abs(J3), kind="stable")[:k]
    return cand[best], J3[best]


def _pair_candidates(J: np.ndarray, n_pairs: int, n_partners: int) -> np.ndarray:
    n = J.shape[0]
    A = np.abs(J)
    iu, ju = np.triu_indices(n, 1)
    top = np.argsort(-A[iu, ju], kind="stable")[:n_pairs]
    i, j = iu[top], ju[top]
    both = np.minimum(A[i], A[j])  # pairs x n
    both[np.arange(len(i)), i] = -1.0
    both[np.arange(len(i)), j] = -1.0
    m = min(n_partners, n - 2)
    partners = np.argpartition(-both, m - 1, axis=1)[:, :m]
    tri = np.column_stack([np.repeat(i, m), np.repeat(j, m), partners.ravel()])
    return np.sort(tri, axis=1)


def _hidden_candidates(W: np.ndarray, per_hidden: int) -> np.ndarray:
    m = min(per_hidden, W.shape[0])
    if m < 3:
        return np.zeros((0, 3), dtype=np.int64)
    top = np.argsort(-np.abs(W), axis=0, kind="stable")[:m].T  # hidden x m
    combos = np.array(list(combinations(range(m), 3)))
    return np.sort(top[:, combos].reshape(-1, 3), axis=1)


# ---------------------------------------------------------------- beyond pairs: R_ij (eqs. 10-11)


def higher_order_indicator(W: ArrayLike, b: ArrayLike, c: ArrayLike, pairs: ArrayLike, n_samples: int = 1000,
                           seed: int = 0, *, device: str | torch.device = "cpu") -> np.ndarray:
    """R_ij for each row (i, j) of `pairs`: how much the pair's local coupling varies with the other spins.

    The local coupling given the other spins s' is T_ij(s') = ¼ Σ_{s_i,s_j} s_i s_j [-H(s_i, s_j, s')]
    = ¼ Σ_a Σ s_i s_j softplus(ĉ_a + ŵ_ia s_i + ŵ_ja s_j + Σ_{l≠i,j} ŵ_la s'_l); its mean over uniform s'
    is J_ij and R_ij is its standard deviation, estimated from `n_samples` uniform draws of s' (the same
    draws for all pairs).
    """
    if n_samples < 2:
        raise NeuroRBMError(f"n_samples must be at least 2, got {n_samples}")
    spin = spin_model(W, b, c, device)
    pr = _check_units(pairs, 2, spin.n_visible)
    gen = torch.Generator().manual_seed(seed)
    s = (torch.randint(0, 2, (n_samples, spin.n_visible), generator=gen, dtype=torch.float64) * 2 - 1)
    s = s.to(spin.device)
    x = spin.c_hat + s @ spin.w  # samples x hidden
    out = torch.empty(len(pr), dtype=torch.float64, device=spin.device)
    idx = torch.as_tensor(pr, device=spin.device)
    step = max(1, _ELEMENTS // (n_samples * spin.n_hidden))
    for lo in range(0, len(pr), step):
        i, j = idx[lo:lo + step, 0], idx[lo:lo + step, 1]
        wi, wj = spin.w[i][:, None, :], spin.w[j][:, None, :]  # pairs x 1 x hidden
        rest = x - s[:, i].T[:, :, None] * wi - s[:, j].T[:, :, None] * wj  # pairs x samples x hidden
        local = (_softplus(rest + wi + wj) - _softplus(rest + wi - wj)
                 - _softplus(rest - wi + wj) + _softplus(rest - wi - wj)).sum(-1) / 4
        out[lo:lo + step] = local.std(dim=1, correction=1)
    return out.cpu().numpy()


def _softplus(x: torch.Tensor) -> torch.Tensor:
    """log(1 + e^x) to full float64 precision for every x (torch's softplus goes linear above 20)."""
    return x.clamp_min(0.0) + torch.log1p(torch.exp(-x.abs()))


# ---------------------------------------------------------------- norms along training (eq. 14, Fig. 4e)


def coupling_norms(W: ArrayLike, b: ArrayLike, c: ArrayLike, *, n_triplets: int = 2000, seed: int = 0,
                   device: str | torch.device = "cpu") -> dict[str, float]:
    """Eq. (14) norms sqrt(mean over all n-tuples of J²) for fields, pairs and triplets (``n_triplets``
    distinct triplets drawn at random, all of them when there are at most that many)."""
    H, J = fields_and_couplings(W, b, c, device=device)
    n = len(H)
    norms = {"fields": float(np.sqrt(np.mean(H * H))),
             "pairs": float(np.sqrt((J * J).sum() / (n * (n - 1)))) if n > 1 else 0.0,
             "triplets": 0.0}
    if n >= 3 and n_triplets > 0:
        J3 = three_body(W, b, c, random_triplets(n, n_triplets, seed), device=device)
        norms["triplets"] = float(np.sqrt(np.mean(J3 * J3)))
    return norms


def iter_coupling_norms(checkpoints: Sequence[tuple[int, RBM]], *, n_triplets: int = 2000, seed: int = 0,
                        device: str | torch.device = "cpu") -> Generator[Progress, None, pd.DataFrame]:
    """Eq. (14) norms for each (update, RBM) checkpoint; returns a DataFrame (update and the three norms)."""
    rows = []
    for done, (update, rbm) in enumerate(checkpoints):
        norms = coupling_norms(rbm.W, rbm.b, rbm.c, n_triplets=n_triplets, seed=seed, device=device)
        rows.append({"update": int(update), **norms})
        yield Progress("coupling norms", done + 1, len(checkpoints), f"checkpoint at update {update}")
    return pd.DataFrame(rows, columns=["update", "fields", "pairs", "triplets"])


@dataclass(frozen=True)
class CouplingsResult:
    """Fields H and couplings J of ``model`` (rows in the raster's order), with the units' areas and ids:
    what the Couplings dock computes and the viewer's shared state holds. From replicate models,
    ``replicates`` holds each one's H and J, H and J are their means and ``model`` is the first replicate."""

    model: ModelFile
    H: np.ndarray
    J: np.ndarray
    areas: np.ndarray | None
    unit_ids: np.ndarray
    replicates: ReplicateCouplings | None = None
