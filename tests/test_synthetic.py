"""The synthetic session: exact frames, exact marginals of the ground-truth RBM, area blocks, seeding."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.synthetic import AREA_NAMES, exact_marginals, make_synthetic, synthetic_session
from napari_neurorbm.errors import NeuroRBMError


@pytest.fixture(scope="module")
def iid():
    """Default model, no temporal persistence: frames are i.i.d. exact samples."""
    return make_synthetic(persistence=0.0)


@pytest.fixture(scope="module")
def default():
    return make_synthetic()


def enumerated_moments(W, b, c):
    """First and second visible moments by brute force over every hidden state (independent of the module)."""
    states = np.array(list(itertools.product([0.0, 1.0], repeat=W.shape[1])))
    logw = states @ c + np.log1p(np.exp(b + states @ W.T)).sum(axis=1)
    p = np.exp(logw - logw.max())
    p /= p.sum()
    q = 1.0 / (1.0 + np.exp(-(b + states @ W.T)))  # p(v_i = 1 | h), units independent given h
    second = (q * p[:, None]).T @ q
    np.fill_diagonal(second, p @ q)
    return p @ q, second


def test_binarize_recovers_frames(default):
    session, truth = default
    r = binarize(session, BinningParams(bin_ms=truth.bin_s * 1e3, test_fraction=0.0))
    assert r.n_frames == truth.frames.shape[0] == 30000
    np.testing.assert_array_equal(r.binary, truth.frames[:, r.unit_ids].T)
    dropped = np.setdiff1d(np.arange(session.n_units), r.unit_ids)
    assert not truth.frames[:, dropped].any()
    assert r.counts.max() > 1  # extra spikes inside a bin show in the counts, not in the binary raster


def test_small_model_marginals_by_full_enumeration():
    rng = np.random.default_rng(3)
    W, b, c = rng.normal(0, 1, (5, 3)), rng.normal(-1, 1, 5), rng.normal(0, 1, 3)
    vs = np.array(list(itertools.product([0.0, 1.0], repeat=5)))
    hs = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
    energy = -(vs @ W @ hs.T) - (vs @ b)[:, None] - (hs @ c)[None, :]
    p_v = np.exp(-energy).sum(axis=1)
    np.testing.assert_allclose(exact_marginals(W, b, c), p_v @ vs / p_v.sum(), rtol=1e-12)


def test_sample_moments_match_exact(iid):
    _, truth = iid
    mean, second = enumerated_moments(truth.W, truth.b, truth.c)
    np.testing.assert_allclose(truth.marginals(), mean, rtol=1e-10)
    v = truth.frames.astype(np.float64)
    n = len(v)
    z1 = (v.mean(axis=0) - mean) / np.sqrt(mean * (1 - mean) / n)
    assert np.abs(z1).max() < 4.5
    upper = np.triu_indices(len(mean), 1)
    emp2 = (v.T @ v / n)[upper]
    z2 = (emp2 - second[upper]) / np.sqrt(second[upper] * (1 - second[upper]) / n)
    assert np.abs(z2).max() < 5.5
    # the model is not independent: within-area pairs co-fire more than chance
    cov = second - np.outer(mean, mean)
    same = truth.areas[:, None] == truth.areas[None, :]
    assert cov[upper][same[upper]].mean() > 5 * abs(cov[upper][~same[upper]].mean())


def test_persistence_keeps_marginals_and_adds_memory(default):
    _, truth = default
    v = truth.frames.astype(np.float64)
    mean = truth.marginals()
    rho = 0.8  # the default persistence; hidden states repeat, so the variance of a mean grows by (1+ρ)/(1-ρ)
    z = (v.mean(axis=0) - mean) / np.sqrt(mean * (1 - mean) / len(v) * (1 + rho) / (1 - rho))
    assert np.abs(z).max() < 4.5
    k = v.sum(axis=1) - v.sum(axis=1).mean()
    assert np.dot(k[:-1], k[1:]) / np.dot(k, k) > 0.2  # active-unit count remembers the last frame
    _, iid_truth = make_synthetic(persistence=0.0, duration_s=120.0)
    k0 = iid_truth.frames.sum(axis=1) - iid_truth.frames.sum(axis=1).mean()
    assert abs(np.dot(k0[:-1], k0[1:]) / np.dot(k0, k0)) < 0.05


def test_structure_areas_and_rates(default):
    session, truth = default
    assert session.n_units == 200 and len(np.unique(session.unit_ids)) == 200
    assert session.area_table()["units"].tolist() == [40] * 5
    assert set(session.areas) == set(AREA_NAMES[:5])
    np.testing.assert_array_equal(session.areas, truth.areas)
    assert truth.W.shape == (200, 12) and truth.W.dtype == np.float64
    assert truth.W.shape[1] <= 14
    for a, label in enumerate(truth.hidden_areas):
        own = np.isin(truth.areas, label.split("+"))
        assert np.abs(truth.W[own, a]).mean() > 4 * np.abs(truth.W[~own, a]).mean()
    assert sum("+" in h for h in truth.hidden_areas) == 2
    p = truth.marginals()
    assert 0.01 < p.mean() < 0.08 and p.max() < 0.35  # a few % per 20 ms bin
    assert session.start_s == 0.0 and session.stop_s == pytest.approx(600.0)
    assert session.spike_counts().sum() > truth.frames.sum()  # some bins hold several spikes


def test_seeded():
    a = synthetic_session(duration_s=30.0, seed=4)
    b = synthetic_session(duration_s=30.0, seed=4)
    c = synthetic_session(duration_s=30.0, seed=5)
    np.testing.assert_array_equal(a.spike_times, b.spike_times)
    np.testing.assert_array_equal(a.spike_index, b.spike_index)
    assert not np.array_equal(a.spike_index, c.spike_index)


def test_other_shapes():
    session, truth = make_synthetic(n_areas=12, units_per_area=3, duration_s=10.0, bin_s=0.01)
    assert truth.W.shape == (36, 14) and truth.frames.shape == (1000, 36)
    r = binarize(session, BinningParams(bin_ms=10, test_fraction=0.0))
    np.testing.assert_array_equal(r.binary, truth.frames[:, r.unit_ids].T)
    session, truth = make_synthetic(n_areas=1, units_per_area=5, duration_s=1.0)
    assert truth.W.shape == (5, 4) and set(session.areas) == {"VISp"}


@pytest.mark.parametrize(
    "kw",
    [
        {"n_areas": 0},
        {"n_areas": 13},
        {"units_per_area": 0},
        {"bin_s": 0.0},
        {"duration_s": 0.01},
        {"persistence": 1.0},
        {"extra_spikes": -1.0},
    ],
)
def test_bad_arguments(kw):
    with pytest.raises(NeuroRBMError):
        make_synthetic(**kw)
