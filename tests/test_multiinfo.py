"""I2/IN: the exact pairwise fit, entropies and a model's group marginal against enumeration."""

import numpy as np
import pytest

from napari_neurorbm.analysis import multiinfo as M
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import drain


def known_pairwise(n, seed=0):
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0, 0.6, (n, n)), 1)
    return M.Pairwise(rng.normal(-1.5, 0.5, n), J + J.T)


def exact_moments(model):
    p = np.exp(model.log_p())
    s = M.all_states(len(model.h))
    return s.T @ p, (s * p[:, None]).T @ s


def draw(model, n_frames, seed=1):
    rng = np.random.default_rng(seed)
    s = M.all_states(len(model.h))
    return s[rng.choice(len(s), n_frames, p=np.exp(model.log_p()))]


def test_the_fit_to_exact_moments_recovers_the_model_of_12_units():
    truth = known_pairwise(12)
    means, pairs = exact_moments(truth)
    fit = M.fit_pairwise(means, pairs)
    fm, fp = exact_moments(fit)
    assert np.abs(fm - means).max() < 1e-5 and np.abs(fp - pairs).max() < 1e-5
    np.testing.assert_allclose(fit.h, truth.h, atol=1e-3)
    np.testing.assert_allclose(fit.J, truth.J, atol=1e-3)
    assert fit.entropy() == pytest.approx(truth.entropy(), abs=1e-6)


def test_entropies_of_simple_distributions():
    free = M.Pairwise(np.array([0.3, -1.0, 2.0]), np.zeros((3, 3)))
    assert free.entropy() == pytest.approx(M.independent_entropy(1 / (1 + np.exp(-free.h))), abs=1e-12)
    assert M.plugin_entropy(M.all_states(3)) == pytest.approx(np.log(8))
    assert M.plugin_entropy(np.zeros((5, 4))) == 0.0


def test_the_extrapolated_entropy_is_closer_to_the_truth_than_the_plugin_one():
    truth = known_pairwise(10, seed=2)
    x = draw(truth, 5000)
    s = truth.entropy()
    assert abs(M.extrapolated_entropy(x) - s) < 0.5 * abs(M.plugin_entropy(x) - s)
    assert abs(M.extrapolated_entropy(x) - s) < 0.03


def test_an_rbm_group_marginal_entropy_matches_enumeration():
    rng = np.random.default_rng(3)
    W, b, c = rng.normal(0, 1.0, (6, 3)), rng.normal(-1, 0.5, 6), rng.normal(0, 0.5, 3)
    v, h = M.all_states(6), M.all_states(3)
    log_w = v @ b[:, None] + h @ c + v @ W @ h.T  # log weight of every (v, h)
    p = np.exp(log_w - np.log(np.exp(log_w).sum()))
    group = np.array([0, 2, 5])
    p_group = np.zeros(8)
    codes = v[:, group] @ (1 << np.arange(3))
    np.add.at(p_group, codes.astype(int), p.sum(axis=1))
    exact = -(p_group * np.log(p_group)).sum()
    hidden = h[rng.choice(8, 400_000, p=p.sum(axis=0))]  # exact samples of the hidden marginal
    assert M.rbm_group_entropy(W[group], b[group], hidden) == pytest.approx(exact, abs=2e-3)


def test_a_model_of_independent_units_explains_none_of_the_multi_information_whatever_its_rates():
    pairwise = draw(known_pairwise(8, seed=4), 20000)
    rng = np.random.default_rng(6)
    b = rng.normal(-1, 0.5, 8)  # rates unlike the data's: S of the marginal differs from the data's S1
    hidden = (rng.random((500, 3)) < 0.5).astype(float)
    info = drain(M.iter_multi_information(pairwise, size=6, count=4, model=(np.zeros((8, 3)), b, hidden)))
    np.testing.assert_allclose(info.s1_model, info.s_model, atol=1e-12)
    np.testing.assert_allclose(info.model_over_in, 0, atol=1e-9)
    assert np.all(np.abs(info.s1 - info.s_model) > 0.05)  # what the data's S1 would have given instead


def test_pairwise_data_give_a_ratio_near_one_and_triplet_structure_less():
    pairwise = draw(known_pairwise(8, seed=4), 40000)
    info = drain(M.iter_multi_information(pairwise, size=6, count=8, seed=0))
    assert abs(info.summary()["i2_over_in"] - 1) < 0.05 and info.summary()["groups"] == 8
    rng = np.random.default_rng(5)
    a = (rng.random((40000, 2)) < 0.5).astype(float)  # the third unit is the parity of the first two:
    parity = np.c_[a, a.sum(1) % 2]  # pairwise independent, yet fully determined by the other two
    info = drain(M.iter_multi_information(parity, size=3, count=1))
    assert info.summary()["i2_over_in"] < 0.01


def test_independent_units_show_the_chance_level_of_i2_and_their_groups_are_left_out():
    """Couplings fitted to independent units explain n(n-1)/4T nats by chance, and a group whose IN is no
    larger carries no ratio: it is left out and counted."""
    rng = np.random.default_rng(7)
    x = (rng.random((4000, 40)) < rng.uniform(0.05, 0.3, 40)).astype(np.uint8)
    groups = M.random_groups(40, 6, 40, seed=0)
    i2 = [M.independent_entropy(x[:, g].mean(0)) - M.fit_to_frames(x[:, g]).entropy() for g in groups]
    assert M.chance_level(6, 4000) == 15 / 8000  # 15 couplings, half a nat each over 4000 frames
    assert np.mean(i2) == pytest.approx(M.chance_level(6, 4000), rel=0.15)
    info = drain(M.iter_multi_information(x, size=6, count=40, seed=0))
    assert info.left_out > 0 and info.summary()["groups"] + info.summary()["left_out"] == 40
    assert np.all(info.s1 - info.sn > M.chance_level(6, 4000))
    with pytest.raises(NeuroRBMError, match="no group's multi-information is above chance"):
        drain(M.iter_multi_information(np.zeros((500, 8)), size=4, count=3))


def test_group_sizes_beyond_enumeration_are_refused_in_one_line():
    with pytest.raises(NeuroRBMError, match="groups need 2 to 15 units"):
        drain(M.iter_multi_information(np.zeros((10, 40)), size=16))
    with pytest.raises(NeuroRBMError, match="n must be 1 to 15"):
        M.fit_pairwise(np.full(16, 0.1), np.full((16, 16), 0.01))


@pytest.mark.real
def test_retina_ten_cell_groups_give_the_published_ratio_of_about_0_9(real_data):
    f = np.load(real_data / "tkacik2014_retina50.npz")
    x = (f["counts"] > 0).T.astype(np.uint8)
    summary = drain(M.iter_multi_information(x, size=10, count=10, seed=0)).summary()
    assert 0.8 < summary["i2_over_in"] < 1.0, summary  # Schneidman et al. 2006, Tkacik et al.: about 0.9
