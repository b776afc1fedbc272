"""Effective couplings (analysis/couplings.py) against exact enumeration of small RBMs, direct quadrature."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
import torch

from napari_neurorbm.analysis.couplings import (
    coupling_norms,
    fields_and_couplings,
    higher_order_indicator,
    iter_coupling_norms,
    iter_couplings,
    strongest_triplets,
    three_body,
)
from napari_neurorbm.analysis.statistics import random_triplets
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.model import RBM


def _model(n_visible: int, n_hidden: int, scale: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, scale, (n_visible, n_hidden))
    return W, rng.normal(-1.0, 0.5, n_visible), rng.normal(-1.0, 1.0, n_hidden)


def _log_p_unnormalised(W, b, c) -> np.ndarray:
    """-F(v) from the RBM's own free energy (float64) for all 2^N states; state index bit k is v_k."""
    n = W.shape[0]
    rbm = RBM(*(torch.as_tensor(x, dtype=torch.float64) for x in (W, b, c)))
    v = ((torch.arange(2**n)[:, None] >> torch.arange(n)) & 1).double()
    return (-rbm.free_energy(v)).numpy()


def _walsh(g: np.ndarray) -> np.ndarray:
    """All coefficients 2^-N Σ_s (Π_{k∈S} s_k) g(s), indexed by the bit mask of S (bit k set: s_k = +1)."""
    a = g.copy()
    h = 1
    while h < len(a):
        a = a.reshape(-1, 2, h)
        down, up = a[:, 0, :].copy(), a[:, 1, :].copy()
        a = np.stack([up + down, up - down], axis=1).reshape(-1)
        h *= 2
    return a / len(g)


def _exact(W, b, c):
    """Exact expansion of log p(v) = -H(s) + const in spins: (all coefficients, H, J)."""
    n = W.shape[0]
    coef = _walsh(_log_p_unnormalised(W, b, c))
    bit = 1 << np.arange(n)
    J = coef[bit[:, None] | bit[None, :]]
    np.fill_diagonal(J, 0.0)
    return coef, coef[bit], J


def _all_triplets(n: int) -> np.ndarray:
    return np.array(list(combinations(range(n), 3)))


def _triplet_coefs(coef: np.ndarray, tri: np.ndarray) -> np.ndarray:
    return coef[(1 << tri[:, 0]) | (1 << tri[:, 1]) | (1 << tri[:, 2])]


# ---------------------------------------------------------------- the oracle itself


def test_walsh_oracle_matches_the_definition_for_one_pair():
    W, b, c = _model(8, 3, 0.8)
    g = _log_p_unnormalised(W, b, c)
    s = 2 * ((np.arange(2**8)[:, None] >> np.arange(8)) & 1) - 1
    _, H, J = _exact(W, b, c)
    assert J[2, 5] == pytest.approx(np.mean(s[:, 2] * s[:, 5] * g), abs=1e-13)
    assert H[3] == pytest.approx(np.mean(s[:, 3] * g), abs=1e-13)


def test_independent_model_has_fields_b_over_2_and_no_couplings():
    W, b, c = _model(6, 2, 0.0)
    H, J = fields_and_couplings(W, b, c)
    np.testing.assert_allclose(H, b / 2, atol=1e-14)
    assert not J.any()
    np.testing.assert_allclose(_exact(W, b, c)[1], b / 2, atol=1e-12)


# ---------------------------------------------------------------- Gaussian approximation vs exact


def test_fields_and_pairs_match_exact_enumeration_for_moderate_weights():
    W, b, c = _model(14, 4, 0.5)
    _, H_ex, J_ex = _exact(W, b, c)
    H, J = fields_and_couplings(W, b, c)
    assert np.abs(H - H_ex).max() <= 0.02 * np.abs(H_ex).max()
    assert np.abs(J - J_ex).max() <= 0.02 * np.abs(J_ex).max()
    iu = np.triu_indices(14, 1)
    strong = np.abs(J_ex[iu]) > 0.1 * np.abs(J_ex).max()
    assert strong.sum() > 20
    np.testing.assert_allclose(J[iu][strong], J_ex[iu][strong], rtol=0.02)
    np.testing.assert_allclose(H, H_ex, rtol=0.02)


