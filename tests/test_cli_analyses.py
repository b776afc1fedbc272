"""``neurorbm spectrum``, ``dmd``, ``multiinfo`` and ``heat`` end to end on small files, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from napari_neurorbm.analysis.dmd import dmd_of
from napari_neurorbm.analysis.heat import heat_exact, temperatures
from napari_neurorbm.analysis.heat_subsets import iter_heat_subsets
from napari_neurorbm.analysis.spectrum import spectrum_of
from napari_neurorbm.cli import main
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.data.synthetic import make_synthetic
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.io import load_model
from test_cli_couplings import _write_model


@pytest.fixture(scope="module")
def raster_path(tmp_path_factory):
    session, _ = make_synthetic(n_areas=2, units_per_area=12, duration_s=120.0, seed=1)
    path = tmp_path_factory.mktemp("analyses") / "raster.npz"
    binarize(session, BinningParams(seed=0)).save(path)
    return path


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_spectrum_writes_every_curve_and_the_exponents(raster_path, tmp_path, capsys):
    out = tmp_path / "spectrum.csv"
    assert main(["spectrum", str(raster_path), "--generated", str(raster_path), "--block-ms", "40",
                 "--first-rank", "2", "--min-area-units", "12", "--out", str(out), "--json"]) == 0
    summary = _json(capsys)
    raster = read_raster(raster_path)
    direct = spectrum_of(raster.counts.T.astype(float), 2, raster.segment_starts, first=2)
    assert summary["alpha"]["recording"] == pytest.approx(direct.alpha)
    assert summary["alpha"]["generated"] == summary["alpha"]["recording"]
    table = pd.read_csv(out)
    assert list(table.columns) == ["rank", "recording", "time_shuffled", "independent", "generated",
                                   "area:VISl", "area:VISp"]
    np.testing.assert_allclose(table["recording"], direct.variance)


def test_dmd_prints_the_share_of_real_eigenvalues(raster_path, tmp_path, capsys):
    out = tmp_path / "dmd.csv"
    assert main(["dmd", str(raster_path), "--pcs", "5", "--out", str(out), "--json"]) == 0
    raster = read_raster(raster_path)
    direct = dmd_of(raster.counts.T, 5, raster.segment_starts)
    assert _json(capsys)["recording"]["real_fraction"] == direct.real_fraction
    table = pd.read_csv(out)
    np.testing.assert_allclose(table["real"] + 1j * table["imag"], direct.eigenvalues)


def test_multiinfo_with_a_model_prints_both_ratios(raster_path, tmp_path, capsys):
    raster = read_raster(raster_path)
    rng = np.random.default_rng(0)
    model = tmp_path / "model.npz"
    np.savez(model, W=rng.normal(0, 0.3, (raster.n_units, 3)).astype(np.float32),
             b=np.full(raster.n_units, -2.0, np.float32), c=np.zeros(3, np.float32), metadata="{}")
    out = tmp_path / "groups.csv"
    assert main(["multiinfo", str(raster_path), "--group-size", "4", "--groups", "6", "--model", str(model),
                 "--out", str(out), "--json"]) == 0
    summary = _json(capsys)
    table = pd.read_csv(out)
    assert summary["groups"] == len(table) and summary["group_size"] == 4
    assert summary["i2_over_in"] == pytest.approx(table["i2_over_in"].mean())
    assert "model_over_in" in summary and np.isfinite(table["S_model"]).all()


def test_heat_of_a_small_model_is_exact(tmp_path, capsys):
    model, out = _write_model(tmp_path / "model.npz"), tmp_path / "heat.csv"
    assert main(["heat", str(model), "--t-min", "0.5", "--t-max", "2", "--steps", "7", "--out", str(out),
                 "--json"]) == 0
    summary = _json(capsys)
    curve = heat_exact(load_model(model).rbm, temperatures(0.5, 2.0, 7))
    assert summary["method"] == "exact" and summary["peak_T"] == curve.peak_T
    np.testing.assert_allclose(pd.read_csv(out)["C"], curve.C)


def test_heat_of_subsets_writes_every_curve_and_the_peak_per_size(raster_path, tmp_path, capsys):
    out = tmp_path / "subsets.csv"
    assert main(["heat", "--raster", str(raster_path), "--subsets", "5,3", "--subset-draws", "2",
                 "--steps", "7", "--out", str(out), "--json"]) == 0
    summary = _json(capsys)
    frames = read_raster(raster_path).frames("all")
    direct = drain(iter_heat_subsets(frames, (3, 5), 2, temperatures(0.5, 2, 7)))
    table = pd.read_csv(out)
    assert list(table.columns) == ["N", "draw", "units", "T", "C"] and len(table) == 2 * 2 * 7
    np.testing.assert_allclose(table["C"], np.concatenate([c.C for c in direct.curves]))
    assert list(summary["sizes"]) == ["3", "5"] and summary["draws"] == 2
    assert summary["sizes"]["3"]["peak_T"] == pytest.approx(np.mean([c.peak_T for c in direct.of_size(3)]))


@pytest.mark.parametrize("argv, message", [
    (["heat", "MODEL", "--subsets", "3", "--raster", "RASTER", "--out", "OUT"], "(not both)"),
    (["heat", "--subsets", "3", "--out", "OUT"], "give a MODEL.npz, or --subsets SIZES with --raster"),
    (["heat", "--raster", "RASTER", "--out", "OUT"], "give a MODEL.npz, or --subsets SIZES with --raster"),
    (["heat", "--raster", "RASTER", "--subsets", "3,x", "--out", "OUT"], "must be whole numbers"),
    (["heat", "--raster", "RASTER", "--subsets", "30", "--out", "OUT"], "subset sizes must be 2 to 15"),
    (["heat", "MODEL", "--t-min", "0", "--out", "OUT"], "--t-min: the lowest temperature must be positive"),
    (["heat", "MODEL", "--t-min", "3", "--out", "OUT"], "0 < t_min <= t_max"),
    (["multiinfo", "RASTER", "--group-size", "16"], "--group-size: the group size must be in [2, 15]"),
    (["spectrum", "RASTER", "--out", "/no/such/folder/s.csv"], "the folder /no/such/folder does not exist"),
    (["dmd", "RASTER", "--pcs", "0"], "--pcs: the principal components must be a positive integer"),
    (["spectrum", "RASTER", "--halves", "repeats", "--out", "OUT"],
     "no repeated trials to split: the raster has one segment"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, raster_path, tmp_path, capsys):
    names = {"MODEL": str(_write_model(tmp_path / "m.npz")), "RASTER": str(raster_path),
             "OUT": str(tmp_path / "o.csv")}
    assert main([names.get(a, a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
