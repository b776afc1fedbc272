"""Statistics of real vs generated frames, each checked on data with a known answer."""

import itertools

import numpy as np
import pytest
import torch

from napari_neurorbm.analysis import statistics as st
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.model import RBM


def small_rbm(nv=8, nh=3, scale=1.5, seed=0) -> RBM:
    g = np.random.default_rng(seed)
    return RBM.from_numpy(g.normal(0, scale, (nv, nh)), g.normal(-0.5, 0.5, nv), g.normal(0, 0.5, nh))


def exact_samples(rbm: RBM, n: int, seed: int = 0) -> np.ndarray:
    """Independent frames drawn from p(v) by enumerating every visible state."""
    states = np.array(list(itertools.product([0, 1], repeat=rbm.n_visible)), dtype=np.uint8)
    neg_f = -rbm.free_energy(torch.tensor(states, dtype=torch.float32)).double().numpy()
    p = np.exp(neg_f - neg_f.max())
    rows = np.random.default_rng(seed).choice(len(states), size=n, p=p / p.sum())
    return states[rows]


def test_means_and_covariance_of_a_hand_made_sample():
    x = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 1], [1, 1, 1]], dtype=np.uint8)
    np.testing.assert_allclose(st.means(x), [0.75, 0.75, 0.5])
    cov = st.covariance(x)
    # <v0 v1> = 2/4, <v0><v1> = 9/16  ->  -1/16
    assert cov[0, 1] == pytest.approx(-1 / 16)
    np.testing.assert_allclose(cov, np.cov(x.T, bias=True))
    np.testing.assert_allclose(st.upper(cov), [cov[0, 1], cov[0, 2], cov[1, 2]])


def test_three_point_correlation_known_values():
    # three copies of one Bernoulli(0.3) unit: E[(x-p)^3] = p(1-p)(1-2p)
    x = np.repeat(np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0], dtype=np.uint8)[:, None], 4, axis=1)
    trip = np.array([[0, 1, 2], [1, 2, 3]])
    np.testing.assert_allclose(st.connected_triplets(x, trip), 0.3 * 0.7 * 0.4)
    # all 8 states of 3 units once each: independent, every connected correlation vanishes
    cube = np.array(list(itertools.product([0, 1], repeat=3)), dtype=np.uint8)
    np.testing.assert_allclose(st.connected_triplets(cube, np.array([[0, 1, 2]])), 0.0, atol=1e-12)
    # chunking gives the same numbers
    rng = np.random.default_rng(1)
    y = (rng.random((50, 9)) < 0.4).astype(np.uint8)
    t = st.random_triplets(9, 40, seed=2)
    np.testing.assert_allclose(st.connected_triplets(y, t, chunk_elems=60), st.connected_triplets(y, t))


def test_random_triplets_are_distinct_sorted_and_seeded():
    t = st.random_triplets(30, 500, seed=3)
    assert t.shape == (500, 3)
    assert np.all((t[:, 0] < t[:, 1]) & (t[:, 1] < t[:, 2])) and t.min() >= 0 and t.max() < 30
    assert len(np.unique(t, axis=0)) == 500
    np.testing.assert_array_equal(t, st.random_triplets(30, 500, seed=3))
    assert not np.array_equal(t, st.random_triplets(30, 500, seed=4))
    assert len(st.random_triplets(6, 1000)) == 20  # all C(6, 3)
    assert st.random_triplets(2, 10).shape == (0, 3)


def test_random_triplets_draw_every_triplet_with_the_same_probability():
    """Drawn without repeats and uniformly: each of the C(6, 3) = 20 triplets is among 5 drawn with
    probability exactly 5 / 20, so over 4000 seeds it appears 1000 times, within 5 standard deviations."""
    every = {t: i for i, t in enumerate(itertools.combinations(range(6), 3))}
    counts = np.zeros(len(every))
    for seed in range(4000):
        t = st.random_triplets(6, 5, seed=seed)
        assert len({tuple(r) for r in t}) == 5
        counts[[every[tuple(r)] for r in t.tolist()]] += 1
    assert np.all(np.abs(counts - 1000) < 5 * np.sqrt(4000 * 0.25 * 0.75))


