"""``neurorbm sample`` and ``neurorbm report`` end to end on a small model, and their answers to bad input."""

import json

import numpy as np
import pandas as pd
import pytest

from napari_neurorbm.analysis.heat import heat_exact, temperatures
from napari_neurorbm.analysis.report_pages import ANALYSES, HEAT, TITLES
from napari_neurorbm.cli import main
from napari_neurorbm.data.raster import Raster, read_raster, split_frames
from napari_neurorbm.rbm.io import load_model, save_model
from napari_neurorbm.rbm.model import RBM

N_UNITS = 12


@pytest.fixture
def files(tmp_path):
    """A 12-unit model with its metadata, and a 12-unit raster (600 frames in 3 segments)."""
    g = np.random.default_rng(0)
    W = g.normal(0, 0.3, (N_UNITS, 3))
    W[:6, 0] += 2.0
    W[6:, 1] += 2.0
    rbm = RBM.from_numpy(W, np.full(N_UNITS, -2.0), np.array([-2.0, -2.0, 0.0]))
    areas = np.array(["VISp"] * 6 + ["LGd"] * 6)
    ids = np.arange(500, 500 + N_UNITS)
    model = save_model(tmp_path / "model.npz", rbm, {"areas": areas, "unit_ids": ids, "bin_s": 0.01})
    frames = (g.random((600, N_UNITS)) < 0.15).astype(np.uint8)
    train, test = split_frames(600, 0.3, 0)
    raster = Raster(counts=frames.T.copy(), bin_s=0.01, areas=areas, unit_ids=ids,
                    segment_starts=np.array([0, 200, 400]), frame_times=np.arange(600) * 0.01,
                    train_frames=train, test_frames=test, name="toy").save(tmp_path / "raster.npz")
    return tmp_path, model, raster


def test_sample_writes_a_binned_raster_in_the_models_order(files, capsys):
    tmp, model, raster = files
    out = tmp / "gen.npz"
    assert main(["sample", str(model), "--frames", "50", "--tau", "2", "--chains", "4",
                 "--data", str(raster), "--out", str(out)]) == 0
    assert "generated 50 frames in 4 chains" in capsys.readouterr().out
    r = read_raster(out)
    assert r.counts.shape == (N_UNITS, 50) and set(np.unique(r.counts)) <= {0, 1}
    np.testing.assert_array_equal(r.segment_starts, [0, 13, 26, 38])
    np.testing.assert_array_equal(r.areas, ["VISp"] * 6 + ["LGd"] * 6)
    np.testing.assert_array_equal(r.unit_ids, np.arange(500, 512))
    assert r.bin_s == 0.01
    # the same seed gives the same raster; from random states without --data too
    main(["sample", str(model), "--frames", "50", "--tau", "2", "--chains", "4", "--data", str(raster),
          "--out", str(tmp / "again.npz")])
    np.testing.assert_array_equal(read_raster(tmp / "again.npz").counts, r.counts)
    assert main(["sample", str(model), "--frames", "20", "--out", str(tmp / "rnd.npz")]) == 0


def test_sample_with_clamp_holds_units_from_the_onset(files):
    tmp, model, _ = files
    out = tmp / "clamped.npz"
    assert main(["sample", str(model), "--frames", "60", "--tau", "1", "--chains", "3", "--clamp", "0,2=1",
                 "--clamp", "7=0", "--clamp-onset", "5", "--out", str(out)]) == 0
    r = read_raster(out)
    for s in r.segment_starts:
        chain = r.counts[:, s + 5 : s + 20]
        assert np.all(chain[[0, 2]] == 1) and np.all(chain[7] == 0)


def test_sample_experiment_writes_clamped_and_control_results(files, capsys):
    tmp, model, raster = files
    exp = tmp / "exp"
    assert main(["sample", str(model), "--frames", "1000", "--tau", "2", "--chains", "10",
                 "--data", str(raster), "--clamp", "0,1,2=1", "--experiment", str(exp),
                 "--out", str(tmp / "gen.npz")]) == 0
    assert "other units changed beyond 3 SE" in capsys.readouterr().out
    for name in ("clamped.npz", "control.npz", "clamp_units.csv", "clamp_areas.csv", "clamp_experiment.npz",
                 "clamp_params.json", "clamp.png"):
        assert (exp / name).is_file(), name
    params = json.loads((exp / "clamp_params.json").read_text())
    assert params["clamp_units"] == [0, 1, 2] and params["init"] == "data" and params["bin_s"] == 0.01
    with np.load(exp / "clamp_experiment.npz") as z:
        assert z["beyond"][3:6].all() and z["delta"][3:6].min() > 0  # the clamped units' assembly fires more
        assert z["area_beyond"][0] and z["area_delta"][0] > 0
        assert z["area_names"].tolist() == ["VISp", "LGd"]
    gen = read_raster(tmp / "gen.npz")
    np.testing.assert_array_equal(gen.counts, read_raster(exp / "clamped.npz").counts)


