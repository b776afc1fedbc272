"""``neurorbm maxent`` end to end on small rasters, ``loglik`` and ``heat`` on its file, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from napari_neurorbm.analysis.baseline import iter_maxent
from napari_neurorbm.analysis.pairwise_file import load_pairwise
from napari_neurorbm.cli import main
from napari_neurorbm.configs import MaxEntConfig
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.data.synthetic import make_synthetic
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.io import load_model, save_model
from napari_neurorbm.rbm.model import RBM

FAST = ["--updates", "30", "--chains", "200", "--ais-chains", "100", "--ais-betas", "200", "--device", "cpu"]


def _raster(folder, units_per_area: int, silent: bool = False):
    session, _ = make_synthetic(n_areas=2, units_per_area=units_per_area, duration_s=120.0, seed=1)
    raster = binarize(session, BinningParams(seed=0))
    if silent:  # the first unit never fires in the training frames
        raster.counts[0, raster.train_frames] = 0
    return raster.save(folder / f"raster{2 * units_per_area}{'s' if silent else ''}.npz")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return _raster(tmp_path_factory.mktemp("maxent"), 6)


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    return _raster(tmp_path_factory.mktemp("maxent"), 11, silent=True)


@pytest.fixture(scope="module")
def fitted(large, tmp_path_factory):
    """The pairwise model file of the 22-unit raster."""
    out = tmp_path_factory.mktemp("maxent") / "pairwise.npz"
    assert main(["maxent", str(large), "--out", str(out), "--l2", "0.01", *FAST]) == 0
    return out


def _rbm(path, raster_path):
    raster = read_raster(raster_path)
    rng = np.random.default_rng(0)
    rbm = RBM.from_numpy(rng.normal(0, 0.3, (raster.n_units, 3)), np.full(raster.n_units, -2.0), np.zeros(3))
    return save_model(path, rbm, {"unit_ids": raster.unit_ids.tolist()})


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_maxent_on_12_units_is_exact_and_loglik_and_heat_read_its_file(small, tmp_path, capsys):
    out, rbm = tmp_path / "pairwise.npz", _rbm(tmp_path / "rbm.npz", small)
    assert main(["maxent", str(small), "--out", str(out), "--rbm", str(rbm), "--json", *FAST]) == 0
    s = _json(capsys)
    assert s["log_z_method"] == "exact" and s["units"] == 12 and s["updates"] == 30
    assert s["l2_chosen_by"] == "held-out pseudolikelihood" and f"{s['l2']:g}" in s["l2_tried"]
    assert abs(s["pairwise_test_ll"] - s["independent_test_ll"]) < 0.05  # nearly independent units
    gain = (s["pairwise_test_ll"] - s["independent_test_ll"]) / (s["rbm_test_ll"] - s["independent_test_ll"])
    assert s["share_of_rbm_gain"] == pytest.approx(gain)
    assert load_pairwise(out).metadata["pairwise_test_ll"] == s["pairwise_test_ll"]
    assert main(["loglik", str(out), str(small), "--method", "exact", "--frames", "test", "--json"]) == 0
    again = _json(capsys)
    assert again["loglik"] == pytest.approx(s["pairwise_test_ll"])
    assert again["log_z"] == pytest.approx(s["log_z"])
    assert main(["heat", str(out), "--steps", "5", "--out", str(tmp_path / "heat.csv"), "--json"]) == 0
    assert _json(capsys)["units"] == 12


def test_maxent_beyond_20_units_uses_ais_and_keeps_a_silent_unit_independent(large, fitted, tmp_path,
                                                                             capsys):
    s = load_pairwise(fitted).metadata
    assert s["log_z_method"] == "ais" and s["units"] == 22 and s["constant_units"] == 1
    assert s["l2"] == 0.01 and s["l2_chosen_by"] == "given" and s["l2_tried"] is None
    assert np.isfinite(s["pairwise_test_ll"]) and s["log_z_stderr"] > 0
    assert main(["loglik", str(fitted), str(large), "--chains", "100", "--betas", "200", "--json"]) == 0
    assert np.isfinite(_json(capsys)["loglik"])
    heat = tmp_path / "heat.csv"
    assert main(["heat", str(fitted), "--steps", "3", "--sweeps", "8", "--chains", "2", "--out", str(heat),
                 "--json"]) == 0
    assert _json(capsys)["method"] == "monte carlo" and len(pd.read_csv(heat)) == 3


def test_the_results_table_moments_and_file_hold_its_numbers(small, tmp_path):
    raster = read_raster(small)
    rbm = load_model(_rbm(tmp_path / "rbm.npz", small)).rbm
    result = drain(iter_maxent(raster, MaxEntConfig(updates=30, chains=200, device="cpu"), rbm))
    s = result.summary()
    table = result.table()
    assert list(table["model"]) == ["independent", "pairwise", "RBM"]
    assert list(table["test_ll"]) == [s["independent_test_ll"], s["pairwise_test_ll"], s["rbm_test_ll"]]
    assert table["gain_over_independent"].iloc[0] == 0 and table["share_of_rbm_gain"].iloc[2] == 1
    assert table["share_of_rbm_gain"].iloc[1] == pytest.approx(s["share_of_rbm_gain"])
    data, model = result.covariances()
    assert len(data) == 66 and s["moments_method"] == "exact"  # 12 units, all of them vary
    assert s["pair_covariance_r"] == pytest.approx(np.corrcoef(data, model)[0, 1])
    assert s["pair_covariance_slope"] == pytest.approx(np.sum((data - data.mean()) * model)
                                                       / np.sum((data - data.mean()) ** 2))
    assert s["pair_covariance_max_error"] == pytest.approx(np.abs(model - data).max())
    sample = result.covariances(at_most=10)
    assert len(sample[0]) == 10 and set(zip(*sample, strict=True)) <= set(zip(data, model, strict=True))
    written = load_pairwise(result.save(tmp_path / "pw", raster))
    np.testing.assert_array_equal(written.model.J, result.fit.model.J)
    assert written.metadata["raster"] == raster.name and written.metadata["config"]["updates"] == 30
    assert {k: written.metadata[k] for k in s} == s


@pytest.mark.parametrize("argv, message", [
    (["loglik", "PAIRWISE", "LARGE", "--method", "exact"], "at most 20 units, this model has 22"),
    (["loglik", "PAIRWISE", "LARGE", "--method", "ptt"], "for a pairwise model use exact or ais"),
    (["maxent", "LARGE", "--out", "OUT", "--rbm", "PAIRWISE"], "is a pairwise maximum-entropy model file"),
    (["maxent", "LARGE", "--out", "OUT", "--rbm", "RBM12"], "the model has 12 visible units"),
    (["maxent", "SILENT", "--out", "OUT"], "fewer than 2 units vary in the training frames"),
    (["maxent", "LARGE", "--out", "OUT", "--l2", "-1"], "--l2: the L2 penalty must be at least 0"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, small, large, fitted, tmp_path, capsys):
    silent = read_raster(small)
    silent.counts[:] = 0
    names = {"PAIRWISE": str(fitted), "LARGE": str(large), "OUT": str(tmp_path / "o.npz"),
             "RBM12": str(_rbm(tmp_path / "rbm.npz", small)), "SILENT": str(silent.save(tmp_path / "s.npz"))}
    assert main([names.get(a, a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
