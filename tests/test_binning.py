"""Binning: exact frames, windows, subsampling, re-binning, filters, unit order, split, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_neurorbm.data import binning
from napari_neurorbm.data.binning import BinningParams, QualityRule, binarize, iter_binarize
from napari_neurorbm.data.session import Session
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress


def spikes(trains, areas=None, start=0.0, stop=None, metrics=None, ids=None) -> Session:
    """A spike-time session with one unit per train."""
    trains = [np.asarray(t, dtype=float) for t in trains]
    flat = np.concatenate(trains)
    return Session(
        name="s",
        source="test",
        unit_ids=np.arange(len(trains)) + 100 if ids is None else ids,
        areas=["A"] * len(trains) if areas is None else areas,
        start_s=start,
        stop_s=float(flat.max()) + 1.0 if stop is None else stop,
        spike_times=flat,
        spike_index=np.r_[0, np.cumsum([len(t) for t in trains])],
        metrics=pd.DataFrame(metrics) if metrics else pd.DataFrame(),
    )


def reference_counts(session: Session, start: float, bin_s: float, n_frames: int, k: int) -> np.ndarray:
    """Per-spike loop over the definition: frame f holds start + f*bin <= t < start + (f+1)*bin."""
    edges = start + np.arange(n_frames + 1) * bin_s
    out = np.zeros((session.n_units, (n_frames + k - 1) // k), dtype=np.int64)
    for u in range(session.n_units):
        for t in session.spikes_of(u):
            f = int(np.searchsorted(edges, t, side="right")) - 1
            if 0 <= f < n_frames and f % k == 0:
                out[u, f // k] += 1
    return np.minimum(out, 255)


def test_frames_are_half_open_and_a_spike_on_an_edge_opens_the_later_frame() -> None:
    start, bin_s, n = 0.3, 0.1, 40  # 0.3 + 3 * 0.1 is 0.6000000000000001: edges are not round numbers
    edges = start + np.arange(n + 1) * bin_s
    on_edge = edges[:n]
    just_before = np.nextafter(edges[1 : n + 1], -np.inf)
    s = spikes([on_edge, just_before], start=start, stop=start + n * bin_s)
    r = binarize(s, BinningParams(bin_ms=100, test_fraction=0))
    assert r.counts.shape == (2, n)
    assert np.array_equal(r.counts, np.ones((2, n), dtype=np.uint8))
    np.testing.assert_array_equal(r.frame_times, edges[:n])
    # the first spike of unit 2 sits just below the end of frame 0: frame 0, not frame 1
    s = spikes([[np.nextafter(start + bin_s, -np.inf), start + bin_s]], start=start, stop=start + n * bin_s)
    counts = binarize(s, BinningParams(bin_ms=100)).counts
    assert counts[0, :3].tolist() == [1, 1, 0]


def test_counts_match_the_definition_on_random_spikes_across_chunks(monkeypatch) -> None:
    rng = np.random.default_rng(3)
    trains = [np.sort(rng.uniform(0, 5, rng.integers(0, 400))) for _ in range(12)]
    trains[0] = np.r_[trains[0], 5.5]  # a spike after the window
    trains[3] = np.sort(np.r_[np.full(300, 1.243), trains[3]])  # 300 spikes in frame 120: saturates
    s = spikes(trains, start=0.0, stop=6.0)
    monkeypatch.setattr(binning, "SPIKE_CHUNK", 37)  # units and frames straddle chunk edges
    for k in (1, 3):
        params = BinningParams(bin_ms=7, start_s=0.4, stop_s=4.9, keep_every=k, test_fraction=0)
        r = binarize(s, params)
        n_frames = int(np.floor(4.5 / 0.007 + 1e-9))
        want = reference_counts(s, 0.4, 0.007, n_frames, k)
        rows = [int(np.flatnonzero(s.unit_ids == i)[0]) for i in r.unit_ids]
        np.testing.assert_array_equal(r.counts, want[rows])
        assert r.counts.max() == 255
        np.testing.assert_allclose(r.frame_times, 0.4 + np.arange(want.shape[1]) * k * 0.007)


def test_keep_every_k_keeps_frames_0_k_2k() -> None:
    # one spike in each of the 10 frames of 1 s; unit 2 spikes only in frames 1 and 4
    s = spikes([np.arange(10) * 0.1 + 0.05, [0.15, 0.45]], start=0.0, stop=1.0)
    r = binarize(s, BinningParams(bin_ms=100, keep_every=3, test_fraction=0))
    assert r.n_frames == 4  # frames 0, 3, 6, 9
    np.testing.assert_allclose(r.frame_times, [0.0, 0.3, 0.6, 0.9])
    assert r.unit_ids.tolist() == [100]  # unit 101 spiked in the window, but in no kept frame
    assert r.counts.tolist() == [[1, 1, 1, 1]]
    assert ("no spike in window", 1) in r.filter_report


def test_window_counts_whole_frames_from_start_and_drops_the_rest() -> None:
    s = spikes([[0.05, 0.99, 1.0, 1.01, 1.5, 1.649, 1.65, 2.0]], start=0.0, stop=3.0)
    r = binarize(s, BinningParams(bin_ms=100, start_s=1.0, stop_s=1.65, test_fraction=0))
    # 6 whole frames in [1.0, 1.65): 1.0-1.1, ..., 1.5-1.6; 1.649 sits in a partial frame and is dropped
    np.testing.assert_allclose(r.frame_times, 1.0 + np.arange(6) * 0.1)
    assert r.counts.tolist() == [[2, 0, 0, 0, 0, 1]]
    assert r.bin_s == pytest.approx(0.1)


def test_a_window_of_one_second_in_20_ms_bins_has_50_frames() -> None:
    s = spikes([np.linspace(0, 2, 50)], start=0.0, stop=2.0)
    assert binarize(s, BinningParams(bin_ms=20, start_s=0.3, stop_s=1.3)).n_frames == 50


def binned(counts, bin_s=0.01, segments=(0,), frame_times=None, areas=None) -> Session:
    counts = np.asarray(counts, dtype=np.uint8)
    times = np.arange(counts.shape[1]) * bin_s if frame_times is None else frame_times
    return Session(
        name="b",
        source="test",
        unit_ids=np.arange(counts.shape[0]),
        areas=["A"] * counts.shape[0] if areas is None else areas,
        start_s=0.0,
        stop_s=float(times[-1]) + bin_s,
        counts=counts,
        bin_s=bin_s,
        segment_starts=np.asarray(segments),
        frame_times=times,
    )


def test_rebinning_merges_native_bins_within_each_segment_only() -> None:
    # two segments of 5 and 4 native 10 ms bins; the second starts at t = 10 s
    c = np.array([[1, 0, 2, 1, 1, 0, 1, 1, 1], [0, 0, 1, 0, 3, 1, 0, 0, 1]])
    times = np.r_[np.arange(5) * 0.01, 10 + np.arange(4) * 0.01]
    s = binned(c, segments=(0, 5), frame_times=times)
    r = binarize(s, BinningParams(bin_ms=20, test_fraction=0))
    # segment 1: (1+0, 2+1), odd bin dropped; segment 2: (0+1, 1+1) for unit 0
    assert r.unit_ids.tolist() == [0, 1]
    assert r.counts.tolist() == [[1, 3, 1, 2], [0, 1, 1, 1]]
    assert r.segment_starts.tolist() == [0, 2]
    np.testing.assert_allclose(r.frame_times, [0.0, 0.02, 10.0, 10.02])
    kept = binarize(s, BinningParams(bin_ms=20, keep_every=2, test_fraction=0))
    assert kept.counts.tolist() == [[1, 1], [0, 1]]
    assert kept.segment_starts.tolist() == [0, 1]
    native = binarize(s, BinningParams(bin_ms=None, start_s=0.01, stop_s=10.02, test_fraction=0))
    assert native.counts.tolist() == [[0, 2, 1, 1, 0, 1], [0, 1, 0, 3, 1, 0]]
    assert native.segment_starts.tolist() == [0, 4]
    assert native.bin_s == pytest.approx(0.01)


def test_filters_report_how_many_each_dropped_in_order() -> None:
    # rates over the 10 s window: 0.1, 0.5, 2.0, 3.0 Hz and a silent unit
    trains = [[5.0], np.linspace(0.5, 9.5, 5), np.linspace(0.1, 9.9, 20), np.linspace(0.2, 9.8, 30), [11.0]]
    metrics = {"presence_ratio": [0.95, 0.5, 0.99, 0.92, 0.99], "snr": [3.0, 3.0, 0.5, 3.0, 3.0]}
    s = spikes(trains, areas=["VISp", "VISp", "VISp", "CA1", "LGd"], start=0.0, stop=12.0, metrics=metrics)
    params = BinningParams(
        bin_ms=10,
        start_s=0.0,
        stop_s=10.0,
        quality=(QualityRule.parse("presence_ratio>=0.9"), QualityRule("snr", ">", 1.0)),
        areas=("VISp", "CA1", "LGd"),
        min_rate_hz=1.0,
    )
    r = binarize(s, params)
    assert r.unit_ids.tolist() == [103]
    assert r.filter_report == [
        ("quality presence_ratio>=0.9", 1),
        ("quality snr>1", 1),
        ("areas in VISp,CA1,LGd", 0),
        ("no spike in window", 1),
        ("rate < 1 Hz", 1),
    ]
    only_visp = binarize(s, BinningParams(bin_ms=10, stop_s=10.0, areas=("VISp",)))
    assert only_visp.unit_ids.tolist() == [102, 101, 100]
    assert only_visp.filter_report == [("areas in VISp", 2), ("no spike in window", 0)]


def test_min_rate_uses_spikes_in_the_kept_frames_per_second_of_them() -> None:
    # 20 frames of 100 ms; unit 0 has 3 spikes in every even frame -> 30 Hz over the kept frames
    even = np.repeat(np.arange(0, 20, 2) * 0.1 + 0.05, 3)
    s = spikes([even, [0.05, 0.15]], start=0.0, stop=2.0)
    r = binarize(s, BinningParams(bin_ms=100, keep_every=2, min_rate_hz=29.9))
    assert r.unit_ids.tolist() == [100]
    assert r.counts.tolist() == [[3] * 10]
    with pytest.raises(NeuroRBMError, match="filters leave no unit"):
        binarize(s, BinningParams(bin_ms=100, keep_every=2, min_rate_hz=30.1))


def test_units_are_ordered_by_area_then_activity_with_unassigned_last() -> None:
    frames = {0: 2, 1: 5, 2: 5, 3: 1, 4: 3, 5: 4, 6: 9}  # active frames of each unit
    trains = [np.arange(n) * 0.1 + 0.05 for n in frames.values()]
    areas = ["VISp", "CA1", "root", "VISp", "CA1", "unknown", "VISp"]
    r = binarize(
        spikes(trains, areas=areas, start=0.0, stop=1.0, ids=np.arange(7)), BinningParams(bin_ms=100)
    )
    assert r.areas.tolist() == ["CA1", "CA1", "VISp", "VISp", "VISp", "root", "unknown"]
    assert r.unit_ids.tolist() == [1, 4, 6, 0, 3, 2, 5]
    assert [b[0] for b in r.area_blocks()] == ["CA1", "VISp", "root", "unknown"]
    np.testing.assert_array_equal(np.count_nonzero(r.counts, axis=1), [5, 3, 9, 2, 1, 5, 4])


def test_take_rows_moves_rows_in_place_like_fancy_indexing() -> None:
    rng = np.random.default_rng(0)
    for n, m in ((1, 1), (6, 6), (9, 4), (30, 17)):
        a = rng.integers(0, 255, (n, 5), dtype=np.uint8)
        rows = rng.permutation(n)[:m]
        want = a[rows]
        np.testing.assert_array_equal(binning._take_rows(a.copy(), rows), want)


def test_split_is_seeded_reproducible_and_disjoint() -> None:
    s = spikes([np.linspace(0.005, 9.995, 500)], start=0.0, stop=10.0)
    a = binarize(s, BinningParams(bin_ms=10, seed=7))
    b = binarize(s, BinningParams(bin_ms=10, seed=7))
    c = binarize(s, BinningParams(bin_ms=10, seed=8))
    np.testing.assert_array_equal(a.train_frames, b.train_frames)
    assert not np.array_equal(a.test_frames, c.test_frames)
    assert len(a.test_frames) == 300 and len(a.train_frames) == 700
    assert np.intersect1d(a.train_frames, a.test_frames).size == 0
    np.testing.assert_array_equal(np.union1d(a.train_frames, a.test_frames), np.arange(1000))
    none = binarize(s, BinningParams(bin_ms=10, test_fraction=0.0))
    assert none.test_frames.size == 0 and none.train_frames.size == 1000


def test_iter_binarize_reports_progress_to_the_end() -> None:
    s = spikes([np.linspace(0.01, 0.99, 50)] * 3, start=0.0, stop=1.0)
    gen = iter_binarize(s, BinningParams(bin_ms=10))
    steps = []
    while True:
        try:
            steps.append(next(gen))
        except StopIteration as stop:
            raster = stop.value
            break
    assert steps and all(isinstance(p, Progress) and p.stage == "binning" for p in steps)
    assert steps[-1].fraction == 1.0
    assert raster.counts.shape == (3, 100)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (BinningParams(bin_ms=0), "bin width must be positive, got 0 ms"),
        (BinningParams(bin_ms=-5), "bin width must be positive"),
        (BinningParams(bin_ms=float("nan")), "bin width must be positive"),
        (BinningParams(bin_ms=20_000), r"bin width \(20000 ms\) is longer than the time window \(10 s\)"),
        (BinningParams(start_s=5, stop_s=4), r"stop time \(4 s\) must come after the start time \(5 s\)"),
        (BinningParams(start_s=3, stop_s=3), "must come after the start time"),
        (BinningParams(start_s=float("inf")), "must be finite numbers"),
        (BinningParams(keep_every=0), "keep-every must be a positive whole number, got 0"),
        (BinningParams(keep_every=2.5), "keep-every must be a positive whole number, got 2.5"),
        (BinningParams(min_rate_hz=-1), "minimum rate must be zero or positive"),
        (BinningParams(bin_ms=None), "a bin width is needed for a session of spike times"),
        (BinningParams(test_fraction=1.0), r"test fraction must be in \[0, 1\), got 1.0"),
        (BinningParams(quality=(QualityRule("snr", ">", 1),)), r"no quality metric 'snr' \(it has: none\)"),
        (BinningParams(quality=(QualityRule("snr", "==", 1),)), "comparison must be one of"),
        (BinningParams(areas=("A", "XYZ")), r"no unit is in area XYZ \(the session has: A\)"),
        (
            BinningParams(min_rate_hz=1000),
            r"filters leave no unit \(no spike in window: -0; rate < 1000 Hz: -2\)",
        ),
        (BinningParams(start_s=20, stop_s=30), r"filters leave no unit \(no spike in window: -2\)"),
    ],
)
def test_every_bad_parameter_has_a_one_line_message(params: BinningParams, message: str) -> None:
    s = spikes([[1.0, 2.0], [3.0]], start=0.0, stop=10.0)
    with pytest.raises(NeuroRBMError, match=message) as info:
        binarize(s, params)
    assert "\n" not in str(info.value)


def test_bad_rules_and_binned_requests_have_messages() -> None:
    with pytest.raises(NeuroRBMError, match="'snr=3' is not of the form metric>=value"):
        QualityRule.parse("snr=3")
    with pytest.raises(NeuroRBMError, match="'snr>=high' is not of the form"):
        QualityRule.parse("snr>=high")
    s = binned(np.ones((2, 10)), bin_s=0.01)
    with pytest.raises(NeuroRBMError, match="15 ms bin is not a whole multiple of the source's 10 ms bins"):
        binarize(s, BinningParams(bin_ms=15))
    with pytest.raises(NeuroRBMError, match="no frame is left in the chosen time window"):
        binarize(s, BinningParams(bin_ms=None, start_s=0.031, stop_s=0.045))
