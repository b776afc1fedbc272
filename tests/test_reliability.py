"""Coupling reliability from replicate models: exact answers on replicates built by hand, the checks that
replicates share units, and on the synthetic session: pairs with a large true coupling are more reliable."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from napari_neurorbm.analysis.areas import area_coupling_matrix, area_table
from napari_neurorbm.analysis.couplings import fields_and_couplings
from napari_neurorbm.analysis.reliability import (
    ReplicateCouplings,
    area_replicates,
    check_replicates,
    iter_replicate_couplings,
    load_replicates,
    replicate_spread,
    standard_score,
)
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.synthetic import make_synthetic
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.io import ModelFile, save_model
from napari_neurorbm.rbm.model import RBM
from napari_neurorbm.rbm.training import TrainConfig, Trainer
from synthetic_model import one_torch_thread  # noqa: F401 (a fixture)

AREAS = np.array(["VISp", "VISp", "CA1", "CA1", "CA1"])


def test_spread_of_replicates_built_by_hand() -> None:
    # two replicates per entry: mean, sample std (ddof 1), se = std / sqrt(2), t = |mean| / se
    values = np.array([[1.0, -2.0, 0.0, 5.0], [3.0, -4.0, 0.0, 5.0]])
    s = replicate_spread(values)
    np.testing.assert_allclose(s.mean, [2.0, -3.0, 0.0, 5.0])
    np.testing.assert_allclose(s.std, [np.sqrt(2), np.sqrt(2), 0.0, 0.0])
    np.testing.assert_allclose(s.se, [1.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(s.t, [2.0, 3.0, 0.0, np.inf])  # equal replicates: 0 for 0, inf otherwise
    assert s.n == 2
    # four replicates 1, 2, 3, 6: mean 3, std sqrt(14/3), se sqrt(14/3)/2
    s4 = replicate_spread(np.array([1.0, 2.0, 3.0, 6.0]))
    assert s4.mean == 3.0 and s4.std == pytest.approx(np.sqrt(14 / 3))
    assert s4.t == pytest.approx(3.0 / (np.sqrt(14 / 3) / 2))
    np.testing.assert_allclose(standard_score(np.array([-2.0, 1.0]), np.array([0.5, 0.0])), [-4.0, np.inf])


@pytest.mark.parametrize("count", [0, 1])
def test_a_spread_needs_two_replicates(count: int) -> None:
    with pytest.raises(NeuroRBMError, match=f"a spread needs at least 2 replicates, got {count}"):
        replicate_spread(np.ones((count, 3)))


def hand_replicates() -> ReplicateCouplings:
    """Three replicates of a 5-unit J: pair (0, 1) = 1, 2, 3 (t = 2 / (1 / sqrt 3) = 2 sqrt 3), pair (2, 3) =
    -1, -1, -1 (se 0: t inf), pair (0, 2) = 1, -1, 0 (t 0), every other pair 0."""
    J = np.zeros((3, 5, 5))
    for r, (a, b, c) in enumerate([(1, -1, 1), (2, -1, -1), (3, -1, 0)]):
        J[r, 0, 1], J[r, 2, 3], J[r, 0, 2] = a, b, c
    J = J + J.transpose(0, 2, 1)
    return ReplicateCouplings(np.zeros((3, 5)), J, AREAS, np.arange(5), ("r1", "r2", "r3"))


def test_pairs_mean_spread_and_reliability_by_hand() -> None:
    rep = hand_replicates()
    p = rep.pairs
    assert rep.n_replicates == 3
    assert p.mean[0, 1] == p.mean[1, 0] == 2.0 and p.std[0, 1] == 1.0
    assert p.se[0, 1] == pytest.approx(1 / np.sqrt(3)) and p.t[0, 1] == pytest.approx(2 * np.sqrt(3))
    assert p.mean[2, 3] == -1.0 and p.std[2, 3] == 0.0 and p.t[2, 3] == np.inf
    assert p.mean[0, 2] == 0.0 and p.t[0, 2] == 0.0 and p.std[0, 2] == 1.0
    np.testing.assert_array_equal(np.diag(p.t), 0.0)
    expected = np.zeros((5, 5), dtype=bool)
    expected[[0, 1, 2, 3], [1, 0, 3, 2]] = True
    np.testing.assert_array_equal(rep.reliable(3.0), expected)  # 2 sqrt 3 = 3.46 >= 3
    assert rep.n_reliable(3.0) == 2 and rep.n_reliable(3.5) == 1


def test_area_couplings_of_replicates_by_hand() -> None:
    rep = hand_replicates()
    s = rep.areas_spread(min_units=2)
    assert s.names.tolist() == ["VISp", "CA1"]
    # VISp-VISp: J_01 over n_A (n_A - 1) = 2 ordered pairs: 2 J_01 / 2 = 1, 2, 3; CA1-CA1: 2 J_23 / 6 = -1/3;
    # VISp-CA1: J_02 / 6 = 1/6, -1/6, 0
    np.testing.assert_allclose(s.values[:, 0, 0], [1, 2, 3])
    np.testing.assert_allclose(s.values[:, 1, 1], [-1 / 3] * 3)
    np.testing.assert_allclose(s.values[:, 0, 1], [1 / 6, -1 / 6, 0])
    np.testing.assert_allclose(s.spread.mean, [[2, 0], [0, -1 / 3]], atol=1e-15)
    np.testing.assert_allclose(s.spread.se, [[1 / np.sqrt(3), 1 / 6 / np.sqrt(3)],
                                             [1 / 6 / np.sqrt(3), 0]], atol=1e-15)
    # the mean of J_AB is J_AB of the mean J (eq. 15 is linear)
    np.testing.assert_allclose(s.spread.mean, area_coupling_matrix(rep.pairs.mean, AREAS, 2)[1], atol=1e-15)
    table = rep.area_table(min_units=2)
    pd.testing.assert_frame_equal(table[["J[VISp]", "J[CA1]"]],
                                  area_table(rep.pairs.mean, AREAS, 2)[["J[VISp]", "J[CA1]"]])
    np.testing.assert_allclose(table["se J[VISp]"], s.spread.se[:, 0])
    assert area_replicates(rep.J, AREAS, 3).names.tolist() == ["CA1"]


def test_no_areas_means_no_area_couplings() -> None:
    rep = hand_replicates()
    bare = ReplicateCouplings(rep.H, rep.J, None, None, rep.names)
    with pytest.raises(NeuroRBMError, match="no brain areas"):
        bare.areas_spread(2)


def model(W: np.ndarray, ids=None, areas=None) -> ModelFile:
    n, m = W.shape
    meta = {k: v for k, v in (("unit_ids", ids), ("areas", areas)) if v is not None}
    return ModelFile(RBM.from_numpy(W, np.full(n, -1.0), np.full(m, -0.5)), meta)


def test_replicate_couplings_are_each_models_couplings(tmp_path) -> None:
    rng = np.random.default_rng(3)
    Ws = [rng.normal(0, 0.6, (5, 3)) for _ in range(3)]
    meta = {"areas": AREAS.tolist(), "unit_ids": [4, 3, 2, 1, 0]}
    paths = [save_model(tmp_path / f"r{k}.npz", model(W).rbm, meta) for k, W in enumerate(Ws)]
    models = load_replicates(paths)
    seen = []
    rep = drain(iter_replicate_couplings(models, ["r0", "r1", "r2"], device="cpu"), seen.append)
    for r, m in enumerate(models):
        H, J = fields_and_couplings(*m.rbm.numpy())
        np.testing.assert_allclose(rep.J[r], J, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(rep.H[r], H, rtol=1e-12, atol=1e-15)
    assert rep.areas.tolist() == AREAS.tolist() and rep.unit_ids.tolist() == [4, 3, 2, 1, 0]
    assert rep.names == ("r0", "r1", "r2") and rep.models == tuple(models)
    assert seen[-1].done == seen[-1].total == 9 and "replicate 3/3: r2" in seen[-1].message
    assert [p.done for p in seen] == sorted(p.done for p in seen)


@pytest.mark.parametrize(
    "other, message",
    [
        (model(np.zeros((4, 3))), "r2.npz and r1.npz are not on the same units (4 and 5 visible units)"),
        (model(np.zeros((5, 3)), ids=[0, 1, 2, 4, 3]), "unit ids or areas differ from row 3 on"),
        (model(np.zeros((5, 2)), areas=["VISp"] * 5), "unit ids or areas differ from row 2 on"),
    ],
    ids=["count", "ids", "areas"],
)
def test_replicates_must_share_units(other: ModelFile, message: str) -> None:
    first = model(np.zeros((5, 3)), ids=[0, 1, 2, 3, 4], areas=AREAS.tolist())
    with pytest.raises(NeuroRBMError, match=re.escape(message)):
        check_replicates([first, other], ["r1.npz", "r2.npz"])
    check_replicates([first, model(np.ones((5, 7)))], ["r1.npz", "r2.npz"])  # nothing listed: nothing differs


def test_one_model_is_no_replicate_set() -> None:
    with pytest.raises(NeuroRBMError, match="session A: a spread needs at least 2 model files, got 1"):
        check_replicates([model(np.zeros((5, 3)))], ["a.npz"], "session A")


def test_true_couplings_are_more_reliable_on_the_synthetic_session() -> None:
    """Four small models (seeds 0-3) of a synthetic session: the pairs among the 10 % largest true |J_ij| of
    the ground-truth RBM have a larger reliability t than the half of the pairs with the smallest."""
    session, truth = make_synthetic(n_areas=3, units_per_area=10, duration_s=600.0, bin_s=0.05, seed=1)
    raster = binarize(session, BinningParams(bin_ms=50.0, test_fraction=0.2, seed=0))
    rows = pd.Index(session.unit_ids).get_indexer(raster.unit_ids)
    _, J_true = fields_and_couplings(truth.W[rows], truth.b[rows], truth.c)
    models = []
    for seed in range(4):
        cfg = TrainConfig(n_hidden=8, updates=400, batch=500, chains=200, lr=1.0, seed=seed, eval_every=0,
                          checkpoints=0, device="cpu")
        trainer = drain(Trainer.from_raster(raster, cfg).run())
        models.append(ModelFile(trainer.selected[1], {"areas": raster.areas, "unit_ids": raster.unit_ids}))
    rep = drain(iter_replicate_couplings(models, [f"seed {s}" for s in range(4)], device="cpu"))
    iu = np.triu_indices(len(J_true), 1)
    size, t = np.abs(J_true[iu]), rep.pairs.t[iu]
    strong, weak = size >= np.quantile(size, 0.9), size <= np.quantile(size, 0.5)
    # measured: mean t 8.8 against 4.7, medians 6.3 and 3.3, correlation of the mean with the truth 0.74
    assert t[strong].mean() > 1.5 * t[weak].mean()
    assert np.median(t[strong]) > np.median(t[weak])
    # and the mean over replicates follows the truth
    assert np.corrcoef(rep.pairs.mean[iu], J_true[iu])[0, 1] > 0.6