def test_fit_line_slope_intercept_and_r():
    x = np.linspace(-1, 1, 21)
    f = st.fit_line(x, 2 * x + 1)
    assert (f.slope, f.intercept, f.r) == pytest.approx((2.0, 1.0, 1.0))
    rng = np.random.default_rng(0)
    y = 0.5 * x + rng.normal(0, 0.3, len(x))
    f = st.fit_line(x, y)
    assert f.slope == pytest.approx(np.polyfit(x, y, 1)[0])
    assert f.r == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert np.isnan(st.fit_line(np.ones(5), np.arange(5)).slope)


def test_principal_axes_find_the_high_variance_directions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, 4)) * np.array([0.1, 3.0, 0.2, 1.0])
    axes = st.principal_axes(st.covariance(x), 2)
    np.testing.assert_allclose(np.abs(axes), [[0, 1, 0, 0], [0, 0, 0, 1]], atol=0.02)
    assert axes[0, 1] > 0 and axes[1, 3] > 0
    # a spike-like covariance: the same axes as a full eigendecomposition
    y = rng.random((3000, 60)) < 0.1
    y[:, :30] |= (rng.random((3000, 1)) < 0.2) & (rng.random((3000, 30)) < 0.5)  # two assemblies
    y[:, 30:42] |= (rng.random((3000, 1)) < 0.3) & (rng.random((3000, 12)) < 0.5)
    c = st.covariance(y)
    full = np.linalg.eigh(c)[1][:, ::-1][:, :2].T
    np.testing.assert_allclose(np.abs(st.principal_axes(c) @ full.T), np.eye(2), atol=1e-6)
    proj = st.project(x, x.mean(axis=0), axes)
    assert proj.shape == (20000, 2)
    assert proj[:, 0].std() == pytest.approx(3.0, rel=0.03)


def test_p_k_counts_active_units():
    x = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.uint8)
    np.testing.assert_array_equal(st.active_counts(x), [0, 1, 2, 1])
    np.testing.assert_allclose(st.p_k(x), [0.25, 0.5, 0.25, 0.0])


def test_free_energy_and_effective_fields_against_enumeration():
    rbm = small_rbm(nv=6, nh=3)
    W, b, c = rbm.numpy()
    hs = np.array(list(itertools.product([0, 1], repeat=3)), dtype=np.float64)
    vs = np.array(list(itertools.product([0, 1], repeat=6)), dtype=np.float64)
    # F(v) = -log sum_h exp(v W h + b v + c h)
    brute_f = -np.log(np.exp(vs @ W @ hs.T + (vs @ b)[:, None] + (hs @ c)[None]).sum(1))
    np.testing.assert_allclose(st.free_energies(rbm, vs, batch=7), brute_f, rtol=1e-5, atol=1e-5)
    h_eff = st.effective_fields(rbm, vs, chunk_elems=50)
    for i in range(6):
        v0, v1 = vs.copy(), vs.copy()
        v0[:, i], v1[:, i] = 0, 1
        f0 = -np.log(np.exp(v0 @ W @ hs.T + (v0 @ b)[:, None] + (hs @ c)[None]).sum(1))
        f1 = -np.log(np.exp(v1 @ W @ hs.T + (v1 @ b)[:, None] + (hs @ c)[None]).sum(1))
        np.testing.assert_allclose(h_eff[:, i], f0 - f1, rtol=1e-4, atol=1e-4)


def test_conditional_curve_follows_the_sigmoid_for_model_samples():
    rbm = small_rbm(nv=8, nh=3, scale=1.5)
    x = exact_samples(rbm, 20000, seed=1)
    h = st.effective_fields(rbm, x)
    edges = np.linspace(*np.percentile(h, [1, 99]), 16)
    curve = st.conditional_curve(h, x, edges)
    assert len(curve.h) >= 10 and curve.count.sum() == x.size
    sig = 1 / (1 + np.exp(-curve.h))
    # each bin's fraction active within 4 standard errors (plus the sigmoid's curvature inside a bin)
    assert np.all(np.abs(curve.p - sig) <= 4 * curve.sem + 0.02)
    # independent neurons with the same means do not follow it: the model's couplings matter here
    ind = st.independent_samples(x.mean(axis=0), 20000, seed=2)
    c2 = st.conditional_curve(st.effective_fields(rbm, ind), ind, edges)
    assert np.max(np.abs(c2.p - 1 / (1 + np.exp(-c2.h))) / c2.sem) > 8


