"""The "Couplings" dock in a real viewer: compute J of the synthetic session's ground-truth RBM, check the
matrix layer, boundaries, names, area heatmap, histograms and norms; pick a pair by clicking, zoom to an
area pair, stop, close the viewer mid-run, export the area table; no model ends as a notification."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from napari.utils._proxies import ReadOnlyWrapper
from napari.utils.events import Event
from napari.utils.interactions import mouse_move_callbacks, mouse_press_callbacks, mouse_release_callbacks
from qtpy.QtCore import Qt

from conftest import save_viewer_screenshot, save_widget_grab
from napari_neurorbm._qt.coupling_layers import COLORMAP_NAME, KEY
from napari_neurorbm._qt.couplings_plots import cell_exponent, cell_text, power_of_ten
from napari_neurorbm._qt.couplings_widget import CouplingsWidget
from napari_neurorbm._qt.raster_layers import add_raster_layers, layers_of
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.analysis.areas import area_coupling_matrix, area_coupling_stats, area_table
from napari_neurorbm.analysis.couplings import (
    CouplingsResult,
    fields_and_couplings,
    higher_order_indicator,
    iter_coupling_norms,
)
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.sources import open_source
from napari_neurorbm.data.synthetic import make_synthetic
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.io import ModelFile, load_model, save_model
from napari_neurorbm.rbm.model import RBM
from napari_neurorbm.rbm.training import TrainConfig, iter_train

pytestmark = pytest.mark.gui
M = 10  # minimum units per area in these tests (the synthetic areas have 16)
STEINMETZ = "steinmetz2019_hench_2017-06-15.npz"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """The synthetic session's raster (3 areas x 16 units) and a model file of its ground-truth RBM, rows
    permuted into the raster's order, with areas, unit ids and three checkpoints (weights scaled up)."""
    session, truth = make_synthetic(n_areas=3, units_per_area=16, duration_s=60.0, seed=2)
    raster = binarize(session)
    rows = np.asarray(raster.unit_ids, dtype=int)  # synthetic unit ids are the session's rows
    W, b, c = truth.W[rows], truth.b[rows], truth.c
    checkpoints = [(u, RBM.from_numpy(f * W, b, c)) for u, f in ((10, 0.2), (100, 0.6), (1000, 1.0))]
    meta = {"areas": raster.areas, "unit_ids": raster.unit_ids, "bin_s": raster.bin_s}
    path = tmp_path_factory.mktemp("model") / "truth.npz"
    save_model(path, RBM.from_numpy(W, b, c), meta, checkpoints)
    return raster, path


@pytest.fixture
def big_model() -> ModelFile:
    """A model large enough (600 x 300) that computing J takes about two seconds in a dozen steps."""
    rng = np.random.default_rng(0)
    return ModelFile(RBM.from_numpy(rng.normal(0, 0.1, (600, 300)), np.zeros(600), np.zeros(300)))


@pytest.fixture
def dock(make_napari_viewer):
    """A shown viewer with the Couplings dock opened from the plugin manifest, as from the Plugins menu."""
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1500, 1000)
    _, widget = viewer.window.add_plugin_dock_widget("napari-neurorbm", "Couplings")
    assert isinstance(widget, CouplingsWidget)
    return viewer, widget


@pytest.fixture
def loaded(dock, synthetic):
    """The dock with the synthetic raster shown and its ground-truth model in the state, m set to 10."""
    viewer, widget = dock
    raster, path = synthetic
    add_raster_layers(viewer, raster)
    state = get_state(viewer)
    state.model = load_model(path)
    widget.form.min_units.value = M
    viewer.reset_view()
    return viewer, widget, state


def click_compute(qtbot, widget: CouplingsWidget) -> None:
    qtbot.mouseClick(widget.compute_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)


def mouse(kind: str, position) -> ReadOnlyWrapper:
    event = Event(type_name=kind, position=tuple(position), button=1, modifiers=[],
                  is_dragging=kind == "mouse_move", view_direction=None, dims_displayed=[0, 1])
    return ReadOnlyWrapper(event, exceptions=("handled",))


def click(viewer, position) -> None:
    """What napari does for a click on the canvas at a world position: press, then release."""
    mouse_press_callbacks(viewer, mouse("mouse_press", position))
    mouse_release_callbacks(viewer, mouse("mouse_release", position))


