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

from napari_neurorbm.analysis.multiinfo import Pairwise, ising_energy
from napari_neurorbm.data.synthetic import hidden_states as all_states
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.model import RBM, hidden_free_energy
from napari_neurorbm.rbm.pcd import single_thread_workers

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
    """E(v) of a batch of patterns and the change of E when one unit switches on, for either model (an RBM
    is held as a float64 copy on the CPU in ``rbm``; a pairwise model as its h and J)."""

    def __init__(self, model: RBM | Pairwise) -> None:
        if isinstance(model, Pairwise):
            self.b = torch.as_tensor(model.h, dtype=torch.float64)
            self.J = torch.as_tensor(model.J, dtype=torch.float64)
            self.rbm = self.W = None
        else:
            self.rbm = RBM(*(t.detach().cpu().double() for t in (model.W, model.b, model.c)))
            self.b, self.W, self.J = self.rbm.b, self.rbm.W, None
        self.n = len(self.b)

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        return ising_energy(v, self.b, self.J) if self.rbm is None else self.rbm.free_energy(v)

    def drive(self, v: torch.Tensor) -> torch.Tensor:
        """What the energy's non-linear part depends on: v W + c (RBM) or v J (pairwise)."""
        return self.rbm.hidden_input(v) if self.rbm is not None else v @ self.J

    def of_drive(self, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """E(v) from v and its drive ``x`` (no product with W or J)."""
        if self.rbm is None:
            return -(v @ self.b) - 0.5 * (x * v).sum(-1)
        return -(v @ self.b) + hidden_free_energy(x)

    def on_gain(self, i: int, x: torch.Tensor, v_i: torch.Tensor) -> torch.Tensor:
        """E(v with unit i off) - E(v with unit i on), from the drive ``x`` of the current v."""
        if self.W is None:  # J has a zero diagonal, so x[:, i] holds only the other units' pull
            return self.b[i] + x[:, i]
        off = x - v_i[:, None] * self.W[i]
        return self.b[i] + hidden_free_energy(off) - hidden_free_energy(off + self.W[i])

    def row(self, i: int) -> torch.Tensor:
        return self.W[i] if self.W is not None else self.J[i]


def heat_exact(model: RBM | Pairwise, T: np.ndarray) -> HeatCurve:
    """C(T) by enumerating every visible pattern (at most 20 units)."""
    energy = Energy(model)
    if energy.n > MAX_EXACT:
        raise NeuroRBMError(f"enumeration is for at most {MAX_EXACT} units, this model has {energy.n}")
    return heat_of_energies(energy(torch.as_tensor(all_states(energy.n))).numpy(), T)


def heat_of_energies(e: np.ndarray, T: np.ndarray) -> HeatCurve:
    """C(T) per neuron from the energies ``e`` of all 2^n states of n units (enumeration)."""
    n = int(np.log2(len(e)))
    C = np.array([_variance(e, -e / t) / (n * t * t) for t in T])
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
    x = energy.drive(v)  # kept with v: one product with W per step
    start, sums = int(burn_in * sweeps), np.zeros((len(T), 3))
    blocks = _blocks(len(beta), seed)
    pool = single_thread_workers(len(blocks))
    step = _block_step if energy.rbm is not None else _sweep
    for s in range(sweeps):
        list(pool.map(lambda blk: step(energy, v[blk[0]], x[blk[0]], beta[blk[0]], blk[1]), blocks))
        e = energy.of_drive(v, x)
        _exchange((v, x, e), e, beta, chains, gen)  # swaps states, drives and energies together
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


def _blocks(rows: int, seed: int) -> list[tuple[slice, torch.Generator]]:
    """The chains cut into one block per core of torch's (each stepped by a worker thread running torch with
    one thread: on a shared 2-core machine, the small products of one step with torch's threads cost ~10x
    more), each block with a generator of its own."""
    n = max(1, min(torch.get_num_threads(), rows))
    return [(slice(i * rows // n, (i + 1) * rows // n), torch.Generator().manual_seed(seed + 1 + i))
            for i in range(n)]


def _block_step(energy: Energy, v: torch.Tensor, x: torch.Tensor, beta: torch.Tensor,
                gen: torch.Generator) -> None:
    """One Metropolis-Hastings step of every chain: h then v' by block Gibbs of the RBM scaled by beta,
    accepted with min(1, exp(r(v') - r(v))), r(v) = sum_mu beta softplus(x_mu) - softplus(beta x_mu);
    ``x`` (v W + c) is updated with v."""
    rbm, bt = energy.rbm, beta[:, None]
    h = (torch.rand(x.shape, generator=gen, dtype=torch.float64) < torch.sigmoid(bt * x)).double()
    p_v = torch.sigmoid(bt * rbm.visible_input(h))
    proposal = (torch.rand(v.shape, generator=gen, dtype=torch.float64) < p_v).double()
    x_new = rbm.hidden_input(proposal)
    log_acc = _correction(x_new, beta) - _correction(x, beta)
    accept = torch.rand(len(v), generator=gen, dtype=torch.float64).log() < log_acc
    v[accept], x[accept] = proposal[accept], x_new[accept]


def _correction(x: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """r(v) from the drive x = v W + c: log of the target weight over the scaled RBM's, up to a constant."""
    return hidden_free_energy(beta[:, None] * x) - beta * hidden_free_energy(x)


def _sweep(energy: Energy, v: torch.Tensor, x: torch.Tensor, beta: torch.Tensor,
           gen: torch.Generator) -> None:
    """One heat-bath update of every unit in turn, in every chain, each at its own temperature; the drive
    ``x`` is recomputed at the start (no drift of the running updates) and updated with v."""
    x[:] = energy.drive(v)
    for i in range(energy.n):
        p_on = torch.sigmoid(beta * energy.on_gain(i, x, v[:, i]))
        new = (torch.rand(len(v), generator=gen, dtype=torch.float64) < p_on).double()
        x += (new - v[:, i])[:, None] * energy.row(i)
        v[:, i] = new


def _exchange(states: tuple[torch.Tensor, ...], e: torch.Tensor, beta: torch.Tensor, chains: int,
              gen: torch.Generator) -> None:
    """Swap the states of chain k at neighbouring temperatures with the Metropolis probability
    min(1, exp((beta_a - beta_b) (E_a - E_b))), alternating even and odd pairs of temperatures: one
    permutation of the rows of every tensor of ``states`` (the energies ``e`` among them)."""
    n_t = len(beta) // chains
    first = int(torch.randint(2, (1,), generator=gen))
    ta = torch.arange(first, n_t - 1, 2)
    if not len(ta):
        return
    rows = torch.arange(n_t * chains).view(n_t, chains)
    a, b = rows[ta], rows[ta + 1]
    log_acc = (beta[a] - beta[b]) * (e[a] - e[b])
    swap = torch.rand(a.shape, generator=gen, dtype=torch.float64).log() < log_acc
    order = rows.clone()
    order[ta] = torch.where(swap, b, a)
    order[ta + 1] = torch.where(swap, a, b)
    order = order.flatten()
    for t in states:
        t[:] = t[order]


def _variance(e: np.ndarray, log_w: np.ndarray) -> float:
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    mean = w @ e
    return float(w @ (e - mean) ** 2)
