"""The canvas layout owner in a real viewer: what is in view after every kind of load, labels that never
overlap at any zoom, the colour bar and its quantity, the time scale bar, the active layer."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtGui import QFont, QFontMetricsF

from conftest import save_canvas_screenshot
from napari_neurorbm._qt.coupling_layers import KEY as J_KEY
from napari_neurorbm._qt.couplings_job import QUANTITY
from napari_neurorbm._qt.labels import text_width
from napari_neurorbm._qt.layout import ROLES, get_layout
from napari_neurorbm._qt.raster_layers import add_raster_layers, layers_of, scale_bar
from napari_neurorbm._qt.raster_titles import TITLES
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.analysis.couplings import CouplingsResult
from test_gui_raster_layers import make_raster

pytestmark = pytest.mark.gui
SIZES = [60, 40, 30, 20, 12, 9, 7, 5, 4, 3, 3, 2, 2, 1, 1]  # 15 areas, most of them a few rows
AREAS = [f"AREA{i:02d}" for i in range(len(SIZES))]


def many_areas(n_frames: int = 3000, seed: int = 0):
    return make_raster([a for a, k in zip(AREAS, SIZES, strict=True) for _ in range(k)], n_frames, seed=seed)


def view_rect(viewer) -> np.ndarray:
    """World [[top, left], [bottom, right]] the canvas shows, from the camera and the canvas size."""
    camera = viewer.scene.camera
    half = np.asarray(viewer.canvas.size, dtype=float) / 2 / camera.zoom
    centre = np.asarray(camera.center, dtype=float)[-2:]
    return np.array([centre - half, centre + half])


def assert_in_view(viewer, layers) -> None:
    (top, left), (bottom, right) = view_rect(viewer)
    for layer in layers:
        (t, lft), (b, rgt) = np.asarray(layer.extent.world)[:, -2:]
        assert top <= t and b <= bottom and left <= lft and rgt <= right, f"{layer.name} is cut"


def pixel_width(text: str, size: float) -> float:
    """Width of ``text`` on screen as Qt measures it at that point size."""
    font = QFont()
    font.setPointSizeF(size)
    return QFontMetricsF(font).horizontalAdvance(text)


def title_boxes(viewer) -> list[tuple[float, float, float, float]]:
    """Screen boxes (left, top, right, bottom) of the shown titles, measured by Qt's font metrics."""
    titles = viewer.layers[TITLES]
    zoom, size = viewer.scene.camera.zoom, float(titles.text.size)
    boxes = []
    for (y, x), text in zip(titles.data, titles.features["text"], strict=True):
        if text:
            assert pixel_width(text, size) <= text_width(text, size)  # the layout's estimate is generous
            boxes.append((x * zoom, y * zoom - 1.5 * size, x * zoom + pixel_width(text, size), y * zoom))
    return boxes


def overlapping(boxes) -> bool:
    return any(a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
               for i, a in enumerate(boxes) for b in boxes[i + 1:])


def shown_spacing(layer, axis: int, zoom: float) -> float:
    """Smallest screen distance between two written labels of a Points layer along ``axis``."""
    written = layer.features["label"].to_numpy(str) != ""
    where = np.sort(np.asarray(layer.data)[written, axis] * zoom)
    return float(np.min(np.diff(where))) if len(where) > 1 else np.inf


@pytest.fixture
def viewer(make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1366, 768)
    return viewer


@pytest.mark.parametrize("how", ["dock", "reader", "sample"])
def test_after_a_load_the_whole_raster_and_its_strip_are_in_view(viewer, qtbot, tmp_path, how,
                                                                  screenshot_dir) -> None:
    if how == "dock":  # what the Load dock does with its result
        add_raster_layers(viewer, many_areas())
    elif how == "reader":  # a file dropped on the canvas
        path = many_areas().save(tmp_path / "raster.npz")
        viewer.open(str(path), plugin="napari-neurorbm")
    else:
        viewer.open_sample("napari-neurorbm", "synthetic")
    qtbot.wait(50)
    data = layers_of(viewer, role="data")
    assert len(data) == (6 if how == "sample" else 4)  # the synthetic units have E/I classes: their strip
    assert_in_view(viewer, data)
    strip = layers_of(viewer, kind="areas")[0]
    assert strip.scale[1] * viewer.scene.camera.zoom >= 3  # the strip's colour column is a few pixels wide
    binary = layers_of(viewer, kind="binary")[0]
    assert viewer.layers.selection.active is binary
    assert scale_bar(viewer).visible
    save_canvas_screenshot(viewer, screenshot_dir, f"layout_after_load_{how}")


def test_a_fitted_view_follows_the_canvas_until_the_user_moves_it(viewer, qtbot, screenshot_dir) -> None:
    """One area: its name stays whole on screen when a dock opened after the load narrows the canvas."""
    add_raster_layers(viewer, make_raster(["retina"] * 12, 30_000))
    qtbot.wait(50)
    viewer.window.add_plugin_dock_widget("napari-neurorbm", "Analyses")  # the canvas narrows
    qtbot.wait(100)
    assert_in_view(viewer, layers_of(viewer, role="data"))
    names = layers_of(viewer, kind="names")[0]
    (_, left), _ = view_rect(viewer)
    width = pixel_width("retina", float(names.text.size)) / viewer.scene.camera.zoom
    assert names.data[0][1] - width >= left  # the name ends at its point: its start is on screen too
    save_canvas_screenshot(viewer, screenshot_dir, "layout_one_area_after_a_dock_opened")
    viewer.scene.camera.zoom *= 3  # the user zooms in: the view is theirs now
    zoom, center = viewer.scene.camera.zoom, viewer.scene.camera.center
    viewer.window._qt_window.resize(1200, 700)
    qtbot.wait(100)
    assert viewer.scene.camera.zoom == zoom and viewer.scene.camera.center == center