def test_with_no_other_spins_the_approximation_is_exact():
    """σ = 0: pairs of a 2-unit and triplets of a 3-unit model, even for strong weights and biases."""
    W, b, c = _model(2, 3, 3.0, seed=6)
    c[0] = 15.0
    _, _, J_ex = _exact(W, b, c)
    _, J = fields_and_couplings(W, b, c)
    assert J[0, 1] == pytest.approx(J_ex[0, 1], rel=1e-10)
    W, b, c = _model(3, 2, 2.0, seed=7)
    coef, _, _ = _exact(W, b, c)
    assert three_body(W, b, c, np.array([[0, 1, 2]]))[0] == pytest.approx(coef[7], rel=1e-10)


def test_no_hidden_units_means_independent_units():
    H, J = fields_and_couplings(np.zeros((4, 0)), np.arange(4.0), np.zeros(0))
    np.testing.assert_array_equal(H, np.arange(4.0) / 2)
    assert not J.any()


def test_three_body_matches_exact_enumeration_for_moderate_weights():
    W, b, c = _model(12, 4, 0.5, seed=1)
    coef, _, _ = _exact(W, b, c)
    tri = _all_triplets(12)
    exact = _triplet_coefs(coef, tri)
    J3 = three_body(W, b, c, tri)
    assert np.abs(J3 - exact).max() <= 0.02 * np.abs(exact).max()
    strong = np.abs(exact) > 0.2 * np.abs(exact).max()
    np.testing.assert_allclose(J3[strong], exact[strong], rtol=0.02)


def test_the_approximation_degrades_for_strong_weights():
    """Documents the Gaussian approximation's limits at N = 14: the worst relative error over the strong
    couplings (|J| > 10% of the largest) is ~1% for W ~ N(0, 0.5²), ~7% for N(0, 1) and ~16% for N(0, 2²),
    because 12 spins times weights of order 1 make a sum far from Gaussian. Signs stay right."""
    errors = []
    for scale in (0.5, 1.0, 2.0):
        W, b, c = _model(14, 4, scale)
        _, _, J_ex = _exact(W, b, c)
        _, J = fields_and_couplings(W, b, c)
        iu = np.triu_indices(14, 1)
        strong = np.abs(J_ex[iu]) > 0.1 * np.abs(J_ex).max()
        errors.append(np.max(np.abs(J[iu][strong] - J_ex[iu][strong]) / np.abs(J_ex[iu][strong])))
        assert np.all(np.sign(J[iu][strong]) == np.sign(J_ex[iu][strong]))
    assert errors[0] < 0.02 < errors[1] < errors[2]
    assert errors[2] < 0.5


def _direct_gaussian_pair(w, c_hat, var, i, j, n_z=24001):
    """J^a_ij of the definition, by a fine trapezoid over z of E softplus(ĉ ± ŵ_i ± ŵ_j + σ_ij z), summed."""
    z = np.linspace(-12, 12, n_z)
    pdf = np.exp(-z * z / 2) / np.sqrt(2 * np.pi) * (z[1] - z[0])
    total = 0.0
    for a in range(w.shape[1]):
        sigma = np.sqrt(max(var[a] - w[i, a] ** 2 - w[j, a] ** 2, 0.0))
        for si in (1, -1):
            for sj in (1, -1):
                mu = c_hat[a] + si * w[i, a] + sj * w[j, a]
                total += si * sj / 4 * np.sum(np.logaddexp(0.0, mu + sigma * z) * pdf)
    return total


def test_pairs_match_direct_quadrature_of_the_gaussian_approximation():
    W, b, c = _model(40, 3, 0.8, seed=2)
    W[0, 0] = 20.0  # one weight dominating its hidden unit: the split Gaussian factor would overflow
    w, c_hat = W / 2, c + W.sum(0) / 2
    var = (w * w).sum(0)
    _, J = fields_and_couplings(W, b, c)
    assert np.isfinite(J).all()
    for i, j in [(0, 1), (0, 17), (3, 9), (21, 38)]:
        assert J[i, j] == pytest.approx(_direct_gaussian_pair(w, c_hat, var, i, j), rel=1e-9, abs=1e-14)


def test_couplings_are_symmetric_float64_with_zero_diagonal():
    W, b, c = _model(30, 5, 0.7)
    H, J = fields_and_couplings(torch.as_tensor(W, dtype=torch.float32), b.tolist(), c)
    assert H.dtype == J.dtype == np.float64
    assert H.shape == (30,) and J.shape == (30, 30)
    np.testing.assert_array_equal(J, J.T)
    assert not np.diag(J).any()