def test_independent_samples_have_the_given_means():
    m = np.array([0.05, 0.5, 0.9])
    x = st.independent_samples(m, 40000, seed=0)
    assert x.dtype == np.uint8
    np.testing.assert_allclose(x.mean(axis=0), m, atol=0.01)
    assert abs(np.corrcoef(x[:, 1], x[:, 2])[0, 1]) < 0.02


def test_autocorrelation_of_ar1_process():
    rng = np.random.default_rng(0)
    x = np.zeros(200000)
    for t in range(1, len(x)):
        x[t] = 0.8 * x[t - 1] + rng.normal()
    ac = st.autocorrelation(x, None, 5)
    np.testing.assert_allclose(ac, 0.8 ** np.arange(6), atol=0.02)


def test_autocorrelation_uses_pairs_within_segments_only():
    # constant within each segment of 10 frames: C(lag) = 1 for every lag inside a segment, NaN beyond
    rng = np.random.default_rng(0)
    x = np.repeat(rng.choice([-1.0, 1.0], size=40), 10)
    starts = np.arange(0, 400, 10)
    ac = st.autocorrelation(x, starts, 12)
    np.testing.assert_allclose(ac[:10], 1.0)
    assert np.all(np.isnan(ac[10:]))
    ignoring = st.autocorrelation(x, None, 5)
    assert ignoring[5] < 0.9  # crossing segment boundaries would mix unrelated stretches


def test_window_counts_sum_whole_windows_inside_segments():
    k = np.array([1, 0, 2, 1, 1, 0, 1, 1, 1])  # segments [0..4], [5..8]
    np.testing.assert_array_equal(st.window_counts(k, np.array([0, 5]), 2), [1, 3, 1, 2])
    np.testing.assert_array_equal(st.window_counts(k, None, 3), [3, 2, 3])


def test_transition_mean_and_std_of_later_activity():
    k = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 5, 5])
    tr = st.transition(k, np.array([0, 9]), lag=1, min_count=1)
    np.testing.assert_array_equal(tr.k, [0, 1, 2, 5])
    np.testing.assert_allclose(tr.mean, [1, 2, 0, 5])
    np.testing.assert_allclose(tr.std, 0)
    np.testing.assert_array_equal(tr.count, [3, 3, 2, 1])  # 2 -> 5 crosses the segment start at 9
    k2 = np.array([1, 0, 1, 2, 1, 4])
    tr2 = st.transition(k2, None, lag=1, min_count=2)
    np.testing.assert_array_equal(tr2.k, [1])
    assert tr2.mean[0] == pytest.approx(2.0) and tr2.std[0] == pytest.approx(np.std([0, 2, 4]))


def test_temporal_stats_windows_follow_the_frame_duration():
    k = np.full(100, 3)
    ts = st.temporal_stats(k, None, frame_s=0.02, max_lag=3, windows_s=(0.1, 0.4), lags=(1,))
    assert set(ts.windows) == {0.1, 0.4}
    np.testing.assert_array_equal(ts.windows[0.1], np.full(20, 15))
    np.testing.assert_array_equal(ts.windows[0.4], np.full(5, 60))
    with pytest.raises(NeuroRBMError):
        st.temporal_stats(k, None, frame_s=0.0)


def assembly_rbm() -> RBM:
    """Two assemblies of five sparse units, each driven by one hidden unit: strong 2- and 3-point terms."""
    g = np.random.default_rng(0)
    W = g.normal(0, 0.3, (10, 2))
    W[:5, 0] += 3
    W[5:, 1] += 3
    return RBM.from_numpy(W, g.normal(-3, 0.3, 10), np.full(2, -3.0))


