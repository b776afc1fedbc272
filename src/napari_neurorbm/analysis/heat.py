"""Heat capacity C(T) of a fitted model (seed 004; Tkacik et al. 2015).

A model gives every visible pattern an energy E(v): for the RBM the marginal energy of eq. (6) of seed 001,
H(v) = -b.v - sum_mu log(1 + exp(c_mu + (v W)_mu)); for a pairwise model -h.v - sum_{i<j} J_ij v_i v_j.
At temperature T the patterns are weighted by exp(-E(v) / T) (T = 1 is the fitted model), and
C(T) = (<E^2>_T - <E>_T^2) / (N T^2) per neuron. Small models are enumerated; larger ones are sampled at
every temperature at once, with replica exchange between neighbouring temperatures so that the cold chains do
not stick. An RBM moves by Metropolis-Hastings with a block-Gibbs proposal of the RBM whose parameters are
divided by T (two products per step, reversible for exp(b.v / T) prod_mu (1 + exp(x_mu / T)), corrected to
the target exp(b.v / T) prod_mu (1 + exp(x_mu))^(1/T)); a pairwise model by the heat-bath sweeps of the
max-ent fit (:class:`~.ising.IsingChains`) with h and J times 1 / T.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass

import numpy as np
import torch

from napari_neurorbm.analysis.ising import IsingChains
from napari_neurorbm.analysis.multiinfo import Pairwise, ising_energy
from napari_neurorbm.data.synthetic import hidden_states as all_states
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.model import RBM, hidden_free_energy
from napari_neurorbm.rbm.pcd import single_thread_workers

MAX_EXACT = 20  # enumerate up to this many visible units
# blocks of chains of an RBM, each with its own generator: the same on any number of cores (reproducible);
# a pairwise model's chains are one block (its sweeps cost the same per block whatever the chains: measured on
# a 1726-unit model, 7 s per 100 sweeps of 496 chains in 1 block, 9 in 2, 18 in 4, 32 in 8)
BLOCKS = 8
BATCHES = 5  # the measured steps are cut into this many batches; C's spread over them gives its error


@dataclass(frozen=True)
class HeatCurve:
    """C(T) per neuron on a grid of temperatures, and where it peaks; of Monte Carlo, the standard error of
    each C (batch means; None when exact)."""

    T: np.ndarray
    C: np.ndarray
    method: str
    stderr: np.ndarray | None = None

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
    """E(v) of a batch of patterns (rows), for either model: an RBM is held as a float64 copy on the CPU in
    ``rbm``, a pairwise model as its h and J (float64) in ``h`` and ``J``."""

    def __init__(self, model: RBM | Pairwise) -> None:
        if isinstance(model, Pairwise):
            self.h = torch.as_tensor(model.h, dtype=torch.float64)
            self.J = torch.as_tensor(model.J, dtype=torch.float64)
            self.rbm = None
        else:
            self.rbm = RBM(*(t.detach().cpu().double() for t in (model.W, model.b, model.c)))
            self.h = self.J = None
        self.n = len(self.h) if self.rbm is None else len(self.rbm.b)

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        return ising_energy(v, self.h, self.J) if self.rbm is None else self.rbm.free_energy(v)


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
    RBM, heat-bath sweeps of :class:`~.ising.IsingChains` for a pairwise model), each followed by a replica
    exchange between neighbouring temperatures; E is averaged after the first ``burn_in`` of the steps.
    The exchange swaps temperatures, not states: chains stay where they are (in their block of chains) and
    ``at`` says which chain holds each slot of the grid (chains of one temperature are adjacent slots).
    The standard error of each C is that of the mean of C over BATCHES consecutive batches of the measured
    steps (batch means: each batch long against the chains' correlation time)."""
    energy, T = Energy(model), np.asarray(T, dtype=np.float64)
    gen = torch.Generator().manual_seed(seed)
    slot_beta = torch.as_tensor(1 / T).repeat_interleave(chains)
    step = _stepper(energy, len(slot_beta), seed, gen)
    at, beta = torch.arange(len(slot_beta)), slot_beta.clone()  # beta: each chain's inverse temperature
    start = int(burn_in * sweeps)
    batches = max(1, min(BATCHES, sweeps - start))
    sums = np.zeros((batches, len(T), 3))
    for s in range(sweeps):
        e = step(beta)[at].double()
        _exchange((at, e), e, slot_beta, chains, gen)  # permutes the slots' chains and energies together
        beta[at] = slot_beta
        if s >= start:
            e = e.view(len(T), chains).numpy()
            sums[(s - start) * batches // (sweeps - start)] += np.c_[np.full(len(T), chains), e.sum(1),
                                                                      (e * e).sum(1)]
        yield Progress("heat capacity", s + 1, sweeps, f"sweep {s + 1}/{sweeps} at {len(T)} temperatures")
    per_batch = _heat_of_sums(sums, energy.n, T)
    stderr = per_batch.std(0, ddof=1) / np.sqrt(batches) if batches > 1 else None
    return HeatCurve(T, _heat_of_sums(sums.sum(0), energy.n, T), "monte carlo", stderr)


