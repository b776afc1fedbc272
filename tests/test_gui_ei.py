"""The E/I strip in a real viewer: beside the area strip, its colours and hover text, its legend, the area
names left of it, everything in view at 1920 x 1080 and 1366 x 768, and model rasters beside the recording
(tests/screenshots/ei_*.png: look at them)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import save_canvas_screenshot, save_viewer_screenshot
from napari_neurorbm._qt.colors import class_colors
from napari_neurorbm._qt.labels import LINE_PX
from napari_neurorbm._qt.layout import get_layout
from napari_neurorbm._qt.raster_layers import add_raster_layers, layers_of, raster_layer_data
from test_gui_layout import assert_in_view, many_areas
from test_gui_raster_layers import hover

pytestmark = pytest.mark.gui
SCREENS = [(1920, 1080), (1366, 768)]


def classed(raster, seed: int = 0):
    """The raster with widths drawn per unit: a fifth narrow (I), one unit without a width."""
    rng = np.random.default_rng(seed)
    widths = np.where(rng.random(raster.n_units) < 0.2, 0.25, 0.7)
    widths[5] = np.nan
    raster.waveform_ms = widths
    raster.classes = np.where(np.isnan(widths), "unknown", np.where(widths < 0.4, "I", "E")).astype("<U7")
    return raster


def x_range(layer) -> tuple[float, float]:
    (_, left), (_, right) = np.asarray(layer.extent.world)[:, -2:]
    return float(left), float(right)


def test_layer_tuples_add_the_strip_and_its_legend_only_with_classes() -> None:
    plain = many_areas(500)
    assert [kind for _, _, kind in raster_layer_data(plain)] == ["image", "image", "points", "labels"]
    raster = classed(many_areas(500))
    tuples = raster_layer_data(raster)
    assert [kind for _, _, kind in tuples] == ["image", "image", "points", "points", "labels", "labels"]
    names, legend, strip, areas = tuples[2], tuples[3][1], tuples[4][1], tuples[5][1]
    assert strip["name"].startswith("E/I") and legend["features"]["label"].str.strip().tolist() == ["E", "I"]
    colours = class_colors()
    for row in (0, 5, int(np.argmax(raster.classes == "I"))):
        assert np.array_equal(strip["colormap"][row + 1], colours[raster.classes[row]])
    assert strip["translate"][1] < areas["translate"][1]  # left of the area strip, one strip width and a gap
    assert strip["scale"] == areas["scale"]
    assert names[0][0, 1] < strip["translate"][1] - strip["scale"][1] / 2  # the names end left of it


@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_strip_sits_beside_the_area_strip_in_view(make_napari_viewer, qtbot, size,
                                                      screenshot_dir) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(*size)
    raster = classed(many_areas())
    add_raster_layers(viewer, raster)
    qtbot.wait(50)
    data = layers_of(viewer, role="data")
    assert len(data) == 6
    assert_in_view(viewer, data)
    strip, areas = layers_of(viewer, kind="classes")[0], layers_of(viewer, kind="areas")[0]
    names = layers_of(viewer, kind="names")[0]
    zoom = viewer.scene.camera.zoom
    assert x_range(strip)[1] < x_range(areas)[0]  # no overlap, a gap between
    assert strip.scale[1] * zoom >= 3  # a few pixels wide
    assert names.data[0, 1] < x_range(strip)[0]  # the area names end left of the E/I strip
    save_canvas_screenshot(viewer, screenshot_dir, f"ei_strip_{size[0]}x{size[1]}")
    legend, camera = layers_of(viewer, kind="legend")[0], viewer.scene.camera
    fitted = camera.zoom
    for factor in (0.02, 0.1, 0.5, 1.0):  # zoomed out, the names near the top give way to the legend
        camera.zoom = fitted * factor
        qtbot.wait(10)
        written = names.data[names.features["label"].to_numpy(str) != "", 0]
        assert np.all(np.abs(written - legend.data[0, 0]) * camera.zoom >= LINE_PX * float(names.text.size))
        assert len(written) >= 1 or factor < 0.5  # far out, the raster is less than a line tall
    row = int(np.argmax(raster.classes == "I"))
    viewer.layers.selection.active = strip  # napari's status bar tells of the active layer
    text = hover(viewer, qtbot, (strip.translate[0] + row * strip.scale[0], strip.translate[1]))
    assert "class: I" in text and "waveform_ms: 0.25" in text and f"row: {row}" in text
    layout = get_layout(viewer)
    shown = [(role, classed(many_areas(600, seed)), f"{role} raster") for seed, role in
             enumerate(("test", "generated"), start=1)]
    layout.show_rasters(shown)
    layout.focus(("data", "test", "generated"))
    qtbot.wait(50)
    assert not any(layer.visible for layer in layers_of(viewer, kind="legend")[1:])  # the recording's only
    strips = [layers_of(viewer, role=role, kind="classes")[0] for role in ("test", "generated")]
    binaries = [layers_of(viewer, role=role, kind="binary")[0] for role in ("data", "test", "generated")]
    for before, strip in zip(binaries[:-1], strips, strict=True):
        assert x_range(before)[1] < x_range(strip)[0]  # each model raster's strips clear the raster before
    save_viewer_screenshot(viewer, screenshot_dir, f"ei_beside_models_{size[0]}x{size[1]}")


@pytest.fixture(scope="module")
def synthetic_model(tmp_path_factory):
    """The synthetic session's raster (its units have classes) and its ground-truth RBM in the raster's rows,
    as a model file whose metadata lists the classes (as a model trained on the raster has them)."""
    from napari_neurorbm.data.binning import binarize
    from napari_neurorbm.data.synthetic import make_synthetic
    from napari_neurorbm.rbm.io import save_model
    from napari_neurorbm.rbm.model import RBM

    session, truth = make_synthetic(n_areas=3, units_per_area=16, duration_s=60.0, seed=2)
    raster = binarize(session)
    rows = np.asarray(raster.unit_ids, dtype=int)
    meta = {"areas": raster.areas, "unit_ids": raster.unit_ids, "bin_s": raster.bin_s,
            "classes": raster.classes}
    path = tmp_path_factory.mktemp("model") / "truth.npz"
    save_model(path, RBM.from_numpy(truth.W[rows], truth.b[rows], truth.c), meta)
    return raster, path


@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_couplings_dock_sums_up_j_by_class(make_napari_viewer, qtbot, synthetic_model, size,
                                                 screenshot_dir) -> None:
    from conftest import save_widget_grab
    from napari_neurorbm._qt.state import get_state
    from napari_neurorbm.analysis.couplings import CouplingsResult
    from napari_neurorbm.analysis.ei_couplings import class_couplings
    from napari_neurorbm.rbm.io import load_model
    from test_gui_screens import show_dock

    raster, path = synthetic_model
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(*size)
    _, widget = viewer.window.add_plugin_dock_widget("napari-neurorbm", "Couplings")
    add_raster_layers(viewer, raster)
    state = get_state(viewer)
    state.model = load_model(path)
    widget.compute()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    plot = widget.class_plot
    widget.plots.setCurrentWidget(plot)
    show_dock(qtbot, widget)
    summary = class_couplings(state.couplings.J, raster.classes).summary()
    labels = [label.text for _, label in plot.legend.items]
    assert len(labels) == 3 and len(plot.plot.listDataItems()) == 3
    for text, (name, row) in zip(labels, summary.items(), strict=True):
        assert text == f"{name} n={row['n']} · mean {row['mean']:+.3g} · {row['positive']:.0%} positive"
    assert "E 39, I 9" in plot.plot.titleLabel.text
    qtbot.wait(200)
    save_viewer_screenshot(viewer, screenshot_dir, f"ei_couplings_{size[0]}x{size[1]}")
    save_widget_grab(widget, screenshot_dir, f"ei_couplings_tab_{size[0]}x{size[1]}")
    result = state.couplings  # of a bare model without a raster: its units have no class, the tab says so
    plot.show_result(CouplingsResult(None, result.H, result.J, None, result.unit_ids), None)
    assert "no E/I class" in plot.plot.titleLabel.text and not plot.plot.listDataItems()


def test_the_load_dock_takes_the_threshold_and_notes_units_without_a_width(make_napari_viewer, qtbot,
                                                                           tmp_path, notifications) -> None:
    from napari_neurorbm._qt.load_widget import LoadWidget
    from napari_neurorbm._qt.state import get_state
    from nwb_factory import write_nwb
    from test_gui_load import click_load

    trains = [np.sort(np.random.default_rng(u).uniform(0, 20, 40)) for u in range(4)]
    path = write_nwb(tmp_path / "rec.nwb", trains, ["VISp"] * 4, unit_ids=[1, 2, 3, 4],
                     metrics={"waveform_duration": [0.3, 0.5, np.nan, 0.7]})
    viewer = make_napari_viewer(show=True)
    widget = LoadWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Load & binarize", area="right")
    widget.set_source(path)
    widget.form.ei_threshold_ms.value = 0.6
    raster = click_load(qtbot, widget)
    assert get_state(viewer).raster is raster
    assert dict(zip(raster.unit_ids.tolist(), raster.classes.tolist(), strict=True)) == {
        1: "I", 2: "I", 3: "unknown", 4: "E"}
    assert "Putative E/I: E 1, I 2, unknown 1." in widget.message.text()
    qtbot.waitUntil(lambda: any("E/I: 1 of 4 units" in str(n.message) for n in notifications), timeout=5000)
    assert len(layers_of(viewer, kind="classes")) == 1