def click_canvas(qtbot, viewer, position) -> None:
    """A real left click on the canvas pixel that shows a world position (2D, no grid)."""
    from qtpy.QtCore import QPoint

    camera = viewer.scene.camera
    size = np.array(viewer.canvas.size, dtype=float)
    y, x = (np.asarray(position[-2:]) - np.asarray(camera.center[-2:])) * camera.zoom + size / 2
    canvas = viewer.window._qt_viewer.canvas.native
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(round(x), round(y)))


def layer(viewer, kind: str):
    return next(lay for lay in viewer.layers if lay.metadata.get(KEY) == kind)


def test_compute_shows_matrix_areas_histograms_and_norms(loaded, qtbot, screenshot_dir) -> None:
    viewer, widget, state = loaded
    model = state.model
    click_compute(qtbot, widget)
    result = state.couplings
    assert isinstance(result, CouplingsResult) and result.model is model
    _, J = fields_and_couplings(*model.rbm.numpy())
    np.testing.assert_allclose(result.J, J, rtol=1e-12, atol=1e-15)
    assert widget.progress.value() == 1000 and widget.message.text() == "Done."
    # the matrix: rows level with the raster's rows, diverging colours symmetric around zero
    image, binary = layer(viewer, "matrix"), layers_of(viewer, kind="binary")[0]
    np.testing.assert_allclose(image.data, J.astype(np.float32))
    assert image.scale[0] == pytest.approx(binary.scale[0])
    assert image.translate[0] == pytest.approx(binary.translate[0])
    assert image.extent.world[0][1] > max(lay.extent.world[1][1] for lay in layers_of(viewer))
    off = np.abs(J[~np.eye(len(J), dtype=bool)])
    lim = np.percentile(off, 99.5)
    assert image.contrast_limits == pytest.approx([-lim, lim]) and image.colormap.name == COLORMAP_NAME
    assert image.colorbar.visible
    lut = image.colormap.map(np.array([0.0, 0.5, 1.0]))
    assert lut[0, 2] > lut[0, 0] and lut[2, 0] > lut[2, 2] and lut[1, :3].max() < 0.2  # blue, dark, red
    widget.contrast.setCurrentIndex(1)
    assert image.contrast_limits == pytest.approx([-off.max(), off.max()])
    # boundaries: a horizontal and a vertical line at each of the 4 area edges (frame included)
    lines = layer(viewer, "boundaries")
    assert lines.nshapes == 8 and set(lines.shape_type) == {"line"}
    edges_y = sorted({round(float(d[0, 0]), 9) for d in lines.data if d[0, 0] == d[1, 0]})
    starts = [image.translate[0] + image.scale[0] * (s - 0.5) for s in (0, 16, 32, 48)]  # pixel edges
    assert edges_y == pytest.approx(starts)
    for kind in ("row names", "column names"):
        assert list(layer(viewer, kind).features["area"]) == ["VISal", "VISl", "VISp"]
    # the area matrix and its cell values are eq. (15) of the core
    area_names, J_area = area_coupling_matrix(J, result.areas, M)
    k = cell_exponent(J_area)
    np.testing.assert_allclose(widget.plots.image.image, J_area / 10.0**k)
    assert 1 <= np.abs(J_area).max() / 10.0**k < 10 and power_of_ten(k) in widget.plots.matrix.titleLabel.text
    written = [c.textItem.toPlainText() for c in widget.plots.cells]
    assert written == [cell_text(v / 10.0**k) for v in J_area.ravel()]
    ticks = [t for _, t in widget.plots.matrix.getAxis("left")._tickLevels[0]]
    assert ticks == list(area_names)
    # histograms: one per area, skewness and E/I ratio in the legend
    stats = area_coupling_stats(J, result.areas, M).set_index("area")
    labels = [label.text for _, label in widget.plots.hist_legend.items]
    assert len(widget.plots.hist.listDataItems()) == 3
    for area in area_names:
        row = stats.loc[area]
        wanted = (area, f"skew {row['skewness']:+.2f}", f"E/I {row['ei_ratio']:.2f}")
        assert any(t.startswith(area) and all(w in t for w in wanted) for t in labels)
    # norms over training: the core's numbers at the three checkpoints
    expected = drain(iter_coupling_norms(model.checkpoints, device="auto"))
    curves = {item.name(): item.getData() for item in widget.plots.norms.listDataItems()}
    assert set(curves) == {"fields", "pairs", "triplets"}
    for column, (x, y) in curves.items():
        np.testing.assert_allclose(10**x, expected["update"], rtol=1e-9)  # log-log axes
        np.testing.assert_allclose(10**y, expected[column], rtol=1e-9)
    assert expected["pairs"].is_monotonic_increasing  # weights scaled up along "training"
    qtbot.wait(300)
    save_viewer_screenshot(viewer, screenshot_dir, "couplings_synthetic")
    for index, name in enumerate(("area_matrix", "histograms", "norms")):
        widget.plots.setCurrentIndex(index)
        qtbot.wait(100)
        save_widget_grab(widget, screenshot_dir, f"couplings_widget_{name}")


