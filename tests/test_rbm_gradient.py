"""The centred, normalised gradient against exact expectations on enumerable models."""

import itertools

import numpy as np
import pytest
import torch

from napari_neurorbm.rbm import gradient
from napari_neurorbm.rbm.training import TrainConfig, Trainer

NV, NH = 9, 4


def all_states(n: int) -> np.ndarray:
    return np.array(list(itertools.product((0.0, 1.0), repeat=n)))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def exact_model(W: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All visible states, their exact probabilities p(v) and p(h = 1 | v), by enumeration (float64)."""
    v = all_states(len(b))
    x = v @ W + c
    neg_f = v @ b + np.logaddexp(0, x).sum(1)
    p = np.exp(neg_f - neg_f.max())
    return v, p / p.sum(), sigmoid(x)


def raw_gradient(v_d, w_d, W, b, c):
    """Exact log-likelihood gradient of weighted data (frames v_d, weights w_d summing to 1)."""
    v_m, p_m, ph_m = exact_model(W, b, c)
    ph_d = sigmoid(v_d @ W + c)
    gw = (v_d * w_d[:, None]).T @ ph_d - (v_m * p_m[:, None]).T @ ph_m
    gb = w_d @ v_d - p_m @ v_m
    gc = w_d @ ph_d - p_m @ ph_m
    return gw, gb, gc, (w_d @ v_d, w_d @ ph_d), (v_m, p_m, ph_m, ph_d)


@pytest.fixture
def model():
    g = np.random.default_rng(5)
    return g.normal(0, 0.7, (NV, NH)), g.normal(-1, 0.5, NV), g.normal(0, 0.5, NH)


def centred(gw, gb, gc, mu, lam):
    t = [torch.tensor(x) for x in (gw, gb, gc)]
    gradient.center_(*t, torch.tensor(mu), torch.tensor(lam))
    return [x.numpy() for x in t]


def test_centred_gradient_is_the_gradient_of_the_centred_energy(model):
    W, b, c = model
    g = np.random.default_rng(1)
    v_d = (g.random((300, NV)) < 0.3).astype(float)
    w_d = np.full(300, 1 / 300)
    gw, gb, gc, (mu, lam), (v_m, p_m, ph_m, ph_d) = raw_gradient(v_d, w_d, W, b, c)
    cw, cb, cc = centred(gw, gb, gc, mu, lam)
    # the definition: <(v - mu)(h - lam)>_data - <(v - mu)(h - lam)>_model, with exact model expectations
    want_w = ((v_d - mu) * w_d[:, None]).T @ (ph_d - lam) - ((v_m - mu) * p_m[:, None]).T @ (ph_m - lam)
    np.testing.assert_allclose(cw, want_w, atol=1e-12)
    np.testing.assert_allclose(cb, gb - want_w @ lam, atol=1e-12)
    np.testing.assert_allclose(cc, gc - mu @ want_w, atol=1e-12)
    # and the map is invertible: the raw gradient comes back from the centred one
    back_c = cc + mu @ cw
    back_b = cb + cw @ lam
    np.testing.assert_allclose(back_c, gc, atol=1e-12)
    np.testing.assert_allclose(back_b, gb, atol=1e-12)
    np.testing.assert_allclose(cw + np.outer(mu, back_c) + np.outer(back_b, lam), gw, atol=1e-12)


def test_centred_gradient_vanishes_exactly_where_the_exact_gradient_does(model):
    W, b, c = model
    v_m, p_m, _ = exact_model(W, b, c)
    # data distributed exactly as the model: the exact gradient is zero, and so is the centred one
    gw, gb, gc, (mu, lam), _ = raw_gradient(v_m, p_m, W, b, c)
    assert max(np.abs(x).max() for x in (gw, gb, gc)) < 1e-12
    assert max(np.abs(x).max() for x in centred(gw, gb, gc, mu, lam)) < 1e-12
    # a data set away from the model: both are non-zero
    w_d = p_m * np.exp(np.random.default_rng(2).normal(0, 1, len(p_m)))
    w_d /= w_d.sum()
    gw, gb, gc, (mu, lam), _ = raw_gradient(v_m, w_d, W, b, c)
    assert max(np.abs(x).max() for x in centred(gw, gb, gc, mu, lam)) > 1e-3


def test_normalised_step_has_unit_length_and_keeps_zero():
    g = [torch.randn(5, 3), torch.randn(5), torch.randn(3)]
    direction = [x.clone() for x in g]
    gradient.normalize_(*g)
    assert float(sum(x.square().sum() for x in g)) == pytest.approx(1.0, rel=1e-6)
    scale = float(g[0][0, 0] / direction[0][0, 0])
    for x, d in zip(g, direction, strict=True):
        torch.testing.assert_close(x, d * scale)
    zero = [torch.zeros(2, 2), torch.zeros(2)]
    gradient.normalize_(*zero)
    assert all(float(x.abs().sum()) == 0 for x in zero)


def one_step(frames: np.ndarray, **kw) -> tuple[Trainer, list[np.ndarray]]:
    cfg = TrainConfig(n_hidden=NH, k=3, batch=len(frames), chains=200, lr=0.1, updates=1, eval_every=0,
                      checkpoints=0, optimizer="sgd", device="cpu", seed=2, **kw)
    t = Trainer(frames, None, cfg)
    before = [x.double().numpy().copy() for x in (t.rbm.W, t.rbm.b, t.rbm.c)]
    list(t.run())
    return t, [x.double().numpy() - y for x, y in zip((t.rbm.W, t.rbm.b, t.rbm.c), before, strict=True)]


def test_the_trainer_steps_along_the_centred_normalised_gradient():
    """Same start, same chains and random streams: the centred update is the documented map of the raw one,
    with the minibatch's means as offsets, and the normalised one is it rescaled to length lr."""
    frames = (np.random.default_rng(0).random((500, NV)) < 0.25).astype(np.float32)
    t, raw = one_step(frames, centered=False, normalize=False)
    _, cen = one_step(frames, centered=True, normalize=False)
    _, unit = one_step(frames, centered=True, normalize=True)
    mu = frames.mean(0).astype(np.float64)
    W0 = t.checkpoints[0][1]
    lam = sigmoid(frames.astype(np.float64) @ W0.W.double().numpy() + W0.c.double().numpy()).mean(0)
    want = centred(*(x / 0.1 for x in raw), mu, lam)
    for got, w in zip(cen, want, strict=True):
        np.testing.assert_allclose(got / 0.1, w, atol=2e-5)
    norm = np.sqrt(sum((x**2).sum() for x in want))
    assert np.sqrt(sum((x**2).sum() for x in unit)) == pytest.approx(0.1, rel=1e-4)
    for got, w in zip(unit, want, strict=True):
        np.testing.assert_allclose(got, 0.1 * w / norm, atol=5e-6)
