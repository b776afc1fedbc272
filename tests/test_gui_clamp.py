"""The "Clamp" dock in a real viewer: pick units by clicking raster rows (shift: range, ctrl: toggle), by
area and by typed ids; run clamped and control chains of the ground-truth model of a synthetic recording;
check the clamped raster, the Δ plots, the export files; Stop and bad input."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from qtpy.QtCore import QPoint, Qt

from conftest import save_viewer_screenshot, save_widget_grab
from napari_neurorbm._qt.clamp_units import parse_units
from napari_neurorbm._qt.clamp_widget import ClampWidget
from napari_neurorbm._qt.raster_layers import add_raster_layers, layers_of
from napari_neurorbm._qt.selection import NAME as SELECTION
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.io import load_model
from synthetic_model import one_torch_thread, recording_and_model  # noqa: F401 (a fixture)

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """The synthetic recording (3 areas x 16 units, 100 ms bins) and its ground-truth RBM's file."""
    return recording_and_model(tmp_path_factory.mktemp("model"))


@pytest.fixture
def dock(make_napari_viewer, qtbot, recording):
    """A shown viewer holding the recording's layers and the model, with the Clamp dock."""
    session, raster, path = recording
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1500, 1000)
    add_raster_layers(viewer, raster, session=session)
    get_state(viewer).model = load_model(path)
    widget = ClampWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Clamp", area="right")
    qtbot.wait(50)  # let the dock take its room before fitting the raster into the canvas
    viewer.reset_view()
    return viewer, widget


def click(viewer, widget, world_yx, modifiers=()):
    """Run the dock's mouse callback as napari does for a press and release at a world position."""
    (callback,) = [c for c in viewer.mouse_drag_callbacks if getattr(c, "__self__", None) is widget]
    event = SimpleNamespace(type="mouse_press", position=world_yx, modifiers=modifiers, button=1)
    drag = callback(viewer, event)
    try:
        next(drag)
    except StopIteration:  # the callback declined the press, as napari allows
        return
    event.type = "mouse_release"
    with pytest.raises(StopIteration):
        next(drag)


def row_centre(viewer, row: int, role: str = "data", x_fraction: float = 0.5) -> tuple[float, float]:
    """World (y, x) of the middle of a row of the ``role`` raster."""
    layer = layers_of(viewer, role=role, kind="binary")[0]
    (y0, x0), (dy, dx) = layer.translate, layer.scale
    n_frames = layer.level_shapes[0][1] if layer.multiscale else layer.data.shape[1]
    return y0 + row * dy, x0 + x_fraction * n_frames * dx


def run_clamp(qtbot, widget: ClampWidget, timeout: int = 60_000):
    with qtbot.waitSignal(widget.shown, timeout=timeout) as blocker:
        qtbot.mouseClick(widget.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=timeout)
    return blocker.args[0]


