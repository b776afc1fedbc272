"""``neurorbm binarize --epoch / --epoch-column / --epoch-value``: the window restricted to a stimulus block
or to a set of trials or presentations, each stretch a segment of exactly the synthetic ground truth's frames;
a one-line error for an epoch that does not exist."""

from __future__ import annotations

import numpy as np
import pytest

from napari_neurorbm.cli import main
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.data.synthetic import make_synthetic
from nwb_factory import allen_intervals, write_nwb

DURATION = 60.0  # block 0 (active images) 0-24 s, spontaneous 24-30 s, flashes 30-36 s, block 3 36-60 s


@pytest.fixture(scope="module")
def epochs_nwb(tmp_path_factory):
    """A synthetic session (exact 20 ms frames from 0 s) written as NWB with Allen's interval tables."""
    session, truth = make_synthetic(n_areas=3, units_per_area=8, duration_s=DURATION, seed=2)
    path = tmp_path_factory.mktemp("nwb") / "ecephys_session_5.nwb"
    write_nwb(path, [session.spikes_of(u) for u in range(session.n_units)], list(session.areas),
              intervals=allen_intervals(DURATION))
    return path, truth


def binarize(capsys, *argv) -> tuple[int, str, str]:
    rc = main(["binarize", *map(str, argv), "--test-fraction", "0"])
    out, err = capsys.readouterr()
    return rc, out, err


def test_a_stimulus_block_is_one_segment_of_its_frames(capsys, tmp_path, epochs_nwb) -> None:
    path, truth = epochs_nwb
    rc, out, err = binarize(capsys, path, "--epoch", "block 3", "--out", tmp_path / "r.npz")
    assert rc == 0, err
    r = read_raster(tmp_path / "r.npz")
    # block 3: flashes from 36 s every 0.75 s, the last one ending at 59.5 s: frames 1800 to 2974
    assert r.n_frames == 1175 and r.segment_starts.tolist() == [0]
    np.testing.assert_array_equal(r.binary, truth.frames[1800:2975, r.unit_ids].T)
    assert r.epochs is not None and r.epochs.names()[-1] == "block 3"
    assert "in 1 segment(s)" in out and "epochs   72 intervals" in out and "(blocks 0, 1, 2, 3)" in out


def test_trials_and_presentations_chosen_by_a_column(capsys, tmp_path, epochs_nwb) -> None:
    path, truth = epochs_nwb
    # go trials 6-12, 12-18, 18-24 s touch one another: one stretch
    rc, _, err = binarize(capsys, path, "--epoch", "trials", "--epoch-column", "go", "--epoch-value", "True",
                          "--out", tmp_path / "go.npz")
    assert rc == 0, err
    r = read_raster(tmp_path / "go.npz")
    assert r.segment_starts.tolist() == [0]
    np.testing.assert_array_equal(r.binary, truth.frames[300:1200, r.unit_ids].T)
    # image changes at 6, 12, 18, 42, 48, 54 s, 0.25 s each: six segments of 12 frames
    rc, _, err = binarize(capsys, path, "--epoch-column", "is_change", "--epoch-value", "1",
                          "--out", tmp_path / "changes.npz")
    assert rc == 0, err
    r = read_raster(tmp_path / "changes.npz")
    assert r.segment_starts.tolist() == [0, 12, 24, 36, 48, 60] and r.n_frames == 72
    frames = np.concatenate([np.arange(12) + round(t / 0.02) for t in (6, 12, 18, 42, 48, 54)])
    np.testing.assert_array_equal(r.binary, truth.frames[frames][:, r.unit_ids].T)
    np.testing.assert_allclose(r.frame_times, frames * 0.02)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--epoch", "passive"), "no epoch 'passive' (the session has: Natural_Images_Lum_Matched_set_"
                                 "ophys_G_2019_presentations, trials, spontaneous_presentations, "
                                 "flash_250ms_presentations, block 0, block 1, block 2, block 3)"),
        (("--epoch-column", "go"), "the epoch column 'go' needs an epoch value to keep (e.g. True, 5)"),
        (("--epoch-column", "hit", "--epoch-value", "1"), "no interval table has a column 'hit'"),
    ],
)
def test_epochs_that_do_not_exist_are_one_line_errors(capsys, tmp_path, epochs_nwb, options, message) -> None:
    rc, _, err = binarize(capsys, epochs_nwb[0], *options, "--out", tmp_path / "r.npz")
    assert rc == 2 and message in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("neurorbm binarize: error: ")
    assert not (tmp_path / "r.npz").exists()
