"""The binned-npz layer: Raster.save/read_raster round trip, binned sessions, re-binning inside segments."""

from __future__ import annotations

import numpy as np
import pytest

from napari_neurorbm._reader import get_reader, read_recording
from napari_neurorbm.data.binned import load_binned_session, read_binned_npz
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.raster import Raster, read_raster, split_frames
from napari_neurorbm.errors import NeuroRBMError

BIN = 0.01
BITS = np.zeros((4, 2), np.uint8)  # room for 9 to 16 bit-packed frames of 4 units


def write_binned(path, **over):
    """Four units, two segments of 5 and 4 frames of 10 ms, counts up to 3; unit 3 never spikes."""
    counts = np.array(
        [
            [0, 1, 2, 0, 1, 1, 0, 0, 3],
            [1, 0, 0, 0, 0, 0, 1, 1, 0],
            [1, 1, 1, 1, 1, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 0, 0, 0],
        ],
        dtype=np.uint8,
    )
    frame_times = np.r_[10.0 + BIN * np.arange(5), 20.0 + BIN * np.arange(4)]
    data = {
        "counts": counts,
        "bin_s": np.float64(BIN),
        "areas": np.array(["VISp", "CA1", "VISp", "CA1"]),
        "segment_starts": np.array([0, 5]),
        "frame_times": frame_times,
        "source": np.str_("test recording"),
    }
    data.update(over)
    np.savez(path, **{k: v for k, v in data.items() if v is not None})
    return path


def test_read_fills_defaults(tmp_path):
    path = write_binned(tmp_path / "b.npz", areas=None, segment_starts=None, frame_times=None, source=None)
    f = read_binned_npz(path)
    assert f["areas"].tolist() == ["unknown"] * 4
    np.testing.assert_array_equal(f["unit_ids"], np.arange(4))
    np.testing.assert_array_equal(f["segment_starts"], [0])
    np.testing.assert_allclose(f["frame_times"], BIN * np.arange(9))
    assert f["source"] == "b"
    assert "train_frames" not in f


def test_binned_session_fields(tmp_path):
    s = load_binned_session(write_binned(tmp_path / "rec.npz"))
    assert s.is_binned and s.name == "rec" and s.source == "test recording"
    assert s.bin_s == BIN and s.start_s == 10.0 and s.stop_s == pytest.approx(20.04)
    np.testing.assert_array_equal(s.unit_ids, np.arange(4))
    np.testing.assert_array_equal(s.segment_starts, [0, 5])
    assert s.areas.tolist() == ["VISp", "CA1", "VISp", "CA1"]
    np.testing.assert_array_equal(s.spike_counts(), [8, 3, 6, 0])


def test_native_bins_keep_rows_segments_and_times(tmp_path):
    s = load_binned_session(write_binned(tmp_path / "rec.npz"))
    r = binarize(s, BinningParams(bin_ms=None, test_fraction=0.0))
    assert r.filter_report == [("no spike in window", 1)]
    assert r.unit_ids.tolist() == [1, 2, 0]  # CA1 first, then VISp by activity (unit 3 never spikes)
    np.testing.assert_array_equal(r.counts, s.counts[[1, 2, 0]])
    np.testing.assert_array_equal(r.segment_starts, [0, 5])
    np.testing.assert_allclose(r.frame_times, s.frame_times)
    assert r.bin_s == BIN


def test_rebin_sums_within_segments_only(tmp_path):
    s = load_binned_session(write_binned(tmp_path / "rec.npz"))
    r = binarize(s, BinningParams(bin_ms=20, test_fraction=0.0))
    # segment 1: frames (0,1) (2,3), frame 4 left over; segment 2: (5,6) (7,8); never (4,5) across the gap
    expected = s.counts[:, [0, 2, 5, 7]] + s.counts[:, [1, 3, 6, 8]]
    np.testing.assert_array_equal(r.counts, expected[r.unit_ids])
    np.testing.assert_array_equal(r.segment_starts, [0, 2])
    np.testing.assert_allclose(r.frame_times, [10.0, 10.02, 20.0, 20.02])
    assert r.bin_s == pytest.approx(0.02)
    assert r.binary.max() == 1 and r.counts.max() == 3


