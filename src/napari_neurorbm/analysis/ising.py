"""Sampling a pairwise maximum-entropy (Ising) model of 0/1 units, and its partition function.

P(v) is proportional to exp(h.v + sum_{i<j} J_ij v_i v_j) (:class:`~.multiinfo.Pairwise`). Chains move by
heat-bath (Gibbs) sweeps that update every unit in turn, which is exact for any J but sequential. The states
are held units x chains, so that one unit's states across all chains are one contiguous row, and the units
are visited in blocks: within a block each unit's field comes from a small block-sized array kept up to date
unit by unit, and after the block the fields of all units take the block's changes in one matrix product.
A sweep then costs about one product of J with the states plus a few small vector operations per unit.
Products of J with whole sparse states (new fields, the chains' moments) use the sampler's sparse kernel.

Moments (means and pair moments, to check a fit): exact by enumeration up to 20 units, else the mean over
sweeps of chains' moments.

log Z: exact by enumeration up to 20 units; beyond, annealed importance sampling (AIS) from independent units
fitted to the means (beta = 0) to the model (beta = 1) along h_beta = (1 - beta) h0 + beta h, J_beta = beta J.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from napari_neurorbm.analysis.multiinfo import Pairwise, ising_energy
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.model import base_biases
from napari_neurorbm.rbm.partition import wide
from napari_neurorbm.rbm.sampling import SPARSE_MAX, binary_matmul

MAX_EXACT = 20  # enumerate up to this many units
BLOCK = 32  # units per block of a sweep (measured fastest at 1000-2000 units, 256-1024 chains, on a CPU)


class IsingChains:
    """Chains of a pairwise model: states ``v`` (units x chains, 0./1.) and their fields ``field`` = J v, on
    the device and in the dtype of ``v``; :meth:`sweep` moves them in place."""

    def __init__(self, h: torch.Tensor, J: torch.Tensor, v: torch.Tensor, generator: torch.Generator) -> None:
        self.v, self.generator = v, generator
        self.set_model(h, J)

    def set_model(self, h: torch.Tensor, J: torch.Tensor) -> None:
        """Sample another model from the current states (its fields are recomputed)."""
        self.h = h.to(self.v)
        self.J = J.to(self.v)
        self.field = _states_times(self.v.T.contiguous(), self.J).T.contiguous()  # J v = (v^T J)^T

    def sweep(self, beta: float | torch.Tensor = 1.0, base: torch.Tensor | None = None) -> None:
        """One heat-bath update of every unit in turn, in every chain, for the model at inverse temperature
        ``beta`` (a number, or one per chain): log-odds beta (h_i + (J v)_i) + (1 - beta) base_i (base: the
        fields of the beta = 0 model, default none). beta must be positive."""
        n, m = self.v.shape
        beta = torch.as_tensor(beta, dtype=self.v.dtype, device=self.v.device)
        # unit i switches on when its logistic noise is below its log-odds, i.e. when
        # (noise - (1 - beta) base_i) / beta - h_i < (J v)_i: one threshold per unit and chain, made up front
        thr = torch.rand(n, m, generator=self.generator, device=self.v.device, dtype=self.v.dtype).logit_()
        if base is not None:
            thr -= (1 - beta) * base.to(self.v)[:, None]
        thr /= beta
        thr -= self.h[:, None]
        for s in range(0, n, BLOCK):
            self._block(thr, s, min(s + BLOCK, n))

    def _block(self, thr: torch.Tensor, s: int, e: int) -> None:
        v, J = self.v, self.J
        old = v[s:e].clone()
        local = self.field[s:e].clone()  # the block's fields, kept up to date unit by unit
        inner = J[s:e, s:e]
        for k in range(e - s):
            new = (thr[s + k] < local[k]).to(v.dtype)
            change = new - v[s + k]
            v[s + k] = new
            local.addr_(inner[k], change)
        self.field.addmm_(J[:, s:e], v[s:e] - old)

    def energy(self) -> torch.Tensor:
        """E(v) = -h.v - v.J v / 2 of every chain's state (from the kept fields: no product with J)."""
        return -(self.h @ self.v) - 0.5 * (self.v * self.field).sum(0)

    def moments(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The chains' means <v_i> and second moments <v_i v_j> (units x units)."""
        m = self.v.shape[1]
        return self.v.mean(1), _states_times(self.v, self.v.T.contiguous()) / m


def _states_times(states: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """``states @ W`` for 0/1 ``states``: on a CPU, when few are 1, the sum of the rows of W where they are
    (the sampler's sparse kernel), a fraction of the dense product's time."""
    if states.device.type == "cpu" and float(states.mean()) <= SPARSE_MAX:
        return binary_matmul(states.bool(), W)
    return states @ W


def independent_states(means: torch.Tensor, chains: int, generator: torch.Generator) -> torch.Tensor:
    """Exact samples of independent units with these means (units x chains, in the means' dtype)."""
    u = torch.rand(len(means), chains, generator=generator, dtype=means.dtype, device=means.device)
    return (u < means[:, None]).to(means.dtype)


@dataclass(frozen=True)
class LogZ:
    """log Z with the standard error of its estimate (0 when exact), in nats."""

    value: float
    stderr: float
    method: str


def log_z_exact(model: Pairwise, chunk: int = 2**16) -> LogZ:
    """log Z by enumerating all 2^n states (at most 20 units), in chunks, float64."""
    n = len(model.h)
    if n > MAX_EXACT:
        raise NeuroRBMError(f"exact log Z enumerates 2^n states: at most {MAX_EXACT} units, this model has "
                            f"{n}; use AIS")
    h, J = torch.as_tensor(model.h, dtype=torch.float64), torch.as_tensor(model.J, dtype=torch.float64)
    parts = [torch.logsumexp(-ising_energy(s, h, J), 0) for s in _all_states(n, chunk)]
    return LogZ(float(torch.logsumexp(torch.stack(parts), 0)), 0.0, "exact")


def moments_exact(model: Pairwise, chunk: int = 2**16) -> tuple[np.ndarray, np.ndarray]:
    """The means <v_i> and pair moments <v_i v_j> (units x units) of the model, by enumerating all 2^n
    states (at most 20 units), float64."""
    log_z = log_z_exact(model, chunk).value
    h, J = torch.as_tensor(model.h, dtype=torch.float64), torch.as_tensor(model.J, dtype=torch.float64)
    means, pairs = torch.zeros_like(h), torch.zeros_like(J)
    for s in _all_states(len(h), chunk):
        p = torch.exp(-ising_energy(s, h, J) - log_z)
        means += p @ s
        pairs += (s * p[:, None]).T @ s
    return means.numpy(), pairs.numpy()


def _all_states(n: int, chunk: int) -> Generator[torch.Tensor, None, None]:
    """Every one of the 2^n states of n units, as chunks of rows (float64)."""
    bits = 2 ** torch.arange(n)
    for start in range(0, 2**n, chunk):
        yield ((torch.arange(start, min(start + chunk, 2**n))[:, None] & bits) > 0).double()


def iter_moments_sampled(model: Pairwise, start: torch.Tensor, sweeps: int, seed: int = 0
                         ) -> Generator[Progress, None, tuple[np.ndarray, np.ndarray]]:
    """The means and pair moments of the model estimated by chains started at ``start`` (units x chains,
    0./1., on the device to use): the mean of the chains' moments over ``sweeps`` heat-bath sweeps after a
    fifth as many that let them settle."""
    gen = torch.Generator(device=start.device).manual_seed(seed)
    chains = IsingChains(*(torch.as_tensor(x) for x in (model.h, model.J)), start.float(), gen)
    burn = sweeps // 5
    means, pairs = 0.0, 0.0
    for k in range(burn + sweeps):
        chains.sweep()
        if k >= burn:
            m, c = chains.moments()
            means, pairs = means + m.double() / sweeps, pairs + c.double() / sweeps
        yield Progress("moments", k + 1, burn + sweeps, f"sweep {k + 1}/{burn + sweeps} of the moments check")
    return means.cpu().numpy(), pairs.cpu().numpy()


def iter_log_z_ais(model: Pairwise, base_means: np.ndarray, chains: int = 500, betas: int = 1000,
                   seed: int = 0, device: str | torch.device = "cpu") -> Generator[Progress, None, LogZ]:
    """AIS from independent units with ``base_means`` (clipped as the RBM's AIS clips them) at beta = 0 to
    the model at beta = 1, ``betas`` inverse temperatures linear in [0, 1], one sweep at each (chains in
    float32, the log-weights summed in float64, float32 on MPS).
    The standard error is the delta method's, sd(w) / (mean(w) sqrt(chains)) of the importance weights."""
    if chains < 2 or betas < 2:
        raise NeuroRBMError("AIS needs at least 2 chains and 2 inverse temperatures")
    dev = torch.device(device)
    h, J = (torch.as_tensor(x, dtype=torch.float32, device=dev) for x in (model.h, model.J))
    h0 = base_biases(torch.as_tensor(base_means, dtype=torch.float32, device=dev))
    gen = torch.Generator(device=dev).manual_seed(seed)
    run = IsingChains(h, J, independent_states(torch.sigmoid(h0), chains, gen), gen)
    log_w = torch.zeros(chains, dtype=wide(dev), device=dev)
    grid = torch.linspace(0.0, 1.0, betas).tolist()
    report = max(1, betas // 100)
    for j in range(1, betas):
        # log of the ratio of the unnormalised weights at beta_j and beta_j-1: (beta_j - beta_j-1) g(v) with
        # g(v) = (h - h0).v + v.J v / 2 = -E(v) - h0.v
        gain = -run.energy() - h0 @ run.v
        log_w += (grid[j] - grid[j - 1]) * gain.to(log_w.dtype)
        run.sweep(grid[j], h0)
        if j % report == 0:
            yield Progress("ais", j, betas - 1, f"AIS step {j}/{betas - 1}, {chains} chains")
    w = torch.exp(log_w - log_w.max())
    stderr = float(w.std() / (w.mean() * math.sqrt(chains)))
    log_z0 = float(F.softplus(h0.double()).sum())
    return LogZ(log_z0 + float(torch.logsumexp(log_w, 0)) - math.log(chains), stderr, "ais")


def loglik(model: Pairwise, frames: np.ndarray, log_z: float, chunk: int = 4096) -> float:
    """Mean log-likelihood per frame of 0/1 ``frames`` (frames x units), in nats: -mean E(v) - log Z."""
    if len(frames) == 0:
        raise NeuroRBMError("no frames to evaluate the log-likelihood on")
    h, J = torch.as_tensor(model.h), torch.as_tensor(model.J)
    total = sum(float(ising_energy(torch.as_tensor(frames[i : i + chunk], dtype=torch.float64), h, J).sum())
                for i in range(0, len(frames), chunk))
    return -total / len(frames) - log_z
