"""``neurorbm binarize``: complete help, the written raster, and a one-line error for every bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from napari_neurorbm.cli import main
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.data.synthetic import make_synthetic
from nwb_factory import write_nwb
from test_sources import local_allen_cache

OPTIONS = (
    "SOURCE",
    "--session-id",
    "--bin-ms",
    "--start-s",
    "--stop-s",
    "--epoch",
    "--epoch-column",
    "--epoch-value",
    "--keep-every",
    "--min-rate-hz",
    "--areas",
    "--quality",
    "--test-fraction",
    "--seed",
    "--out",
)


def binarize(capsys, *argv) -> tuple[int, str, str]:
    rc = main(["binarize", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def synthetic_nwb(tmp_path_factory):
    """A synthetic session written as NWB, and its ground truth."""
    session, truth = make_synthetic(n_areas=3, units_per_area=8, duration_s=60.0, seed=2)
    path = tmp_path_factory.mktemp("nwb") / "synthetic.nwb"
    write_nwb(path, [session.spikes_of(u) for u in range(session.n_units)], list(session.areas))
    return path, truth


@pytest.fixture
def binned_npz(tmp_path):
    """Three units (the last one silent) in two segments of 4 frames of 10 ms."""
    path = tmp_path / "binned.npz"
    counts = np.array([[0, 2, 1, 0, 1, 1, 0, 1], [1, 0, 0, 0, 0, 3, 0, 0], [0] * 8], dtype=np.uint8)
    np.savez(
        path,
        counts=counts,
        bin_s=0.01,
        areas=np.array(["VISp", "CA1", "VISp"]),
        segment_starts=np.array([0, 4]),
        frame_times=np.r_[np.arange(4) * 0.01, 7 + np.arange(4) * 0.01],
    )
    return path


def test_help_is_complete(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["binarize", "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for option in OPTIONS:
        assert option in out
    assert "binned npz" in out and "Kilosort/phy" in out and "presence_ratio>=0.9" in out


def test_console_script_help():
    script = Path(sys.executable).with_name("neurorbm")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "binarize" in done.stdout and "Traceback" not in done.stderr


def test_nwb_to_raster_recovers_the_frames(capsys, tmp_path, synthetic_nwb):
    path, truth = synthetic_nwb
    out = tmp_path / "raster.npz"
    args = (path, "--start-s", 0, "--stop-s", 60, "--test-fraction", 0.25, "--seed", 3, "--out", out)
    rc, stdout, err = binarize(capsys, *args)
    assert rc == 0, err
    r = read_raster(out)
    assert r.bin_s == pytest.approx(0.02) and r.n_frames == 3000
    np.testing.assert_array_equal(r.binary, truth.frames[:, r.unit_ids].T)
    np.testing.assert_array_equal(r.areas, truth.areas[r.unit_ids])
    assert len(r.test_frames) == 750 and len(r.train_frames) == 2250
    with np.load(out, allow_pickle=False) as z:  # the file holds the 0/1 raster, bit-packed along frames
        assert {"counts_bits", "n_frames", "bin_s", "areas", "segment_starts", "unit_ids"} <= set(z.files)
        unpacked = np.unpackbits(z["counts_bits"], axis=1, count=int(z["n_frames"]))
    np.testing.assert_array_equal(unpacked, r.binary)
    assert "kept     24 units: VISal 8, VISl 8, VISp 8" in stdout
    assert f"wrote    {out}" in stdout


def test_filters_and_thinning(capsys, tmp_path, synthetic_nwb):
    path, truth = synthetic_nwb
    out = tmp_path / "thin"
    rc, stdout, _ = binarize(
        capsys, path, "--start-s", 0, "--stop-s", 30, "--bin-ms", 40, "--keep-every", 5,
        "--areas", "VISl, VISp", "--min-rate-hz", 0.5, "--out", out,
    )  # fmt: skip
    assert rc == 0
    r = read_raster(tmp_path / "thin.npz")
    assert r.n_frames == 150 and set(r.areas) == {"VISl", "VISp"}
    merged = truth.frames[:1500].reshape(750, 2, -1).max(axis=1)[::5]
    np.testing.assert_array_equal(r.binary, merged[:, r.unit_ids].T)
    assert "areas in VISl,VISp: -8" in stdout and "rate < 0.5 Hz" in stdout


def test_binned_input_keeps_native_bins(capsys, tmp_path, binned_npz):
    out = tmp_path / "r.npz"
    rc, stdout, _ = binarize(capsys, binned_npz, "--test-fraction", 0, "--out", out)
    assert rc == 0
    r = read_raster(out)
    assert r.bin_s == 0.01 and r.unit_ids.tolist() == [1, 0]  # input row index; CA1 before VISp
    np.testing.assert_array_equal(r.segment_starts, [0, 4])
    np.testing.assert_array_equal(r.counts, np.minimum(np.load(binned_npz)["counts"][[1, 0]], 1))
    assert "no spike in window: -1" in stdout
    rc, _, _ = binarize(capsys, binned_npz, "--bin-ms", 20, "--out", out)
    r = read_raster(out)
    assert rc == 0 and r.bin_s == pytest.approx(0.02) and r.n_frames == 4
    np.testing.assert_array_equal(r.segment_starts, [0, 2])


def test_quality_rules_on_phy(capsys, tmp_path):
    folder = tmp_path / "ks"
    folder.mkdir()
    np.save(folder / "spike_times.npy", np.arange(0, 30000, 100, dtype=np.uint64))
    np.save(folder / "spike_clusters.npy", np.tile(np.array([0, 1, 2], np.int32), 100))
    (folder / "params.py").write_text("sample_rate = 30000.0\n")
    (folder / "cluster_info.tsv").write_text("cluster_id\tContamPct\tfr\n0\t5\t10\n1\t50\t10\n2\t1\t3\n")
    out = tmp_path / "r.npz"
    rc, stdout, err = binarize(capsys, folder, "--quality", "ContamPct<=10, fr>5".lower(), "--out", out)
    assert rc == 0, err
    assert read_raster(out).unit_ids.tolist() == [0]
    assert "quality contampct<=10: -1; quality fr>5: -1" in stdout


def test_allen_session(capsys, tmp_path):
    rc, _, err = binarize(capsys, allen(tmp_path), "--session-id", 5, "--out", tmp_path / "r.npz")
    assert rc == 0, err
    r = read_raster(tmp_path / "r.npz")
    assert r.unit_ids.tolist() == [1, 0] and r.areas.tolist() == ["CA1", "VISp"]
    assert r.n_frames == 70  # first to last spike, 1.4 s of 20 ms bins


def corrupt_nwb(d: Path) -> Path:
    (d / "bad.nwb").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    return d / "bad.nwb"


def corrupt_npz(d: Path) -> Path:
    (d / "bad.npz").write_bytes(b"PK\x03\x04 garbage")
    return d / "bad.npz"


def empty_allen(d: Path) -> Path:
    (d / "cache" / "visual-behavior-neuropixels-0.5.0" / "project_metadata").mkdir(parents=True)
    return d / "cache"


def allen(d: Path) -> Path:
    return local_allen_cache(d / "cache", 5, [np.array([0.5, 1.5]), np.array([0.1])], ["VISp", "CA1"])


NWB, NPZ = "nwb", "npz"
BAD = [
    ("missing file", lambda d: d / "nope.nwb", (), "no such file or folder"),
    ("not a source", lambda d: d, (), "not a recognised source"),
    ("corrupt NWB", corrupt_nwb, (), "not a readable NWB file"),
    ("corrupt npz", corrupt_npz, (), "not a readable npz file"),
    ("zero bin", NWB, ("--bin-ms", 0), "bin width must be positive"),
    ("negative bin", NWB, ("--bin-ms", -20), "bin width must be positive"),
    ("bin longer than recording", NWB, ("--bin-ms", 1e6), "longer than the time window"),
    ("stop before start", NWB, ("--start-s", 10, "--stop-s", 5), "must come after the start"),
    ("filters leave none", NWB, ("--min-rate-hz", 1e4), "the filters leave no unit"),
    ("unknown area", NWB, ("--areas", "XYZ"), "XYZ"),
    ("empty area list", NWB, ("--areas", ","), "--areas needs a comma-separated list"),
    ("bad quality rule", NWB, ("--quality", "snr"), "is not of the form"),
    ("missing metric", NWB, ("--quality", "snr>=2"), "no quality metric 'snr'"),
    ("keep every 0", NWB, ("--keep-every", 0), "keep-every"),
    ("test fraction", NWB, ("--test-fraction", 1.5), "test fraction"),
    ("not a multiple", NPZ, ("--bin-ms", 15), "not a whole multiple"),
    ("session id on a file", NPZ, ("--session-id", 3), "only applies to an Allen cache"),
    ("no session id", empty_allen, (), "choose a session id"),
    ("unknown session id", allen, ("--session-id", 99), "unknown session id 99"),
]


@pytest.mark.parametrize(("source", "extra", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_one_line(capsys, tmp_path, synthetic_nwb, binned_npz, source, extra, message):
    made = {NWB: synthetic_nwb[0], NPZ: binned_npz}
    path = made[source] if isinstance(source, str) else source(tmp_path)
    out = tmp_path / "out.npz"
    rc, _, err = binarize(capsys, path, *extra, "--out", out)
    assert rc == 2
    assert err.startswith("neurorbm binarize: error: ") and err.count("\n") == 1, err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_out_folder_must_exist(capsys, tmp_path, binned_npz):
    rc, _, err = binarize(capsys, binned_npz, "--out", tmp_path / "no" / "r.npz")
    assert rc == 2 and "does not exist" in err and err.count("\n") == 1
    rc, _, err = binarize(capsys, binned_npz, "--out", tmp_path)
    assert rc == 2 and "is a folder" in err
