"""MCMC in time and clamping experiments, against exact enumeration on small models."""

import itertools
import json

import numpy as np
import pandas as pd
import pytest
import torch

from napari_neurorbm.analysis import generation as gen
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.model import RBM
from napari_neurorbm.rbm.sampling import Bernoulli, Sweeper


def small_rbm(nv=8, nh=3, seed=0) -> RBM:
    g = np.random.default_rng(seed)
    return RBM.from_numpy(g.normal(0, 1.0, (nv, nh)), g.normal(-0.5, 0.5, nv), g.normal(0, 0.5, nh))


def block_rbm() -> RBM:
    """Two groups of four units, each with its own hidden unit, and a third hidden unit between them."""
    g = np.random.default_rng(0)
    W = g.normal(0, 0.3, (8, 3))
    W[:4, 0] += 2
    W[4:, 1] += 2
    W[[0, 1], 2] -= 1.5
    W[[6, 7], 2] += 1.5
    return RBM.from_numpy(W, np.full(8, -1.5), np.array([-2.0, -2.0, 0.0]))


def visible_distribution(rbm: RBM) -> tuple[np.ndarray, np.ndarray]:
    """Every visible state and its exact probability p(v) ∝ exp(-F(v))."""
    states = np.array(list(itertools.product([0, 1], repeat=rbm.n_visible)), dtype=np.float32)
    neg_f = -rbm.free_energy(torch.tensor(states)).double().numpy()
    p = np.exp(neg_f - neg_f.max())
    return states, p / p.sum()


def exact_conditional_means(rbm: RBM, units=(), values=()) -> np.ndarray:
    """p(v_i = 1 | v_units = values) for every unit, by enumeration (the plain marginals without a clamp)."""
    states, p = visible_distribution(rbm)
    keep = np.all(states[:, list(units)] == np.asarray(values, dtype=np.float32), axis=1)
    return (p[keep] @ states[keep]) / p[keep].sum()


def exact_samples(rbm: RBM, n: int, seed: int) -> np.ndarray:
    states, p = visible_distribution(rbm)
    return states[np.random.default_rng(seed).choice(len(p), size=n, p=p)]


def run(rbm, n_frames, **kw) -> gen.GeneratedRun:
    return drain(gen.iter_generate(rbm, n_frames, **kw))


def test_free_sampling_matches_exact_marginals():
    rbm = small_rbm()
    data = exact_samples(rbm, 500, seed=1)
    out = run(rbm, 24000, tau=2, chains=40, init="data", data=data, seed=3)
    assert out.frames.shape == (24000, 8) and out.frames.dtype == np.uint8
    np.testing.assert_allclose(out.frames.mean(axis=0), exact_conditional_means(rbm), atol=0.015)
    # from random states too, once the first frames of each chain are left out
    rnd = run(rbm, 24000, tau=2, chains=40, init="random", seed=4)
    late = np.concatenate([rnd.chain(c)[20:] for c in range(rnd.n_chains)])
    np.testing.assert_allclose(late.mean(axis=0), exact_conditional_means(rbm), atol=0.015)


def test_clamped_sampling_matches_exact_conditionals_and_clamped_units_never_move():
    rbm = block_rbm()
    units, values = [1, 4, 6], [1, 0, 1]
    clamp = gen.make_clamp(units, values, rbm.n_visible)
    out = run(rbm, 24000, tau=2, chains=40, init="random", clamp=clamp, seed=5)
    np.testing.assert_array_equal(out.frames[:, units], np.broadcast_to(values, (24000, 3)))
    late = np.concatenate([out.chain(c)[20:] for c in range(out.n_chains)])
    want = exact_conditional_means(rbm, units, values)
    free = np.setdiff1d(np.arange(8), units)
    np.testing.assert_allclose(late.mean(axis=0)[free], want[free], atol=0.015)
    # and they differ from the free marginals, so the test can tell
    assert np.max(np.abs(want[free] - exact_conditional_means(rbm)[free])) > 0.05


def test_a_pattern_per_chain_is_held_in_each_chain():
    rbm = small_rbm()
    pattern = np.array([[1, 0], [0, 1], [1, 1]])
    clamp = gen.make_clamp([2, 5], pattern, rbm.n_visible, chains=3)
    out = run(rbm, 30, tau=1, chains=3, init="random", clamp=clamp, seed=0)
    for c in range(3):
        np.testing.assert_array_equal(out.chain(c)[:, [2, 5]], np.broadcast_to(pattern[c], (10, 2)))


