"""Heat capacity C(T) of a fitted model (seed 004; Tkacik et al. 2015).

A model gives every visible pattern an energy E(v): for the RBM the marginal energy of eq. (6) of seed 001,
H(v) = -b.v - sum_mu log(1 + exp(c_mu + (v W)_mu)); for a pairwise model -h.v - sum_{i<j} J_ij v_i v_j.
At temperature T the patterns are weighted by exp(-E(v) / T) (T = 1 is the fitted model), and
C(T) = (<E^2>_T - <E>_T^2) / (N T^2) per neuron. Small models are enumerated; larger ones are sampled at
every temperature at once, with replica exchange between neighbouring temperatures so that the cold chains do
not stick. An RBM moves by Metropolis-Hastings with a block-Gibbs proposal of the RBM whose parameters are
divided by T (two products per step, reversible for exp(b.v / T) prod_mu (1 + exp(x_mu / T)), corrected to
the target exp(b.v / T) prod_mu (1 + exp(x_mu))^(1/T)); a pairwise model by single-unit heat-bath sweeps.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import torch

from napari_neurorbm.analysis.ising import IsingChains
from napari_neurorbm.analysis.multiinfo import Pairwise, ising_energy
from napari_neurorbm.data.synthetic import hidden_states as all_states
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.model import RBM, hidden_free_energy

MAX_EXACT = 20  # enumerate up to this many visible units


@dataclass(frozen=True)
class HeatCurve:
    """C(T) per neuron on a grid of temperatures, and where it peaks."""

    T: np.ndarray
    C: np.ndarray
    method: str

    @property
    def peak_T(self) -> float:
        return float(self.T[int(np.argmax(self.C))])


def temperatures(t_min: float = 0.5, t_max: float = 2.0, steps: int = 31) -> np.ndarray:
    """The grid of temperatures (linear, both ends included); one clear line on impossible values."""
    if not 0 < t_min <= t_max or steps < 1:
        raise NeuroRBMError(f"temperatures must satisfy 0 < t_min <= t_max and steps >= 1, got {t_min}, "
                            f"{t_max}, {steps}")
    return np.linspace(t_min, t_max, steps)


class Energy:
    """E(v) of a batch of patterns, for either model (an RBM is held as a float64 copy on the CPU in
    ``rbm``; a pairwise model as its h and J)."""

    def __init__(self, model: RBM | Pairwise) -> None:
        if isinstance(model, Pairwise):
            self.b = torch.as_tensor(model.h, dtype=torch.float64)
            self.J = torch.as_tensor(model.J, dtype=torch.float64)
            self.rbm = None
        else:
            self.rbm = RBM(*(t.detach().cpu().double() for t in (model.W, model.b, model.c)))
            self.b, self.J = self.rbm.b, None
        self.n = len(self.b)

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        return ising_energy(v, self.b, self.J) if self.rbm is None else self.rbm.free_energy(v)


def heat_exact(model: RBM | Pairwise, T: np.ndarray) -> HeatCurve:
    """C(T) by enumerating every visible pattern (at most 20 units)."""
    energy = Energy(model)
    if energy.n > MAX_EXACT:
        raise NeuroRBMError(f"enumeration is for at most {MAX_EXACT} units, this model has {energy.n}")
    e = energy(torch.as_tensor(all_states(energy.n))).numpy()
    C = np.array([_variance(e, -e / t) / (energy.n * t * t) for t in T])
    return HeatCurve(np.asarray(T, dtype=np.float64), C, "exact")


def iter_heat_mc(model: RBM | Pairwise, T: np.ndarray, sweeps: int = 400, chains: int = 16,
                 burn_in: float = 0.25, seed: int = 0) -> Generator[Progress, None, HeatCurve]:
    """C(T) from ``chains`` chains per temperature: ``sweeps`` steps (Metropolis-Hastings block steps for an
    RBM, heat-bath sweeps for a pairwise model), each followed by a replica exchange between neighbouring
    temperatures; E is averaged after the first ``burn_in`` of the steps."""
    energy, T = Energy(model), np.asarray(T, dtype=np.float64)
    gen = torch.Generator().manual_seed(seed)
    beta = torch.as_tensor(1 / T).repeat_interleave(chains)  # chains of one temperature are adjacent
    v = (torch.rand(len(beta), energy.n, generator=gen, dtype=torch.float64) < 0.1).double()
    start, sums = int(burn_in * sweeps), np.zeros((len(T), 3))
    step = _block_step if energy.rbm is not None else _sweep
    for s in range(sweeps):
        step(energy, v, beta, gen)
        e = energy(v)
        _exchange(v, e, beta, chains, gen)  # swaps the energies with the states
        if s >= start:
            e = e.view(len(T), chains).numpy()
            sums += np.c_[np.full(len(T), chains), e.sum(1), (e * e).sum(1)]
        yield Progress("heat capacity", s + 1, sweeps, f"sweep {s + 1}/{sweeps} at {len(T)} temperatures")
    mean, second = sums[:, 1] / sums[:, 0], sums[:, 2] / sums[:, 0]
    return HeatCurve(T, (second - mean**2) / (energy.n * T**2), "monte carlo")


def iter_heat(model: RBM | Pairwise, T: np.ndarray, **mc) -> Generator[Progress, None, HeatCurve]:
    """Exact when the model has at most 20 visible units, else Monte Carlo with tempering."""
    if Energy(model).n <= MAX_EXACT:
        return heat_exact(model, T)
    return (yield from iter_heat_mc(model, T, **mc))


def _block_step(energy: Energy, v: torch.Tensor, beta: torch.Tensor, gen: torch.Generator) -> None:
    """One Metropolis-Hastings step of every chain: h then v' by block Gibbs of the RBM scaled by beta,
    accepted with min(1, exp(r(v') - r(v))), r(v) = sum_mu beta softplus(x_mu) - softplus(beta x_mu)."""
    rbm, bt = energy.rbm, beta[:, None]
    h = (torch.rand(len(v), len(rbm.c), generator=gen, dtype=torch.float64)
         < torch.sigmoid(bt * rbm.hidden_input(v))).double()
    p_v = torch.sigmoid(bt * rbm.visible_input(h))
    proposal = (torch.rand(v.shape, generator=gen, dtype=torch.float64) < p_v).double()
    log_acc = _correction(rbm, proposal, beta) - _correction(rbm, v, beta)
    accept = torch.rand(len(v), generator=gen, dtype=torch.float64).log() < log_acc
    v[accept] = proposal[accept]


def _correction(rbm: RBM, v: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """r(v): log of the target weight over the scaled RBM's, up to a constant."""
    x = rbm.hidden_input(v)
    return hidden_free_energy(beta[:, None] * x) - beta * hidden_free_energy(x)


def _sweep(energy: Energy, v: torch.Tensor, beta: torch.Tensor, gen: torch.Generator) -> None:
    """One heat-bath update of every unit in turn, in every chain, each at its own temperature."""
    chains = IsingChains(energy.b, energy.J, v.T.contiguous(), gen)
    chains.sweep(beta)
    v.copy_(chains.v.T)


def _exchange(v: torch.Tensor, e: torch.Tensor, beta: torch.Tensor, chains: int,
              gen: torch.Generator) -> None:
    """Swap the states of chain k at neighbouring temperatures with the Metropolis probability
    min(1, exp((beta_a - beta_b) (E_a - E_b))), alternating even and odd pairs of temperatures; the
    energies ``e`` of the states are swapped with them."""
    n_t = len(beta) // chains
    first = int(torch.randint(2, (1,), generator=gen))
    for t in range(first, n_t - 1, 2):
        a, b = slice(t * chains, (t + 1) * chains), slice((t + 1) * chains, (t + 2) * chains)
        log_acc = (beta[a] - beta[b]) * (e[a] - e[b])
        swap = torch.rand(chains, generator=gen, dtype=torch.float64).log() < log_acc
        for x in (v, e):
            xa, xb = x[a][swap].clone(), x[b][swap].clone()
            x[a][swap], x[b][swap] = xb, xa


def _variance(e: np.ndarray, log_w: np.ndarray) -> float:
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    mean = w @ e
    return float(w @ (e - mean) ** 2)
