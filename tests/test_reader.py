"""The npe2 reader and sample data: which files it takes, the layers it returns (the same code as the load
widget's), clear messages for bad files, and both paths in a real viewer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import save_viewer_screenshot
from napari_neurorbm._qt.raster_layers import KEY, layers_of, raster_layer_data
from napari_neurorbm._qt.state import get_state
from napari_neurorbm._reader import NOTHING, get_reader, read_recording
from napari_neurorbm._sample_data import synthetic_layers
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.sources import open_source
from nwb_factory import write_nwb

TRAINS = [np.array([0.01, 0.5, 1.2, 3.9]), np.array([0.2, 0.25, 2.0]), np.array([1.0, 1.01, 1.02, 3.3])]


@pytest.fixture
def nwb(tmp_path: Path) -> Path:
    return write_nwb(tmp_path / "rec.nwb", TRAINS, ["VISp", "CA1", "VISp"])


@pytest.fixture
def binned(tmp_path: Path) -> Path:
    counts = (np.random.default_rng(0).random((6, 400)) < 0.1).astype(np.uint8)
    path = tmp_path / "binned.npz"
    np.savez(path, counts=counts, bin_s=0.01, areas=np.array(["LGd"] * 2 + ["VISp"] * 4))
    return path


def test_reader_takes_nwb_and_binned_npz_only(tmp_path: Path, nwb: Path, binned: Path) -> None:
    model = tmp_path / "model.npz"
    np.savez(model, W=np.zeros((3, 2)), b=np.zeros(3), c=np.zeros(2), counts=np.zeros((3, 3)))
    other = tmp_path / "other.npz"
    np.savez(other, x=np.arange(3))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert get_reader(str(nwb)) is read_recording and get_reader([str(binned)]) is read_recording
    for path in (model, other, text, tmp_path, tmp_path / "missing.nwb"):
        assert get_reader(str(path)) is None, path
    assert get_reader([str(nwb), str(binned)]) is None


def test_reader_layers_are_the_load_widgets_layers(nwb: Path) -> None:
    layers = read_recording(str(nwb))
    session = open_source(nwb)
    expected = raster_layer_data(binarize(session, BinningParams()), session=session)
    assert [(m["name"], kind) for _, m, kind in layers] == [(m["name"], kind) for _, m, kind in expected]
    for (_, got, _), (_, want, _) in zip(layers, expected, strict=True):
        for key in ("scale", "translate", "contrast_limits", "colormap"):
            assert str(got.get(key)) == str(want.get(key)), key
    raster = layers[1][1]["metadata"][KEY]["raster"]
    assert raster.bin_s == pytest.approx(0.02) and list(raster.areas) == ["CA1", "VISp", "VISp"]


def test_binned_npz_keeps_its_native_bins(binned: Path) -> None:
    raster = read_recording(str(binned))[1][1]["metadata"][KEY]["raster"]
    assert raster.bin_s == pytest.approx(0.01) and raster.n_frames == 400


def test_real_recording_reads_in_native_bins(real_data: Path) -> None:
    layers = read_recording(str(real_data / "tkacik2014_retina50.npz"))
    raster = layers[1][1]["metadata"][KEY]["raster"]
    assert raster.n_units == 50 and raster.n_frames == 283_041 and raster.bin_s == pytest.approx(0.02)
    assert layers[1][1]["multiscale"] and len(layers[1][0]) > 5


def test_bad_files_give_one_line_notifications_and_no_layers(tmp_path: Path, notifications) -> None:
    broken = tmp_path / "broken.nwb"
    broken.write_bytes(b"not an hdf5 file at all")
    cut = tmp_path / "cut.npz"
    cut.write_bytes(b"PK\x03\x04" + b"\0" * 20)
    for path in (broken, cut):
        assert get_reader(str(path)) is read_recording
        assert read_recording(str(path)) == NOTHING
    messages = [n.message for n in notifications]
    assert len(messages) == 2 and all("\n" not in m for m in messages)
    assert "broken.nwb" in messages[0] and "cut.npz" in messages[1]


def test_sample_data_is_the_synthetic_session() -> None:
    layers = synthetic_layers()
    assert [kind for _, _, kind in layers] == ["image", "image", "points", "points", "labels", "labels"]
    raster = layers[1][1]["metadata"][KEY]["raster"]  # its units have E/I classes: the strip and legend too
    assert raster.n_units == 200 and len(np.unique(raster.areas)) == 5 and raster.bin_s == pytest.approx(0.02)


@pytest.mark.gui
def test_napari_opens_files_and_sample_with_the_plugin(make_napari_viewer, nwb, qtbot, screenshot_dir):
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1300, 800)
    viewer.open(str(nwb), plugin="napari-neurorbm")
    assert len(layers_of(viewer)) == 4 and get_state(viewer).raster is not None
    # the raster is the active layer (its controls, not the strip's paint tools), also after the sample
    assert layers_of(viewer, kind="binary")[0] is viewer.layers.selection.active
    first = get_state(viewer).raster
    viewer.layers.clear()
    viewer.open_sample("napari-neurorbm", "synthetic")
    assert len(layers_of(viewer, role="data")) == 6  # with the E/I strip and its legend
    assert layers_of(viewer, kind="binary")[0] is viewer.layers.selection.active
    assert get_state(viewer).raster is not first and get_state(viewer).raster.n_units == 200
    viewer.reset_view()
    qtbot.wait(100)
    save_viewer_screenshot(viewer, screenshot_dir, "sample_data_synthetic")
