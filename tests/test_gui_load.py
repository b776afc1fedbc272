"""The "Load & binarize" dock in a real viewer: fill the form, click Load, wait for the worker, check the
layers, the shared state and the QC plots; bad input ends as a one-line notification."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from qtpy.QtCore import Qt

from conftest import save_viewer_screenshot, save_widget_grab
from napari_neurorbm._qt.load_widget import LoadWidget, session_choices
from napari_neurorbm._qt.qc_plots import QCPanel
from napari_neurorbm._qt.raster_layers import KEY, layers_of
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.data.allen import PROJECT
from napari_neurorbm.data.synthetic import synthetic_session
from nwb_factory import write_nwb

pytestmark = pytest.mark.gui
STEINMETZ = "steinmetz2019_hench_2017-06-15.npz"


@pytest.fixture(scope="module")
def synthetic_nwb(tmp_path_factory) -> Path:
    """The synthetic session as an NWB file in the Allen layout (4 areas x 30 units, 2 min)."""
    session = synthetic_session(n_areas=4, units_per_area=30, duration_s=120.0, seed=3)
    trains = [session.spikes_of(u) for u in range(session.n_units)]
    path = tmp_path_factory.mktemp("nwb") / "synthetic.nwb"
    return write_nwb(path, trains, list(session.areas), unit_ids=session.unit_ids)


@pytest.fixture
def dock(make_napari_viewer):
    """A shown viewer with the Load & binarize widget docked, as a user opens it from the Plugins menu."""
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1500, 950)
    widget = LoadWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Load & binarize", area="right")
    return viewer, widget


def click_load(qtbot, widget: LoadWidget, timeout: int = 60_000):
    """Click Load, wait for the new raster and for the worker to finish; return the raster."""
    with qtbot.waitSignal(widget.loaded, timeout=timeout) as blocker:
        qtbot.mouseClick(widget.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=timeout)
    return blocker.args[0]


def qc_panel(viewer, qtbot) -> QCPanel:
    panels = [w for w in viewer.window.dock_widgets.values() if isinstance(w, QCPanel)]
    assert len(panels) == 1
    qtbot.waitUntil(lambda: panels[0].summary.text().endswith("of their unit"), timeout=30_000)
    return panels[0]


def test_synthetic_nwb_loads_and_shows_rasters_strip_and_qc(dock, qtbot, synthetic_nwb, screenshot_dir):
    viewer, widget = dock
    state = get_state(viewer)
    widget.set_source(synthetic_nwb)
    widget.form.keep_every.value = 2
    raster = click_load(qtbot, widget)
    assert state.raster is raster and state.session is not None and state.session.n_units == 120
    assert raster.n_units == 120 and 2990 <= raster.n_frames <= 3000 and raster.bin_s == pytest.approx(0.02)
    counts, binary = layers_of(viewer, kind="counts")[0], layers_of(viewer, kind="binary")[0]
    assert binary.multiscale and binary.contrast_limits == [0, 1] and binary.colormap.name == "gray"
    assert counts.contrast_limits[0] == 0 and counts.contrast_limits[1] >= 2
    assert binary.scale[1] == pytest.approx(0.04)  # 20 ms bins, every 2nd kept: 40 ms per column
    assert np.array_equal(binary.level_shapes[0], raster.counts.shape)
    strip = layers_of(viewer, kind="areas")[0]
    assert viewer.layers.selection.active is binary  # the raster's controls, not the strip's paint tools
    assert set(strip.features["area"]) == set(raster.areas) and strip.data.shape[0] == 120
    assert binary.metadata[KEY]["raster"] is raster
    assert widget.progress.value() == 1000 and "120 units in 4 areas" in widget.message.text()
    panel = qc_panel(viewer, qtbot)
    assert "120 of 120 units kept" in panel.summary.text()
    assert len(panel.rates.listDataItems()) >= 8  # dots and a median per area
    assert len(panel.active.listDataItems()) == 1 and len(panel.widths.listDataItems()) >= 1
    widths = panel.widths.listDataItems()[0].getData()
    assert len(widths[0]) == 5 and np.all(np.diff(widths[1]) > 0)  # wider bins, more active bins
    qtbot.wait(300)  # let the plots lay out their tick labels
    save_viewer_screenshot(viewer, screenshot_dir, "load_synthetic_nwb")
    save_widget_grab(panel, screenshot_dir, "load_synthetic_nwb_qc")


def test_binarizing_again_reuses_the_loaded_session(dock, qtbot, synthetic_nwb) -> None:
    viewer, widget = dock
    widget.set_source(synthetic_nwb)
    first = click_load(qtbot, widget)
    session = get_state(viewer).session
    widget.form.bin_ms.value = "50"
    widget.form.min_rate_hz.value = 1.0
    second = click_load(qtbot, widget)
    assert get_state(viewer).session is session and second is not first
    assert second.bin_s == pytest.approx(0.05) and len(layers_of(viewer, kind="binary")) == 1
    assert [name for name, _ in second.filter_report][-1].startswith("rate < 1")


def test_binned_file_keeps_its_native_bins_and_a_width_that_does_not_fit_offers_them(
    dock, qtbot, tmp_path
) -> None:
    _, widget = dock
    path = tmp_path / "binned.npz"
    counts = (np.random.default_rng(0).random((6, 400)) < 0.1).astype(np.uint8)
    np.savez(path, counts=counts, bin_s=0.01, areas=np.array(["LGd"] * 2 + ["VISp"] * 4))
    widget.set_source(path)
    assert widget.form.bin_ms.value == "20"  # the default width, for spike times
    raster = click_load(qtbot, widget)
    assert raster.bin_s == pytest.approx(0.01)  # as drop-open and neurorbm binarize bin it
    assert widget.form.bin_ms.value == "10"
    widget.form.bin_ms.value = "15"
    with qtbot.waitSignal(widget.failed, timeout=30_000) as blocker:
        qtbot.mouseClick(widget.load_button, Qt.MouseButton.LeftButton)
    assert "use 10 ms (its native bins)" in blocker.args[0] and "\n" not in blocker.args[0]
    assert widget.form.bin_ms.value == "10" and "bin_ms" not in widget.form.chosen
    qtbot.waitUntil(lambda: widget.worker is None, timeout=10_000)
    widget.form.bin_ms.value = "20"
    assert click_load(qtbot, widget).bin_s == pytest.approx(0.02)  # a width the user chose is kept


def test_real_recording_with_native_bins(dock, qtbot, real_data, screenshot_dir) -> None:
    viewer, widget = dock
    widget.set_source(real_data / STEINMETZ)
    widget.form.bin_ms.value = ""  # "native bins"
    raster = click_load(qtbot, widget)
    assert raster.bin_s == pytest.approx(0.01) and raster.n_frames == 10_000
    assert len(raster.segment_starts) == 250  # trials stay separate segments
    assert len(np.unique(raster.areas)) == 15 and raster.n_units > 1000
    binary = layers_of(viewer, kind="binary")[0]
    assert binary.scale[1] == pytest.approx(0.01)
    assert binary.translate[1] == pytest.approx(raster.frame_times[0])
    names = layers_of(viewer, kind="names")[0]
    assert "VISp" in set(names.features["area"])
    qc_panel(viewer, qtbot)
    qtbot.wait(300)
    save_viewer_screenshot(viewer, screenshot_dir, "load_steinmetz_native_bins")


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda w, tmp: (tmp / "broken.nwb").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64) and
         w.set_source(tmp / "broken.nwb"), "broken.nwb"),
        (lambda w, tmp: setattr(w.form.bin_ms, "value", "300000"), "longer than"),
        (lambda w, tmp: setattr(w.form.start_s, "value", "abc"), "not a number"),
        (lambda w, tmp: setattr(w.form.quality, "value", "no_such_metric>=1"), "no_such_metric"),
        (lambda w, tmp: setattr(w.form.areas, "value", "XYZ"), "XYZ"),
    ],
    ids=["corrupt-file", "bin-longer-than-recording", "bad-start", "unknown-metric", "no-unit-left"],
)
def test_bad_input_is_a_one_line_notification(
    dock, qtbot, synthetic_nwb, tmp_path, notifications, setup, expected
) -> None:
    viewer, widget = dock
    widget.set_source(synthetic_nwb)
    setup(widget, tmp_path)
    qtbot.mouseClick(widget.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=30_000)
    message = widget.message.text()
    errors = [n for n in notifications if n.severity == "error"]
    assert len(errors) == 1 and errors[0].message == message and "\n" not in message
    assert expected in message and "Traceback" not in message
    assert not layers_of(viewer) and widget.load_button.text() == "Load"


def test_allen_cache_lists_its_sessions_and_loads_the_chosen_one(dock, qtbot, tmp_path, synthetic_nwb):
    viewer, widget = dock
    project = tmp_path / "cache" / f"{PROJECT}-0.5.0"
    (project / "project_metadata").mkdir(parents=True)
    pd.DataFrame(
        {
            "ecephys_session_id": [1044385384, 1044594870],
            "mouse_id": [524761, 524926],
            "genotype": ["wt/wt", "Sst-IRES-Cre/wt"],
            "experience_level": ["Familiar", "Novel"],
            "unit_count": [120, 2000],
        }
    ).to_csv(project / "project_metadata" / "ecephys_sessions.csv", index=False)
    nwb = project / "behavior_ecephys_sessions" / "1044594870" / "ecephys_session_1044594870.nwb"
    nwb.parent.mkdir(parents=True)
    nwb.write_bytes(synthetic_nwb.read_bytes())
    widget.set_source(tmp_path / "cache")
    assert widget.session_combo.isEnabled() and widget.session_combo.count() == 2
    assert "Novel" in widget.session_combo.itemText(1) and "on disk" in widget.session_combo.itemText(1)
    widget.session_combo.setCurrentIndex(1)
    assert widget.session_id() == 1044594870
    raster = click_load(qtbot, widget)
    assert raster.n_units == 120 and get_state(viewer).session.n_units == 120


def test_session_choices_read_the_allen_table() -> None:
    table = pd.DataFrame(
        {"session_id": [7], "mouse_id": [1], "units": [30], "areas": ["VISp 20, CA1 10"], "downloaded": [0]}
    )
    line, tip = "7 · 1 · 30 units · to download", "units per area: VISp 20, CA1 10"
    assert session_choices(table) == [(7, line, tip)]


def test_widgets_opened_from_the_plugin_menu_share_the_viewer_state(make_napari_viewer, qtbot, synthetic_nwb):
    viewer = make_napari_viewer()
    _, load = viewer.window.add_plugin_dock_widget("napari-neurorbm", "Load & binarize")
    _, qc = viewer.window.add_plugin_dock_widget("napari-neurorbm", "Raster QC plots")
    assert isinstance(load, LoadWidget) and isinstance(qc, QCPanel)
    assert load.state is get_state(viewer) and qc._state is get_state(viewer)
    load.set_source(synthetic_nwb)
    with qtbot.waitSignal(qc.updated, timeout=30_000):
        click_load(qtbot, load)
    assert len([w for w in viewer.window.dock_widgets.values() if isinstance(w, QCPanel)]) == 1


def test_cancel_stops_a_load_at_its_next_step(dock, qtbot, monkeypatch, synthetic_nwb) -> None:
    import time

    from napari_neurorbm._qt import load_widget
    from napari_neurorbm.progress import Progress

    def slow_job(*_args):
        for i in range(200):
            time.sleep(0.02)
            yield Progress("binning", i, 200)
        raise AssertionError("not cancelled")

    monkeypatch.setattr(load_widget, "load_job", slow_job)
    viewer, widget = dock
    widget.set_source(synthetic_nwb)
    qtbot.mouseClick(widget.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.progress.value() > 0, timeout=10_000)
    assert widget.load_button.text() == "Cancel"
    qtbot.mouseClick(widget.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=10_000)
    assert widget.message.text() == "Cancelled." and widget.load_button.text() == "Load"
    assert not layers_of(viewer) and get_state(viewer).raster is None
