"""The real recordings in ../shared/data/real/ load through open_source and binarize as their README says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.sources import open_source

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"

# name -> (units, areas, bin_s, segments, frames per segment or None when they differ, frames), from README.md
EXPECTED = {
    "steinmetz2019_forssmann_2017-11-01.npz": (1769, 11, 0.01, 249, 40, 9960),
    "steinmetz2019_hench_2017-06-15.npz": (1157, 15, 0.01, 250, 40, 10000),
    "tkacik2014_retina50.npz": (50, 1, 0.02, 297, 953, 283041),
}

pytestmark = pytest.mark.real


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def recording(request):
    if not REAL.is_dir():
        pytest.skip(f"../shared/data/real not present: no real recordings at {REAL}")
    path = REAL / request.param
    if not path.is_file():
        pytest.skip(f"../shared/data/real/{request.param} not present")
    return request.param, open_source(path)


def test_every_file_is_known():
    if not REAL.is_dir():
        pytest.skip(f"../shared/data/real not present: no real recordings at {REAL}")
    assert sorted(p.name for p in REAL.glob("*.npz")) == sorted(EXPECTED)


def test_loads_as_readme_says(recording):
    name, s = recording
    units, areas, bin_s, segments, per_segment, frames = EXPECTED[name]
    assert s.is_binned and s.n_units == units
    assert len(np.unique(s.areas)) == areas
    assert s.bin_s == pytest.approx(bin_s)
    assert s.counts.shape == (units, frames)
    assert len(s.segment_starts) == segments
    np.testing.assert_array_equal(s.segment_starts, per_segment * np.arange(segments))
    assert s.counts.max() >= 1 and s.source


def test_native_bins(recording):
    _, s = recording
    r = binarize(s, BinningParams(bin_ms=None))
    silent = int(np.count_nonzero(s.counts.sum(axis=1) == 0))
    assert r.filter_report == [("no spike in window", silent)]
    assert r.n_units == s.n_units - silent and r.n_frames == s.counts.shape[1]
    np.testing.assert_array_equal(r.counts, np.minimum(s.counts[r.unit_ids], 255))
    np.testing.assert_array_equal(r.segment_starts, s.segment_starts)
    np.testing.assert_array_equal(r.areas, s.areas[r.unit_ids])
    blocks = [a for a, _, _ in r.area_blocks()]
    assert len(blocks) == len(set(blocks))  # each area is one contiguous block of rows
    assert len(r.train_frames) + len(r.test_frames) == r.n_frames


def test_double_bins(recording):
    name, s = recording
    _, _, bin_s, segments, per_segment, _ = EXPECTED[name]
    r = binarize(s, BinningParams(bin_ms=2e3 * bin_s))
    half = per_segment // 2
    assert r.bin_s == pytest.approx(2 * bin_s) and r.n_frames == segments * half
    np.testing.assert_array_equal(r.segment_starts, half * np.arange(segments))
    first = s.counts[:, 0 : 2 * half : 2].astype(int) + s.counts[:, 1 : 2 * half : 2]
    np.testing.assert_array_equal(r.counts[:, :half], np.minimum(first[r.unit_ids], 255))
    last = s.segment_starts[-1]
    tail = s.counts[:, last : last + 2 * half : 2].astype(int) + s.counts[:, last + 1 : last + 2 * half : 2]
    np.testing.assert_array_equal(r.counts[:, -half:], np.minimum(tail[r.unit_ids], 255))
    assert r.binary.mean() > binarize(s, BinningParams(bin_ms=None)).binary.mean()