def test_iter_couplings_reports_progress_and_blocks_do_not_change_the_result():
    W, b, c = _model(20, 6, 0.5)
    gen = iter_couplings(W, b, c, chunk=1)
    steps = []
    while True:
        try:
            steps.append(next(gen))
        except StopIteration as stop:
            H, J = stop.value
            break
    assert all(isinstance(p, Progress) and p.stage == "couplings" and p.total == 6 for p in steps)
    assert [p.done for p in steps] == sorted(p.done for p in steps) and steps[-1].done == 6
    assert len(steps) == 6
    H2, J2 = fields_and_couplings(W, b, c, chunk=100_000)
    np.testing.assert_allclose(H, H2, rtol=0, atol=1e-14)
    np.testing.assert_allclose(J, J2, rtol=0, atol=1e-15)


def test_one_hidden_unit_per_area_gives_positive_within_area_couplings():
    areas = np.repeat(["VISp", "CA1", "LGd"], 5)
    W = np.zeros((15, 3))
    for a in range(3):
        W[areas == areas[5 * a], a] = np.linspace(0.6, 1.2, 5)
    b, c = np.full(15, -1.0), np.full(3, -2.0)
    _, J = fields_and_couplings(W, b, c)
    same = (areas[:, None] == areas[None, :]) & ~np.eye(15, dtype=bool)
    assert (J[same] > 0).all()
    assert not J[~same].any()
    _, _, J_ex = _exact(W, b, c)
    np.testing.assert_allclose(J[same], J_ex[same], rtol=0.02)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_cuda_gives_the_cpu_numbers():
    W, b, c = _model(50, 8, 0.6)
    H, J = fields_and_couplings(W, b, c, device="cpu")
    Hg, Jg = fields_and_couplings(W, b, c, device="cuda")
    np.testing.assert_allclose(Hg, H, atol=1e-12)
    np.testing.assert_allclose(Jg, J, atol=1e-12)
    tri = random_triplets(50, 30)
    np.testing.assert_allclose(three_body(W, b, c, tri, device="cuda"), three_body(W, b, c, tri), atol=1e-12)


# ---------------------------------------------------------------- triplets


def test_strongest_triplets_finds_the_largest_three_body_couplings():
    W, b, c = _model(12, 4, 0.6, seed=3)
    _, J = fields_and_couplings(W, b, c)
    tri, J3 = strongest_triplets(W, b, c, J, 5)
    everything = three_body(W, b, c, _all_triplets(12))
    np.testing.assert_allclose(np.abs(J3), np.sort(np.abs(everything))[::-1][:5], rtol=1e-12)
    assert (tri[:, 0] < tri[:, 1]).all() and (tri[:, 1] < tri[:, 2]).all()
    np.testing.assert_allclose(J3, three_body(W, b, c, tri), rtol=1e-12)
    assert strongest_triplets(W, b, c, J, 0)[0].shape == (0, 3)


def test_the_triplet_norm_averages_over_the_one_triplet_sampler():
    """The eq. (14) triplet norm is the root mean square of J3 over statistics.random_triplets' draw (distinct
    triplets; all of them when there are few), the same sampler as Fig. 3's three-point correlations."""
    W, b, c = _model(9, 3, 0.8, seed=4)
    tri = random_triplets(9, 30, seed=5)
    assert len(np.unique(tri, axis=0)) == 30
    norms = coupling_norms(W, b, c, n_triplets=30, seed=5)
    assert norms["triplets"] == pytest.approx(np.sqrt(np.mean(three_body(W, b, c, tri) ** 2)), rel=1e-12)
    everything = three_body(W, b, c, _all_triplets(9))
    exact = coupling_norms(W, b, c, n_triplets=84, seed=5)["triplets"]  # C(9, 3) = 84: every triplet once
    assert exact == pytest.approx(np.sqrt(np.mean(everything**2)), rel=1e-12)


# ---------------------------------------------------------------- R_ij (eqs. 10-11)


def _exact_local_couplings(W, b, c, i, j) -> np.ndarray:
    """T_ij(s') = ¼ Σ s_i s_j [-H] for every configuration s' of the other spins, by enumeration."""
    n = W.shape[0]
    g = _log_p_unnormalised(W, b, c).reshape([2] * n)  # axis n-1-k is v_k
    sign = np.array([-1.0, 1.0])
    g = np.moveaxis(g, [n - 1 - i, n - 1 - j], [0, 1])
    return np.einsum("a,b,ab...->...", sign, sign, g).ravel() / 4


