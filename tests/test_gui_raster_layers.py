"""Raster layers in a real napari viewer: geometry, contrast, the area strip and its status text,
the selection highlight, the per-viewer state, and a lone spike in an hour-long raster on screen."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from pytestqt.exceptions import TimeoutError as WaitTimeout

from conftest import save_canvas_screenshot, save_viewer_screenshot
from napari_neurorbm._qt.colors import UNASSIGNED_COLOR, area_colors
from napari_neurorbm._qt.raster_layers import (
    KEY,
    add_raster_layers,
    count_ceiling,
    layers_of,
    raster_layer_data,
    row_at,
    scale_bar,
)
from napari_neurorbm._qt.selection import NAME as SELECTION
from napari_neurorbm._qt.state import ViewerState, get_state
from napari_neurorbm.data.raster import Raster, split_frames

pytestmark = pytest.mark.gui


def make_raster(
    areas: list[str], n_frames: int, *, bin_s=0.02, keep_every: int = 1, p: float = 0.05, seed: int = 0
) -> Raster:
    """A raster by hand: random counts, rows ordered as given, frames keep_every bins apart."""
    rng = np.random.default_rng(seed)
    n = len(areas)
    counts = ((rng.random((n, n_frames)) < p) * rng.integers(1, 4, (n, n_frames))).astype(np.uint8)
    train, test = split_frames(n_frames, 0.3, 0)
    return Raster(
        counts=counts,
        bin_s=bin_s,
        areas=np.asarray(areas),
        unit_ids=np.arange(100, 100 + n),
        segment_starts=np.zeros(1, np.int64),
        frame_times=12.0 + np.arange(n_frames) * bin_s * keep_every,
        train_frames=train,
        test_frames=test,
        name="handmade",
    )


def canvas_point(viewer, world_yx) -> tuple[int, int]:
    """Canvas pixel (x, y) of a world (row, time) position in a 2D view."""
    canvas = viewer.window._qt_viewer.canvas
    h, w = canvas.size
    cy, cx = np.asarray(viewer.camera.center)[-2:]
    z = viewer.camera.zoom
    return round(w / 2 + (world_yx[1] - cx) * z), round(h / 2 + (world_yx[0] - cy) * z)


def hover(viewer, qtbot, world_yx) -> str:
    """Move the real mouse over a world position and return the status-bar text napari computes for it."""
    from qtpy.QtCore import QPoint

    native = viewer.window._qt_viewer.canvas.native

    def arrived() -> bool:
        return np.allclose(viewer.cursor.position[-2:], world_yx, atol=3 / viewer.camera.zoom)

    for _ in range(3):  # the pixel is computed again if the view moved (a late fit) before the mouse did
        x, y = canvas_point(viewer, world_yx)
        qtbot.mouseMove(native, QPoint(x - 1, y))
        qtbot.mouseMove(native, QPoint(x, y))
        with contextlib.suppress(WaitTimeout):
            qtbot.waitUntil(arrived, timeout=2000)
        if arrived():
            break
    assert arrived(), (viewer.cursor.position, world_yx)
    viewer.mouse_over_canvas = True
    viewer.update_status_from_cursor()  # what napari's status thread does on every mouse move
    status = viewer.status
    return status if isinstance(status, str) else " ".join(str(v) for v in status.values())


def test_area_colours_depend_only_on_the_set_of_areas() -> None:
    a = area_colors(["VISp", "CA1", "root", "VISp", "LGd"])
    b = area_colors(["LGd", "root", "CA1", "VISp"])
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert np.allclose(a["root"][:3], [int(UNASSIGNED_COLOR[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    many = area_colors([f"A{i:02d}" for i in range(20)])
    assert len({tuple(c) for c in many.values()}) == 20


def test_layer_tuples_place_rows_and_seconds_and_set_contrast() -> None:
    raster = make_raster(["VISp"] * 30 + ["CA1"] * 20 + ["unknown"] * 10, 6000, keep_every=5)
    counts, binary, names, strip = raster_layer_data(raster)
    assert [t[2] for t in (counts, binary, names, strip)] == ["image", "image", "points", "labels"]
    dy, dx = binary[1]["scale"]
    assert dx == pytest.approx(0.1)  # 20 ms bins, one kept in 5: columns are 100 ms apart in time
    assert np.log2(dy / dx) == round(np.log2(dy / dx))  # rows are a power of two of a column
    assert 1 <= (raster.n_frames * dx) / (raster.n_units * dy) <= 4  # roughly twice as wide as tall
    assert binary[1]["translate"] == (0.0, 12.0) and counts[1]["scale"] == binary[1]["scale"]
    assert binary[1]["contrast_limits"] == (0, 1) and binary[1]["colormap"] == "gray"
    assert counts[1]["contrast_limits"] == (0, 3) and counts[1]["multiscale"]
    assert binary[1]["metadata"][KEY]["raster"] is raster
    assert "20 ms" in binary[1]["name"] and "handmade" in binary[1]["name"]
    data, meta = strip[0], strip[1]
    assert data.shape == (60, 41) and data[0, 0] == 1 and data[0, 1] == 61
    feats = meta["features"].set_index("index")
    assert feats.loc[1, "area"] == "CA1" or feats.loc[1, "area"] == "VISp"
    assert feats.loc[31, "unit_id"] == "130" and feats.loc[61, "row"] == 0
    assert np.array_equal(meta["colormap"][1], area_colors(raster.areas)[raster.areas[0]])
    assert meta["colormap"][61][3] == 0  # the cover over the raster is transparent
    assert meta["translate"][1] < 12.0  # the strip is left of the raster
    assert list(names[1]["features"]["area"]) == ["VISp", "CA1", "unknown"]


def test_count_ceiling_is_a_high_percentile_of_nonzero_counts() -> None:
    counts = np.zeros((10, 1000), np.uint8)
    counts[:, :100] = 1
    counts[0, 100:110] = 7
    assert count_ceiling(counts) == 7
    assert count_ceiling(np.zeros((3, 3), np.uint8)) == 2


def test_state_is_one_per_viewer_and_hears_changes(make_napari_viewer) -> None:
    v1, v2 = make_napari_viewer(), make_napari_viewer()
    s1 = get_state(v1)
    assert get_state(v1) is s1 and get_state(v2) is not s1 and isinstance(s1, ViewerState)
    heard = []
    s1.events.raster.connect(heard.append)
    raster = make_raster(["VISp"] * 5, 300)
    s1.raster = raster
    s1.raster = raster  # the same object again is not news
    assert heard == [raster]
    s1.select([3, 1, 3])
    assert s1.selected_units == (1, 3)
    with pytest.raises(IndexError):
        s1.select([5])
    s1.raster = make_raster(["VISp"] * 5, 300, seed=1)
    assert s1.selected_units == ()  # new rows, new units: the selection is cleared


def test_layers_added_by_other_means_become_the_current_raster(make_napari_viewer) -> None:
    from napari.layers import Layer

    viewer = make_napari_viewer()
    state = get_state(viewer)
    raster = make_raster(["VISp"] * 8 + ["LGd"] * 4, 500)
    for data, meta, kind in raster_layer_data(raster):  # as napari does with a reader's tuples
        viewer.add_layer(Layer.create(data, meta, kind))
    assert state.raster is raster and state.session is None


def test_hovering_strip_or_raster_shows_the_unit_area(make_napari_viewer, qtbot, screenshot_dir):
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1300, 800)
    raster = make_raster(["VISp"] * 40 + ["CA1"] * 25 + ["LGd"] * 15, 4000, p=0.03)
    layers = add_raster_layers(viewer, raster)
    viewer.reset_view()
    qtbot.wait(50)
    strip = next(layer for layer in layers if layer.metadata[KEY]["kind"] == "areas")
    assert viewer.layers.selection.active is layers_of(viewer, kind="binary")[0]  # the raster after a load
    viewer.layers.selection.active = strip  # hovering the raster with the strip selected shows the areas
    dy, (y0, xs) = strip.scale[0], strip.translate
    text = hover(viewer, qtbot, (y0 + 50 * dy, xs))  # row 50 in the strip
    assert "area: CA1" in text and "unit_id: 150" in text and "row: 50" in text
    text = hover(viewer, qtbot, (y0 + 70 * dy, 12.0 + 40.0))  # row 70 on the raster, 40 s in
    assert "area: LGd" in text and "row: 70" in text
    assert row_at(layers_of(viewer, kind="binary")[0], viewer.cursor.position) == 70
    save_viewer_screenshot(viewer, screenshot_dir, "raster_layers_hover_status")


def test_selected_units_are_highlighted_on_every_raster(make_napari_viewer, qtbot, screenshot_dir) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1300, 800)
    state = get_state(viewer)
    raster = make_raster(["VISp"] * 60 + ["CA1"] * 40, 3000)
    add_raster_layers(viewer, raster)
    generated = make_raster(["VISp"] * 60 + ["CA1"] * 40, 3000, seed=5)
    add_raster_layers(viewer, generated, role="generated", label="generated")  # goes below the data
    data, other = layers_of(viewer, role="data", kind="binary")[0], layers_of(viewer, role="generated")[1]
    below = other.translate[0]
    assert below > raster.n_units * data.scale[0] and other.scale[0] == data.scale[0]
    viewer.reset_view()
    state.select([10, 11, 12, 70])
    bands = viewer.layers[SELECTION]
    dy = layers_of(viewer, kind="binary")[0].scale[0]
    assert len(bands.data) == 4  # two runs on each of the two rasters
    tops = sorted(float(r[:, 0].min()) for r in bands.data)
    # pixel k of a raster spans k +- 0.5 rows around translate + k * dy
    assert tops[0] <= 9.5 * dy + 1e-3 and tops[-1] <= below + 69.5 * dy + 1e-3
    assert below + 70.5 * dy <= float(max(r[:, 0].max() for r in bands.data)) + 1e-3
    qtbot.wait(50)
    save_canvas_screenshot(viewer, screenshot_dir, "raster_layers_selection")
    state.raster = raster if state.raster is not raster else make_raster(["VISp"] * 100, 3000)
    state.select([])
    assert SELECTION not in viewer.layers


def test_one_spike_in_an_hour_long_raster_shows_fully_zoomed_out(make_napari_viewer, qtbot, screenshot_dir):
    """2000 units x 180 000 frames (one hour at 20 ms) holding one spike: drawn after reset_view."""
    n_units, n_frames, spike = 2000, 180_000, (1234, 98_765)
    counts = np.zeros((n_units, n_frames), np.uint8)
    counts[spike] = 1
    raster = Raster(
        counts=counts, bin_s=0.02, areas=np.full(n_units, "VISp"), unit_ids=np.arange(n_units),
        segment_starts=np.zeros(1, np.int64), frame_times=np.arange(n_frames) * 0.02,
        train_frames=np.arange(n_frames), test_frames=np.zeros(0, np.int64), name="hour",
    )
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1300, 800)
    layers = add_raster_layers(viewer, raster)
    binary = next(layer for layer in layers if layer.metadata[KEY]["kind"] == "binary")
    counts_layer = next(layer for layer in layers if layer.metadata[KEY]["kind"] == "counts")
    counts_layer.visible = False
    for layer in layers:
        if layer.metadata[KEY]["kind"] in ("areas", "names"):
            layer.visible = False
    coarsest = np.asarray(binary.data[-1])
    assert binary.multiscale and max(coarsest.shape) <= 128 and coarsest.max() > 0
    assert np.asarray(counts_layer.data[-1]).max() == 1
    scale_bar(viewer).visible = False
    viewer.reset_view()
    qtbot.wait(100)
    shot = save_canvas_screenshot(viewer, screenshot_dir, "hour_long_raster_single_spike")
    assert binary.data_level >= 2  # a pooled level is on screen, not the full raster
    lit = np.argwhere(shot[..., :3].max(axis=2) > 100)  # the spike (white: no unit is busier)
    assert len(lit) > 0, "the spike is not on screen"
    x, y = canvas_point(viewer, ((spike[0] + 0.5) * binary.scale[0], (spike[1] + 0.5) * 0.02))
    assert np.min(np.abs(lit[:, 1] - x) + np.abs(lit[:, 0] - y)) <= 6  # where the spike is
    assert len(lit) < 20  # and nothing else lights up
