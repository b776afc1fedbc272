"""Heat capacity C(T): enumeration against a direct formula, Monte Carlo with tempering against it."""

import numpy as np
import pytest
import torch

from napari_neurorbm.analysis import heat as H
from napari_neurorbm.analysis.multiinfo import Pairwise, all_states
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.model import RBM


def small_rbm(nv=12, nh=4, seed=0):
    rng = np.random.default_rng(seed)
    return RBM.from_numpy(rng.normal(0, 0.8, (nv, nh)), rng.normal(-1, 0.5, nv), rng.normal(0, 0.5, nh))


def test_exact_energy_is_the_rbm_marginal_energy_and_c_its_variance():
    rbm = small_rbm(6, 3)
    W, b, c = rbm.numpy()
    v, h = all_states(6), all_states(3)
    # E(v) = -log sum_h exp(v.b + h.c + v W h): the marginal energy of eq. (6)
    log_w = v @ b[:, None] + h @ c + v @ W @ h.T
    e = -np.log(np.exp(log_w).sum(axis=1))
    np.testing.assert_allclose(H.Energy(rbm)(torch.as_tensor(v)).numpy(), e, atol=1e-5)
    t = 1.3
    p = np.exp(-e / t) / np.exp(-e / t).sum()
    expected = (p @ e**2 - (p @ e) ** 2) / (6 * t * t)
    assert H.heat_exact(rbm, np.array([t])).C[0] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("model, sweeps, chains", [(small_rbm(), 1000, 128), ("pairwise", 400, 512)])
def test_monte_carlo_with_tempering_matches_enumeration_within_2_percent(model, sweeps, chains):
    if model == "pairwise":
        rng = np.random.default_rng(2)
        J = np.triu(rng.normal(0, 0.5, (12, 12)), 1)
        model = Pairwise(rng.normal(-1, 0.5, 12), J + J.T)
    T = H.temperatures(0.5, 2.0, 5)
    exact = H.heat_exact(model, T)
    mc = drain(H.iter_heat_mc(model, T, sweeps=sweeps, chains=chains, seed=3))
    np.testing.assert_allclose(mc.C, exact.C, rtol=0.02)
    assert mc.peak_T == exact.peak_T


def test_bad_temperatures_and_oversized_enumeration_are_one_line_errors():
    with pytest.raises(NeuroRBMError, match="0 < t_min"):
        H.temperatures(0.0, 2.0, 31)
    with pytest.raises(NeuroRBMError, match="at most 20 units"):
        H.heat_exact(small_rbm(21, 2), np.array([1.0]))


def _pairwise12(seed: int = 2) -> Pairwise:
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0, 0.5, (12, 12)), 1)
    return Pairwise(rng.normal(-1, 0.5, 12), J + J.T)


@pytest.mark.parametrize("model", [small_rbm(), _pairwise12()], ids=["rbm", "pairwise"])
def test_a_seed_gives_the_same_curve_on_any_number_of_cores(model):
    T = H.temperatures(0.5, 2.0, 7)
    before = torch.get_num_threads()
    curves = []
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            curves.append(drain(H.iter_heat_mc(model, T, sweeps=40, chains=20, seed=5)))
    finally:
        torch.set_num_threads(before)
    for c in curves[1:]:
        np.testing.assert_array_equal(c.C, curves[0].C)
        np.testing.assert_array_equal(c.stderr, curves[0].stderr)


@pytest.mark.parametrize("model", [small_rbm(), _pairwise12()], ids=["rbm", "pairwise"])
def test_the_standard_error_is_the_size_of_the_monte_carlo_error(model):
    T = H.temperatures(0.5, 2.0, 16)
    exact = H.heat_exact(model, T).C
    mc = drain(H.iter_heat_mc(model, T, sweeps=200, chains=16, seed=7))
    z = np.abs(mc.C - exact) / mc.stderr
    # the error over its estimate follows Student's t with BATCHES - 1 = 4 degrees of freedom: median |t| is
    # 0.74, and |t| > 4.6 has probability 0.01; an error bar 10 times too large or too small fails
    assert 0.15 < np.median(z) < 2.5
    assert (z > 4.6).sum() <= 1
    assert H.heat_exact(model, T).stderr is None
