"""The E/I analyses: couplings summarised by E-E, E-I and I-I, and seed 004's experiment (`neurorbm ei`) on
the synthetic session, with its bad inputs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_neurorbm.analysis.ei_couplings import class_couplings
from napari_neurorbm.analysis.ei_experiment import (
    check_classes,
    iter_ei_experiment,
    kl_divergence,
    total_variation,
)
from napari_neurorbm.cli import main
from napari_neurorbm.configs import EIConfig, TrainConfig
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.synthetic import make_synthetic
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.io import load_model

TINY = ["--hidden", "4", "--updates", "60", "--eval-every", "0", "--checkpoints", "0", "--batch", "200",
        "--chains", "100", "--frames", "1000"]


@pytest.fixture(scope="module")
def session():
    return make_synthetic(n_areas=2, units_per_area=10, duration_s=60.0, seed=4)[0]


def test_couplings_by_class_are_split_exactly() -> None:
    J = np.array([[0.0, 1.0, -2.0, 3.0, 0.5],
                  [1.0, 0.0, 4.0, 0.5, -0.5],
                  [-2.0, 4.0, 0.0, -1.0, 2.0],
                  [3.0, 0.5, -1.0, 0.0, 7.0],
                  [0.5, -0.5, 2.0, 7.0, 0.0]])
    by_class = class_couplings(J, np.array(["E", "E", "I", "unknown", "I"]))
    values = {name: sorted(v.tolist()) for name, v in by_class.values.items()}
    assert values == {"E-E": [1.0], "E-I": [-2.0, -0.5, 0.5, 4.0], "I-I": [2.0]}
    s = by_class.summary()
    assert s["E-I"] == {"n": 4, "mean": 0.5, "sd": pytest.approx(np.std([-2, -0.5, 0.5, 4])), "positive": 0.5}
    edges, density = by_class.histograms(4, q=100)
    np.testing.assert_allclose(edges, [-4, -2, 0, 2, 4])
    np.testing.assert_allclose(density["E-I"], [0.0, 0.25, 0.125, 0.125])
    edges, density = by_class.histograms(2, q=50)  # |J| of the 6 pairs: 0.5, 0.5, 1, 2, 2, 4 -> out to 1.5
    np.testing.assert_allclose(edges, [-1.5, 0, 1.5])
    np.testing.assert_allclose(density["E-I"], [2 / 4 / 1.5, 2 / 4 / 1.5])  # -2 and 4 in the end bins
    assert "E-I  4 pairs  mean J +0.5  sd 2.21  positive 50.0%" in by_class.text()
    none = class_couplings(J[:2, :2], np.array(["E", "E"]))
    assert none.summary()["I-I"] == {"n": 0, "mean": None, "sd": None, "positive": None}
    assert "I-I  no pair" in none.text()


def test_couplings_by_class_bad_input() -> None:
    with pytest.raises(NeuroRBMError, match="do not fit 3 unit classes"):
        class_couplings(np.zeros((2, 2)), np.array(["E", "I", "E"]))
    with pytest.raises(NeuroRBMError, match="no unit has an E/I class"):
        class_couplings(np.zeros((2, 2)), np.array(["unknown", "unknown"]))


def test_distances_between_distributions() -> None:
    assert total_variation(np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])) == pytest.approx(0.5)
    data, model = np.array([3, 1, 0]), np.array([1, 2, 1])
    q = (model + 0.5) / (4 + 1.5)
    exact = 0.75 * np.log(0.75 / q[0]) + 0.25 * np.log(0.25 / q[1])
    assert kl_divergence(data, model) == pytest.approx(exact)
    assert kl_divergence(data, 1000 * data) == pytest.approx(0.0, abs=1e-3)


def test_the_split_leaves_unknown_units_out(session) -> None:
    raster = binarize(session, BinningParams())
    raster.classes[:3] = "unknown"
    e_rows, all_rows = check_classes(raster)
    assert np.array_equal(e_rows, np.flatnonzero(raster.classes == "E"))
    assert np.array_equal(all_rows, np.arange(3, raster.n_units))


def test_units_without_a_width_are_named_counted_and_left_out(session) -> None:
    """The other units keep their classes from their widths; both models leave the unknown ones out."""
    widths = session.waveform_ms.copy()
    widths[[3, 12]] = np.nan
    with pytest.warns(UserWarning, match="E/I: 2 of 20 units have no waveform width, their class is unknown"):
        raster = binarize(replace(session, waveform_ms=widths), BinningParams())
    rows = pd.Index(session.unit_ids).get_indexer(raster.unit_ids)
    known = np.isfinite(widths[rows])
    assert np.all(raster.classes[~known] == "unknown")
    np.testing.assert_array_equal(raster.classes[known], np.where(widths[rows][known] < 0.4, "I", "E"))
    train = TrainConfig(n_hidden=3, updates=10, batch=100, chains=50, eval_every=0, checkpoints=0,
                        device="cpu")
    result = drain(iter_ei_experiment(raster, train, EIConfig(frames=200)))
    assert result.summary()["units"] == {"E": int(np.sum(raster.classes == "E")),
                                         "I": int(np.sum(raster.classes == "I")), "unknown": 2}
    assert result.trainers["e_and_i"].rbm.n_visible == 18


def test_neurorbm_ei_on_the_synthetic_session(session, tmp_path: Path, capsys) -> None:
    raster = binarize(session, BinningParams())
    path = raster.save(tmp_path / "raster.npz")
    out = tmp_path / "ei"
    assert main(["ei", str(path), *TINY, "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    n_e = int(np.sum(raster.classes == "E"))
    assert summary["units"] == {"E": n_e, "I": raster.n_units - n_e, "unknown": 0}
    assert summary["test_frames"] == len(raster.test_frames)
    for key in ("e_only", "e_and_i"):
        assert 0 <= summary[key]["total_variation"] <= 1 and summary[key]["kl"] >= 0
    table = pd.read_csv(out / "p_k.csv")
    assert list(table.columns) == ["K", "data", "e_only", "e_and_i"] and len(table) == n_e + 1
    np.testing.assert_allclose(table[["data", "e_only", "e_and_i"]].sum(), 1.0)
    assert json.loads((out / "summary.json").read_text()) == summary
    assert (out / "p_k.png").stat().st_size > 0
    both = load_model(out / "e_and_i.npz")
    assert both.classes.tolist() == raster.classes.tolist() and both.rbm.n_visible == raster.n_units
    assert load_model(out / "e_only.npz").rbm.n_visible == n_e
    # the E+I model's couplings come out by class in `neurorbm couplings`
    assert main(["couplings", str(out / "e_and_i.npz"), "--out", str(tmp_path / "J.npz")]) == 0
    printed = capsys.readouterr().out
    assert "couplings by putative class" in printed and "E-I" in printed and "I-I" in printed


@pytest.mark.parametrize(("params", "message"), [
    (BinningParams(ei_threshold_ms=0.01), "no unit is putatively inhibitory"),
    (BinningParams(ei_threshold_ms=5.0), "no unit is putatively excitatory"),
    (BinningParams(test_fraction=0.0), "the raster has no test frames"),
])
def test_neurorbm_ei_bad_input_is_one_line(session, tmp_path: Path, capsys, params, message) -> None:
    path = binarize(session, params).save(tmp_path / "raster.npz")
    assert main(["ei", str(path), *TINY, "--out", str(tmp_path / "ei")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_neurorbm_ei_without_waveform_widths(session, tmp_path: Path, capsys) -> None:
    raster = binarize(session, BinningParams())
    raster.classes[:] = "unknown"
    path = raster.save(tmp_path / "raster.npz")
    assert main(["ei", str(path), *TINY, "--out", str(tmp_path / "ei")]) == 2
    err = capsys.readouterr().err
    assert "no unit has a spike waveform width, so all 20 units are of unknown class" in err
    assert len(err.strip().splitlines()) == 1
