"""The "Model selection" dock in a real viewer: open a sweep folder (four tiny runs trained one after
another), the curves, stars, sizes and table are there; picking a run (row, curve, star) makes it the
viewer's model, loading its raster when the viewer has none with its units; bad input as one-line
notifications; a sweep watched while it fills; screenshots at 1920 x 1080 and 1366 x 768
(tests/screenshots/model_selection_*)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from qtpy.QtCore import Qt

from conftest import save_viewer_screenshot, save_widget_grab
from napari_neurorbm._qt import sweep_widget
from napari_neurorbm._qt.raster_layers import KEY, add_raster_layers, layers_of
from napari_neurorbm._qt.state import get_state
from napari_neurorbm._qt.sweep_widget import ModelSelectionWidget
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.synthetic import make_synthetic
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.io import ModelFile
from napari_neurorbm.rbm.training import TrainConfig
from sweep_factory import trained_sweep, write_runs
from synthetic_model import one_torch_thread  # noqa: F401 (a fixture)
from test_sweep_selection import FIG2

pytestmark = pytest.mark.gui
SMALL = TrainConfig(k=5, batch=500, chains=500, updates=200, eval_every=20, checkpoints=12, optimizer="adam",
                    lr=0.02, device="cpu")
SCREENS = [(1920, 1080), (1366, 768)]
WAIT = 30_000


@pytest.fixture(scope="module")
def recording():
    """3 areas x 10 units, 5 min binned at 100 ms."""
    session, _ = make_synthetic(n_areas=3, units_per_area=10, duration_s=300.0, bin_s=0.1, seed=1)
    return session, binarize(session, BinningParams(bin_ms=100.0))


@pytest.fixture(scope="module")
def sweep(recording, tmp_path_factory, one_torch_thread):  # noqa: F811
    """N_h 2 and 8, seeds 0 and 1: four runs of 200 updates (a few seconds)."""
    tmp = tmp_path_factory.mktemp("sweep")
    return trained_sweep(tmp / "sweep", recording[1], tmp / "rec.npz", (2, 8), (0, 1), SMALL)


def open_dock(make_napari_viewer, qtbot, recording=None, folder=None, show=False):
    viewer = make_napari_viewer(show=show)
    if recording is not None:
        add_raster_layers(viewer, recording[1], session=recording[0])
    widget = ModelSelectionWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Model selection", area="right")
    if folder is not None:
        widget.open_folder(folder)
        qtbot.waitUntil(lambda: widget.selection is not None and widget.worker is None, timeout=WAIT)
    return viewer, widget


def test_open_a_folder_shows_curves_stars_sizes_and_table(make_napari_viewer, qtbot, recording, sweep):
    _, widget = open_dock(make_napari_viewer, qtbot, recording, sweep.path)
    sel = widget.selection
    assert widget.path_edit.text() == str(sweep.path)
    assert len(widget.plots.lines) == 4 and len(widget.plots.star_names) == 4
    assert len(widget.plots.stars.getData()[0]) == 4
    for name, (train, test) in widget.plots.lines.items():
        curve = sel.curves[name]
        assert len(test.getData()[0]) == np.count_nonzero(curve.updates > 0)  # update 0 is off the log axis
        assert train.opts["pen"].style() == Qt.PenStyle.DashLine
        assert test.opts["pen"].style() == Qt.PenStyle.SolidLine
    colors = {h: {widget.plots.lines[n][1].opts["pen"].color().name() for n in sel.runs.index
                  if sel.runs.at[n, "n_hidden"] == h} for h in (2, 8)}
    assert all(len(c) == 1 for c in colors.values()) and colors[2] != colors[8]  # one colour per N_h
    assert "N_h:" in widget.plots.key.text() and colors[8].pop() in widget.plots.key.text()
    assert widget.table.rowCount() == 4
    headers = [widget.table.horizontalHeaderItem(i).text() for i in range(widget.table.columnCount())]
    assert headers == ["status", "N_h", "seed", "best LL", "at", "updates", "wall s"]
    assert [widget.table.item(r, 0).text() for r in range(4)] == ["done"] * 4
    chosen = int(sel.chosen.loc[0, "n_hidden"])
    assert f"Chosen N_h = {chosen}:" in widget.verdict.text() and "4 runs (4 done)" in widget.verdict.text()
    assert not widget.raster_row.isVisible()


def test_picking_a_run_makes_it_the_viewers_model(make_napari_viewer, qtbot, recording, sweep) -> None:
    viewer, widget = open_dock(make_napari_viewer, qtbot, recording, sweep.path)
    state = get_state(viewer)
    raster = state.raster
    widget.table.selectRow(3)  # a row
    name = widget.table.names[3]
    assert isinstance(state.model, ModelFile)
    assert state.model.rbm.n_hidden == widget.selection.runs.at[name, "n_hidden"]
    assert state.raster is raster and widget.plots.selected == name and name in widget.message.text()
    width = widget.plots.lines[name][1].opts["pen"].widthF()
    assert width > widget.plots.lines[widget.table.names[0]][1].opts["pen"].widthF()
    first = widget.table.names[0]
    test_line = widget.plots.lines[first][1]
    test_line.sigClicked.emit(test_line, None)  # a click on a curve
    assert state.model.metadata["config"]["seed"] == widget.selection.runs.at[first, "seed"]
    assert widget.table.selectionModel().selectedRows()[0].row() == 0
    stars = widget.plots.stars.scatter.points()
    widget.plots._on_star(widget.plots.stars, [stars[1]])  # a click on a star
    assert widget.picked == widget.plots.star_names[1]
    assert widget.table.selectionModel().selectedRows()[0].row() == 1
    state.model = ModelFile(state.model.rbm, {})  # another dock's model: no run is marked any more
    assert widget.picked is None and widget.plots.selected is None and not widget.table.selectedItems()


def test_a_run_brings_its_raster_when_the_viewer_has_none_like_it(make_napari_viewer, qtbot, sweep) -> None:
    viewer, widget = open_dock(make_napari_viewer, qtbot, None, sweep.path)
    state = get_state(viewer)
    other, _ = make_synthetic(n_areas=2, units_per_area=10, duration_s=60.0, bin_s=0.1, seed=2)
    add_raster_layers(viewer, binarize(other, BinningParams(bin_ms=100.0)), session=other)
    assert state.raster.n_units == 20
    widget.pick_run(widget.table.names[0])
    assert state.raster.n_units == 30 and state.raster.name == "rec" and state.model.rbm.n_visible == 30
    assert "loaded its raster rec (30 units)" in widget.message.text()
    (layer,) = layers_of(viewer, role="data", kind="binary")  # the run's raster replaced the other one
    assert layer.metadata[KEY]["raster"] is state.raster


def test_bad_input_is_one_line(make_napari_viewer, qtbot, sweep, tmp_path, notifications) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(sweep.path, moved)
    viewer, widget = open_dock(make_napari_viewer, qtbot)
    widget.open_typed()
    assert "type or choose a sweep folder" in str(notifications[-1].message)
    widget.open_folder(tmp_path)
    assert f"{tmp_path}: not a sweep folder (no sweep.json)" == str(notifications[-1].message)
    Path(sweep.plan.rasters[0]).rename(tmp_path / "elsewhere.npz")  # the run's raster is gone
    try:
        widget.open_folder(moved)
        qtbot.waitUntil(lambda: widget.selection is not None and widget.worker is None, timeout=WAIT)
        widget.table.selectRow(0)
    finally:
        (tmp_path / "elsewhere.npz").rename(sweep.plan.rasters[0])
    assert "load that raster (Load & binarize) and pick the run again" in str(notifications[-1].message)
    assert get_state(viewer).model is None and widget.picked is None and not widget.table.selectedItems()
    widget.start.out.setText(str(tmp_path / "new"))
    widget.start.hidden.setText("4, x")
    widget.start_or_stop()
    assert "no raster to sweep" in str(notifications[-1].message)
    widget.start.rasters.setText(sweep.plan.rasters[0])
    widget.start_or_stop()
    assert "the hidden-unit count 'x' is not a whole number" == str(notifications[-1].message)


def test_a_sweep_is_watched_while_it_fills(make_napari_viewer, qtbot, recording, tmp_path, monkeypatch):
    """The dock's start path with a stand-in for the engine's job that writes runs into the folder."""
    raster = tmp_path / "rec.npz"
    recording[1].save(raster)
    steps = [dict(list(FIG2.items())[:k]) for k in (2, 4, 6)]

    def engine(folder, workers, device):
        assert (workers, device) == (2, "cpu")
        for k, lls in enumerate(steps):
            write_runs(folder, lls)
            yield Progress("sweep", k + 1, len(steps), f"{2 * (k + 1)} runs done")

    monkeypatch.setattr(sweep_widget, "sweep_job", engine)
    monkeypatch.setattr("napari_neurorbm.sweep.selection.WATCH_S", 0.0)
    _, widget = open_dock(make_napari_viewer, qtbot, recording)
    widget.new_button.click()
    assert widget.start.isVisibleTo(widget)
    start = widget.start
    start.rasters.setText(str(raster))
    start.hidden.setText("2, 4, 8")
    start.out.setText(str(tmp_path / "live"))
    start.workers.value = 2
    start.form.device.value = "cpu"
    seen = []
    widget.plots.stars.sigPlotChanged.connect(lambda *_: seen.append(len(widget.plots.star_names)))
    start.start_button.click()
    assert start.start_button.text() == "Stop sweep" and not widget.open_button.isEnabled()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=WAIT)
    assert start.start_button.text() == "Start sweep" and widget.open_button.isEnabled()
    assert len(widget.plots.lines) == 6 and widget.table.rowCount() == 6
    assert "Sweep done: 6 runs done, 0 failed." == widget.message.text()
    assert "Chosen N_h = 4" in widget.verdict.text()
    assert seen and min(seen) < 6  # drawn while it filled


def test_a_sweep_started_in_the_dock_runs_on_the_local_cluster(make_napari_viewer, qtbot, recording, tmp_path,
                                                               monkeypatch):
    """The real engine (sweep/driver.py): the viewer's raster saved in the folder, two runs on two workers."""
    pytest.importorskip("napari_neurorbm.sweep.driver", reason="the sweep engine is not in this tree")
    monkeypatch.setattr("napari_neurorbm.sweep.selection.WATCH_S", 0.5)
    viewer, widget = open_dock(make_napari_viewer, qtbot, recording)
    state = get_state(viewer)
    widget.new_button.click()
    start = widget.start
    start.hidden.setText("2, 4")
    start.seeds.setText("0")
    start.out.setText(str(tmp_path / "sweep"))
    start.workers.value = 2
    start.form.fill(updates=100, lr=0.1, device="cpu")
    start.start_button.click()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=180_000)
    assert widget.message.text() == "Sweep done: 2 runs done, 0 failed.", widget.message.text()
    saved = tmp_path / "sweep" / f"{recording[1].name}.npz"
    assert widget.folder.plan.rasters == (str(saved),) and saved.is_file()
    assert len(widget.plots.lines) == 2 and widget.table.rowCount() == 2
    assert [widget.table.item(r, 0).text() for r in range(2)] == ["done", "done"]
    widget.table.selectRow(1)
    assert state.model.rbm.n_hidden == 4 and state.raster is recording[1]  # the viewer's raster: same units


@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_screenshots(make_napari_viewer, qtbot, recording, sweep, size, screenshot_dir) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(*size)
    add_raster_layers(viewer, recording[1], session=recording[0])
    _, widget = viewer.window.add_plugin_dock_widget("napari-neurorbm", "Model selection")
    widget.open_folder(sweep.path)
    qtbot.waitUntil(lambda: widget.selection is not None and widget.worker is None, timeout=WAIT)
    widget.table.selectRow(2)
    qtbot.wait(200)
    window = viewer.window._qt_window
    assert window.frameGeometry().width() <= size[0] and window.frameGeometry().height() <= size[1]
    assert widget.body.minimumSizeHint().width() <= widget._scroll.viewport().width()  # nothing cut sideways
    name = f"model_selection_{size[0]}x{size[1]}"
    save_viewer_screenshot(viewer, screenshot_dir, name)
    save_widget_grab(widget, screenshot_dir, f"{name}_dock")
    widget.new_button.click()
    qtbot.wait(100)
    save_widget_grab(widget, screenshot_dir, f"{name}_dock_new_sweep")
