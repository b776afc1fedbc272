"""The Gibbs engine (rbm/sampling.Sweeper) against exact answers on small models: its stationary and clamped
distributions against enumeration, its kernels against each other on the same random numbers, its
conditionals, its independent start, and the one free energy."""

import itertools

import numpy as np
import pytest
import torch

from napari_neurorbm.rbm.model import RBM, hidden_free_energy
from napari_neurorbm.rbm.sampling import (
    Bernoulli,
    Clamp,
    Sweeper,
    draw_independent,
    sample_hidden,
    sample_visible,
    seed_from,
)

KERNELS = {"dense": False, "sparse": True, "auto": None}


def small_rbm(nv: int = 6, nh: int = 3, seed: int = 0) -> RBM:
    g = np.random.default_rng(seed)
    return RBM.from_numpy(g.normal(0, 1.0, (nv, nh)), g.normal(-0.5, 0.5, nv), g.normal(0, 0.5, nh))


def dyadic_rbm(nv: int, nh: int, seed: int) -> RBM:
    """Parameters on a grid of 1/32: every sum of a few of them is exact in float32, in any order."""
    g = np.random.default_rng(seed)
    return RBM(*(torch.as_tensor(g.integers(lo, hi, shape) / 32, dtype=torch.float32)
                 for lo, hi, shape in ((-32, 32, (nv, nh)), (-96, 0, nv), (-32, 32, nh))))


def enumerated(rbm: RBM) -> tuple[np.ndarray, np.ndarray]:
    """Every visible state and P(v) ∝ sum_h exp(-E(v, h)), summed over the hidden states explicitly."""
    W, b, c = rbm.numpy()
    vs = np.array(list(itertools.product([0, 1], repeat=rbm.n_visible)), dtype=np.float64)
    hs = np.array(list(itertools.product([0, 1], repeat=rbm.n_hidden)), dtype=np.float64)
    joint = np.exp(vs @ W @ hs.T + (vs @ b)[:, None] + (hs @ c)[None, :])
    p = joint.sum(1)
    return vs, p / p.sum()


def histogram(v: torch.Tensor) -> np.ndarray:
    code = v.numpy().astype(np.int64) @ (2 ** np.arange(v.shape[1])[::-1])
    return np.bincount(code, minlength=2 ** v.shape[1]) / len(code)


@pytest.mark.parametrize("kernel", KERNELS)
def test_long_chains_reach_the_enumerated_distribution_of_a_6x3_model(kernel):
    rbm = small_rbm()
    states, p = enumerated(rbm)
    n = 20000
    sweeper = Sweeper(n, 6, 3, Bernoulli("cpu", 1), sparse=KERNELS[kernel])
    v = sweeper.run(rbm, torch.ones(n, 6), 40)  # from the all-on state, far from typical
    assert set(v.unique().tolist()) <= {0.0, 1.0}
    emp = histogram(v)
    assert np.abs(emp - p).sum() < 0.05  # total variation over the 64 states (noise ~ 0.02)
    np.testing.assert_allclose(v.mean(0).numpy(), p @ states, atol=0.015)


