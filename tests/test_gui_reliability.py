"""The Couplings dock with replicate models and two sessions, in a real viewer: open replicate files, switch
the matrix between mean J, spread and reliable pairs, pick a pair; compare two sessions in the "Compare
sessions" tab; bad input as notifications. Screenshots at 1920 x 1080 and 1366 x 768
(tests/screenshots/reliability_*.png: look at them)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from qtpy.QtCore import Qt

from conftest import save_viewer_screenshot
from napari_neurorbm._qt.coupling_layers import COLORMAP_NAME, KEY, SPREAD_COLORMAP
from napari_neurorbm._qt.couplings_widget import CouplingsWidget
from napari_neurorbm._qt.raster_layers import add_raster_layers, layers_of
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.analysis.compare import COLUMNS
from napari_neurorbm.analysis.couplings import fields_and_couplings
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.synthetic import make_synthetic
from napari_neurorbm.rbm.io import save_model
from napari_neurorbm.rbm.model import RBM
from test_gui_layout import assert_in_view

pytestmark = pytest.mark.gui
SCREENS = [(1920, 1080), (1366, 768)]
M = 10  # minimum units per area (the synthetic areas have 16)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The synthetic raster (3 areas x 16 units) and model files: three replicates of its ground truth (small
    independent noise on W, rows in the raster's order), session B (the same network on other neurons,
    without VISl's own hidden units) and one model of other units."""
    session, truth = make_synthetic(n_areas=3, units_per_area=16, duration_s=60.0, seed=2)
    raster = binarize(session, BinningParams(bin_ms=20.0))
    rows = pd.Index(session.unit_ids).get_indexer(raster.unit_ids)
    folder = tmp_path_factory.mktemp("replicates")
    rng = np.random.default_rng(0)
    paths: dict[str, list[str]] = {"A": [], "B": []}
    for side in paths:
        W = truth.W[rows].copy()
        if side == "B":
            W[np.ix_(raster.areas == "VISl", truth.hidden_areas == "VISl")] = 0.0
        ids = raster.unit_ids if side == "A" else 1000 + np.asarray(raster.unit_ids)
        meta = {"areas": raster.areas, "unit_ids": ids, "bin_s": raster.bin_s}
        for k in range(3):
            rbm = RBM.from_numpy(W + rng.normal(0, 0.05, W.shape), truth.b[rows], truth.c)
            paths[side].append(str(save_model(folder / f"{side.lower()}_seed{k}.npz", rbm, meta)))
    other = RBM.from_numpy(np.zeros((10, 2)), np.zeros(10), np.zeros(2))
    paths["other"] = [str(save_model(folder / "other.npz", other, {"areas": ["VISp"] * 10}))]
    return raster, paths


def open_dock(make_napari_viewer, raster, size: tuple[int, int]):
    """A shown viewer of the screen size ``size`` with the raster and the Couplings dock."""
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(*size)
    _, widget = viewer.window.add_plugin_dock_widget("napari-neurorbm", "Couplings")
    assert isinstance(widget, CouplingsWidget)
    add_raster_layers(viewer, raster)
    widget.form.min_units.value = M
    return viewer, widget


def matrix(viewer):
    return next(lay for lay in viewer.layers if lay.metadata.get(KEY) == "matrix")