def test_compare_sees_model_samples_as_alike_and_independent_ones_as_not():
    rbm = assembly_rbm()
    train = exact_samples(rbm, 20000, seed=1)
    test = exact_samples(rbm, 10000, seed=2)
    gen = exact_samples(rbm, 12000, seed=3)
    rep = st.compare(train, test, gen, rbm, 0.02, generated_segments=np.array([0, 6000]),
                     recording_k=train.sum(axis=1),
                     n_triplets=120, conditional_frames=500, max_lag=4, lags=(1, 2), seed=0)
    assert rep.n_samples == 10000
    assert set(rep.means) == set(st.SETS) and rep.pairs["train"].shape == (45,)
    assert rep.triplets.shape == (120, 3) and rep.projections["generated"].shape == (10000, 2)
    for name in ("test", "generated"):
        for stat in ("means", "pairs"):
            assert rep.fits[stat][name].r > 0.95 and 0.9 < rep.fits[stat][name].slope < 1.1, (stat, name)
        assert rep.fits["triplets"][name].r > 0.8 and 0.8 < rep.fits["triplets"][name].slope < 1.2, name
    assert abs(rep.fits["means"]["independent"].slope - 1) < 0.1
    assert abs(rep.fits["pairs"]["independent"].slope) < 0.1
    assert abs(rep.fits["triplets"]["independent"].slope) < 0.1
    assert rep.p_k["generated"].shape == (11,) and rep.p_k["generated"].sum() == pytest.approx(1)
    assert set(rep.temporal) == {"generated", "independent", "recording"} and not rep.notes
    assert rep.summary()["pairs"]["test"]["r"] == rep.fits["pairs"]["test"].r
    with pytest.raises(NeuroRBMError, match="frames"):
        st.compare(train[:, :5], test, gen, rbm, 0.02)


@pytest.mark.real
def test_real_retina_correlations_are_reproducible_and_missed_by_independent_neurons(real_data):
    from napari_neurorbm.analysis.generation import iter_generate
    from napari_neurorbm.data.raster import read_raster
    from napari_neurorbm.progress import drain
    from napari_neurorbm.rbm.model import independent_rbm

    raster = read_raster(real_data / "tkacik2014_retina50.npz")
    train, test = raster.frames("train")[:20000], raster.frames("test")[:10000]
    rbm = independent_rbm(train, n_hidden=4)  # an untrained model: no couplings
    gen = drain(iter_generate(rbm, 10000, tau=1, chains=10, init="data", data=train))
    k = raster.binary[:, :30000].sum(axis=0)
    rep = st.compare(train, test, gen.frames, rbm, raster.bin_s, generated_segments=gen.segment_starts,
                     recording_k=k, n_triplets=2000, conditional_frames=200, seed=0)
    assert rep.fits["pairs"]["test"].r > 0.9 and rep.fits["pairs"]["test"].slope > 0.8
    assert abs(rep.fits["pairs"]["generated"].slope) < 0.1  # the statistics see what is missing
    assert rep.fits["means"]["generated"].r > 0.95
    # retinal activity persists over frames; independent sampling forgets at once
    assert rep.temporal["recording"].autocorr[1] > 0.3 > abs(rep.temporal["generated"].autocorr[1])


def test_three_point_correlations_equal_their_definition_on_random_sparse_frames():
    rng = np.random.default_rng(5)
    x = (rng.random((1003, 12)) < rng.uniform(0.02, 0.5, 12)).astype(np.uint8)  # not a multiple of 64 frames
    x[:, 3] = x[:, 1] & x[:, 2]  # some strongly connected triplets
    t = st.random_triplets(12, 100, seed=0)
    d = x - x.mean(axis=0)
    direct = (d[:, t[:, 0]] * d[:, t[:, 1]] * d[:, t[:, 2]]).mean(axis=0)
    np.testing.assert_allclose(st.connected_triplets(x, t), direct, atol=1e-14)
    np.testing.assert_allclose(st.connected_triplets(x.astype(np.float32), t), direct, atol=1e-14)
    with pytest.raises(NeuroRBMError, match="0/1"):
        st.connected_triplets(x * 0.5, t)
