"""Epochs and events in a real viewer: the band under the raster (each tick in the raster column that holds
its time, blocks over their frames, names on hover), the Load dock's epoch field choosing the window, and the
QC plot of activity around events, real beside generated; screenshots at 1920 x 1080 and 1366 x 768
(tests/screenshots/epochs_*.png: look at them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from qtpy.QtCore import Qt

from conftest import save_viewer_screenshot, save_widget_grab
from napari_neurorbm._qt.epoch_layers import ROLE
from napari_neurorbm._qt.load_widget import LoadWidget
from napari_neurorbm._qt.model_runs import model_raster
from napari_neurorbm._qt.qc_plots import QCPanel
from napari_neurorbm._qt.raster_layers import add_raster_layers, layers_of
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.analysis.peri_event import peri_event, stationary
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.nwb import load_nwb
from napari_neurorbm.data.raster import frame_spacing
from napari_neurorbm.data.synthetic import synthetic_session
from nwb_factory import IMAGES, allen_intervals, write_nwb
from test_gui_layout import assert_in_view

pytestmark = pytest.mark.gui
SCREENS = [(1920, 1080), (1366, 768)]
DURATION = 120.0  # block 0: 0-48 s, spontaneous 48-60 s, flashes 60-72 s, block 3: 72-120 s


@pytest.fixture(scope="module")
def epochs_nwb(tmp_path_factory) -> Path:
    """The synthetic session (4 areas x 30 units) as NWB with Allen's interval tables, spanning 0-120 s."""
    session = synthetic_session(n_areas=4, units_per_area=30, duration_s=DURATION, seed=3)
    trains = [session.spikes_of(u) for u in range(session.n_units)]
    trains[0] = np.r_[0.0, trains[0], DURATION]
    path = tmp_path_factory.mktemp("nwb") / "ecephys_session_3.nwb"
    return write_nwb(path, trains, list(session.areas), intervals=allen_intervals(DURATION))


def band(viewer) -> dict:
    return {layer.metadata["neurorbm"]["kind"]: layer for layer in layers_of(viewer, role=ROLE)}


def test_the_band_lines_up_with_the_raster_and_names_what_is_under_the_cursor(make_napari_viewer, epochs_nwb,
                                                                             screenshot_dir) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1366, 768)
    session = load_nwb(epochs_nwb)
    raster = binarize(session, BinningParams(bin_ms=20, keep_every=2, epoch=f"{IMAGES}_presentations"))
    add_raster_layers(viewer, raster, session=session)
    binary = layers_of(viewer, role="data", kind="binary")[0]
    layers = band(viewer)
    assert set(layers) == {"epochs", "events", "names"} and viewer.layers.selection.active is binary
    assert_in_view(viewer, [binary, *layers.values()])
    raster_bottom = binary.extent.world[1, 0]
    assert all(layer.extent.world[0, 0] > raster_bottom for layer in layers.values())  # under the raster
    # every tick sits in the raster column (pixel) of the frame holding its time
    dx = frame_spacing(raster)
    ticks = layers["events"]
    for x, t in zip(ticks.data[:, 1], ticks.features["time_s"], strict=True):
        pixel = int(np.floor(binary.world_to_data((0.0, x))[1] + 0.5))
        assert raster.frame_times[pixel] - 1e-9 <= t < raster.frame_times[pixel] + dx + 1e-9  # (float edges)
    drawn = session.epochs.events[session.epochs.events["kind"] != "trial start"]  # the trials' left edges
    times = drawn["time_s"].to_numpy()
    assert len(ticks.data) == np.count_nonzero((times < 47.75) | (times >= 72.0))  # the rest: in the gap
    # the blocks: 0 and 3 only, each over its segment's columns
    rects = layers["epochs"]
    names = rects.features["name"].tolist()
    blocks = [i for i, n in enumerate(names) if n.startswith("block ")]
    assert [names[i].split(":")[0] for i in blocks] == ["block 0", "block 3"]
    x0, seg = binary.translate[1], raster.segment_starts
    for i, (first, end) in zip(blocks, [(seg[0], seg[1]), (seg[1], raster.n_frames)], strict=True):
        left, right = rects.data[i][:, 1].min(), rects.data[i][:, 1].max()
        assert left == pytest.approx(x0 + (first - 0.5) * binary.scale[1])
        assert right == pytest.approx(x0 + (end - 0.5) * binary.scale[1], abs=binary.scale[1])
    # names on hover: the block under the cursor, the event's kind and image
    (top, left), (bottom, right) = rects.data[blocks[1]][[0, 2]]
    centre = ((top + bottom) / 2, (left + right) / 2)
    assert "block 3: Natural_Images" in rects.get_status(centre, world=True)["coordinates"]
    assert rects._get_tooltip_text(np.asarray(centre), world=True).startswith("block 3: Natural_Images")
    change = int(np.flatnonzero(ticks.features["kind"] == "change")[0])
    status = ticks.get_status(tuple(ticks.data[change]), world=True)["coordinates"]
    assert "kind: change" in status and "label: im" in status
    # the lanes are named left of the band, where the area names are
    lanes = ["blocks", "trials", "change", "omitted", "change_time", "reward_time"]
    assert layers["names"].features["area"].tolist() == lanes
    save_viewer_screenshot(viewer, screenshot_dir, "epochs_1366x768_band_of_two_segments")


