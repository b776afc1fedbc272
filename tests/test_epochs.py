"""Epochs and events: read from NWB interval tables in the Allen layout, carried by binned npz files and
rasters, the window restricted to them (each stretch a segment, exact frames), the activity around events
against hand counts, and a one-line error or note for each bad input."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pynwb import NWBHDF5IO, NWBFile

from local_http import FileServer
from napari_neurorbm.analysis.peri_event import peri_event, population_activity, stationary
from napari_neurorbm.data.binned import load_binned_session
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.epochs import Epochs, merge_spans
from napari_neurorbm.data.nwb import load_nwb
from napari_neurorbm.data.raster import Raster, read_raster, time_columns
from napari_neurorbm.data.remote import open_remote
from napari_neurorbm.data.session import Session
from napari_neurorbm.errors import NeuroRBMError
from nwb_factory import IMAGES, allen_intervals, write_nwb

DURATION = 120.0


def trains(n: int = 6, seed: int = 0) -> list[np.ndarray]:
    """Spike trains over [0, DURATION], the first unit spiking at both ends (the recording's span)."""
    rng = np.random.default_rng(seed)
    out = [np.sort(rng.uniform(0, DURATION, 400)) for _ in range(n)]
    out[0] = np.r_[0.0, out[0], DURATION]
    return out


@pytest.fixture(scope="module")
def allen_nwb(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("nwb") / "ecephys_session_1.nwb"
    return write_nwb(path, trains(), ["VISp"] * 3 + ["CA1"] * 3, intervals=allen_intervals(DURATION))


def by_hand(*spans, table="blocks", **columns) -> Epochs:
    """Epochs of the given (start, stop) intervals, one table, no events."""
    start, stop = np.array(spans, dtype=float).T
    return Epochs(pd.DataFrame({"start_s": start, "stop_s": stop, "table": table, **columns}))


def spike_session(times: list[float], epochs: Epochs | None, stop: float = 10.0) -> Session:
    t = np.asarray(times, dtype=float)
    return Session("s", "test", np.array([7]), np.array(["A"]), 0.0, stop, spike_times=t,
                   spike_index=np.array([0, len(t)]), epochs=epochs)


def test_allen_layout_gives_tables_blocks_labels_and_events(allen_nwb) -> None:
    tables = allen_intervals(DURATION)
    epochs = load_nwb(allen_nwb).epochs
    iv = epochs.intervals
    assert list(pd.unique(iv["table"])) == [f"{IMAGES}_presentations", "trials", "spontaneous_presentations",
                                             "flash_250ms_presentations"]  # in the order they begin
    images = iv[iv["table"] == f"{IMAGES}_presentations"]
    want = tables[f"{IMAGES}_presentations"]
    np.testing.assert_array_equal(images["start_s"], want["start_time"])
    np.testing.assert_array_equal(images["block"], want["stimulus_block"])
    assert images["label"].tolist() == want["image_name"].tolist()
    assert set(iv.loc[iv["table"] == "spontaneous_presentations", "label"]) == {"spontaneous"}
    assert iv.loc[iv["table"] == "trials", "label"].tolist()[:2] == ["trial 0", "trial 1"]
    assert iv.loc[iv["table"] == "trials", "block"].eq(-1).all()
    assert epochs.names() == [*pd.unique(iv["table"]), "block 0", "block 1", "block 2", "block 3"]
    # events: image changes and omissions of the presentations, trial starts and the trials' time columns
    assert epochs.kinds() == ["change", "omitted", "trial start", "change_time", "reward_time"]
    np.testing.assert_array_equal(epochs.event_times("change"), want.loc[want["is_change"], "start_time"])
    np.testing.assert_array_equal(epochs.event_times("omitted"), want.loc[want["omitted"], "start_time"])
    trials = tables["trials"]
    np.testing.assert_array_equal(epochs.event_times("trial start"), trials["start_time"])
    np.testing.assert_array_equal(epochs.event_times("reward_time"), trials["reward_time"].dropna())
    changes = epochs.events[epochs.events["kind"] == "change"]
    assert changes["label"].tolist() == want.loc[want["is_change"], "image_name"].tolist()
    assert "143 intervals" in epochs.describe() and "change 14" in epochs.describe()


def test_a_generic_epochs_table_is_labelled_by_its_tags(tmp_path) -> None:
    nwb = NWBFile(session_description="t", identifier="g",
                  session_start_time=datetime(2021, 1, 1, tzinfo=UTC))
    nwb.add_epoch(0.0, 5.0, tags=["baseline"])
    nwb.add_epoch(6.0, 9.0, tags=["stim", "A"])
    nwb.add_unit(spike_times=np.array([0.0, 1.0, 10.0]))
    with NWBHDF5IO(str(tmp_path / "g.nwb"), "w") as io:
        io.write(nwb)
    epochs = load_nwb(tmp_path / "g.nwb").epochs
    assert epochs.intervals["label"].tolist() == ["baseline", "stim, A"] and not len(epochs.events)
    assert epochs.names() == ["epochs"] and epochs.columns == ["table", "block", "label"]
    r = binarize(load_nwb(tmp_path / "g.nwb"), BinningParams(bin_ms=500, epoch="epochs", test_fraction=0))
    np.testing.assert_allclose(r.frame_times, [*np.arange(0, 5, 0.5), *np.arange(6, 9, 0.5)])
    np.testing.assert_array_equal(r.segment_starts, [0, 10])


def test_a_streamed_file_gives_the_same_epochs(allen_nwb) -> None:
    with FileServer(allen_nwb.parent) as server:
        streamed = open_remote(f"{server.url}/{allen_nwb.name}")
        assert all(r is not None for _, r in server.behaviour.requests)  # range requests only
    local = load_nwb(allen_nwb).epochs
    pd.testing.assert_frame_equal(streamed.epochs.intervals, local.intervals)
    pd.testing.assert_frame_equal(streamed.epochs.events, local.events)


def test_binned_npz_carries_the_epochs_and_older_files_read_without(allen_nwb, tmp_path) -> None:
    session = load_nwb(allen_nwb)
    raster = binarize(session, BinningParams(bin_ms=20))
    assert raster.epochs is session.epochs
    back = read_raster(raster.save(tmp_path / "r.npz"))
    pd.testing.assert_frame_equal(back.epochs.intervals, session.epochs.intervals)
    pd.testing.assert_frame_equal(back.epochs.events, session.epochs.events)
    with np.load(tmp_path / "r.npz") as z:
        names = set(z.files)
        assert {"epoch_start_s", "epoch_stop_s", "epoch_table", "epoch_block", "epoch_label",
                "epoch_col_is_change", "epoch_event_time_s", "epoch_event_kind", "epoch_event_label"} <= names
        old = {k: z[k] for k in z.files if not k.startswith("epoch_")}
    np.savez(tmp_path / "old.npz", **old)
    assert read_raster(tmp_path / "old.npz").epochs is None
    assert load_binned_session(tmp_path / "old.npz").epochs is None
    again = load_binned_session(tmp_path / "r.npz")
    block = binarize(again, BinningParams(bin_ms=None, epoch="block 1"))
    assert block.n_frames == 600  # 48-60 s at 20 ms
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a window's file keeps the recording's epochs without a note
        window = load_binned_session(block.save(tmp_path / "block.npz"))
    pd.testing.assert_frame_equal(window.epochs.events, session.epochs.events)


def test_a_hand_written_npz_with_documented_epoch_arrays(tmp_path) -> None:
    np.savez(tmp_path / "b.npz", counts=np.ones((2, 100), np.uint8), bin_s=0.1,
             epoch_start_s=[1.0, 4.0], epoch_stop_s=[2.0, 6.0], epoch_table=["trials", "trials"],
             epoch_block=[-1, -1], epoch_label=["trial 0", "trial 1"], epoch_col_go=[1.0, 0.0],
             epoch_event_time_s=[1.5], epoch_event_kind=["reward_time"], epoch_event_label=["trial 0"])
    session = load_binned_session(tmp_path / "b.npz")
    assert session.epochs.event_times("reward_time").tolist() == [1.5]
    r = binarize(session, BinningParams(bin_ms=None, epoch_column="go", epoch_value="false", test_fraction=0))
    np.testing.assert_allclose(r.frame_times, 4.0 + 0.1 * np.arange(20))


def test_each_stretch_becomes_a_segment_of_exact_frames() -> None:
    epochs = by_hand((1.0, 2.0), (3.0, 3.55), (3.55, 4.0), table="trials", go=[1, 1, 1])
    spikes = [0.5, 1.0, 1.95, 2.5, 3.0, 3.6, 3.99, 4.0]
    r = binarize(spike_session(spikes, epochs), BinningParams(bin_ms=100, epoch="trials", test_fraction=0))
    np.testing.assert_array_equal(r.segment_starts, [0, 10])  # the touching trials merge: one stretch 3-4 s
    assert r.n_frames == 20
    np.testing.assert_allclose(r.frame_times, np.r_[1.0 + 0.1 * np.arange(10), 3.0 + 0.1 * np.arange(10)])
    assert np.flatnonzero(r.counts[0]).tolist() == [0, 9, 10, 16, 19]  # 0.5, 2.5 and 4.0 fall outside
    r = binarize(spike_session(spikes, epochs),
                 BinningParams(bin_ms=100, epoch="trials", keep_every=3, test_fraction=0))
    np.testing.assert_array_equal(r.segment_starts, [0, 4])  # frames 0, 3, 6, 9 of each stretch
    np.testing.assert_allclose(r.frame_times, [1.0, 1.3, 1.6, 1.9, 3.0, 3.3, 3.6, 3.9])
    assert np.flatnonzero(r.counts[0]).tolist() == [0, 3, 4, 6, 7]  # 1.0, 1.95, 3.0, 3.6, 3.99


def test_a_binned_source_keeps_its_native_bins_inside_each_stretch() -> None:
    counts = np.arange(1, 101, dtype=np.uint8)[None, :] % 2  # 100 bins of 10 ms from 0 s
    epochs = by_hand((0.105, 0.3), (0.5, 0.62))
    s = Session("b", "t", np.array([0]), np.array(["A"]), 0.0, 1.0, counts=counts, bin_s=0.01, epochs=epochs)
    r = binarize(s, BinningParams(bin_ms=20, epoch="blocks", test_fraction=0))
    np.testing.assert_allclose(r.frame_times, [0.11, 0.13, 0.15, 0.17, 0.19, 0.21, 0.23, 0.25, 0.27,
                                               0.5, 0.52, 0.54, 0.56, 0.58, 0.6])
    np.testing.assert_array_equal(r.segment_starts, [0, 9])


def test_runs_of_rows_in_one_table_and_block_make_one_stretch() -> None:
    epochs = by_hand((0, 1), (2, 3), (4, 5), (6, 7), (8, 9), block=[0, 0, 0, 1, 1], flag=[1, 1, 0, 1, 1])
    np.testing.assert_array_equal(epochs.stretches(epochs.select("blocks")), [[0, 5], [6, 9]])
    np.testing.assert_array_equal(epochs.stretches(epochs.select(column="flag", value="1")),
                                  [[0, 3], [6, 9]])
    np.testing.assert_array_equal(epochs.stretches(epochs.select("block 1")), [[6, 9]])
    np.testing.assert_array_equal(merge_spans(np.array([[5.0, 6.0], [0.0, 2.0], [2.0, 3.0], [1.0, 1.5]])),
                                  [[0, 3], [5, 6]])


def test_the_window_is_cut_to_start_and_stop() -> None:
    epochs = by_hand((1.0, 3.0), (5.0, 8.0))
    r = binarize(spike_session([2.0], epochs), BinningParams(bin_ms=500, start_s=2.0, stop_s=6.0,
                                                              epoch="blocks", test_fraction=0))
    np.testing.assert_allclose(r.frame_times, [2.0, 2.5, 5.0, 5.5])
    with pytest.raises(NeuroRBMError, match=r"epoch 'block 0' lies outside the time window \(8-10 s\)"):
        binarize(spike_session([9.0], by_hand((1.0, 3.0), block=[0])),
                 BinningParams(bin_ms=500, start_s=8.0, epoch="block 0"))
    with pytest.raises(NeuroRBMError, match=r"no frame is left .* 2 stretches are each shorter than one bin"):
        binarize(spike_session([2.0], by_hand((1.0, 1.1), (2.0, 2.1))),
                 BinningParams(bin_ms=500, epoch="blocks"))


def test_time_columns_follow_the_kept_frames() -> None:
    r = binarize(spike_session([1.5, 3.2], by_hand((1.0, 2.0), (3.0, 3.4))),
                 BinningParams(bin_ms=100, epoch="blocks", test_fraction=0))
    t = np.array([0.5, 1.0, 1.25, 1.99, 2.5, 3.0, 3.35, 3.5])
    np.testing.assert_allclose(time_columns(r, t), [np.nan, 0, 2.5, 9.9, np.nan, 10, 13.5, np.nan])
    np.testing.assert_allclose(time_columns(r, t, edge="next"), [0, 0, 2.5, 9.9, 10, 10, 13.5, 14])
    np.testing.assert_allclose(time_columns(r, t, edge="previous"), [0, 0, 2.5, 9.9, 10, 10, 13.5, 14])


def test_activity_around_events_matches_hand_counts() -> None:
    # K per frame: 0 1 2 3 4 | 5 6 7 (two segments, 1 s frames from 0 s and from 10 s)
    counts = np.zeros((7, 8), np.uint8)
    for f, k in enumerate([0, 1, 2, 3, 4, 5, 6, 7]):
        counts[:k, f] = 1
    raster = Raster(counts, 1.0, np.full(7, "A"), np.arange(7), np.array([0, 5]),
                    np.r_[np.arange(5.0), 10 + np.arange(3.0)], np.arange(8), np.zeros(0, np.int64))
    np.testing.assert_array_equal(population_activity(raster), np.arange(8))
    peri = peri_event(raster, [1.5, 3.0, 10.2, 7.0], "e", pre_s=1.0, post_s=2.0)  # 7.0: in the gap, unused
    assert peri.n_events == 3
    np.testing.assert_allclose(peri.lags_s, [-1, 0, 1, 2])
    # lag -1: K 0, 2, (none: 10.2's frame starts its segment) -> 1; lag 2: 3, (5 is past segment 0), 7
    np.testing.assert_allclose(peri.mean, [1.0, (1 + 3 + 5) / 3, (2 + 4 + 6) / 3, 5.0])
    np.testing.assert_allclose(peri.sd, [1.0, np.std([1, 3, 5]), np.std([2, 4, 6]), 2.0])
    none = peri_event(raster, [7.0], "gap")
    assert none.n_events == 0 and np.isnan(none.mean).all()
    assert stationary(raster) == pytest.approx((3.5, np.std(np.arange(8))))


@pytest.mark.parametrize(
    ("intervals", "message"),
    [
        ({"start_time": [0.0, np.nan], "stop_time": [1.0, 2.0]},
         r"ep.nwb: interval table 'trials': 1 of 2 intervals have NaN or infinite start or stop times "
         r"\(the first: interval 1\)"),
        ({"start_time": [0.0, 3.0], "stop_time": [1.0, 2.0]},
         r"ep.nwb: interval table 'trials': 1 intervals end before they start \(the first: interval 1, "
         r"3 s to 2 s\)"),
    ],
)
def test_bad_interval_tables_are_one_line_errors(tmp_path, intervals, message) -> None:
    path = write_nwb(tmp_path / "ep.nwb", trains(2), ["A", "B"],
                     intervals={"trials": pd.DataFrame(intervals)})
    with pytest.raises(NeuroRBMError, match=message):
        load_nwb(path)


def test_events_outside_the_recording_are_left_out_with_a_note() -> None:
    epochs = Epochs(by_hand((0.0, 1.0)).intervals,
                    pd.DataFrame({"time_s": [-1.0, 0.5, 11.0], "kind": "change", "label": "im"}))
    with pytest.warns(UserWarning, match=r"s: 2 of 3 events lie outside the recording \(0-10 s\) and are "
                                         r"left out \(the first: change at -1 s\)"):
        s = spike_session([1.0], epochs)
    assert s.epochs.event_times("change").tolist() == [0.5]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"epoch": "nope"}, r"no epoch 'nope' \(the session has: trials, block 0, block 4\)"),
        ({"epoch_column": "hit", "epoch_value": "1"},
         r"no interval table has a column 'hit' \(they have: table, block, label, go\)"),
        ({"epoch_column": "go", "epoch_value": "maybe"}, r"no interval has go = maybe \(go holds: 1, 0\)"),
        ({"epoch_column": "go"}, "the epoch column 'go' needs an epoch value"),
        ({"epoch_value": "1"}, r"an epoch value \('1'\) needs an epoch column"),
        ({"epoch": "block 4", "epoch_column": "go", "epoch_value": "1"},
         "no interval is both in epoch 'block 4' and has go = 1"),
    ],
)
def test_choosing_epochs_that_do_not_exist_names_those_that_do(params, message) -> None:
    epochs = by_hand((0.0, 1.0), (2.0, 3.0), table="trials", block=[0, 4], go=[1, 0])
    with pytest.raises(NeuroRBMError, match=message):
        binarize(spike_session([0.5], epochs), BinningParams(bin_ms=100, **params))


def test_a_session_without_epochs_cannot_be_restricted_by_them() -> None:
    with pytest.raises(NeuroRBMError, match=r"s has no epochs \(no interval table such as trials\)"):
        binarize(spike_session([0.5], None), BinningParams(bin_ms=100, epoch="trials"))


def test_epoch_arrays_of_the_wrong_length_are_one_line_errors(tmp_path) -> None:
    np.savez(tmp_path / "b.npz", counts=np.ones((1, 10), np.uint8), bin_s=0.1, epoch_start_s=[0.0, 1.0],
             epoch_stop_s=[1.0], epoch_table=["t", "t"], epoch_block=[-1, -1], epoch_label=["a", "b"],
             epoch_event_time_s=[], epoch_event_kind=[], epoch_event_label=[])
    with pytest.raises(NeuroRBMError, match=r"b\.npz: 'epoch_stop_s' must be an array of 2 entries"):
        load_binned_session(tmp_path / "b.npz")
