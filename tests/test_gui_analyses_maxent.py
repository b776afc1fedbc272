"""The Analyses dock's Max-ent tab in a real viewer: the pairwise baseline of a small synthetic recording
(2 areas x 8 units: log Z, moments and the RBM's likelihood exact) with its ground-truth RBM, the numbers
of the core on the same input and settings; without an RBM; Stop; the export (CSV, PNG and the pairwise
model file, read back); no recording in one line. Screenshots at 1920 x 1080 and 1366 x 768
(tests/screenshots/analyses_maxent_*.png: look at them)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from qtpy.QtCore import Qt

from napari_neurorbm._qt.analyses_widget import AnalysesWidget
from napari_neurorbm._qt.raster_layers import add_raster_layers
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.analysis.baseline import iter_maxent
from napari_neurorbm.analysis.pairwise_file import load_energy_model, load_pairwise
from napari_neurorbm.configs import MaxEntConfig
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.io import load_model
from synthetic_model import one_torch_thread, recording_and_model  # noqa: F401 (a fixture)
from test_gui_analyses import WAIT, run_tab, shoot_every_size, stop_midway
from test_gui_screens import show_dock

pytestmark = pytest.mark.gui
SETTINGS = {"updates": 40, "device": "cpu"}  # 16 units: log Z and moments by enumeration


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """2 areas x 8 units, 300 s in 100 ms bins, and the RBM the frames were drawn from."""
    return recording_and_model(tmp_path_factory.mktemp("maxent"), n_areas=2, units_per_area=8)


def maxent_tab(viewer, small, model: bool = True):
    session, raster, path = small
    add_raster_layers(viewer, raster, session=session)
    get_state(viewer).model = load_model(path) if model else None
    dock = viewer.window.add_plugin_dock_widget("napari-neurorbm", "Analyses")[1]
    dock.tabs.setCurrentWidget(dock.tab("maxent"))
    return dock, dock.tab("maxent")


def without_times(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if not k.endswith("_seconds")}


def test_the_tab_shows_the_cores_numbers_and_exports_the_model(make_napari_viewer, qtbot, small, tmp_path,
                                                               screenshot_dir):
    viewer = make_napari_viewer(show=True)
    dock, tab = maxent_tab(viewer, small)
    show_dock(qtbot, dock)
    assert tab.needs.isHidden() and [i.name for i in tab.form.infos] == list(tab.fields)
    result = run_tab(qtbot, tab, SETTINGS)
    _, raster, path = small
    core = drain(iter_maxent(raster, MaxEntConfig(**SETTINGS), load_model(path).rbm))
    s = core.summary()
    assert without_times(result.summary()) == without_times(s)
    assert s["log_z_method"] == s["moments_method"] == "exact" and s["units"] == 16
    text = tab.summary.text()
    for number in (s["independent_test_ll"], s["pairwise_test_ll"], s["rbm_test_ll"]):
        assert f"{number:.3f}" in text
    assert f"pairwise: {s['share_of_rbm_gain']:.2f} of the RBM's gain" in text
    assert tab.plot.titleLabel.text.endswith(f"<br>pairwise: {s['share_of_rbm_gain']:.2f} of the RBM's gain")
    assert f"model vs data: r = {s['pair_covariance_r']:.3f}, slope {s['pair_covariance_slope']:.2f}" in text
    assert s["l2_chosen_by"] == "held-out pseudolikelihood" and f"L2 {s['l2']:g} (auto)" in text  # empty
    labels = [item.toPlainText() for item in tab.plot.items if hasattr(item, "toPlainText")]
    assert labels == [f"{s[k]:.3f}" for k in ("independent_test_ll", "pairwise_test_ll", "rbm_test_ll")]
    data, model = tab.moments_plot.listDataItems()[0].getData()
    np.testing.assert_array_equal(data, core.covariances()[0])  # all 120 pairs of the 16 units
    np.testing.assert_array_equal(model, core.covariances()[1])

    shoot_every_size(viewer, qtbot, dock, screenshot_dir, "analyses_maxent")

    csv, png, npz = tab.export(tmp_path / "baseline.csv")
    assert png.stat().st_size > 1000 and npz.name == "baseline_pairwise.npz"
    table = pd.read_csv(csv)
    pd.testing.assert_frame_equal(table, core.table())
    assert list(table["model"]) == ["independent", "pairwise", "RBM"]
    assert table["share_of_rbm_gain"].iloc[2] == 1
    written = load_pairwise(npz)
    np.testing.assert_array_equal(written.model.J, core.fit.model.J)
    assert list(written.unit_ids) == raster.unit_ids.tolist()
    assert written.metadata["pairwise_test_ll"] == s["pairwise_test_ll"]
    assert written.metadata["config"]["updates"] == 40
    np.testing.assert_array_equal(load_energy_model(npz).h, core.fit.model.h)
    assert "baseline_pairwise.npz" in tab.message.text()


def test_without_a_model_it_compares_independent_and_pairwise(make_napari_viewer, qtbot, small):
    viewer = make_napari_viewer()
    _, tab = maxent_tab(viewer, small, model=False)
    result = run_tab(qtbot, tab, {"l2": "1e-4", "updates": 0, "device": "cpu"})
    assert result.rbm is None and list(result.table()["model"]) == ["independent", "pairwise"]
    assert "no RBM in the viewer" in tab.summary.text() and ", RBM " not in tab.summary.text()
    assert result.fit.l2 == 1e-4 and "L2 0.0001," in tab.summary.text()  # as typed: not chosen
    assert tab.result.fit.updates == 0 and tab.result.config.l2 == 1e-4


def test_stop_ends_the_fit_and_keeps_nothing(make_napari_viewer, qtbot, small):
    viewer = make_napari_viewer()
    _, tab = maxent_tab(viewer, small)
    tab.form.updates.value = 1_000_000
    stop_midway(qtbot, tab, lambda: "update" in tab.message.text())  # moment matching is under way


def test_no_recording_is_one_line(make_napari_viewer, qtbot, notifications):
    viewer = make_napari_viewer()
    dock = AnalysesWidget(viewer)
    viewer.window.add_dock_widget(dock, name="Analyses")
    tab = dock.tab("maxent")
    assert tab.needs.text() == "Needs a recording: load and binarize one first (Load & binarize)."
    with qtbot.waitSignal(tab.failed, timeout=WAIT) as blocker:
        qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0] == tab.needs.text() and tab.worker is None
    assert any(str(n.message) == tab.needs.text() for n in notifications)
