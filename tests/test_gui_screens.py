"""Screens that fit: every dock added the way napari's Plugins menu adds it, at 1920 x 1080 and 1366 x 768,
and a real recording walked through Load, Couplings and Clamp at both sizes, with a screenshot of each step
(tests/screenshots/screens_*.png: look at them)."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QDockWidget, QScrollArea

from conftest import save_viewer_screenshot, save_widget_grab
from napari_neurorbm._qt.coupling_layers import KEY as J_KEY
from napari_neurorbm._qt.docking import Dock
from napari_neurorbm._qt.raster_layers import layers_of, scale_bar
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.sources import open_source
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.io import load_model
from napari_neurorbm.rbm.training import TrainConfig, iter_train
from synthetic_model import one_torch_thread  # noqa: F401 (a fixture)
from test_gui_layout import assert_in_view

pytestmark = pytest.mark.gui
DOCKS = ("Load & binarize", "Raster QC plots", "Train RBM", "Couplings", "Generate", "Clamp",
         "Model selection", "Analyses")
SCREENS = [(1920, 1080), (1366, 768)]
STEINMETZ = "steinmetz2019_hench_2017-06-15.npz"  # 1157 units in 15 areas
WAIT = 120_000


def open_every_dock(viewer) -> dict:
    """Each NeuroRBM dock as the Plugins menu adds it (napari's add_dock_widget, no tabify asked)."""
    return {name: viewer.window.add_plugin_dock_widget("napari-neurorbm", name)[1] for name in DOCKS}


def show_dock(qtbot, widget) -> None:
    """Bring the tab of ``widget``'s dock to the front."""
    dock = widget.parentWidget()
    while not isinstance(dock, QDockWidget):
        dock = dock.parentWidget()
    dock.raise_()
    qtbot.waitUntil(widget.isVisible)
    qtbot.wait(50)


def assert_fits(viewer, widgets: dict, size: tuple[int, int]) -> None:
    """The window within the screen; the right-hand docks one column of tabs; no dock body cut sideways."""
    window = viewer.window._qt_window
    assert window.frameGeometry().width() <= size[0] and window.frameGeometry().height() <= size[1]
    right = [d for d in window.findChildren(QDockWidget) if d.findChild(Dock) is not None
             and window.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea]
    assert len(right) >= 5 and len(window.tabifiedDockWidgets(right[0])) == len(right) - 1
    for widget in widgets.values():
        if widget.isVisible():
            viewport = widget.findChild(QScrollArea).viewport()
            assert widget.body.minimumSizeHint().width() <= viewport.width()  # nothing cut on the right


@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_dock_fits_the_screen(make_napari_viewer, qtbot, size, screenshot_dir) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(*size)
    widgets = open_every_dock(viewer)
    qtbot.wait(100)
    for name, widget in widgets.items():
        show_dock(qtbot, widget)
        assert_fits(viewer, widgets, size)
        save_viewer_screenshot(viewer, screenshot_dir, f"screens_{size[0]}x{size[1]}_dock_{name}")


@pytest.fixture(scope="module")
def steinmetz(tmp_path_factory):
    """A real Neuropixels session at its native 10 ms bins and a short training of it (the model file)."""
    from conftest import REAL

    if not REAL.is_dir():
        pytest.skip("../shared/data/real not present: the real recordings are not available here")
    path = REAL / STEINMETZ
    raster = binarize(open_source(path), BinningParams(bin_ms=None))
    config = TrainConfig(n_hidden=16, k=2, batch=200, chains=200, lr=0.05, updates=40, eval_every=0,
                         checkpoints=3, ptt_sweeps=0, device="cpu", optimizer="adam")
    model = drain(iter_train(raster, config)).save(tmp_path_factory.mktemp("model") / "hench.npz")
    return path, model


@pytest.mark.real
@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_real_recording_walk_fits_at_both_sizes(make_napari_viewer, qtbot, real_data, steinmetz, size,
                                                  screenshot_dir) -> None:
    path, model_path = steinmetz
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(*size)
    widgets = open_every_dock(viewer)
    tag = f"screens_{size[0]}x{size[1]}_steinmetz"
    # load: the whole raster and its area strip in view, the raster active
    load = widgets["Load & binarize"]
    show_dock(qtbot, load)
    load.set_source(str(path))
    load.form.bin_ms.value = ""  # the file's native 10 ms bins
    with qtbot.waitSignal(load.loaded, timeout=WAIT):
        qtbot.mouseClick(load.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: load.worker is None, timeout=WAIT)
    state = get_state(viewer)
    assert_in_view(viewer, layers_of(viewer, role="data"))
    assert viewer.layers.selection.active is layers_of(viewer, kind="binary")[0]
    assert_fits(viewer, widgets, size)
    show_dock(qtbot, load)
    qtbot.wait(200)
    save_viewer_screenshot(viewer, screenshot_dir, f"{tag}_1_load")
    # couplings: the matrix beside the raster, labelled, its colour bar shown, the scale bar off it
    state.model = load_model(model_path)
    couplings = widgets["Couplings"]
    show_dock(qtbot, couplings)
    qtbot.mouseClick(couplings.compute_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: couplings.worker is None, timeout=WAIT)
    image = next(lay for lay in viewer.layers if lay.metadata.get(J_KEY) == "matrix")
    assert image.colorbar.visible and "J_ij" in image.name
    assert_in_view(viewer, [image, *layers_of(viewer, role="data", kind="binary")])
    assert scale_bar(viewer).position == "bottom_left"
    assert_fits(viewer, widgets, size)
    qtbot.wait(200)
    save_viewer_screenshot(viewer, screenshot_dir, f"{tag}_2_couplings")
    couplings.plots.setCurrentIndex(0)  # the area matrix J_AB
    qtbot.wait(100)
    save_viewer_screenshot(viewer, screenshot_dir, f"{tag}_3_area_matrix")
    # clamp an area: the clamped and control rasters in view, no colour bar over them
    clamp = widgets["Clamp"]
    show_dock(qtbot, clamp)
    clamp.area_combo.setCurrentIndex(0)
    qtbot.mouseClick(clamp.area_button, Qt.MouseButton.LeftButton)
    clamp.form.frames.value = 400
    clamp.form.chains.value = 4
    clamp.form.onset.value = 20
    clamp.form.device.value = "cpu"
    with qtbot.waitSignal(clamp.shown, timeout=WAIT):
        qtbot.mouseClick(clamp.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: clamp.worker is None, timeout=WAIT)
    assert_in_view(viewer, [layers_of(viewer, role=r, kind="binary")[0] for r in ("clamped", "control")])
    qtbot.wait(200)
    save_viewer_screenshot(viewer, screenshot_dir, f"{tag}_4_clamp")
    save_widget_grab(clamp.plots, screenshot_dir, f"{tag}_5_clamp_plots")
    assert viewer.layers.selection.active not in layers_of(viewer, kind="areas")  # no paint tools
    assert not image.colorbar.visible and scale_bar(viewer).visible
    assert np.isfinite(clamp.result.delta).all()
    assert_fits(viewer, widgets, size)