def test_frames_are_every_tau_sweeps_of_each_chain():
    rbm = small_rbm(nv=6, nh=2)
    data = exact_samples(rbm, 50, seed=0)
    out = run(rbm, 10, tau=3, chains=2, init="data", data=data, seed=7)
    v0, rows = gen.start_states(6, 2, "data", data, seed=7)
    np.testing.assert_array_equal(rows, out.start_frames)
    sweeper = Sweeper(2, 6, 2, Bernoulli("cpu", 7))  # one sampler for the whole run, seeded with the seed
    v = torch.as_tensor(v0)
    want = []
    for _ in range(5):
        for _ in range(3):
            sweeper.visible(rbm, sweeper.hidden(rbm, v), out=v)
        want.append(v.numpy().astype(np.uint8))
    want = np.stack(want)  # frames x chains x units
    np.testing.assert_array_equal(out.chain(0), want[:, 0])
    np.testing.assert_array_equal(out.chain(1), want[:, 1])


def test_chains_are_segments_and_seeds_repeat():
    rbm = small_rbm()
    out = run(rbm, 23, tau=1, chains=4, init="random", seed=1)
    np.testing.assert_array_equal(out.segment_starts, [0, 6, 12, 18])
    assert [len(out.chain(c)) for c in range(4)] == [6, 6, 6, 5] and out.n_frames == 23
    np.testing.assert_array_equal(out.frames, run(rbm, 23, tau=1, chains=4, init="random", seed=1).frames)
    assert not np.array_equal(out.frames, run(rbm, 23, tau=1, chains=4, init="random", seed=2).frames)
    progress = list(itertools.islice(gen.iter_generate(rbm, 23, tau=1, chains=4, init="random"), 100))
    assert progress[-1].done == 23 and progress[-1].total == 23
    assert all(a.done <= b.done for a, b in itertools.pairwise(progress))


def test_clamp_onset_and_control_runs():
    rbm = small_rbm()
    res = drain(gen.iter_clamp_experiment(rbm, [0, 3], 1, onset=4, n_frames=60, tau=2, chains=5,
                                          init="random", seed=2))
    for c in range(5):
        clamped, control = res.clamped.chain(c), res.control.chain(c)
        np.testing.assert_array_equal(clamped[:4], control[:4])  # same start, same random stream
        assert np.all(clamped[4:, [0, 3]] == 1)
        assert not np.all(control[4:, [0, 3]] == 1)
    assert res.clamped.clamp_onset == 4 and res.control.clamp_units.size == 0
    post = np.stack([res.clamped.chain(c)[4:].mean(0) - res.control.chain(c)[4:].mean(0) for c in range(5)])
    np.testing.assert_allclose(res.chain_delta, post)
    np.testing.assert_allclose(res.delta, post.mean(0))
    np.testing.assert_allclose(res.delta_se, post.std(0, ddof=1) / np.sqrt(5))


def assembly_rbm() -> RBM:
    """Units 0-4 share one strong hidden unit; units 5-7 couple to nothing (independent of everything)."""
    W = np.zeros((8, 2))
    W[:5, 0] = 2.5
    W[:5, 1] = np.array([0.3, -0.2, 0.1, 0.0, 0.2])
    return RBM.from_numpy(W, np.full(8, -2.0), np.array([-3.0, 0.0]))


def test_clamp_effect_per_unit_and_area_against_noise():
    rbm = assembly_rbm()
    areas = np.array(["A"] * 5 + ["B"] * 3)
    res = drain(gen.iter_clamp_experiment(rbm, [0], 1, onset=0, n_frames=4000, tau=2, chains=20,
                                          init="random", seed=0, areas=areas))
    want = exact_conditional_means(rbm, [0], [1]) - exact_conditional_means(rbm)
    np.testing.assert_allclose(res.delta[1:5], want[1:5], atol=0.05)
    assert res.beyond[1:5].all()
    # units coupled to nothing see the same random numbers in both runs: no change at all
    np.testing.assert_array_equal(res.delta[5:], 0.0)
    assert not res.beyond[5:].any()
    assert res.is_clamped.tolist() == [True] + [False] * 7
    np.testing.assert_array_equal(res.area_names, ["A", "B"])
    assert res.area_delta[0] == pytest.approx(res.delta[1:5].mean())
    assert res.area_beyond.tolist() == [True, False]
    table = res.area_table()
    assert table["n_free_units"].tolist() == [4, 3]


