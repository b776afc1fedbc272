"""NWB files -> Session: every field in the Allen and generic layouts, areas, metrics, span, bad files."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
import pytest
from pynwb import NWBHDF5IO, NWBFile

from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.nwb import load_nwb
from napari_neurorbm.errors import NeuroRBMError
from nwb_factory import write_nwb

TRAINS = [np.array([0.51, 1.02, 2.5]), np.array([0.2, 3.0]), np.array([1.5]), np.array([0.7, 0.75, 2.99])]
AREAS = ["VISp", "CA1", "VISp", "LGd"]


def test_allen_layout_gives_ids_areas_metrics_spikes_and_span(tmp_path: Path) -> None:
    metrics = {
        "snr": [2.0, 3.5, np.nan, 1.0],
        "presence_ratio": [0.99, 0.9, 0.5, 1.0],
        "quality": ["good"] * 4,
    }
    path = write_nwb(
        tmp_path / "ecephys_session_7.nwb", TRAINS, AREAS, metrics=metrics, unit_ids=[40, 41, 42, 43]
    )
    s = load_nwb(path)
    assert s.name == "ecephys_session_7" and s.source == str(path)
    assert s.unit_ids.tolist() == [40, 41, 42, 43]
    assert s.areas.tolist() == AREAS
    for u, train in enumerate(TRAINS):
        np.testing.assert_array_equal(s.spikes_of(u), train)
    assert s.spike_index.tolist() == [0, 3, 5, 6, 9]
    assert (s.start_s, s.stop_s) == (0.2, 3.0)
    # numeric columns only: the string 'quality' and the peak channel id are not metrics
    assert sorted(s.metrics.columns) == ["presence_ratio", "snr"]
    np.testing.assert_array_equal(s.metrics["snr"].to_numpy(), metrics["snr"])
    assert not s.is_binned


def test_generic_layout_takes_the_area_of_each_units_first_electrode(tmp_path: Path) -> None:
    s = load_nwb(write_nwb(tmp_path / "g.nwb", TRAINS, ["VISp", "", "CA3", "VISl"], allen_layout=False))
    assert s.areas.tolist() == ["VISp", "unknown", "CA3", "VISl"]
    assert s.unit_ids.tolist() == [0, 1, 2, 3] and s.metrics.shape == (4, 0)


@pytest.mark.parametrize("column", ["location", "brain_area", "structure_acronym"])
def test_an_area_column_of_the_units_table_is_used(tmp_path: Path, column: str) -> None:
    areas = ["VISp", "none", " CA1 ", "LGd"]
    s = load_nwb(write_nwb(tmp_path / "c.nwb", TRAINS, areas, area_column=column))
    assert s.areas.tolist() == ["VISp", "unknown", "CA1", "LGd"]


def test_units_without_area_or_with_a_missing_peak_channel_are_unknown(tmp_path: Path) -> None:
    assert load_nwb(write_nwb(tmp_path / "a.nwb", TRAINS, None)).areas.tolist() == ["unknown"] * 4
    s = load_nwb(write_nwb(tmp_path / "b.nwb", TRAINS, ["VISp", "", "CA1", ""]))
    assert s.areas.tolist() == ["VISp", "unknown", "CA1", "unknown"]


def test_observation_intervals_set_the_recording_span(tmp_path: Path) -> None:
    nwb = NWBFile("s", "obs", datetime(2021, 1, 1, tzinfo=timezone.utc))
    nwb.add_unit(spike_times=[1.0, 2.0], obs_intervals=[[0.0, 10.0]])
    nwb.add_unit(spike_times=[3.0], obs_intervals=[[0.5, 12.5]])
    with NWBHDF5IO(str(tmp_path / "obs.nwb"), "w") as io:
        io.write(nwb)
    s = load_nwb(tmp_path / "obs.nwb")
    assert (s.start_s, s.stop_s) == (0.0, 12.5)


def test_a_units_table_outside_units_and_without_nwb_attributes_loads(tmp_path: Path) -> None:
    path = tmp_path / "plain.nwb"
    with h5py.File(path, "w") as f:
        g = f.create_group("processing/ecephys/my_units")
        g.attrs["neurodata_type"] = "Units"
        g["spike_times"] = np.array([0.1, 0.2, 0.15], dtype=np.float32)
        g["spike_times_index"] = np.array([2, 3], dtype=np.uint32)
        g["brain_area"] = np.array([b"VISp", b"CA1"])
    s = load_nwb(path)
    assert s.unit_ids.tolist() == [0, 1] and s.areas.tolist() == ["VISp", "CA1"]
    np.testing.assert_allclose(s.spikes_of(0), [0.1, 0.2])
    assert s.spike_times.dtype == np.float64


def test_empty_units_load_and_are_dropped_by_the_binning_filter(tmp_path: Path) -> None:
    trains = [np.array([0.05, 0.41]), np.array([]), np.array([0.33])]
    s = load_nwb(write_nwb(tmp_path / "e.nwb", trains, ["VISp", "VISp", "CA1"], unit_ids=[5, 6, 7]))
    assert s.spike_index.tolist() == [0, 2, 2, 3]
    r = binarize(s, BinningParams(bin_ms=100, start_s=0.0, stop_s=0.5, test_fraction=0))
    assert r.unit_ids.tolist() == [7, 5] and r.filter_report == [("no spike in window", 1)]
    assert r.counts.tolist() == [[0, 0, 0, 1, 0], [1, 0, 0, 0, 1]]


def write_garbage(path: Path) -> Path:
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 8)
    return path


def write_truncated(path: Path) -> Path:
    full = write_nwb(path.with_name("full.nwb"), TRAINS, AREAS)
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def write_text(path: Path) -> Path:
    path.write_text("this is not an NWB file\n")
    return path


def write_no_units(path: Path) -> Path:
    with NWBHDF5IO(str(path), "w") as io:
        io.write(NWBFile("s", "no units", datetime(2021, 1, 1, tzinfo=timezone.utc)))
    return path


def writer(trains: list) -> callable:
    return lambda path: write_nwb(path, [np.asarray(t, dtype=float) for t in trains], None)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (write_garbage, r"bad.nwb: not a readable NWB file \(truncated or corrupt\?"),
        (write_truncated, r"bad.nwb: not a readable NWB file \(truncated or corrupt\?"),
        (write_text, r"bad.nwb: not a readable NWB file"),
        (write_no_units, r"bad.nwb: the file has no units table"),
        (writer([[], []]), r"bad.nwb: none of the 2 units has a spike"),
        (writer([[0.1, np.nan, 0.3], [0.2]]), r"bad.nwb: 1 spike times are NaN or infinite"),
        (writer([[-0.5, 0.3], [0.2]]), r"bad.nwb: spike times must not be negative"),
        (writer([[0.1, 0.2], [0.5, 0.4]]), r"bad.nwb: spike times of unit 1 are not sorted"),
        (lambda p: p, r"bad.nwb: no such file"),
    ],
    ids=["garbage", "truncated", "text", "no-units", "all-empty", "nan", "negative", "unsorted", "missing"],
)
def test_bad_files_give_one_line_naming_the_file(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path / "bad.nwb")
    with pytest.raises(NeuroRBMError, match=message) as info:
        load_nwb(path)
    assert "\n" not in str(info.value)
