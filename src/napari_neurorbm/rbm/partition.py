"""log Z of an RBM: exact enumeration (small layers), AIS from the W = 0 model, PTT along the checkpoints.

Each long method is a generator of progress records (``iter_*``) that returns log Z; the plain functions run
it to the end. Free energies are summed in float64 (float32 on MPS); samples come from the fast seeded
sampler.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, drain
from napari_neurorbm.rbm.model import RBM, hidden_free_energy
from napari_neurorbm.rbm.sampling import Bernoulli, Sweeper, draw_independent

MAX_EXACT_UNITS = 20


def wide(device: torch.device) -> torch.dtype:
    """The dtype sums of free energies are kept in: float64, or float32 on MPS (which has no float64)."""
    return torch.float32 if device.type == "mps" else torch.float64


def exact_cost(rbm: RBM) -> int:
    """Number of entries (states x units of the other layer) the exact sum touches; inf beyond 20 units."""
    n = min(rbm.n_visible, rbm.n_hidden)
    return 2**n * max(rbm.n_visible, rbm.n_hidden) if n <= MAX_EXACT_UNITS else math.inf


def log_z_exact(rbm: RBM, chunk_entries: int = 2**22) -> float:
    """Exact log Z by enumerating the smaller layer (at most 20 units) in chunks, float64 logsumexp."""
    nv, nh = rbm.n_visible, rbm.n_hidden
    n = min(nv, nh)
    if n > MAX_EXACT_UNITS:
        raise NeuroRBMError(
            f"exact log Z needs a layer of at most {MAX_EXACT_UNITS} units (this model has {nv} visible and "
            f"{nh} hidden); use AIS or PTT"
        )
    if rbm.device.type == "mps":
        rbm = rbm.to("cpu")
    W, b, c = (x.double() for x in (rbm.W, rbm.b, rbm.c))
    # log Z = log sum_s exp(-F(s)) over the states s of the smaller layer: the model's own visible layer, or
    # the hidden one as the visible layer of the same RBM read the other way (W^T, c, b)
    model = RBM(W, b, c) if nv < nh else RBM(W.T, c, b)
    step = max(1, chunk_entries // max(nv, nh))
    bits = 2 ** torch.arange(n, device=W.device)
    parts = []
    for start in range(0, 2**n, step):
        idx = torch.arange(start, min(start + step, 2**n), device=W.device)
        s = ((idx[:, None] & bits) > 0).double()
        parts.append(torch.logsumexp(-model.free_energy(s), 0))
    return float(torch.logsumexp(torch.stack(parts), 0))


def free_energy(rbm: RBM, frames: np.ndarray | torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """F(v) of every frame (frames x n_visible, any 0/1 dtype), in chunks, float64 on the model's device."""
    frames = torch.as_tensor(frames)
    if frames.ndim != 2 or frames.shape[1] != rbm.n_visible:
        raise NeuroRBMError(
            f"frames of shape {tuple(frames.shape)} do not fit a model of {rbm.n_visible} units"
        )
    out = [
        rbm.free_energy(frames[i : i + chunk].to(rbm.device, torch.float32)).to(wide(rbm.device))
        for i in range(0, frames.shape[0], chunk)
    ]
    return torch.cat(out) if out else torch.zeros(0, dtype=wide(rbm.device), device=rbm.device)


def loglik(rbm: RBM, frames: np.ndarray | torch.Tensor, log_z: float) -> float:
    """Mean log-likelihood per frame, in nats: -mean F(v) - log Z."""
    if len(frames) == 0:
        raise NeuroRBMError("no frames to evaluate the log-likelihood on")
    return float(-free_energy(rbm, frames).mean()) - float(log_z)


def independent_log_z(b: torch.Tensor, c: torch.Tensor) -> float:
    """log Z of the W = 0 model: sum softplus(b_i) + sum softplus(c_a) (= N_h log 2 when c = 0)."""
    return float(F.softplus(b.cpu().double()).sum() + F.softplus(c.cpu().double()).sum())


def _logmeanexp(x: torch.Tensor) -> float:
    return float(torch.logsumexp(x.to(wide(x.device)), 0)) - math.log(x.numel())