def test_window_and_keep_every_on_bins(tmp_path):
    s = load_binned_session(write_binned(tmp_path / "rec.npz"))
    r = binarize(s, BinningParams(bin_ms=None, start_s=10.02, stop_s=20.03, test_fraction=0.0))
    np.testing.assert_allclose(r.frame_times, [10.02, 10.03, 10.04, 20.0, 20.01, 20.02])
    np.testing.assert_array_equal(r.segment_starts, [0, 3])
    r = binarize(s, BinningParams(bin_ms=None, keep_every=2, test_fraction=0.0))
    np.testing.assert_allclose(r.frame_times, [10.0, 10.02, 10.04, 20.0, 20.02])
    np.testing.assert_array_equal(r.counts, s.counts[:, [0, 2, 4, 5, 7]][r.unit_ids])


def test_rebin_needs_whole_multiples(tmp_path):
    s = load_binned_session(write_binned(tmp_path / "rec.npz"))
    with pytest.raises(NeuroRBMError, match="not a whole multiple"):
        binarize(s, BinningParams(bin_ms=15))


def test_raster_save_read_exact(tmp_path):
    rng = np.random.default_rng(0)
    counts = (rng.random((6, 50)) < 0.2).astype(np.uint8)
    raster = Raster(
        counts=counts,
        bin_s=0.02,
        areas=np.array(["LGd", "LGd", "VISp", "VISp", "VISp", "root"]),
        unit_ids=np.array([101, 7, 55, 3, 12, 900]),
        segment_starts=np.array([0, 20, 35]),
        frame_times=np.r_[np.arange(20) * 0.02, 5 + np.arange(15) * 0.02, 9 + np.arange(15) * 0.02],
        train_frames=np.arange(0, 50, 2),
        test_frames=np.arange(1, 50, 2),
        name="r",
    )
    path = raster.save(tmp_path / "raster")  # the suffix is added
    assert path == tmp_path / "raster.npz" and path.is_file()
    back = read_raster(path)
    keys = ("counts", "areas", "unit_ids", "segment_starts", "frame_times", "train_frames", "test_frames")
    for key in keys:
        np.testing.assert_array_equal(getattr(back, key), getattr(raster, key), err_msg=key)
    assert back.bin_s == 0.02 and back.counts.dtype == np.uint8
    with np.load(path, allow_pickle=False) as z:  # the binned-npz layout, readable by numpy alone
        assert {"counts_bits", "n_frames", "bin_s", "areas", "segment_starts", "unit_ids"} <= set(z.files)
        unpacked = np.unpackbits(z["counts_bits"], axis=1, count=int(z["n_frames"]))
    np.testing.assert_array_equal(unpacked, counts)
    session = load_binned_session(path)
    np.testing.assert_array_equal(session.unit_ids, raster.unit_ids)