def test_clicking_a_pixel_shows_the_pair_and_selects_both_units(loaded, qtbot, screenshot_dir) -> None:
    viewer, widget, state = loaded
    click_compute(qtbot, widget)
    result, image = state.couplings, layer(viewer, "matrix")
    i, j = 3, 40  # a VISal row and a VISp column (areas in alphabetical order)
    with qtbot.waitSignal(widget.pair_shown):
        click(viewer, image.data_to_world((i + 0.3, j - 0.4)))  # napari centres pixel k on k
    assert widget.pair == (i, j) and state.selected_units == (i, j)
    qtbot.waitUntil(lambda: "computing" not in widget.pair_label.text(), timeout=30_000)
    text = widget.pair_label.text()
    ids, areas = result.unit_ids, result.areas
    assert f"unit {ids[i]} ({areas[i]}, row {i})" in text and f"unit {ids[j]} ({areas[j]}, row {j})" in text
    assert areas[i] == "VISal" and areas[j] == "VISp"
    assert f"J_ij = {result.J[i, j]:+.4g}" in text
    r = higher_order_indicator(*state.model.rbm.numpy(), np.array([[i, j]]), 1000)[0]
    assert f"R_ij = {r:.4g}" in text
    rates = state.raster.rates_hz()
    assert f"{rates[i]:.3g} Hz, {rates[j]:.3g} Hz" in text
    marks = layer(viewer, "pair")
    assert marks.nshapes == 2
    assert any(lay.name == "selected units" for lay in viewer.layers)  # the bands on the raster
    # the diagonal, the space beside the matrix, and a drag pick nothing
    click(viewer, image.data_to_world((5.2, 4.8)))
    click(viewer, image.data_to_world((5.0, len(result.J) + 3.0)))
    mouse_press_callbacks(viewer, mouse("mouse_press", image.data_to_world((1.0, 2.0))))
    mouse_move_callbacks(viewer, mouse("mouse_move", image.data_to_world((2.0, 9.0))))
    mouse_release_callbacks(viewer, mouse("mouse_release", image.data_to_world((2.0, 9.0))))
    assert widget.pair == (i, j) and state.selected_units == (i, j)
    # a real click on the canvas goes the same way
    with qtbot.waitSignal(widget.pair_shown):
        click_canvas(qtbot, viewer, image.data_to_world((20.0, 30.0)))
    assert widget.pair == (20, 30) and state.selected_units == (20, 30)
    # Send to Clamp restores the pair as the selection
    state.select([7])
    qtbot.mouseClick(widget.clamp_button, Qt.MouseButton.LeftButton)
    assert state.selected_units == (20, 30)
    qtbot.wait(200)
    save_viewer_screenshot(viewer, screenshot_dir, "couplings_pair_selected")


def test_zoom_to_an_area_pair_sets_the_camera(loaded, qtbot, screenshot_dir) -> None:
    viewer, widget, _ = loaded
    click_compute(qtbot, widget)
    image = layer(viewer, "matrix")
    widget.zoom_rows.setCurrentIndex(2)  # "all units", then the areas in row order: VISal, VISl, VISp
    widget.zoom_cols.setCurrentIndex(3)
    r0, r1 = widget.zoom_rows.currentData()
    c0, c1 = widget.zoom_cols.currentData()
    assert widget.zoom_rows.currentText().startswith(str(get_state(viewer).couplings.areas[r0]))
    qtbot.mouseClick(widget.zoom_button, Qt.MouseButton.LeftButton)
    camera = viewer.scene.camera
    centre = image.data_to_world(((r0 + r1 - 1) / 2, (c0 + c1 - 1) / 2))  # pixel k spans k ± 0.5
    assert camera.center[-2:] == pytest.approx(tuple(centre))
    height, width = viewer.canvas.size
    step = image.scale[0]
    assert camera.zoom == pytest.approx(0.9 * min(height / (step * (r1 - r0)), width / (step * (c1 - c0))))
    lines = layer(viewer, "boundaries")
    assert np.allclose(lines.edge_width, 1.2 / camera.zoom)  # lines stay thin on screen at any zoom
    qtbot.wait(200)
    save_viewer_screenshot(viewer, screenshot_dir, "couplings_zoom_VISl_VISp")


