"""Block Gibbs sampling against exact enumeration on a tiny RBM, with and without clamped units."""

import itertools

import numpy as np
import pytest
import torch

from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm import sampling
from napari_neurorbm.rbm.model import RBM
from napari_neurorbm.rbm.sampling import (
    Bernoulli,
    Clamp,
    active_units,
    binary_matmul,
    gibbs,
    sample_hidden,
    sample_visible,
)


def tiny_rbm(nv=5, nh=3, seed=0) -> RBM:
    g = np.random.default_rng(seed)
    return RBM.from_numpy(g.normal(0, 1.0, (nv, nh)), g.normal(0, 0.5, nv), g.normal(0, 0.5, nh))


def exact_visible_distribution(rbm: RBM) -> tuple[np.ndarray, np.ndarray]:
    """All visible states and their probabilities, from the free energy."""
    states = np.array(list(itertools.product([0, 1], repeat=rbm.n_visible)), dtype=np.float64)
    W, b, c = rbm.numpy()
    neg_f = states @ b + np.logaddexp(0, states @ W + c).sum(1)
    p = np.exp(neg_f - neg_f.max())
    return states, p / p.sum()


def test_conditionals_match_joint_enumeration():
    rbm = tiny_rbm(nv=3, nh=2)
    W, b, c = rbm.numpy()
    vs = np.array(list(itertools.product([0, 1], repeat=3)), dtype=np.float64)
    hs = np.array(list(itertools.product([0, 1], repeat=2)), dtype=np.float64)
    logp = (vs @ W @ hs.T) + (vs @ b)[:, None] + (hs @ c)[None, :]  # unnormalised log p(v, h)
    joint = np.exp(logp)
    ph_given_v = (joint[:, :, None] * hs[None]).sum(1) / joint.sum(1, keepdims=True)
    pv_given_h = (joint.T[:, :, None] * vs[None]).sum(1) / joint.sum(0)[:, None]
    np.testing.assert_allclose(rbm.p_h(torch.tensor(vs, dtype=torch.float32)).numpy(), ph_given_v, rtol=1e-5)
    np.testing.assert_allclose(rbm.p_v(torch.tensor(hs, dtype=torch.float32)).numpy(), pv_given_h, rtol=1e-5)
    # F(v) = -log sum_h exp(-E(v, h))
    f = rbm.free_energy(torch.tensor(vs, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(f, -np.log(joint.sum(1)), rtol=1e-5, atol=1e-5)


@pytest.fixture(params=["dense", "sparse"])
def kernel(request, monkeypatch) -> str:
    """Both ways of computing v W + c on a CPU, whatever the states' activity."""
    monkeypatch.setattr(sampling, "SPARSE_MAX", 1.0 if request.param == "sparse" else -1.0)
    return request.param


def test_gibbs_stationary_distribution_matches_exact(kernel):
    rbm = tiny_rbm()
    states, p = exact_visible_distribution(rbm)
    gen = torch.Generator().manual_seed(1)
    v = gibbs(rbm, torch.zeros(20000, rbm.n_visible), 30, generator=gen)
    np.testing.assert_allclose(v.mean(0).numpy(), p @ states, atol=0.015)
    # full joint histogram over the 32 states
    code = (v.numpy() @ (2 ** np.arange(rbm.n_visible)[::-1])).astype(int)
    emp = np.bincount(code, minlength=len(p)) / len(code)
    assert np.abs(emp - p).sum() < 0.05


def test_clamped_units_never_move_and_rest_follows_the_conditional(kernel):
    rbm = tiny_rbm()
    states, p = exact_visible_distribution(rbm)
    clamp = Clamp(np.array([0, 3]), torch.tensor([1.0, 0.0]))
    gen = torch.Generator().manual_seed(2)
    v = gibbs(rbm, torch.zeros(20000, rbm.n_visible), 30, generator=gen, clamp=clamp)
    assert (v[:, 0] == 1).all() and (v[:, 3] == 0).all()
    keep = (states[:, 0] == 1) & (states[:, 3] == 0)
    cond = p[keep] / p[keep].sum()
    np.testing.assert_allclose(v.mean(0).numpy(), cond @ states[keep], atol=0.015)


def test_per_chain_clamp_values_and_single_steps():
    rbm = tiny_rbm()
    vals = torch.tensor([[0.0], [1.0]]).repeat(50, 1)
    clamp = Clamp(np.array([2]), vals)
    gen = torch.Generator().manual_seed(3)
    h = sample_hidden(rbm, torch.ones(100, rbm.n_visible), gen)
    assert h.shape == (100, rbm.n_hidden) and set(h.unique().tolist()) <= {0.0, 1.0}
    v = sample_visible(rbm, h, gen, clamp=clamp)
    assert torch.equal(v[:, 2], vals[:, 0])
    v = gibbs(rbm, v, 3, gen, clamp=clamp)
    assert torch.equal(v[:, 2], vals[:, 0])


def test_seeded_sampling_is_reproducible():
    rbm = tiny_rbm()
    run = [gibbs(rbm, torch.zeros(64, 5), 5, torch.Generator().manual_seed(7)) for _ in range(2)]
    assert torch.equal(*run)


def test_bad_clamp_is_a_clear_error():
    with pytest.raises(NeuroRBMError, match="clamp"):
        Clamp(np.array([0, 1]), torch.tensor([1.0]))
    with pytest.raises(NeuroRBMError, match="out of range"):
        gibbs(tiny_rbm(), torch.zeros(4, 5), 1, clamp=Clamp(np.array([9]), torch.tensor([1.0])))


def test_fast_bernoulli_probabilities_and_seeding():
    p = torch.tensor([0.0, 1.0, 1e-3, 0.25, 0.5, 0.999]).repeat(200000, 1)
    out = torch.empty_like(p)
    Bernoulli("cpu", 11).draw(p, out=out)
    freq = out.mean(0).numpy()
    assert freq[0] == 0.0 and freq[1] == 1.0
    np.testing.assert_allclose(freq[2:], [1e-3, 0.25, 0.5, 0.999], atol=4 * np.sqrt(0.25 / 200000))
    again = torch.empty_like(p)
    Bernoulli("cpu", 11).draw(p, out=again)
    assert torch.equal(out, again)
    assert not torch.equal(out, Bernoulli("cpu", 12).draw(p, out=torch.empty_like(p)))


def test_bool_mask_draws_are_the_float_draws_and_keep_p_keeps_p():
    p = torch.rand(300, 70) * torch.linspace(0, 1, 70)
    p[:, 0], p[:, -1] = 0.0, 1.0
    floats = Bernoulli("cpu", 5).draw(p.clone(), out=torch.empty_like(p))
    mask = torch.empty(p.shape, dtype=torch.bool)
    kept = p.clone()
    Bernoulli("cpu", 5).draw_mask(kept, out=mask, keep_p=True)
    assert torch.equal(kept, p)  # the probabilities survive (the gradient reads them)
    assert torch.equal(mask.float(), floats)
    assert not mask[:, 0].any() and mask[:, -1].all()


def test_active_units_and_binary_matmul_match_the_dense_product():
    g = torch.Generator().manual_seed(0)
    mask = torch.rand(50, 40, generator=g) < 0.1
    mask[3] = False  # a silent chain
    mask[7] = True  # every unit on
    weight = torch.randn(40, 9, generator=g)
    units, offsets = active_units(mask)
    rows = torch.repeat_interleave(torch.arange(50), torch.diff(offsets, append=torch.tensor([len(units)])))
    assert torch.equal(torch.stack([rows, units], 1), mask.nonzero())
    assert offsets[0] == 0 and offsets[4] == offsets[3]
    torch.testing.assert_close(binary_matmul(mask, weight), mask.float() @ weight, rtol=0, atol=1e-5)
    assert torch.equal(binary_matmul(torch.zeros(4, 40, dtype=torch.bool), weight), torch.zeros(4, 9))


def test_sparse_and_dense_hidden_inputs_give_identical_chains(monkeypatch):
    """Dyadic parameters make every sum exact in float32: from one seed both kernels draw the same chains."""
    g = np.random.default_rng(4)
    rbm = RBM(*(torch.as_tensor(g.integers(lo, hi, shape) / 32, dtype=torch.float32)
                for lo, hi, shape in ((-32, 32, (30, 7)), (-128, 0, 30), (-32, 32, 7))))
    start = torch.as_tensor(g.random((300, 30)) < 0.1, dtype=torch.float32)
    runs = []
    for limit in (-1.0, 1.0):
        monkeypatch.setattr(sampling, "SPARSE_MAX", limit)
        runs.append(gibbs(rbm, start, 8, torch.Generator().manual_seed(5)))
    assert torch.equal(*runs) and 0.02 < float(runs[0].mean()) < 0.5