def realistic_raster(n_units: int, n_frames: int, seed: int = 0) -> Raster:
    """A raster as binarize makes it: 20 ms bins, lognormal firing rates of mean 5 Hz (as in the Allen
    recordings), counts above 1 where a unit spiked twice in a bin, two segments, a 70/30 split."""
    rng = np.random.default_rng(seed)
    rates = rng.lognormal(np.log(5.0) - 0.5, 1.0, n_units)
    half = n_frames // 2
    train, test = split_frames(n_frames, 0.3, seed)
    return Raster(
        counts=np.minimum(rng.poisson(rates[:, None] * 0.02, (n_units, n_frames)), 255).astype(np.uint8),
        bin_s=0.02,
        areas=np.repeat(["CA1", "LGd", "VISp"], [n_units // 3, n_units // 3, n_units - 2 * (n_units // 3)]),
        unit_ids=rng.permutation(n_units) + 950_000_000,
        segment_starts=np.array([0, half] if half else [0]),
        frame_times=np.r_[np.arange(half) * 0.02, 100.0 + np.arange(n_frames - half) * 0.02],
        train_frames=train,
        test_frames=test,
        name="realistic",
    )


def save_old_format(raster: Raster, path):
    """Raster.save before the bit-packed layout: np.savez_compressed of the 0/1 bytes as 'counts'."""
    np.savez_compressed(
        path,
        counts=raster.binary,
        bin_s=np.float64(raster.bin_s),
        areas=raster.areas.astype(str),
        segment_starts=raster.segment_starts.astype(np.int64),
        frame_times=raster.frame_times.astype(np.float64),
        unit_ids=np.asarray(raster.unit_ids),
        train_frames=raster.train_frames.astype(np.int64),
        test_frames=raster.test_frames.astype(np.int64),
        source=np.str_(raster.name),
    )
    return path


def assert_same_raster(back: Raster, raster: Raster) -> None:
    """Everything a reload keeps: the 0/1 counts, bin width, areas, ids, segments, frame times, split."""
    np.testing.assert_array_equal(back.counts, raster.binary)
    for key in ("areas", "unit_ids", "segment_starts", "frame_times", "train_frames", "test_frames"):
        np.testing.assert_array_equal(getattr(back, key), getattr(raster, key), err_msg=key)
    assert back.bin_s == raster.bin_s and back.counts.dtype == np.uint8


@pytest.mark.parametrize("n_frames", [1, 8, 9, 1001])
def test_bit_packed_round_trip_is_exact(tmp_path, n_frames):
    raster = realistic_raster(7, n_frames)
    path = raster.save(tmp_path / "r.npz")
    assert_same_raster(read_raster(path), raster)
    assert get_reader(str(path)) is read_recording  # napari opens it too


def test_files_of_the_old_layout_still_read(tmp_path):
    raster = realistic_raster(12, 500)
    old = save_old_format(raster, tmp_path / "old.npz")
    assert_same_raster(read_raster(old), raster)
    np.testing.assert_array_equal(load_binned_session(old).counts, raster.binary)
    assert get_reader(str(old)) is read_recording


def test_bit_packed_file_is_about_as_small_as_the_old_one(tmp_path):
    raster = realistic_raster(300, 20_000)
    assert 0.02 < raster.binary.mean() < 0.1  # sparse, as recordings are at 20 ms
    new = raster.save(tmp_path / "new.npz").stat().st_size
    old = save_old_format(raster, tmp_path / "old.npz").stat().st_size
    assert new <= 1.5 * old, (new, old)


def test_read_raster_without_split_is_seeded(tmp_path):
    path = write_binned(tmp_path / "b.npz")
    a, b = read_raster(path, seed=3), read_raster(path, seed=3)
    np.testing.assert_array_equal(a.train_frames, b.train_frames)
    assert len(a.test_frames) == 3 and len(a.train_frames) == 6
    assert not set(a.train_frames) & set(a.test_frames)
    np.testing.assert_array_equal(a.counts, np.minimum(np.load(path)["counts"], 255))


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"counts": None}, "no 'counts' array"),
        ({"counts": np.zeros(9, np.uint8)}, "non-empty units x frames"),
        ({"counts": np.zeros((4, 0), np.uint8)}, "non-empty units x frames"),
        ({"counts": -np.ones((4, 9), np.int16)}, "negative values"),
        ({"counts": np.full((4, 9), np.nan)}, "NaN or negative"),
        ({"bin_s": None}, "no 'bin_s'"),
        ({"bin_s": np.float64(0.0)}, "bin width must be positive"),
        ({"areas": np.array(["VISp"])}, "'areas' has 1 entries, expected 4"),
        ({"frame_times": np.zeros(3)}, "'frame_times' has 3 entries, expected 9"),
        ({"unit_ids": np.arange(2)}, "'unit_ids' has 2 entries"),
        ({"test_frames": np.array([0, 9])}, "'test_frames' points outside"),
        ({"areas": np.array([{"a": 1}] * 4, dtype=object)}, "not a readable npz"),
        ({"segment_starts": np.array([0, 9])}, "segment_starts must rise"),
        ({"counts": None, "counts_bits": BITS}, "beside a scalar 'n_frames'"),
        ({"counts": None, "counts_bits": BITS[0], "n_frames": np.int64(9)}, "2-D uint8"),
        ({"counts": None, "counts_bits": BITS, "n_frames": np.int64(17)}, "does not fit"),
        ({"counts": None, "counts_bits": BITS, "n_frames": np.int64(8)}, "does not fit"),
    ],
)
def test_bad_binned_files(tmp_path, over, message):
    path = write_binned(tmp_path / "bad.npz", **over)
    with pytest.raises(NeuroRBMError, match=message):
        load_binned_session(path)


def test_unreadable_files(tmp_path):
    with pytest.raises(NeuroRBMError, match="no such file"):
        read_binned_npz(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 this is not a zip archive")
    with pytest.raises(NeuroRBMError, match="not a readable npz"):
        read_binned_npz(tmp_path / "junk.npz")
    good = write_binned(tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(good[: len(good) // 2])
    with pytest.raises(NeuroRBMError, match="not a readable npz"):
        read_binned_npz(tmp_path / "cut.npz")