def iter_log_z_ais(
    rbm: RBM, n_chains: int = 1000, n_betas: int = 5000, base_b: torch.Tensor | None = None, seed: int = 0
) -> Generator[Progress, None, float]:
    """AIS along theta_beta = (beta W, (1 - beta) b0 + beta b, beta c), beta linear in [0, 1].

    The base model (W = 0, visible biases ``base_b``, default the model's b; c = 0) is sampled exactly and has
    log Z_0 = sum softplus(b0_i) + N_h log 2. Each step costs two products of size chains x N_v x N_h.
    """
    if n_chains < 1 or n_betas < 2:
        raise NeuroRBMError("AIS needs at least 1 chain and 2 inverse temperatures")
    b0 = rbm.b if base_b is None else torch.as_tensor(base_b, dtype=torch.float32, device=rbm.device)
    bern = Bernoulli(rbm.device, seed)
    sweeper = Sweeper(n_chains, rbm.n_visible, rbm.n_hidden, bern)
    v = draw_independent(bern, b0, torch.empty(n_chains, rbm.n_visible, device=rbm.device))
    betas = torch.linspace(0.0, 1.0, n_betas).tolist()
    bb = torch.stack([b0, rbm.b], 1)  # v @ bb gives v.b0 and v.b together
    log_w = torch.zeros(n_chains, dtype=wide(rbm.device), device=rbm.device)
    log_z0 = float(F.softplus(b0.cpu().double()).sum()) + rbm.n_hidden * math.log(2)
    report = max(1, n_betas // 100)
    for j in range(1, n_betas):
        x = torch.addmm(rbm.c, v, rbm.W)  # beta scales W and c together
        vb = v @ bb
        # F_beta(v) = -v.((1-beta) b0 + beta b) - sum softplus(beta x)
        log_w += _neg_f(vb, x, betas[j]) - _neg_f(vb, x, betas[j - 1])
        step = RBM(rbm.W * betas[j], (1 - betas[j]) * b0 + betas[j] * rbm.b, rbm.c * betas[j])
        sweeper.run(step, v, 1, x=x * betas[j])
        if j % report == 0:
            yield Progress("ais", j, n_betas - 1, f"AIS step {j}/{n_betas - 1}")
    return log_z0 + _logmeanexp(log_w)


def _neg_f(vb: torch.Tensor, x: torch.Tensor, beta: float) -> torch.Tensor:
    """-F_beta(v) of the model at inverse temperature beta, from v.b0 and v.b (``vb``) and x = v W + c."""
    acc = wide(x.device)
    return ((1 - beta) * vb[:, 0] + beta * vb[:, 1]).to(acc) - hidden_free_energy(beta * x).to(acc)


def log_z_ais(
    rbm: RBM, n_chains: int = 1000, n_betas: int = 5000, base_b: torch.Tensor | None = None, seed: int = 0
) -> float:
    """AIS estimate of log Z (see :func:`iter_log_z_ais`)."""
    return drain(iter_log_z_ais(rbm, n_chains, n_betas, base_b, seed))


def interpolate(a: RBM, b: RBM, t: float) -> RBM:
    """The model with parameters (1 - t) theta_a + t theta_b."""
    return RBM(*(x + t * (y - x) for x, y in ((a.W, b.W), (a.b, b.b), (a.c, b.c))))


def iter_log_z_ptt(
    models: Sequence[RBM],
    n_chains: int = 1000,
    sweeps: int = 200,
    seed: int = 0,
    min_ess: float = 0.5,
    max_models: int = 512,
) -> Generator[Progress, None, float]:
    """log Z of the last of ``models`` (checkpoints in training order) by parallel trajectory tempering."""
    log_zs = yield from iter_ptt_log_zs(models, n_chains, sweeps, seed, min_ess, max_models)
    return log_zs[-1]


def iter_ptt_log_zs(
    models: Sequence[RBM],
    n_chains: int = 1000,
    sweeps: int = 200,
    seed: int = 0,
    min_ess: float = 0.5,
    max_models: int = 512,
) -> Generator[Progress, None, list[float]]:
    """log Z of every one of ``models`` (checkpoints in training order) by parallel trajectory tempering.

    The path starts at the W = 0 model with the first checkpoint's biases (exact log Z and exact samples).
    A first pass anneals along the path, inserting parameter midpoints wherever consecutive models overlap
    poorly (effective sample size of the importance weights below ``min_ess``), and leaves one set of chains
    per model. Then every sweep updates all replicas and proposes exchanges between consecutive models;
    log Z_{k+1} = log Z_k + log mean exp(F_k(v) - F_{k+1}(v)) over the samples v of model k after burn-in.
    Memory: (number of models) x n_chains x N_v floats.
    """
    if not models:
        raise NeuroRBMError("PTT needs at least one model (the training checkpoints)")
    if n_chains < 2 or sweeps < 2:
        raise NeuroRBMError("PTT needs at least 2 chains and 2 sweeps")
    first = models[0]
    base = RBM(torch.zeros_like(first.W), first.b.clone(), first.c.clone())
    gen = torch.Generator(device=first.device).manual_seed(seed)
    sweeper = Sweeper(n_chains, first.n_visible, first.n_hidden, Bernoulli(first.device, seed))
    path, states, given = yield from _anneal([base, *models], n_chains, sweeper, gen, min_ess, max_models)
    n = len(path)
    acc = wide(first.device)
    lse = [torch.tensor(-math.inf, dtype=acc, device=first.device) for _ in range(n - 1)]
    counts = [0] * (n - 1)
    accepted = torch.zeros(n - 1, dtype=acc, device=first.device)
    burn_in = sweeps // 5
    for sweep in range(sweeps):
        for m, v in zip(path, states, strict=True):
            sweeper.run(m, v, 1)
        for j in range(sweep % 2, n - 1, 2):  # alternate even and odd pairs
            f_jj, f_j1 = path[j].free_energy(states[j]), path[j + 1].free_energy(states[j])
            f_11, f_1j = path[j + 1].free_energy(states[j + 1]), path[j].free_energy(states[j + 1])
            if sweep >= burn_in:
                lse[j] = torch.logaddexp(lse[j], torch.logsumexp((f_jj - f_j1).to(acc), 0))
                counts[j] += n_chains
            u = torch.rand(n_chains, device=first.device, generator=gen)
            swap = u.log() < (f_jj + f_11 - f_j1 - f_1j)
            states[j][swap], states[j + 1][swap] = states[j + 1][swap], states[j][swap]
            accepted[j] += swap.to(acc).mean() / (sweeps // 2)
        yield Progress(
            "ptt",
            sweep + 1,
            sweeps,
            f"PTT sweep {sweep + 1}/{sweeps} over {n} models",
            payload={"n_models": n},
        )
    steps = torch.stack([x - math.log(k) for x, k in zip(lse, counts, strict=True)]).cpu().numpy()
    log_z = independent_log_z(base.b, base.c) + np.r_[0.0, np.cumsum(steps)]
    rates = accepted.cpu().numpy()
    yield Progress(
        "ptt",
        sweeps,
        sweeps,
        f"PTT: {n} models, lowest exchange rate {rates.min():.2f}",
        payload={"n_models": n, "acceptance": rates.tolist()},
    )
    return [float(z) for z, g in zip(log_z, given, strict=True) if g]


def _anneal(
    path: list[RBM],
    n_chains: int,
    sweeper: Sweeper,
    gen: torch.Generator,
    min_ess: float,
    max_models: int,
    sweeps_per_model: int = 5,
) -> Generator[Progress, None, tuple[list, list, list]]:
    """Sequential importance resampling along ``path`` (the first model is W = 0), refining it where
    neighbours overlap poorly; returns the refined path, one set of chains per model, and which models of
    the refined path are the given ones (not the W = 0 start nor inserted midpoints)."""
    v = torch.empty(n_chains, path[0].n_visible, device=path[0].device)
    draw_independent(sweeper.bernoulli, path[0].b, out=v)
    out, states, given = [path[0]], [v.clone()], [False]
    todo = [(m, True) for m in path[1:]]
    while todo:
        prev, (nxt, is_given) = out[-1], todo[0]
        log_w = (prev.free_energy(v) - nxt.free_energy(v)).to(wide(v.device))
        w = torch.softmax(log_w, 0)
        if float(1.0 / (w * w).sum()) < min_ess * n_chains and len(out) + len(todo) < max_models:
            todo.insert(0, (interpolate(prev, nxt, 0.5), False))
            continue
        todo.pop(0)
        v = v[torch.multinomial(w.float(), n_chains, replacement=True, generator=gen)]
        sweeper.run(nxt, v, sweeps_per_model)
        out.append(nxt)
        states.append(v.clone())
        given.append(is_given)
        yield Progress("ptt", 0, 1, f"PTT: annealed through {len(out)} models ({len(todo)} to go)")
    return out, states, given


def log_z_ptt(models: Sequence[RBM], n_chains: int = 1000, sweeps: int = 200, seed: int = 0) -> float:
    """PTT estimate of the last model's log Z (see :func:`iter_ptt_log_zs`)."""
    return drain(iter_log_z_ptt(models, n_chains, sweeps, seed))
