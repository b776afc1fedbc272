"""Model selection over a sweep folder (sweep/selection.py) on hand-written folders with known answers: each
run's peak and drop, the mean and spread over seeds per N_h, and the N_h chosen."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.io import save_model
from napari_neurorbm.rbm.model import RBM
from napari_neurorbm.sweep.selection import (
    RunCurve,
    Selection,
    focus_range,
    iter_watch,
    read_selection,
    size_colors,
)
from sweep_factory import hand_written_sweep, write_runs

FIG2 = {  # N_h 2 and 4 saturate (4 higher), N_h 8 peaks then falls: choose 4
    (2, 0): [-7.0, -6.5, -6.2, -6.1, -6.0],
    (2, 1): [-7.0, -6.6, -6.3, -6.2, -6.2],
    (4, 0): [-7.0, -6.0, -5.6, -5.5, -5.5],
    (4, 1): [-7.0, -6.0, -5.7, -5.5, -5.51],
    (8, 0): [-7.0, -5.5, -5.3, -5.6, -5.8],
    (8, 1): [-7.0, -5.4, -5.45, -5.7, -5.9],
}


@pytest.fixture
def raster_file(tmp_path):
    path = tmp_path / "rec.npz"
    path.write_bytes(b"")  # the plan only checks that the file is there
    return path


def test_curves_peaks_and_drops(tmp_path, raster_file) -> None:
    sel = read_selection(hand_written_sweep(tmp_path / "sweep", raster_file, FIG2).path)
    assert len(sel.curves) == 6
    curve = sel.curves["rec-h8-s0-lr1.6"]
    np.testing.assert_array_equal(curve.updates, [0, 10, 20, 30, 40])
    np.testing.assert_allclose(curve.train_ll, np.array(FIG2[(8, 0)]) + 0.1)
    assert curve.peak == (20, -5.3)
    assert curve.drop == pytest.approx(0.5) and curve.rise == pytest.approx(1.7)
    assert curve.fall == pytest.approx(0.5 / 1.7)
    assert sel.curves["rec-h2-s1-lr1.6"].peak == (30, -6.2)  # the first of equal maxima
    runs = sel.runs.set_index(["n_hidden", "seed"])
    assert runs.loc[(4, 1), "drop"] == pytest.approx(0.01)
    assert runs.loc[(8, 1), "peak_update"] == 10 and runs.loc[(8, 1), "best"] == pytest.approx(-5.4)
    assert sel.counts() == {"pending": 0, "running": 0, "done": 6, "failed": 0}


def test_mean_spread_and_the_choice(tmp_path, raster_file) -> None:
    sel = read_selection(hand_written_sweep(tmp_path / "sweep", raster_file, FIG2))
    sizes = sel.sizes.set_index("n_hidden")
    assert list(sizes.index) == [2, 4, 8]
    np.testing.assert_allclose(sizes["mean"], [-6.1, -5.5, -5.35])
    spreads = [np.std([-6.0, -6.2], ddof=1), 0.0, np.std([-5.3, -5.4], ddof=1)]
    np.testing.assert_allclose(sizes["spread"], spreads, atol=1e-12)
    assert list(sizes["n"]) == [2, 2, 2]
    assert list(sizes["overfits"]) == [False, False, True]
    (chosen,) = sel.chosen.itertuples()
    assert chosen.n_hidden == 4 and chosen.mean == pytest.approx(-5.5)
    assert chosen.reason.startswith("N_h = 4: best test LL -5.5000 ± 0.0000 nats/frame (2 runs)")
    assert "N_h = 8 overfit" in chosen.reason


def test_the_tolerance_decides_what_overfits(tmp_path, raster_file) -> None:
    folder = hand_written_sweep(tmp_path / "sweep", raster_file, FIG2)
    sel = read_selection(folder, tolerance=1.0)  # nothing falls that far: the highest mean wins
    assert not sel.sizes["overfits"].any()
    assert sel.chosen.loc[0, "n_hidden"] == 8 and "saturating or still rising" in sel.chosen.loc[0, "reason"]
    sel = read_selection(folder, tolerance=0.003)  # N_h 4's mean fall (0.01 / 1.5 / 2) now counts
    assert list(sel.sizes["overfits"]) == [False, True, True]
    assert sel.chosen.loc[0, "n_hidden"] == 2


def test_every_size_overfitting_gives_the_highest(tmp_path, raster_file) -> None:
    lls = {(2, 0): [-7.0, -6.0, -6.5], (4, 0): [-7.0, -5.0, -6.0]}
    sel = read_selection(hand_written_sweep(tmp_path / "sweep", raster_file, lls))
    chosen = sel.chosen.loc[0]
    assert chosen.n_hidden == 4 and "every size overfits" in chosen.reason
    assert np.isnan(chosen.spread) and "±" not in chosen.reason and "(1 run)" in chosen.reason


def test_reported_best_running_pending_and_failed_runs(tmp_path, raster_file) -> None:
    lls = {(2, 0): [-7.0, -6.0], (2, 1): [-7.0, -6.4], (4, 0): [-7.0, -5.0, -5.2], (4, 1): [-7.0, -4.0]}
    folder = hand_written_sweep(tmp_path / "sweep", raster_file, lls, reported={(2, 0): -6.05},
                                statuses={(2, 1): "running", (4, 1): "failed"})
    table = folder.table()
    table.loc["rec-h4-s0-lr1.6", "status"] = "pending"  # a model file from an earlier attempt, not counted
    folder.write_table(table)
    sel = read_selection(folder)
    best = sel.runs.set_index(["n_hidden", "seed"])["best"]
    assert best[(2, 0)] == pytest.approx(-6.05)  # the selection's own estimate, not the curve's maximum
    assert best[(2, 1)] == pytest.approx(-6.4)  # running: its best so far
    assert np.isnan(best[(4, 0)]) and np.isnan(best[(4, 1)])
    assert list(sel.sizes["n_hidden"]) == [2] and sel.sizes.loc[0, "n"] == 2
    assert sel.counts() == {"pending": 1, "running": 1, "done": 1, "failed": 1}


def test_a_sweep_not_started_and_a_run_without_test_frames(tmp_path, raster_file) -> None:
    folder = hand_written_sweep(tmp_path / "sweep", raster_file, {(2, 0): [-7.0]})
    table = folder.table()
    table["status"] = "pending"
    folder.write_table(table)
    rbm = RBM.from_numpy(np.zeros((3, 2)), np.zeros(3), np.zeros(2))
    save_model(folder.model_path("rec-h2-s0-lr1.6"), rbm, {"history": [{"update": 0, "train_ll": -1.0,
                                                                         "test_ll": None}]})
    sel = read_selection(folder)
    assert sel.curves["rec-h2-s0-lr1.6"].peak is None and np.isnan(sel.curves["rec-h2-s0-lr1.6"].drop)
    assert sel.sizes.empty and sel.chosen.empty
    assert isinstance(sel.runs, pd.DataFrame) and len(sel.runs) == 1


def test_not_a_sweep_folder_is_one_line(tmp_path) -> None:
    with pytest.raises(NeuroRBMError, match="not a sweep folder"):
        read_selection(tmp_path)


@pytest.mark.parametrize("lls, fall", [([-5.0], 0.0), ([-5.0, -6.0], np.inf), ([-6.0, -5.0, -5.0], 0.0),
                                       ([-6.0, -4.0, -5.0], 0.5)])
def test_the_fall_after_the_peak(lls, fall) -> None:
    values = np.array(lls)
    assert RunCurve("run", 2, np.arange(len(values)), values + 0.1, values).fall == fall


def test_one_noisy_estimate_makes_no_peak_but_a_decline_is_a_fall() -> None:
    rising = -150.0 - 6.0 * np.exp(-np.arange(40) / 8.0)  # a plateau 6 nats above the start
    noisy = rising + np.where(np.arange(40) == 30, 0.3, 0.0)  # one estimate 0.3 too high near the end
    curve = RunCurve("run", 2, np.arange(40), noisy, noisy)
    assert curve.peak == (30, pytest.approx(noisy[30]))  # the star is still the raw maximum
    assert curve.fall < 0.02 < (noisy.max() - noisy[-1]) / (noisy.max() - noisy[0])  # raw: 0.3 / 6 = 5 %
    falling = rising - np.maximum(np.arange(40) - 25, 0) * 0.05  # loses 0.7 nats over the last 14
    smooth = np.convolve(falling, np.ones(3) / 3, mode="valid")
    expected = (smooth.max() - smooth[-1]) / (smooth.max() - falling[0])
    assert RunCurve("run", 2, np.arange(40), falling, falling).fall == pytest.approx(expected)
    assert expected > 0.05


def test_the_plotted_range_leaves_out_the_first_steep_evaluations() -> None:
    updates = np.arange(21.0)  # update 0 (the initial model, -100) is off the log axis anyway
    test = np.r_[-100.0, -60.0, np.linspace(-20.0, -10.0, 19)]
    curve = RunCurve("run", 2, updates, test + 0.5, test)
    low, high = focus_range([curve], share=0.05)
    shown = np.r_[test[1:], test[1:] + 0.5]
    assert low == pytest.approx(np.quantile(shown, 0.05)) and low > -59.5  # the steep values are cut
    assert high == pytest.approx(-9.5)  # the last train LL
    assert focus_range([]) is None


def test_size_colors_by_rank() -> None:
    colors = size_colors([64, 4, 16, 4])
    assert list(colors) == [4, 16, 64]
    assert len(set(colors.values())) == 3 and all(len(c) == 4 for c in colors.values())
    assert size_colors([16]) == {16: colors[4]}


def test_watching_a_sweep_reads_its_folder_as_it_fills(tmp_path, raster_file) -> None:
    folder = hand_written_sweep(tmp_path / "sweep", raster_file, FIG2)
    (folder.path / "runs.csv").unlink()  # nothing started yet
    for f in (folder.path / "runs").iterdir():
        f.unlink()
    closed = []

    def sweep():  # a stand-in for the engine: one run more per record
        try:
            for k in (1, 2):
                write_runs(folder, dict(list(FIG2.items())[:k]))
                yield Progress("sweep", k, 2, f"{k} done", payload="the engine's")
        finally:
            closed.append(True)
        return "table"

    records = list(iter_watch(sweep(), folder, every_s=0.0))
    assert [p.message for p in records] == ["1 done", "2 done"]
    assert [p.payload.counts()["done"] for p in records] == [1, 2]  # the folder as it was at each record
    watch = iter_watch(sweep(), folder, every_s=3600.0)
    first, second = next(watch), next(watch)
    assert isinstance(first.payload, Selection) and second.payload is None  # read again only when due
    watch.close()
    assert closed == [True, True]  # closing the watch closes the sweep's job
    final = iter_watch(sweep(), folder, every_s=3600.0)
    next(final), next(final)
    with pytest.raises(StopIteration) as stop:
        next(final)
    assert isinstance(stop.value.value, Selection) and stop.value.value.counts()["done"] == 2