def test_the_matrix_moves_right_of_a_raster_added_beside_the_recording(loaded, qtbot, synthetic) -> None:
    viewer, widget, state = loaded
    click_compute(qtbot, widget)
    image = layer(viewer, "matrix")
    width = image.extent.world[1][1] - image.extent.world[0][1]
    # another raster placed over the matrix after it is added, as the Generate widget arranges its rasters
    added = add_raster_layers(viewer, synthetic[0], role="generated", label="model")
    for lay in added:
        lay.translate = np.asarray(lay.translate) + np.array([0.0, image.extent.world[0][1]])
    qtbot.waitUntil(lambda: image.extent.world[0][1] > max(lay.extent.world[1][1] for lay in added))
    assert image.extent.world[1][1] - image.extent.world[0][1] == pytest.approx(width)
    lines, names = layer(viewer, "boundaries"), layer(viewer, "row names")
    left_edge = image.translate[1] - image.scale[1] / 2  # napari centres pixel 0 on the translate
    assert min(d[:, 1].min() for d in lines.data) == pytest.approx(left_edge)
    assert names.data[:, 1].max() < left_edge
    np.testing.assert_allclose(image.data, state.couplings.J.astype(np.float32))


def test_smaller_m_and_csv_export(loaded, qtbot, tmp_path) -> None:
    _, widget, state = loaded
    click_compute(qtbot, widget)
    widget.form.min_units.value = 20  # no synthetic area has 20 units
    assert widget.plots.cells == [] and "no area has ≥ 20 units" in widget.plots.matrix.titleLabel.text
    widget.form.min_units.value = M
    assert len(widget.plots.cells) == 9
    written = widget.export_csv(tmp_path / "areas.csv")
    table = pd.read_csv(written, index_col="area")
    expected = area_table(state.couplings.J, state.couplings.areas, M)
    assert list(table.index) == list(expected.index) and list(table.columns) == list(expected.columns)
    np.testing.assert_allclose(table.to_numpy(float), expected.to_numpy(float), rtol=1e-9)


def test_a_bare_model_without_areas_or_raster(dock, qtbot, notifications, tmp_path) -> None:
    viewer, widget = dock
    state = get_state(viewer)
    rng = np.random.default_rng(1)
    state.model = ModelFile(RBM.from_numpy(rng.normal(0, 0.5, (20, 5)), np.zeros(20), np.zeros(5)))
    click_compute(qtbot, widget)
    image = layer(viewer, "matrix")
    assert tuple(image.translate) == (0, 0) and tuple(image.scale) == (1, 1)
    assert layer(viewer, "boundaries").nshapes == 4  # the frame only
    assert not [lay for lay in viewer.layers if lay.metadata.get(KEY) in ("row names", "column names")]
    assert "no brain areas" in widget.plots.matrix.titleLabel.text and widget.zoom_rows.count() == 1
    with qtbot.waitSignal(widget.pair_shown):
        click(viewer, (3.0, 7.0))
    assert widget.pair_label.text().startswith("unit 3 (row 3) ↔ unit 7 (row 7)")
    assert "no raster loaded" in widget.pair_label.text() and state.selected_units == ()
    qtbot.waitUntil(lambda: "computing" not in widget.pair_label.text(), timeout=30_000)
    assert widget.export_csv(tmp_path / "areas.csv") is None and not (tmp_path / "areas.csv").exists()
    assert notifications[-1].message == "the model has no brain areas, so there is no area table"


def test_stop_keeps_nothing_half_done(dock, qtbot, big_model) -> None:
    viewer, widget = dock
    state = get_state(viewer)
    state.model = big_model
    qtbot.mouseClick(widget.compute_button, Qt.MouseButton.LeftButton)
    assert not widget.compute_button.isEnabled() and widget.stop_button.isEnabled()
    qtbot.waitUntil(lambda: widget.progress.value() > 0, timeout=30_000)
    qtbot.mouseClick(widget.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=30_000)
    assert widget.message.text() == "Stopped." and state.couplings is None
    assert widget.progress.value() == 0  # the job runner's outcome 'stopped' resets the bar
    assert not [lay for lay in viewer.layers if KEY in lay.metadata]
    assert widget.compute_button.isEnabled() and not widget.stop_button.isEnabled()


def test_closing_the_viewer_stops_the_worker(make_napari_viewer, qtbot, big_model) -> None:
    viewer = make_napari_viewer(show=True)
    widget = CouplingsWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Couplings", area="right")
    get_state(viewer).model = big_model
    widget.compute()
    worker = widget.worker
    done = []
    worker.finished.connect(lambda: done.append(True))
    qtbot.waitUntil(lambda: widget.progress.value() > 0, timeout=30_000)
    viewer.close()
    qtbot.waitUntil(lambda: bool(done), timeout=30_000)
    assert worker.abort_requested