def test_titles_and_area_names_never_overlap(viewer, qtbot, screenshot_dir) -> None:
    data = many_areas()
    add_raster_layers(viewer, data)
    layout = get_layout(viewer)
    short = [("test", many_areas(150, 1), "held-out test frames of the recording"),
             ("generated", many_areas(150, 2), "generated by the model"),
             ("clamped", many_areas(150, 3), "clamped"), ("control", many_areas(150, 4), "control (free)")]
    layout.show_rasters(short)
    layout.focus(ROLES)
    camera = viewer.scene.camera
    fitted = camera.zoom
    names = layers_of(viewer, role="data", kind="names")[0]
    for factor in (1.0, 0.3, 4.0, 30.0):
        camera.zoom = fitted * factor
        qtbot.wait(10)
        boxes = title_boxes(viewer)
        assert not overlapping(boxes), f"titles overlap at zoom x{factor}"
        assert shown_spacing(names, 0, camera.zoom) >= 1.2 * float(names.text.size)
        assert (names.features["label"] != "").any()
    camera.zoom = fitted
    assert list(viewer.layers[TITLES].features["title"])[1:] == [t for _, _, t in short]
    written = list(names.features["label"][names.features["label"] != ""])
    assert 0 < len(written) < len(SIZES) and written[0] == AREAS[0]  # the biggest areas keep their names
    qtbot.wait(50)
    save_canvas_screenshot(viewer, screenshot_dir, "layout_titles_and_names")


def load_with_couplings(viewer):
    """A recording in the viewer and random symmetric couplings of its units; the layout owner."""
    raster = many_areas()
    add_raster_layers(viewer, raster)
    J = np.random.default_rng(0).normal(0, 0.1, (raster.n_units, raster.n_units))
    get_state(viewer).couplings = CouplingsResult(None, np.zeros(raster.n_units), (J + J.T) / 2, raster.areas,
                                                  raster.unit_ids)
    return get_layout(viewer)


def test_colour_bar_and_scale_bar_follow_what_is_in_view(viewer, qtbot, screenshot_dir) -> None:
    layout = load_with_couplings(viewer)
    image = next(lay for lay in viewer.layers if lay.metadata.get(J_KEY) == "matrix")
    assert QUANTITY in image.name and QUANTITY == "J_ij (nats)"
    layout.fit_all()  # rasters and the matrix
    qtbot.wait(50)
    bar = scale_bar(viewer)
    assert image.colorbar.visible and image.name_overlay.visible
    assert bar.visible and bar.position == "bottom_left"  # under the rasters, not on the matrix
    for kind, axis in (("row names", 0), ("column names", 1)):
        names = next(lay for lay in viewer.layers if lay.metadata.get(J_KEY) == kind)
        assert shown_spacing(names, axis, viewer.scene.camera.zoom) >= 1.2 * float(names.text.size)
    save_canvas_screenshot(viewer, screenshot_dir, "layout_rasters_and_matrix")
    clamp = [("clamped", many_areas(3000, 5), "clamped"), ("control", many_areas(3000, 6), "control")]
    layout.show_rasters(clamp)
    layout.focus(("clamped", "control"))
    assert not image.colorbar.visible and not image.name_overlay.visible  # not over the clamp rasters
    assert bar.visible and bar.position == "bottom_right"
    layout.couplings.zoom_to((0, 60), (0, 60))
    assert image.colorbar.visible and not bar.visible  # no time scale on the J matrix
    image.visible = False
    assert not image.colorbar.visible and not image.name_overlay.visible
    image.visible = True
    assert image.colorbar.visible
    qtbot.wait(50)
    save_canvas_screenshot(viewer, screenshot_dir, "layout_matrix_zoomed")


def test_a_scale_bar_the_user_turned_off_stays_off(viewer, qtbot) -> None:
    layout = load_with_couplings(viewer)
    qtbot.wait(20)
    bar = scale_bar(viewer)
    layout.couplings.zoom_to((0, 60), (0, 60))
    assert not bar.visible  # the layout's own hiding over the J matrix…
    layout.focus(("data",))
    assert bar.visible  # …is undone when a raster is back in view
    bar.visible = False  # the user's choice (View > Scale Bar)
    layout.couplings.zoom_to((0, 60), (0, 60))
    assert not bar.visible
    layout.focus(("data",))
    assert not bar.visible
    layout.show_rasters([("generated", many_areas(150, 2), "generated")])
    layout.fit_all()
    viewer.scene.camera.zoom *= 2
    assert not bar.visible  # new rasters, zoom and pan leave it off
    bar.visible = True
    layout.couplings.zoom_to((0, 60), (0, 60))
    assert not bar.visible
    layout.focus(("data",))
    assert bar.visible  # turned on again by the user: the layout hides it over the matrix and brings it back
