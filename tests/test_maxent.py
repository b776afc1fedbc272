"""The pairwise maximum-entropy baseline: Gibbs sweeps, log Z and the fit against enumeration; its file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_neurorbm.analysis import ising, maxent
from napari_neurorbm.analysis.maxent import CLIP, iter_fit_pairwise, iter_model_moments, spaced
from napari_neurorbm.analysis.multiinfo import Pairwise, all_states, fit_to_frames
from napari_neurorbm.analysis.pairwise_file import (
    is_pairwise,
    load_energy_model,
    load_pairwise,
    save_pairwise,
)
from napari_neurorbm.configs import MaxEntConfig
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.io import load_model, save_model
from napari_neurorbm.rbm.model import RBM


def random_model(n: int, seed: int, scale: float = 0.5, bias: float = -1.5) -> Pairwise:
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0, scale, (n, n)), 1)
    return Pairwise(rng.normal(bias, 0.5, n), J + J.T)


def exact_moments(model: Pairwise) -> tuple[np.ndarray, np.ndarray]:
    s = all_states(len(model.h))
    p = np.exp(model.log_p())
    return p @ s, (s * p[:, None]).T @ s


def exact_samples(model: Pairwise, frames: int, seed: int) -> np.ndarray:
    s = all_states(len(model.h))
    return s[np.random.default_rng(seed).choice(len(s), frames, p=np.exp(model.log_p()))]


@pytest.mark.parametrize("beta", [1.0, 0.6])
def test_sweeps_sample_the_model_at_its_temperature(beta):
    model = random_model(10, seed=1, scale=0.6)
    tempered = Pairwise(beta * model.h, beta * model.J)
    gen = torch.Generator().manual_seed(0)
    start = ising.independent_states(torch.full((10,), 0.3, dtype=torch.float64), 2000, gen)
    chains = ising.IsingChains(torch.as_tensor(model.h), torch.as_tensor(model.J), start, gen)
    means, second = 0, 0
    for sweep in range(220):
        chains.sweep(torch.full((2000,), beta, dtype=torch.float64))
        if sweep >= 20:
            m, c = chains.moments()
            means, second = means + m.numpy() / 200, second + c.numpy() / 200
    exact_m, exact_c = exact_moments(tempered)
    # 400 000 draws in all, correlated over a few sweeps: a standard error of ~1e-3
    np.testing.assert_allclose(means, exact_m, atol=5e-3)
    np.testing.assert_allclose(second, exact_c, atol=5e-3)


def test_fields_stay_the_states_product_with_j_and_give_the_energies():
    model = random_model(70, seed=2, scale=0.2)  # several blocks of a sweep
    gen = torch.Generator().manual_seed(1)
    start = ising.independent_states(torch.full((70,), 0.2, dtype=torch.float64), 50, gen)
    chains = ising.IsingChains(torch.as_tensor(model.h), torch.as_tensor(model.J), start, gen)
    for _ in range(3):
        chains.sweep()
    torch.testing.assert_close(chains.field, chains.J @ chains.v)
    torch.testing.assert_close(chains.energy(), ising.ising_energy(chains.v.T, chains.h, chains.J))


def test_ais_matches_the_exact_log_z_within_its_standard_error():
    model = random_model(16, seed=3, scale=0.4)
    exact = ising.log_z_exact(model)
    assert exact.value == pytest.approx(float(np.log(np.exp(-ising.ising_energy(
        all_states(16), model.h, model.J)).sum())), abs=1e-9)
    means = exact_moments(model)[0]
    ais = drain(ising.iter_log_z_ais(model, means, chains=400, betas=400, seed=0))
    assert 0 < ais.stderr < 0.05
    assert abs(ais.value - exact.value) < 4 * ais.stderr + 1e-3


def test_loglik_is_the_mean_log_probability_of_the_frames():
    model = random_model(8, seed=4)
    frames = exact_samples(model, 300, seed=0)
    codes = frames.astype(int) @ (1 << np.arange(8))
    expected = model.log_p()[codes].mean()
    assert ising.loglik(model, frames, ising.log_z_exact(model).value) == pytest.approx(expected, abs=1e-9)


def test_the_fit_matches_exact_moment_matching_on_12_units():
    frames = exact_samples(random_model(12, seed=5), 5000, seed=1)
    data_m, data_c = frames.mean(0), frames.T @ frames / len(frames)
    cfg = MaxEntConfig(l2=1e-6, updates=400, chains=10000, device="cpu")
    fit = drain(iter_fit_pairwise(frames, cfg))
    assert fit.pl_iterations > 1 and fit.updates == 400 and fit.constant_units == 0
    model_m, model_c = exact_moments(fit.model)
    assert np.abs(model_m - data_m).max() < 1e-3
    assert np.abs(model_c - data_c).max() < 1e-3
    exact = fit_to_frames(frames)  # Newton by enumeration: the same model
    np.testing.assert_allclose(fit.model.J, exact.J, atol=0.05)


def test_moments_by_enumeration_and_by_chains_are_the_models():
    model = random_model(10, seed=8, scale=0.6)
    exact_m, exact_c = exact_moments(model)
    means, pairs = ising.moments_exact(model, chunk=100)  # several chunks
    np.testing.assert_allclose(means, exact_m, atol=1e-12)
    np.testing.assert_allclose(pairs, exact_c, atol=1e-12)
    start = ising.independent_states(torch.full((10,), 0.3), 2000, torch.Generator().manual_seed(0))
    means, pairs = drain(ising.iter_moments_sampled(model, start, sweeps=50, seed=1))
    # 100 000 draws, correlated over a few sweeps: a standard error of ~3e-3
    np.testing.assert_allclose(means, exact_m, atol=1e-2)
    np.testing.assert_allclose(pairs, exact_c, atol=1e-2)


def test_the_moments_check_sets_the_fits_moments_beside_the_datas(monkeypatch):
    frames = exact_samples(random_model(12, seed=5), 3000, seed=3)
    frames[:, 4] = 0  # a constant unit: left out of the check as out of the fit
    cfg = MaxEntConfig(updates=0, chains=1000, device="cpu")  # 100 000 draws for the chains' moments
    fit = drain(iter_fit_pairwise(frames, cfg))
    x = frames[:, fit.free]
    np.testing.assert_allclose(fit.data.means, x.mean(0))
    np.testing.assert_allclose(fit.data.pairs, x.T @ x / len(x))
    covariances = np.cov(x.T, bias=True)[np.triu_indices(11, 1)]
    np.testing.assert_allclose(fit.data.covariances(), covariances, atol=1e-12)
    moments, method = drain(iter_model_moments(fit, frames, cfg))
    exact_m, exact_c = exact_moments(fit.fitted)
    assert method == "exact" and len(moments.means) == 11
    np.testing.assert_allclose(moments.means, exact_m, atol=1e-12)
    np.testing.assert_allclose(moments.pairs, exact_c, atol=1e-12)
    monkeypatch.setattr(maxent, "MAX_EXACT", 4)  # the same 11 units by chains from training frames
    sampled, method = drain(iter_model_moments(fit, frames, cfg))
    assert method == "chains"
    np.testing.assert_allclose(sampled.means, exact_m, atol=1e-2)
    np.testing.assert_allclose(sampled.pairs, exact_c, atol=1e-2)


def test_a_cap_on_the_frames_fits_evenly_spaced_ones():
    frames = exact_samples(random_model(6, seed=9), 1000, seed=4)
    assert spaced(frames, 0) is frames and spaced(frames, 2000) is frames
    np.testing.assert_array_equal(spaced(frames, 4), frames[[0, 333, 666, 999]])
    fit = drain(iter_fit_pairwise(frames, MaxEntConfig(frames=250, updates=0, device="cpu")))
    chosen = spaced(frames, 250)
    assert fit.frames == 250 and len(np.unique(np.linspace(0, 999, 250).round())) == 250
    np.testing.assert_allclose(fit.data.means, chosen.mean(0))
    np.testing.assert_allclose(fit.data.pairs, chosen.T @ chosen / 250)


def test_units_that_never_or_always_fire_are_independent_at_the_clipped_mean():
    frames = exact_samples(random_model(6, seed=6, bias=-1.0), 2000, seed=2)
    frames[:, 0], frames[:, 3] = 0, 1
    fit = drain(iter_fit_pairwise(frames, MaxEntConfig(updates=20, chains=100, device="cpu")))
    assert fit.constant_units == 2 and list(fit.free) == [1, 2, 4, 5]
    assert fit.model.h[0] == pytest.approx(np.log(CLIP / (1 - CLIP)))
    assert fit.model.h[3] == pytest.approx(-np.log(CLIP / (1 - CLIP)))
    assert not fit.model.J[[0, 3]].any() and not fit.model.J[:, [0, 3]].any()
    assert np.isfinite(fit.model.h).all() and np.isfinite(fit.model.J).all()


def test_too_few_varying_units_and_exact_beyond_20_units_are_errors():
    frames = np.zeros((50, 5))
    frames[::2, 1] = 1
    with pytest.raises(NeuroRBMError, match="fewer than 2 units vary"):
        drain(iter_fit_pairwise(frames, MaxEntConfig(device="cpu")))
    with pytest.raises(NeuroRBMError, match="at most 20 units"):
        ising.log_z_exact(random_model(21, seed=0))


def test_the_model_file_round_trips_and_tells_its_kind(tmp_path):
    model = random_model(5, seed=7)
    path = save_pairwise(tmp_path / "pairwise", model, {"unit_ids": [1, 2, 3, 4, 5]})
    assert path.name == "pairwise.npz" and is_pairwise(path)
    read = load_pairwise(path)
    np.testing.assert_array_equal(read.model.J, model.J)
    assert read.n_visible == 5 and list(read.unit_ids) == [1, 2, 3, 4, 5]
    assert isinstance(load_energy_model(path), Pairwise)
    with pytest.raises(NeuroRBMError, match="is a pairwise maximum-entropy model file"):
        load_model(path)
    rbm = save_model(tmp_path / "rbm.npz", RBM.from_numpy(np.zeros((5, 2)), np.zeros(5), np.zeros(2)), {})
    assert not is_pairwise(rbm) and isinstance(load_energy_model(rbm), RBM)
    with pytest.raises(NeuroRBMError, match=r"not a pairwise model file .* an RBM model file"):
        load_pairwise(rbm)