def wait_job(qtbot, widget) -> None:
    """Until the job is over and the dock has heard of it (its own finished handler re-enables Compute)."""
    qtbot.waitUntil(lambda: widget.worker is None and widget.compute_button.isEnabled(), timeout=60_000)


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_replicates_and_sessions_in_the_dock(make_napari_viewer, files, qtbot, screenshot_dir, screen
                                             ) -> None:
    viewer, widget = open_dock(make_napari_viewer, files[0], screen)
    size = f"{screen[0]}x{screen[1]}"
    state, paths = get_state(viewer), files[1]
    widget.open_replicates(paths["A"])
    wait_job(qtbot, widget)
    result = state.couplings
    rep = result.replicates
    Js = np.stack([fields_and_couplings(*rbm.rbm.numpy())[1] for rbm in rep.models])
    np.testing.assert_allclose(result.J, Js.mean(0), rtol=1e-12, atol=1e-15)
    assert rep.n_replicates == 3 and widget.message.text() == "Done."
    assert "Replicates: 3 models of 48 visible × 8 hidden units — J shown is their mean" in \
        widget.model_label.text()
    assert widget.replicates.view.isEnabled() and "Mean of 3 replicates: a_seed0.npz" in \
        widget.replicates.label.text()
    image = matrix(viewer)
    np.testing.assert_allclose(image.data, result.J.astype(np.float32))
    assert image.name == "couplings mean J_ij (nats)" and image.colormap.name == COLORMAP_NAME
    assert_in_view(viewer, [image, *layers_of(viewer, role="data", kind="binary")])
    qtbot.wait(100)  # drawn, as a user sees it before choosing another view
    # the spread: SD over replicates on a sequential scale from 0
    widget.replicates.set_view("spread")
    np.testing.assert_allclose(image.data, Js.std(0, ddof=1).astype(np.float32), rtol=1e-6)
    assert image.colormap.name == SPREAD_COLORMAP and image.contrast_limits[0] == 0.0
    assert image.name == "couplings SD of J_ij (nats)"
    qtbot.wait(100)
    save_viewer_screenshot(viewer, screenshot_dir, f"reliability_{size}_spread")
    # the reliable pairs at t >= 3, then at t >= 10 (fewer)
    widget.replicates.set_view("reliable")
    t = np.abs(Js.mean(0)) / (Js.std(0, ddof=1) / np.sqrt(3))
    np.testing.assert_allclose(image.data, np.where(t >= 3, result.J, 0).astype(np.float32))
    assert image.colormap.name == COLORMAP_NAME and image.contrast_limits[0] < 0
    assert image.name == "couplings J_ij, t ≥ 3 (nats)"
    n3 = int(np.triu(t >= 3, 1).sum())
    assert f"{n3} of 1128 pairs reliable" in widget.replicates.label.text()
    widget.form.reliable_t.value = 10.0
    np.testing.assert_allclose(image.data, np.where(t >= 10, result.J, 0).astype(np.float32))
    assert int(np.triu(t >= 10, 1).sum()) < n3
    widget.form.reliable_t.value = 3.0
    widget.pair_box.show_pair(0, 1)
    assert "over 3 replicates (means): SD" in widget.pair_label.text()
    qtbot.waitUntil(lambda: "computing" not in widget.pair_label.text(), timeout=30_000)
    qtbot.wait(100)
    save_viewer_screenshot(viewer, screenshot_dir, f"reliability_{size}_reliable")
    # the area table of replicates has the standard errors of J_AB
    table = pd.read_csv(widget.export_csv(screenshot_dir / f"reliability_{size}_areas.csv"), index_col="area")
    spread = rep.areas_spread(M)
    np.testing.assert_allclose(table["se J[VISp]"], spread.spread.se[:, list(spread.names).index("VISp")],
                               rtol=1e-9)
    # compare sessions A and B in their tab
    panel = widget.compare_panel
    widget.plots.setCurrentWidget(panel)
    panel.set_files("A", paths["A"])
    panel.set_files("B", paths["B"])
    qtbot.mouseClick(panel.compare_button, Qt.MouseButton.LeftButton)
    wait_job(qtbot, widget)
    compared = panel.comparison.table
    assert compared.columns.tolist() == COLUMNS and len(compared) == 6
    assert panel.table.rowCount() == 6 and panel.table.item(0, 0).text() == "VISl"  # sorted by |z|
    assert float(panel.table.item(0, 4).text()) < -10
    assert "differ by |z| ≥ 3" in widget.message.text()
    labels = [item for item in panel.plot.items if hasattr(item, "textItem")]
    assert [item.textItem.toPlainText() for item in labels] == ["VISl"]
    widget._scroll.ensureWidgetVisible(panel.export_button)
    qtbot.wait(100)
    save_viewer_screenshot(viewer, screenshot_dir, f"reliability_{size}_compare")
    assert panel.export_csv(screenshot_dir / f"reliability_{size}_compare.csv") is not None


def test_bad_replicates_and_sessions_are_notifications(make_napari_viewer, files, qtbot, notifications
                                                       ) -> None:
    viewer, widget = open_dock(make_napari_viewer, files[0], (1500, 1000))
    paths = files[1]
    widget.open_replicates(paths["A"][:1] + paths["other"])
    wait_job(qtbot, widget)
    panel = widget.compare_panel
    panel.set_files("A", paths["A"][:1])
    panel.set_files("B", paths["B"])
    panel.compare()
    errors = [n.message for n in notifications if n.severity == "error"]
    assert len(errors) == 2 and all("\n" not in e for e in errors)
    assert "replicates: other.npz and a_seed0.npz are not on the same units" in errors[0]
    assert errors[1] == "session A: pick two or more replicate model files, got 1"
    assert get_state(viewer).couplings is None and widget.compute_button.isEnabled()
    assert panel.comparison is None and widget.worker is None