def test_report_writes_figures_numbers_and_html(files, capsys):
    tmp, model, raster = files
    out = tmp / "report"
    assert main(["report", str(model), str(raster), "--out", str(out), "--frames", "300", "--tau", "2",
                 "--triplets", "100"]) == 0
    for name in ("fig3.png", "fig6.png", "generated.npz", "summary.json", "index.html"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_samples"] == 180  # the test split of 600 frames
    assert set(summary["fits"]) == {"means", "pairs", "triplets"}
    assert set(summary["fits"]["pairs"]) == {"test", "generated", "independent"}
    page = (out / "index.html").read_text()
    assert 'src="fig3.png"' in page and "train vs generated" in page
    assert read_raster(out / "generated.npz").n_frames == 300
    # the pages of the analyses beyond the paper: figure, curves and numbers of each
    assert set(summary["analyses"]) == set(ANALYSES)
    for name in ANALYSES:
        assert (out / f"{name}.png").stat().st_size > 0 and (out / f"{name}.csv").is_file(), name
        assert f"<h2 id='{name}'>{TITLES[name]}</h2>" in page and f"src='{name}.png'" in page
    heat = summary["analyses"]["heat"]
    exact = heat_exact(load_model(model).rbm, temperatures(HEAT.t_min, HEAT.t_max, HEAT.steps))
    assert heat["method"] == "exact" and heat["peak_T"] == exact.peak_T  # 12 units: enumerated
    np.testing.assert_allclose(pd.read_csv(out / "heat.csv")["C"], exact.C)
    info = summary["analyses"]["multiinfo"]
    assert info["group_size"] == 10 and "model_over_in" in info
    assert set(summary["analyses"]["dmd"]) == {"pcs", "recording", "generated"}
    assert list(pd.read_csv(out / "spectrum.csv").columns) == ["rank", "recording", "time_shuffled",
                                                               "independent", "generated"]


def test_report_analyses_can_be_chosen_and_one_that_cannot_run_says_why(files, capsys):
    tmp, model, raster = files
    out = tmp / "report"
    # 30 chains of 10 frames: no two 100 ms blocks fit in a generated chain, so there is no spectrum
    assert main(["report", str(model), str(raster), "--out", str(out), "--frames", "300", "--chains", "30",
                 "--triplets", "100", "--analyses", "spectrum,heat"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["analyses"]) == ["spectrum", "heat"] and "peak_T" in summary["analyses"]["heat"]
    assert "no two consecutive blocks of 10 frames" in summary["analyses"]["spectrum"]["not_computed"]
    page = (out / "index.html").read_text()
    assert "<b>Not computed:</b> no two consecutive blocks" in page and not (out / "spectrum.png").exists()
    assert not (out / "dmd.png").exists()
    assert main(["report", str(model), str(raster), "--out", str(tmp / "none"), "--frames", "300",
                 "--analyses", "none"]) == 0
    assert json.loads((tmp / "none" / "summary.json").read_text())["analyses"] == {}
    capsys.readouterr()
    assert main(["report", str(model), str(raster), "--out", str(tmp / "bad"), "--analyses", "dmd,pca"]) == 2
    err = capsys.readouterr().err
    assert "unknown analysis 'pca' (use spectrum, dmd, multiinfo, heat, maxent or none)" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--clamp", "12=1"], "clamped unit index 12 is out of range"),
        (["--clamp", "3=2"], "clamp values must be 0 or 1"),
        (["--clamp", "3,x=1"], "units must be integers"),
        (["--clamp", "3"], "not of the form UNITS=VALUE"),
        (["--frames", "0"], "number of frames must be a positive integer"),
        (["--tau", "0"], "tau must be a positive integer"),
        (["--init", "data"], "--init data needs --data"),
        (["--experiment", "x"], "--experiment needs --clamp"),
        (["--clamp", "1=1", "--clamp-onset", "50"], "clamp onset"),
    ],
)
def test_sample_bad_input_is_one_line_and_exit_2(files, capsys, extra, message):
    tmp, model, _ = files
    args = ["sample", str(model), "--frames", "20", "--chains", "2", "--out", str(tmp / "g.npz"), *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("neurorbm sample: error:") and err.count("\n") == 1
    assert not (tmp / "g.npz").exists()


def test_model_and_raster_must_have_the_same_units(files, capsys):
    tmp, model, raster = files
    r = read_raster(raster)
    fewer = Raster(r.counts[:10], r.bin_s, r.areas[:10], r.unit_ids[:10], r.segment_starts, r.frame_times,
                   r.train_frames, r.test_frames).save(tmp / "fewer.npz")
    out = str(tmp / "g.npz")
    assert main(["sample", str(model), "--frames", "20", "--data", str(fewer), "--out", out]) == 2
    assert "12 visible units but fewer.npz has 10 units" in capsys.readouterr().err
    shuffled = Raster(r.counts[::-1], r.bin_s, r.areas[::-1], r.unit_ids[::-1], r.segment_starts,
                      r.frame_times, r.train_frames, r.test_frames).save(tmp / "shuffled.npz")
    assert main(["report", str(model), str(shuffled), "--out", str(tmp / "rep")]) == 2
    assert "model's order" in capsys.readouterr().err
    assert main(["sample", str(tmp / "none.npz"), "--frames", "20", "--out", str(tmp / "g.npz")]) == 2
    assert "not found" in capsys.readouterr().err