def test_export_writes_rasters_tables_and_parameters(tmp_path, atomic_writes):
    rbm = small_rbm()
    areas = np.array(["VISp"] * 4 + ["LGd"] * 4)
    res = drain(gen.iter_clamp_experiment(rbm, [1], 0, onset=2, n_frames=40, tau=1, chains=4, seed=0,
                                          init="random", areas=areas))
    ids = np.arange(100, 108)
    paths = gen.export_clamp_experiment(res, tmp_path / "exp", bin_s=0.02, unit_ids=ids,
                                        extra_params={"model": "m.npz"})
    assert all(p.is_file() for p in paths)
    assert sorted(atomic_writes) == sorted(paths) == sorted((tmp_path / "exp").iterdir())  # all atomic
    r = read_raster(tmp_path / "exp" / "clamped.npz")
    np.testing.assert_array_equal(r.counts, res.clamped.frames.T)
    np.testing.assert_array_equal(r.segment_starts, res.clamped.segment_starts)
    np.testing.assert_array_equal(r.areas, areas)
    np.testing.assert_array_equal(r.unit_ids, ids)
    units = pd.read_csv(tmp_path / "exp" / "clamp_units.csv")
    assert units["unit_id"].tolist() == ids.tolist() and units["clamped"].tolist()[1]
    np.testing.assert_allclose(units["delta"], res.delta)
    assert pd.read_csv(tmp_path / "exp" / "clamp_areas.csv")["area"].tolist() == ["VISp", "LGd"]
    params = json.loads((tmp_path / "exp" / "clamp_params.json").read_text())
    assert params["clamp_units"] == [1] and params["clamp_onset"] == 2 and params["model"] == "m.npz"
    with np.load(tmp_path / "exp" / "clamp_experiment.npz") as z:
        np.testing.assert_allclose(z["delta"], res.delta)


def test_generated_run_as_raster_round_trip(tmp_path):
    out = run(small_rbm(), 12, tau=1, chains=3, init="random")
    path = out.to_raster(0.01, unit_ids=np.arange(8) + 5, name="gen").save(tmp_path / "g.npz")
    r = read_raster(path)
    np.testing.assert_array_equal(r.counts, out.frames.T)
    np.testing.assert_array_equal(r.segment_starts, [0, 4, 8])
    assert r.bin_s == 0.01 and r.frames("train").shape == (12, 8)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_frames": 0}, "number of frames"),
        ({"tau": 0}, "tau"),
        ({"chains": 0}, "number of chains"),
        ({"n_frames": 3, "chains": 4}, "4 chains need"),
        ({"init": "data"}, "needs data"),
        ({"init": "data", "data": np.zeros((5, 3))}, "frames x 8"),
        ({"init": "data", "data": np.full((5, 8), 2)}, "0/1"),
        ({"init": "zeros"}, "unknown init"),
        ({"clamp": "onset"}, "clamp onset"),
    ],
)
def test_bad_generation_requests(kwargs, match):
    rbm = small_rbm()
    args = {"n_frames": 20, "tau": 1, "chains": 2, "init": "random", **kwargs}
    if args.get("clamp") == "onset":
        args.update(clamp=gen.make_clamp([0], 1, 8), clamp_onset=10)
    with pytest.raises(NeuroRBMError, match=match):
        run(rbm, **args)


@pytest.mark.parametrize(
    ("units", "values", "match"),
    [
        ([8], 1, "out of range"),
        ([-1], 1, "out of range"),
        ([], 1, "no unit"),
        ([1, 1], 1, "twice"),
        ([1.5], 1, "integer"),
        ([1], 2, "0 or 1"),
        ([1, 2], [1, 0, 1], "do not fit"),
    ],
)
def test_bad_clamps(units, values, match):
    with pytest.raises(NeuroRBMError, match=match):
        gen.make_clamp(units, values, 8)


def test_clamp_experiment_needs_two_chains_and_matching_areas():
    rbm = small_rbm()
    with pytest.raises(NeuroRBMError, match="at least 2 chains"):
        drain(gen.iter_clamp_experiment(rbm, [0], 1, 0, 10, chains=1, init="random"))
    with pytest.raises(NeuroRBMError, match="areas"):
        drain(gen.iter_clamp_experiment(rbm, [0], 1, 0, 10, chains=2, init="random", areas=["A"] * 3))