def test_units_are_picked_by_clicks_area_and_typed_ids(dock, qtbot, recording, notifications, screenshot_dir):
    viewer, widget = dock
    _, raster, _ = recording
    state = get_state(viewer)
    click(viewer, widget, row_centre(viewer, 5))
    assert state.selected_units == (5,)
    click(viewer, widget, row_centre(viewer, 9), modifiers=("Shift",))
    assert state.selected_units == (5, 6, 7, 8, 9)
    click(viewer, widget, row_centre(viewer, 30), modifiers=("Control",))
    click(viewer, widget, row_centre(viewer, 7), modifiers=("Control",))
    assert state.selected_units == (5, 6, 8, 9, 30)
    strip = layers_of(viewer, role="data", kind="areas")[0]
    click(viewer, widget, (row_centre(viewer, 12)[0], strip.translate[1] + 0.5 * strip.scale[1]))
    assert state.selected_units == (12,)  # the area strip is part of the raster
    click(viewer, widget, (row_centre(viewer, 12)[0], -1e6))  # off every raster: nothing changes
    assert state.selected_units == (12,)
    text = widget.selection_label.text()
    assert "1 unit:" in text and str(raster.unit_ids[12]) in text

    # a real click on the canvas reaches the same callback
    canvas = viewer.window._qt_viewer.canvas
    native = canvas.native
    h, w = canvas.size
    y, x = row_centre(viewer, 40)
    cy, cx = np.asarray(viewer.scene.camera.center)[-2:]
    z = viewer.scene.camera.zoom
    point = QPoint(round(w / 2 + (x - cx) * z), round(h / 2 + (y - cy) * z))
    qtbot.mouseClick(native, Qt.MouseButton.LeftButton, pos=point)
    qtbot.waitUntil(lambda: state.selected_units == (40,), timeout=5000)

    widget.area_combo.setCurrentText("VISl")
    qtbot.mouseClick(widget.area_button, Qt.MouseButton.LeftButton)
    rows = np.flatnonzero(raster.areas == "VISl")
    assert state.selected_units == tuple(rows) and len(rows) == 16
    assert "16 units: VISl 16" in widget.selection_label.text()
    save_viewer_screenshot(viewer, screenshot_dir, "clamp_area_selected")
    assert len(viewer.layers[SELECTION].data) == 1  # one band over the area's rows

    ids = raster.unit_ids
    widget.ids_edit.setText(f"{ids[3]}, {ids[20]} {ids[21]}")
    qtbot.keyClick(widget.ids_edit, Qt.Key.Key_Return)
    assert state.selected_units == (3, 20, 21)
    widget.id_kind.setCurrentText("rows")
    widget.ids_edit.setText("0-2; 47")
    qtbot.mouseClick(widget.ids_button, Qt.MouseButton.LeftButton)
    assert state.selected_units == (0, 1, 2, 47)
    widget.ids_edit.setText("3, banana")
    qtbot.mouseClick(widget.ids_button, Qt.MouseButton.LeftButton)
    assert state.selected_units == (0, 1, 2, 47)  # unchanged
    assert any("'banana' is not a row number" in str(n.message) for n in notifications)

    state.select([10, 11])  # units chosen in another dock are the ones clamped here
    assert "2 units" in widget.selection_label.text()

    viewer.window.remove_dock_widget(widget)  # a closed dock picks nothing
    click(viewer, widget, row_centre(viewer, 5))
    assert state.selected_units == (10, 11)


def test_parse_units_takes_ids_ranges_and_rows(recording):
    _, raster, _ = recording
    ids = raster.unit_ids
    assert parse_units(f"{ids[4]},{ids[2]}", raster) == [2, 4]
    lo, hi = sorted((int(ids[0]), int(ids[1])))
    assert set(parse_units(f"{lo}-{hi}", raster)) >= {0, 1}
    assert parse_units("5 - 7", raster, "rows") == [5, 6, 7]
    bad = (("", "rows", "type rows"), ("48", "rows", "outside"), ("999", "unit ids", "999"),
           ("900-950", "unit ids", "no unit id"))
    for text, kind, message in bad:
        with pytest.raises(NeuroRBMError, match=message):
            parse_units(text, raster, kind)