def test_higher_order_indicator_matches_exact_enumeration():
    W, b, c = _model(10, 3, 0.9, seed=4)
    pairs = np.array([[0, 1], [2, 7], [9, 4]])
    R = higher_order_indicator(W, b, c, pairs, n_samples=20_000, seed=1)
    _, _, J_ex = _exact(W, b, c)
    for (i, j), r in zip(pairs, R, strict=True):
        local = _exact_local_couplings(W, b, c, i, j)
        assert local.mean() == pytest.approx(J_ex[i, j], abs=1e-13)
        assert r == pytest.approx(local.std(), rel=0.05)
        assert r > 0.05 * abs(J_ex[i, j])


def test_purely_pairwise_interaction_has_zero_indicator():
    W = np.zeros((6, 2))
    W[[0, 1], 0] = [1.5, -0.8]  # hidden unit 0 sees only units 0 and 1: their coupling ignores the rest
    W[[2, 3, 4], 1] = [1.0, 1.2, 0.9]  # hidden unit 1 couples 2, 3, 4 beyond pairs
    b, c = np.zeros(6), np.array([-0.5, -1.0])
    R = higher_order_indicator(W, b, c, np.array([[0, 1], [2, 3]]), n_samples=500)
    assert R[0] < 1e-14
    assert R[1] > 1e-3


# ---------------------------------------------------------------- norms (eq. 14, Fig. 4e)


def test_coupling_norms_are_root_mean_squares_over_tuples():
    W, b, c = _model(10, 3, 0.8, seed=5)
    H, J = fields_and_couplings(W, b, c)
    every = three_body(W, b, c, _all_triplets(10))
    norms = coupling_norms(W, b, c, n_triplets=20_000, seed=2)
    assert norms["fields"] == pytest.approx(np.sqrt(np.mean(H**2)), rel=1e-12)
    assert norms["pairs"] == pytest.approx(np.sqrt(np.mean(J[np.triu_indices(10, 1)] ** 2)), rel=1e-12)
    assert norms["triplets"] == pytest.approx(np.sqrt(np.mean(every**2)), rel=0.05)


def test_norms_along_checkpoints_grow_with_the_weights():
    W, b, c = _model(12, 3, 1.0)
    checkpoints = [(u, RBM.from_numpy(W * f, b, c)) for u, f in ((0, 0.1), (10, 0.5), (100, 1.0))]
    gen = iter_coupling_norms(checkpoints, n_triplets=200)
    seen = []
    while True:
        try:
            seen.append(next(gen).done)
        except StopIteration as stop:
            table = stop.value
            break
    assert seen == [1, 2, 3]
    assert list(table.columns) == ["update", "fields", "pairs", "triplets"]
    assert table["update"].tolist() == [0, 10, 100]
    assert table["pairs"].is_monotonic_increasing and table["triplets"].is_monotonic_increasing


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda W, b, c: fields_and_couplings(W[:, :2], b, c), "shapes do not match"),
        (lambda W, b, c: fields_and_couplings(np.where(W > 1, np.nan, W), b, c), "non-finite"),
        (lambda W, b, c: fields_and_couplings(W, b, c, chunk=0), "chunk"),
        (lambda W, b, c: three_body(W, b, c, np.array([[0, 1, 1]])), "three different"),
        (lambda W, b, c: three_body(W, b, c, np.array([[0, 1, 8]])), "lie in 0..7"),
        (lambda W, b, c: three_body(W, b, c, np.array([[0.0, 1.0, 2.0]])), "integer array"),
        (lambda W, b, c: higher_order_indicator(W, b, c, np.array([[3, 3]])), "two different"),
        (lambda W, b, c: higher_order_indicator(W, b, c, np.array([[0, 1, 2]])), "shape (n, 2)"),
        (lambda W, b, c: higher_order_indicator(W, b, c, np.array([[0, 1]]), n_samples=1), "n_samples"),
        (lambda W, b, c: strongest_triplets(W, b, c, np.zeros((8, 8)), -1), "at least 0"),
        (lambda W, b, c: strongest_triplets(W, b, c, np.zeros((7, 7)), 3), "8 visible units"),
        (lambda W, b, c: fields_and_couplings(W, b, c, device="tpu"), "unknown device"),
    ],
)
def test_bad_input_is_a_one_line_error(call, message):
    W, b, c = _model(8, 3, 1.0)
    with pytest.raises(NeuroRBMError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(W, b, c)