def test_a_closed_dock_lets_go_of_the_viewer(loaded, qtbot) -> None:
    viewer, widget, state = loaded
    click_compute(qtbot, widget)
    image = layer(viewer, "matrix")
    viewer.window.remove_dock_widget(widget)
    with qtbot.waitSignal(widget.destroyed, timeout=5_000):
        widget.deleteLater()
    assert widget_callbacks(viewer) == []
    click(viewer, image.data_to_world((2.0, 30.0)))  # no dead widget is called
    viewer.scene.camera.zoom *= 2
    state.model = None
    assert state.selected_units == ()


def widget_callbacks(viewer) -> list:
    return [cb for cb in viewer.mouse_drag_callbacks if "CouplingsWidget" in getattr(cb, "__qualname__", "")]


def test_no_model_or_a_model_of_other_units_is_a_notification(dock, qtbot, synthetic, big_model,
                                                              notifications, tmp_path) -> None:
    viewer, widget = dock
    qtbot.mouseClick(widget.compute_button, Qt.MouseButton.LeftButton)
    add_raster_layers(viewer, synthetic[0])
    get_state(viewer).model = big_model
    qtbot.mouseClick(widget.compute_button, Qt.MouseButton.LeftButton)
    model = load_model(synthetic[1])
    model.metadata["unit_ids"] = model.metadata["unit_ids"][::-1]  # same units, another order
    get_state(viewer).model = model
    qtbot.mouseClick(widget.compute_button, Qt.MouseButton.LeftButton)
    errors = [n.message for n in notifications if n.severity == "error"]
    assert len(errors) == 3 and all("\n" not in e and "Traceback" not in e for e in errors)
    assert errors[0].startswith("no model to analyse")
    assert "600 visible units but the loaded raster has 48" in errors[1]
    assert errors[2] == "the model was trained on other units (or in another order) than the raster"
    assert widget.worker is None and widget.compute_button.isEnabled()
    assert not [lay for lay in viewer.layers if KEY in lay.metadata]
    assert widget.export_csv(tmp_path / "areas.csv") is None  # nothing computed yet


@pytest.mark.real
def test_a_model_of_a_real_recording(dock, qtbot, real_data, tmp_path, screenshot_dir) -> None:
    """A short training on a Neuropixels session (1124 active units, 15 areas): the matrix, its area
    boundaries and names, and J_AB over the areas with >= 30 units (longer training would show more)."""
    viewer, widget = dock
    raster = binarize(open_source(real_data / STEINMETZ), BinningParams(bin_ms=None))  # rows by area
    config = TrainConfig(n_hidden=16, k=2, batch=200, chains=200, lr=0.05, updates=40, eval_every=0,
                         checkpoints=3, ptt_sweeps=0, device="cpu", optimizer="adam")
    path = drain(iter_train(raster, config)).save(tmp_path / "hench.npz")
    add_raster_layers(viewer, raster)
    state = get_state(viewer)
    state.model = load_model(path)
    viewer.reset_view()
    click_compute(qtbot, widget)
    result = state.couplings
    assert result.J.shape == (raster.n_units,) * 2 and raster.n_units > 1000
    assert np.array_equal(result.areas, raster.areas)
    runs = raster.area_blocks()
    assert len(runs) == 15 and layer(viewer, "boundaries").nshapes == 2 * (len(runs) + 1)
    names, J_area = area_coupling_matrix(result.J, raster.areas, 30)
    big = [a for a, s, e in runs if e - s >= 30]
    assert list(names) == big and len(widget.plots.cells) == len(big) ** 2
    k = cell_exponent(J_area)
    np.testing.assert_allclose(widget.plots.image.image, J_area / 10.0**k)
    written = [c.textItem.toPlainText() for c in widget.plots.cells]
    assert written == [cell_text(v / 10.0**k, compact=True) for v in J_area.ravel()]
    assert len(widget.plots.hist.listDataItems()) == len(big)
    assert len(widget.plots.norms.listDataItems()) == 3
    qtbot.wait(300)
    save_viewer_screenshot(viewer, screenshot_dir, "couplings_steinmetz")
    for index, name in enumerate(("area_matrix", "histograms")):
        widget.plots.setCurrentIndex(index)
        qtbot.wait(100)
        save_widget_grab(widget.plots, screenshot_dir, f"couplings_steinmetz_{name}")