def test_clamp_run_shows_rasters_changes_and_exports(dock, qtbot, recording, tmp_path, screenshot_dir,
                                                     atomic_writes):
    viewer, widget = dock
    _, raster, _ = recording
    state = get_state(viewer)
    area_rows = np.flatnonzero(raster.areas == raster.areas[0])
    clamped_rows = area_rows[:6]
    state.select(clamped_rows)
    widget.form.onset.value = 20
    widget.form.frames.value = 1200
    widget.form.chains.value = 6
    result = run_clamp(qtbot, widget)
    assert widget.result is result and widget.export_button.isEnabled()

    # the clamped raster: clamped rows are 1 from the onset on in every chain, the control run is free
    (clamped,) = layers_of(viewer, role="clamped", kind="binary")
    (control,) = layers_of(viewer, role="control", kind="binary")
    frames = np.asarray(clamped.data[0] if clamped.multiscale else clamped.data)
    free_run = np.asarray(control.data[0] if control.multiscale else control.data)
    assert frames.shape == (raster.n_units, 1200)
    for start in range(0, 1200, 200):
        assert frames[clamped_rows, start + 20 : start + 200].all()
        assert np.array_equal(frames[:, start : start + 20], free_run[:, start : start + 20])  # before onset
    assert not free_run[clamped_rows].all()
    data = layers_of(viewer, role="data", kind="binary")[0]
    assert clamped.translate[0] == control.translate[0] == data.translate[0]
    assert clamped.translate[1] < control.translate[1]
    assert len(layers_of(viewer, role="clamped", kind="onsets")[0].data) == 6  # an onset line per chain
    assert list(clamped.contrast_limits) == [0, 1]

    # the changes: the clamped area's other units fire more, beyond the chain-to-chain noise
    assert result.is_clamped[clamped_rows].all() and result.is_clamped.sum() == 6
    first = list(result.area_names).index(raster.areas[0])
    assert result.area_beyond[first] and result.area_delta[first] > 0
    free_up = result.beyond & ~result.is_clamped & (result.delta > 0)
    assert free_up[area_rows].any()
    names = [item.name() for item in widget.plots.units.listDataItems() if item.name()]
    assert "clamped, drawn at 0 (6)" in names and any(n.startswith("up, beyond") for n in names)
    assert widget.plots.isVisible() and "± SE over chains" in widget.plots.key.text()
    bars = [i for i in widget.plots.areas.items if type(i).__name__ == "BarGraphItem"]
    assert len(bars) == 1 and bars[0].opts["width"][first] > 0
    assert widget.message.text().startswith("Clamped 6 units at 1 from frame 20 of 6 chains")

    qtbot.wait(100)
    save_viewer_screenshot(viewer, screenshot_dir, "clamp_run")
    save_widget_grab(widget.plots, screenshot_dir, "clamp_delta_plots")

    paths = widget.export(tmp_path / "export")
    names = {p.name for p in paths}
    assert {"clamped.npz", "control.npz", "clamp_units.csv", "clamp_areas.csv", "clamp_experiment.npz",
            "clamp_params.json", "clamp_figure.png", "clamp_plots.png"} <= names
    assert set(paths) <= set(atomic_writes)  # each file whole or not at all
    back = read_raster(tmp_path / "export" / "clamped.npz")
    assert np.array_equal(back.counts, frames) and np.array_equal(back.unit_ids, raster.unit_ids)
    units = pd.read_csv(tmp_path / "export" / "clamp_units.csv")
    assert len(units) == raster.n_units and units["clamped"].sum() == 6
    assert np.allclose(units["delta"], result.delta)
    params = json.loads((tmp_path / "export" / "clamp_params.json").read_text())
    assert params["clamp_units"] == clamped_rows.tolist() and params["clamp_onset"] == 20
    assert params["value"] == "1" and params["clamp_unit_ids"] == raster.unit_ids[clamped_rows].tolist()
    from qtpy.QtGui import QImage

    for png in ("clamp_figure.png", "clamp_plots.png"):
        assert not QImage(str(tmp_path / "export" / png)).isNull()

    state.raster = dataclasses.replace(raster)  # another recording: the experiment goes with the old rows
    assert not layers_of(viewer, role="clamped") and not layers_of(viewer, role="control")
    assert widget.result is None and not widget.export_button.isEnabled()


def test_pattern_clamp_holds_the_recorded_frame(dock, qtbot, recording):
    viewer, widget = dock
    _, raster, _ = recording
    rows = np.arange(16, 32)
    get_state(viewer).select(rows)
    frame = int(np.argmax(raster.binary[rows].sum(axis=0)))  # a frame where several of them fire
    widget.value.setCurrentText("pattern of a recorded frame")
    assert widget.pattern_frame.isEnabled()
    widget.pattern_frame.setValue(frame)
    widget.form.onset.value = 0
    widget.form.frames.value = 200
    widget.form.chains.value = 2
    run_clamp(qtbot, widget)
    (clamped,) = layers_of(viewer, role="clamped", kind="binary")
    frames = np.asarray(clamped.data[0] if clamped.multiscale else clamped.data)
    expected = np.repeat(raster.binary[rows, frame][:, None], 200, axis=1)
    assert np.array_equal(frames[rows], expected) and 0 < expected[:, 0].sum() < 16


def test_bad_input_and_stop(dock, qtbot, notifications, tmp_path):
    viewer, widget = dock
    with qtbot.waitSignal(widget.failed, timeout=10_000) as blocker:
        widget.run()  # nothing selected
    assert "choose the units" in blocker.args[0]
    qtbot.waitUntil(lambda: widget.worker is None)
    get_state(viewer).select([1, 2])
    widget.form.frames.value = 100
    widget.form.chains.value = 4
    widget.form.onset.value = 30  # chains of 25 frames
    with qtbot.waitSignal(widget.failed, timeout=10_000) as blocker:
        widget.run()
    assert "onset" in blocker.args[0] and "\n" not in blocker.args[0]
    qtbot.waitUntil(lambda: widget.worker is None)
    assert any("onset" in str(n.message) for n in notifications)
    assert widget.export(tmp_path) == [] and not widget.export_button.isEnabled()
    assert not list(tmp_path.iterdir())

    widget.form.frames.value = 40_000  # progress every 200 frames per chain, far from the end
    widget.form.chains.value = 2
    widget.form.onset.value = 0
    qtbot.mouseClick(widget.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.progress.value() > 0, timeout=30_000)
    qtbot.mouseClick(widget.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=30_000)
    assert "Stopped" in widget.message.text() and not layers_of(viewer, role="clamped")
