"""Session: what a valid one holds, and the one-line message for each kind of bad content."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_neurorbm.data.session import Session
from napari_neurorbm.errors import NeuroRBMError


def spikes(**kw) -> Session:
    """Three units (ids 10, 11, 12) with 2, 0 and 3 spikes."""
    args = {
        "name": "s",
        "source": "test",
        "unit_ids": [10, 11, 12],
        "areas": ["VISp", "CA1", "VISp"],
        "start_s": 0.0,
        "stop_s": 5.0,
        "spike_times": [0.5, 1.5, 0.1, 0.2, 4.0],
        "spike_index": [0, 2, 2, 5],
    }
    return Session(**{**args, **kw})


def binned(**kw) -> Session:
    args = {
        "name": "b",
        "source": "test",
        "unit_ids": [0, 1],
        "areas": ["LGd", "LGd"],
        "start_s": 2.0,
        "stop_s": 2.05,
        "counts": np.array([[0, 1, 2, 0, 1], [1, 0, 0, 0, 3]], dtype=np.uint8),
        "bin_s": 0.01,
    }
    return Session(**{**args, **kw})


def test_spike_session_fields():
    s = spikes(metrics=pd.DataFrame({"snr": [1.0, 2.0, 3.0]}, index=[7, 8, 9]))
    assert s.n_units == 3 and not s.is_binned
    assert s.spike_times.dtype == np.float64 and s.spike_index.dtype == np.int64
    np.testing.assert_array_equal(s.spikes_of(0), [0.5, 1.5])
    assert s.spikes_of(1).size == 0
    np.testing.assert_array_equal(s.spikes_of(2), [0.1, 0.2, 4.0])
    np.testing.assert_array_equal(s.spike_counts(), [2, 0, 3])
    assert s.metrics.index.tolist() == [0, 1, 2] and s.metrics["snr"].tolist() == [1.0, 2.0, 3.0]
    assert s.area_table().to_dict("list") == {"area": ["VISp", "CA1"], "units": [2, 1]}
    assert s.areas.dtype.kind == "U"


def test_default_metrics_have_one_row_per_unit():
    assert len(spikes().metrics) == 3


def test_binned_session_fields():
    s = binned(counts=np.array([[0, 1.0, 2, 0, 1], [1, 0, 0, 0, 3]]))
    assert s.is_binned and s.counts.dtype == np.uint16
    np.testing.assert_allclose(s.frame_times, 2.0 + 0.01 * np.arange(5))
    np.testing.assert_array_equal(s.segment_starts, [0])
    np.testing.assert_array_equal(s.spike_counts(), [4, 4])


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"unit_ids": [], "areas": [], "spike_index": [0]}, "s: the source has no units"),
        ({"areas": ["VISp"]}, "1 areas for 3 units"),
        ({"spike_times": [0.5, np.nan, 0.1, 0.2, 4.0]}, "1 spike times are NaN or infinite"),
        ({"spike_times": [0.5, np.inf, 0.1, 0.2, 4.0]}, "NaN or infinite"),
        ({"spike_times": [0.5, 1.5, -0.1, 0.2, 4.0]}, "spike times must not be negative"),
        ({"spike_times": [0.5, 1.5, 0.3, 0.2, 4.0]}, "spike times of unit 12 are not sorted"),
        ({"spike_index": [0, 2, 5]}, "spike-time index does not match"),
        ({"spike_index": [0, 2, 2, 4]}, "spike-time index does not match"),
        ({"spike_index": [1, 2, 2, 5]}, "spike-time index does not match"),
        ({"spike_index": [0, 3, 2, 5]}, "spike-time index does not match"),
        ({"stop_s": 0.0}, r"recording span \[0.0, 0.0\] s is empty"),
        ({"metrics": pd.DataFrame({"snr": [1.0]})}, "quality metrics have 1 rows for 3 units"),
        ({"counts": np.ones((3, 2)), "bin_s": 0.1}, "spike times or binned counts"),
        ({"spike_times": None, "spike_index": None}, "spike times or binned counts"),
    ],
)
def test_bad_spike_sessions(kw, message):
    with pytest.raises(NeuroRBMError, match=message):
        spikes(**kw)


def test_unsorted_across_units_is_fine():
    """Times fall back at each unit boundary: that is the ragged layout, not disorder."""
    s = spikes(spike_times=[3.0, 4.0, 0.1, 0.2, 0.3])
    np.testing.assert_array_equal(s.spikes_of(2), [0.1, 0.2, 0.3])


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"counts": np.zeros(5, np.uint8)}, "counts must be units x frames"),
        ({"counts": np.zeros((3, 5), np.uint8)}, "counts must be units x frames"),
        ({"counts": np.zeros((2, 0), np.uint8)}, "no frames"),
        ({"counts": np.array([[0, -1], [0, 0]])}, "negative values"),
        ({"counts": np.array([[0, np.nan], [0, 0]])}, "NaN or negative"),
        ({"bin_s": None}, "needs a positive bin width"),
        ({"bin_s": 0.0}, "needs a positive bin width"),
        ({"bin_s": float("nan")}, "needs a positive bin width"),
        ({"segment_starts": [1, 3]}, "segment_starts must rise from 0"),
        ({"segment_starts": [0, 3, 3]}, "segment_starts must rise from 0"),
        ({"segment_starts": [0, 5]}, "segment_starts must rise from 0"),
        ({"segment_starts": []}, "segment_starts must rise from 0"),
    ],
)
def test_bad_binned_sessions(kw, message):
    with pytest.raises(NeuroRBMError, match=message):
        binned(**kw)


def test_frame_times_must_match_frames():
    with pytest.raises(NeuroRBMError, match="3 frame times for 5 frames"):
        binned(frame_times=[0.0, 0.01, 0.02])