def _heat_of_sums(sums: np.ndarray, n: int, T: np.ndarray) -> np.ndarray:
    """C per neuron from (count, sum of E, sum of E^2) in the last axis, one row per temperature."""
    mean, second = sums[..., 1] / sums[..., 0], sums[..., 2] / sums[..., 0]
    return (second - mean**2) / (n * T**2)


def iter_heat(model: RBM | Pairwise, T: np.ndarray, **mc) -> Generator[Progress, None, HeatCurve]:
    """Exact when the model has at most 20 visible units, else Monte Carlo with tempering."""
    if Energy(model).n <= MAX_EXACT:
        return heat_exact(model, T)
    return (yield from iter_heat_mc(model, T, **mc))


def _blocks(rows: int, seed: int, blocks: int) -> list[tuple[slice, torch.Generator]]:
    """The chains cut into ``blocks`` blocks (fewer when there are fewer chains), each with a generator of
    its own: how they are cut does not depend on the machine, so a seed gives the same curve on any number of
    cores. Worker threads, one per core of torch's, step the blocks, each running torch with one thread (on
    a shared 2-core machine the small products of one step with torch's threads cost ~10x more)."""
    n = max(1, min(blocks, rows))
    return [(slice(i * rows // n, (i + 1) * rows // n), torch.Generator().manual_seed(seed + 1 + i))
            for i in range(n)]


def _stepper(energy: Energy, count: int, seed: int,
             gen: torch.Generator) -> Callable[[torch.Tensor], torch.Tensor]:
    """``count`` chains started at random sparse patterns (10 % on), in blocks stepped in parallel; the
    function returned moves every chain by one step at its inverse temperature (``beta``, one per chain) and
    returns each chain's energy E(v)."""
    blocks = _blocks(count, seed, BLOCKS if energy.rbm is not None else 1)
    pool = single_thread_workers(min(len(blocks), torch.get_num_threads()))
    start = (torch.rand(count, energy.n, generator=gen, dtype=torch.float64) < 0.1).double()
    if energy.rbm is None:
        # float32 states and fields, as the max-ent fit's: each sweep's products cost about half of float64's
        runs = [IsingChains(energy.h, energy.J, start[rows].T.float().contiguous(), g) for rows, g in blocks]
        return lambda beta: torch.cat(list(pool.map(_ising_step, runs, (beta[rows] for rows, _ in blocks))))
    v, x = start, energy.rbm.hidden_input(start)  # x kept with v: one product with W per step

    def step(beta: torch.Tensor) -> torch.Tensor:
        list(pool.map(lambda b: _block_step(energy.rbm, v[b[0]], x[b[0]], beta[b[0]], b[1]), blocks))
        return -(v @ energy.rbm.b) + hidden_free_energy(x)

    return step


def _ising_step(run: IsingChains, beta: torch.Tensor) -> torch.Tensor:
    """One heat-bath sweep of a block of chains of a pairwise model, each at its inverse temperature (h and
    J times beta); their energies E(v) after it."""
    run.sweep(beta)
    return run.energy()


def _block_step(rbm: RBM, v: torch.Tensor, x: torch.Tensor, beta: torch.Tensor, gen: torch.Generator) -> None:
    """One Metropolis-Hastings step of every chain: h then v' by block Gibbs of the RBM scaled by beta,
    accepted with min(1, exp(r(v') - r(v))), r(v) = sum_mu beta softplus(x_mu) - softplus(beta x_mu);
    ``x`` (v W + c) is updated with v."""
    bt = beta[:, None]
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


def _exchange(states: tuple[torch.Tensor, ...], e: torch.Tensor, beta: torch.Tensor, chains: int,
              gen: torch.Generator) -> None:
    """Swap what slot k of neighbouring temperatures holds with the Metropolis probability
    min(1, exp((beta_a - beta_b) (E_a - E_b))), alternating even and odd pairs of temperatures: one
    permutation of the rows of every tensor of ``states`` (the energies ``e`` among them; ``beta`` is the
    slots', fixed)."""
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