@pytest.mark.parametrize("kernel", KERNELS)
def test_clamped_units_never_move_and_the_rest_follows_the_enumerated_conditional(kernel):
    rbm = small_rbm(seed=1)
    states, p = enumerated(rbm)
    n, units = 20000, np.array([1, 4])
    values = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).repeat(n // 2, 1)  # two patterns, alternating chains
    sweeper = Sweeper(n, 6, 3, Bernoulli("cpu", 2), sparse=KERNELS[kernel])
    v = torch.zeros(n, 6)
    for _ in range(30):  # several runs on one engine, as generation in time does
        sweeper.run(rbm, v, 1, clamp=Clamp(units, values))
        assert torch.equal(v[:, units], values)
    for row in (0, 1):
        pattern = values[row].numpy()
        keep = np.all(states[:, units] == pattern, axis=1)
        cond = p[keep] / p[keep].sum()
        np.testing.assert_allclose(v[row::2].mean(0).numpy(), cond @ states[keep], atol=0.02)


def test_sparse_and_dense_kernels_draw_identical_chains_from_the_same_stream():
    rbm = dyadic_rbm(40, 7, seed=3)
    start = (torch.rand(500, 40, generator=torch.Generator().manual_seed(0)) < 0.1).float()
    runs = {}
    for name, sparse in KERNELS.items():
        sweeper = Sweeper(500, 40, 7, Bernoulli("cpu", 9), sparse=sparse)
        runs[name] = sweeper.run(rbm, start.clone(), 12, keep_p=True), sweeper.p_v.clone(), sweeper.h.clone()
    for name in ("sparse", "auto"):
        for a, b in zip(runs["dense"], runs[name], strict=True):
            assert torch.equal(a, b)
    assert 0.02 < float(runs["dense"][0].mean()) < 0.5  # the chains moved and stayed sparse-ish


def test_hidden_input_is_v_w_plus_c_exactly_by_both_kernels():
    rbm = dyadic_rbm(30, 5, seed=4)
    v = (torch.rand(64, 30, generator=torch.Generator().manual_seed(1)) < 0.2).float()
    want = v.double() @ rbm.W.double() + rbm.c.double()
    for sparse in KERNELS.values():
        x = Sweeper(64, 30, 5, Bernoulli("cpu", 0), sparse=sparse).hidden_input(rbm, v)
        assert torch.equal(x.double(), want)


def test_a_given_first_input_and_keep_p_are_exact():
    """x given to run() replaces the first product (AIS and training pass it); with keep_p the engine's p_v
    is p(v | h) of the last hidden draw, and the chains are the draws from it."""
    rbm = small_rbm(8, 4, seed=5)
    v0 = (torch.rand(300, 8, generator=torch.Generator().manual_seed(2)) < 0.3).float()
    plain = Sweeper(300, 8, 4, Bernoulli("cpu", 4)).run(rbm, v0.clone(), 3)
    given = Sweeper(300, 8, 4, Bernoulli("cpu", 4))
    assert torch.equal(given.run(rbm, v0.clone(), 3, x=rbm.hidden_input(v0), keep_p=True), plain)
    torch.testing.assert_close(given.p_v, rbm.p_v(given.h), rtol=0, atol=1e-6)


def test_one_half_sweep_each_way_matches_the_enumerated_conditionals():
    rbm = small_rbm(3, 2, seed=6)
    W, b, c = rbm.numpy()
    vs = np.array(list(itertools.product([0, 1], repeat=3)), dtype=np.float64)
    hs = np.array(list(itertools.product([0, 1], repeat=2)), dtype=np.float64)
    joint = np.exp(vs @ W @ hs.T + (vs @ b)[:, None] + (hs @ c)[None, :])
    ph_given_v = (joint[:, :, None] * hs[None]).sum(1) / joint.sum(1, keepdims=True)
    pv_given_h = (joint.T[:, :, None] * vs[None]).sum(1) / joint.sum(0)[:, None]
    n = 40000
    tol = 5 * np.sqrt(0.25 / n)
    gen = torch.Generator().manual_seed(3)
    for i, v in enumerate(vs):
        h = sample_hidden(rbm, torch.tensor(v, dtype=torch.float32).expand(n, 3), gen)
        np.testing.assert_allclose(h.mean(0).numpy(), ph_given_v[i], atol=tol)
    clamp = Clamp(np.array([1]), torch.tensor([1.0]))
    for j, h in enumerate(hs):
        v = sample_visible(rbm, torch.tensor(h, dtype=torch.float32).expand(n, 2), gen, clamp=clamp)
        want = pv_given_h[j].copy()
        want[1] = 1.0
        np.testing.assert_allclose(v.mean(0).numpy(), want, atol=tol)


def test_visible_draws_into_a_mask_are_the_float_draws():
    rbm = small_rbm(10, 4, seed=7)
    h = (torch.rand(200, 4, generator=torch.Generator().manual_seed(4)) < 0.5).float()
    floats = Sweeper(200, 10, 4, Bernoulli("cpu", 6)).visible(rbm, h, out=torch.empty(200, 10))
    mask = torch.empty(200, 10, dtype=torch.bool)
    Sweeper(200, 10, 4, Bernoulli("cpu", 6)).visible(rbm, h, out=mask)
    assert torch.equal(mask.float(), floats)


def test_independent_start_has_the_sigmoid_of_the_biases_as_means():
    b = torch.tensor([-4.0, -1.0, 0.0, 2.0])
    n = 100000
    v = draw_independent(Bernoulli("cpu", 8), b, out=torch.empty(n, 4))
    np.testing.assert_allclose(v.mean(0).numpy(), torch.sigmoid(b).numpy(), atol=5 * np.sqrt(0.25 / n))
    # the units are independent: the connected correlations vanish
    cov = np.cov(v.numpy().T)
    assert np.abs(cov - np.diag(np.diag(cov))).max() < 5 / np.sqrt(n)


def test_seed_from_makes_one_off_calls_reproducible():
    rbm = small_rbm()
    draws = [sample_hidden(rbm, torch.ones(50, 6), torch.Generator().manual_seed(5)) for _ in range(2)]
    assert torch.equal(*draws)
    assert seed_from(torch.Generator().manual_seed(5)) == seed_from(torch.Generator().manual_seed(5))
    assert seed_from(torch.Generator().manual_seed(5)) != seed_from(torch.Generator().manual_seed(6))


def test_the_one_free_energy_is_minus_log_of_the_enumerated_hidden_sum():
    rbm = small_rbm(5, 4, seed=8)
    W, b, c = rbm.numpy()
    vs = np.array(list(itertools.product([0, 1], repeat=5)), dtype=np.float64)
    hs = np.array(list(itertools.product([0, 1], repeat=4)), dtype=np.float64)
    want = -np.log(np.exp(vs @ W @ hs.T + (vs @ b)[:, None] + (hs @ c)[None, :]).sum(1))
    v = torch.tensor(vs, dtype=torch.float32)
    np.testing.assert_allclose(rbm.free_energy(v).numpy(), want, rtol=1e-5, atol=1e-5)
    x = rbm.hidden_input(v)
    np.testing.assert_allclose(hidden_free_energy(x).numpy(), want + vs @ b, rtol=1e-5, atol=1e-5)
    total = float(hidden_free_energy(x, dim=None))
    assert total == pytest.approx(float(hidden_free_energy(x).sum()), rel=1e-6)