def test_a_raster_file_opened_in_napari_shows_its_band(make_napari_viewer, epochs_nwb, tmp_path) -> None:
    session = load_nwb(epochs_nwb)
    path = binarize(session, BinningParams(bin_ms=20, epoch="block 0")).save(tmp_path / "r.npz")
    viewer = make_napari_viewer()
    viewer.open(str(path), plugin="napari-neurorbm")
    layers = band(viewer)
    assert set(layers) == {"epochs", "events", "names"}
    assert layers["epochs"].features["name"].iloc[0].startswith("block 0: Natural_Images")
    assert viewer.layers.selection.active is layers_of(viewer, role="data", kind="binary")[0]


def test_a_raster_without_epochs_has_no_band_and_a_new_raster_replaces_it(make_napari_viewer,
                                                                          epochs_nwb) -> None:
    viewer = make_napari_viewer()
    session = load_nwb(epochs_nwb)
    add_raster_layers(viewer, binarize(session, BinningParams(bin_ms=50)), session=session)
    first = band(viewer)["events"]
    add_raster_layers(viewer, binarize(session, BinningParams(bin_ms=20)), session=session)
    assert len(band(viewer)) == 3 and band(viewer)["events"] is not first
    plain = binarize(session, BinningParams(bin_ms=20))
    plain.epochs = None
    add_raster_layers(viewer, plain)
    assert not band(viewer)


@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_load_dock_epoch_field_chooses_the_window(make_napari_viewer, qtbot, epochs_nwb, size,
                                                      screenshot_dir) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(*size)
    widget = LoadWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Load & binarize", area="right")
    widget.set_source(epochs_nwb)
    widget.form.epoch.value = "nope"
    with qtbot.waitSignal(widget.failed, timeout=60_000) as failed:
        qtbot.mouseClick(widget.load_button, Qt.MouseButton.LeftButton)
    assert failed.args[0].startswith("no epoch 'nope' (the session has: ") and "block 3" in failed.args[0]
    completer = widget.form.epoch.native.completer()  # the session was read: its names complete
    assert completer.model().stringList()[-1] == "block 3"
    widget.form.epoch.value = "block 3"
    with qtbot.waitSignal(widget.loaded, timeout=60_000) as loaded:
        qtbot.mouseClick(widget.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    raster = loaded.args[0]
    assert raster.n_frames == 2375 and raster.segment_starts.tolist() == [0]  # 72 to 119.5 s, 20 ms
    assert raster.frame_times[0] == pytest.approx(72.0)
    assert_in_view(viewer, [*layers_of(viewer, role="data"), *band(viewer).values()])
    panel = next(w for w in viewer.window.dock_widgets.values() if isinstance(w, QCPanel))
    qtbot.waitUntil(lambda: panel.events.combo.count() > 0, timeout=30_000)
    assert panel.events.kind == "change" and panel.events.row.isVisible()
    assert "change (7 events)" in panel.events.combo.currentText()
    get_state(viewer).generated = model_raster(raster.binary.T[::-1], np.array([0]), raster, "generated")
    qtbot.wait(200)
    tag = f"epochs_{size[0]}x{size[1]}"
    save_viewer_screenshot(viewer, screenshot_dir, f"{tag}_load")
    save_widget_grab(panel, screenshot_dir, f"{tag}_qc")


def test_the_qc_plot_shows_activity_around_events_real_beside_generated(make_napari_viewer, qtbot, epochs_nwb,
                                                                       screenshot_dir) -> None:
    viewer = make_napari_viewer()
    panel = QCPanel(viewer)
    qtbot.addWidget(panel)
    panel.resize(1500, 700)
    panel.show()
    state = get_state(viewer)
    session = load_nwb(epochs_nwb)
    state.session = session
    raster = binarize(session, BinningParams(bin_ms=20))
    with qtbot.waitSignal(panel.updated, timeout=30_000):
        state.raster = raster
    kinds = [panel.events.combo.itemData(i) for i in range(panel.events.combo.count())]
    assert kinds == session.epochs.kinds()
    panel.events.combo.setCurrentIndex(kinds.index("omitted"))
    want = peri_event(raster, session.epochs.event_times("omitted"), "omitted")
    (mean,) = panel.events.plot.listDataItems()[-1:]
    np.testing.assert_allclose(mean.getData()[1], want.mean)
    generated = model_raster(raster.binary.T[::-1], np.array([0]), raster, "generated")
    state.generated = generated
    lines = [item for item in panel.events.plot.listDataItems() if item.name()]
    assert [line.name().split(" ")[0] for line in lines] == ["generated", "recording,"]
    np.testing.assert_allclose(lines[0].getData()[1], stationary(generated)[0])
    qtbot.wait(100)
    save_widget_grab(panel, screenshot_dir, "epochs_qc_panel")
