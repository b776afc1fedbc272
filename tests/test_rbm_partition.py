"""log Z: exact enumeration against brute force, AIS and PTT against exact on small trained models."""

import itertools

import numpy as np
import pytest
import torch

from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.model import RBM
from napari_neurorbm.rbm.partition import (
    free_energy,
    iter_ptt_log_zs,
    log_z_ais,
    log_z_exact,
    log_z_ptt,
    loglik,
)
from napari_neurorbm.rbm.training import Trainer
from test_rbm_training import small_config, structured_frames


def random_rbm(nv, nh, seed=0, scale=1.0):
    g = np.random.default_rng(seed)
    return RBM.from_numpy(g.normal(0, scale, (nv, nh)), g.normal(-1, 1, nv), g.normal(0, 1, nh))


def brute_force_log_z(rbm: RBM) -> float:
    W, b, c = rbm.numpy()
    vs = np.array(list(itertools.product([0, 1], repeat=rbm.n_visible)), dtype=np.float64)
    hs = np.array(list(itertools.product([0, 1], repeat=rbm.n_hidden)), dtype=np.float64)
    neg_e = vs @ W @ hs.T + (vs @ b)[:, None] + (hs @ c)[None, :]
    m = neg_e.max()
    return float(m + np.log(np.exp(neg_e - m).sum()))


@pytest.mark.parametrize(("nv", "nh"), [(7, 4), (4, 7), (5, 5)])
def test_exact_log_z_matches_brute_force_over_both_layers(nv, nh):
    rbm = random_rbm(nv, nh, seed=nv * 10 + nh)
    assert log_z_exact(rbm) == pytest.approx(brute_force_log_z(rbm), abs=1e-9)
    assert log_z_exact(rbm, chunk_entries=16) == pytest.approx(
        brute_force_log_z(rbm), abs=1e-9
    )  # many chunks


def test_loglik_is_the_exact_log_probability():
    rbm = random_rbm(6, 3, seed=4)
    frames = (np.random.default_rng(0).random((50, 6)) < 0.4).astype(np.uint8)
    W, b, c = rbm.numpy()
    x = frames.astype(np.float64)
    log_p = x @ b + np.logaddexp(0, x @ W + c).sum(1) - brute_force_log_z(rbm)
    assert loglik(rbm, frames, log_z_exact(rbm)) == pytest.approx(log_p.mean(), abs=1e-5)
    np.testing.assert_allclose(
        free_energy(rbm, frames, chunk=7).cpu().numpy(),
        -(x @ b + np.logaddexp(0, x @ W + c).sum(1)),
        rtol=1e-5,
    )


def test_exact_refuses_big_layers_and_bad_frames():
    with pytest.raises(NeuroRBMError, match="at most 20 units"):
        log_z_exact(random_rbm(30, 21))
    with pytest.raises(NeuroRBMError, match="do not fit"):
        loglik(random_rbm(5, 3), np.zeros((4, 6)), 0.0)
    with pytest.raises(NeuroRBMError, match="no frames"):
        loglik(random_rbm(5, 3), np.zeros((0, 5)), 0.0)
    with pytest.raises(NeuroRBMError, match="at least one model"):
        log_z_ptt([])


@pytest.fixture(scope="module", params=[(16, 12), (12, 16)], ids=["16v12h", "12v16h"])
def trained(request):
    nv, nh = request.param
    x = structured_frames(2000, n_units=nv, seed=nv)
    t = Trainer(x[:1500], x[1500:], small_config(n_hidden=nh, updates=300, eval_every=0, checkpoints=25))
    drain(t.run())
    return t


def test_ais_agrees_with_exact_on_trained_models(trained):
    rbm = trained.rbm
    exact = log_z_exact(rbm)
    assert abs(exact - log_z_exact(trained.checkpoints[0][1])) > 1.0  # training moved log Z
    assert abs(log_z_ais(rbm, n_chains=1000, n_betas=1000, seed=1) - exact) < 0.05


def test_ptt_agrees_with_exact_on_trained_models(trained):
    models = [m for _, m in trained.checkpoints]
    log_zs = drain(iter_ptt_log_zs(models, n_chains=500, sweeps=100, seed=2))
    assert len(log_zs) == len(models)
    assert abs(log_zs[-1] - log_z_exact(models[-1])) < 0.05
    mid = len(models) // 2
    assert abs(log_zs[mid] - log_z_exact(models[mid])) < 0.05
    assert log_z_ptt(models[: mid + 1], n_chains=500, sweeps=100, seed=3) == pytest.approx(
        log_z_exact(models[mid]), abs=0.05
    )


def test_seeded_estimates_are_reproducible():
    rbm = random_rbm(8, 5, seed=1, scale=0.5)
    assert log_z_ais(rbm, 200, 100, seed=5) == log_z_ais(rbm, 200, 100, seed=5)
    assert torch.isfinite(torch.tensor(log_z_ptt([rbm], 100, 10, seed=5)))
