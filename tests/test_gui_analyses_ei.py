"""The Analyses dock's E/I tab in a real viewer: seed 004's experiment on a small synthetic recording whose
units have E/I classes (two of them without a waveform width: unknown, left out), with the core's numbers on
the same input and settings; Stop; the export (CSV, PNG, JSON); a recording without classes in one line.
Screenshots at 1920 x 1080 and 1366 x 768 (tests/screenshots/analyses_ei_*.png: look at them)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from qtpy.QtCore import Qt

from napari_neurorbm._qt.analyses_ei import COLOURS
from napari_neurorbm._qt.raster_layers import add_raster_layers
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.analysis.ei_experiment import iter_ei_experiment
from napari_neurorbm.configs import EIConfig, TrainConfig
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.synthetic import make_synthetic
from napari_neurorbm.progress import drain
from synthetic_model import one_torch_thread  # noqa: F401 (a fixture)
from test_gui_analyses import WAIT, fill, legend_texts, run_tab, shoot_every_size, stop_midway
from test_gui_screens import show_dock

pytestmark = pytest.mark.gui
TRAIN = {"n_hidden": 4, "updates": 40, "batch": 200, "seed": 3, "device": "cpu"}
FRAMES = 800


@pytest.fixture(scope="module")
def classed():
    """2 areas x 8 units, 60 s in 20 ms bins; a fifth of the units narrow (I), two without a width."""
    session = make_synthetic(n_areas=2, units_per_area=8, duration_s=60.0, seed=5)[0]
    widths = session.waveform_ms.copy()
    widths[[2, 9]] = np.nan
    with pytest.warns(UserWarning, match="E/I: 2 of 16 units have no waveform width"):
        raster = binarize(replace(session, waveform_ms=widths), BinningParams(seed=0))
    return session, raster


def ei_tab(viewer, session, raster):
    add_raster_layers(viewer, raster, session=session)
    dock = viewer.window.add_plugin_dock_widget("napari-neurorbm", "Analyses")[1]
    dock.tabs.setCurrentWidget(dock.tab("ei"))
    return dock, dock.tab("ei")


def test_the_tab_draws_the_cores_p_k_and_exports_it(make_napari_viewer, qtbot, classed, tmp_path,
                                                    screenshot_dir):
    viewer = make_napari_viewer(show=True)
    dock, tab = ei_tab(viewer, *classed)
    show_dock(qtbot, dock)
    assert tab.needs.isHidden()
    result = run_tab(qtbot, tab, {"frames": FRAMES, **TRAIN})
    raster = classed[1]
    core = drain(iter_ei_experiment(raster, TrainConfig(**TRAIN), EIConfig(frames=FRAMES)))
    s = result.summary()
    assert s == core.summary()  # the same input and settings: the same models, frames and numbers
    for key in ("data", "e_only", "e_and_i"):
        np.testing.assert_array_equal(result.p_k[key], core.p_k[key])
    assert s["units"] == {"E": int(np.sum(raster.classes == "E")), "I": int(np.sum(raster.classes == "I")),
                          "unknown": 2}
    texts = legend_texts(tab)
    assert texts[0] == f"test frames ({s['test_frames']}); K {s['data']['mean_k']:.2f} ± " \
                       f"{np.sqrt(s['data']['var_k']):.2f}"
    assert texts[1].startswith(f"model of E alone: TV {s['e_only']['total_variation']:.3f}, "
                               f"KL {s['e_only']['kl']:.3f}; K ")
    assert texts[2].startswith("model of E and I: TV ")
    items = tab.plot.listDataItems()
    assert [item.opts["pen"].color().getRgb()[:3] for item in items] == list(COLOURS.values())
    assert tab.plot.ctrl.logYCheck.isChecked()  # P(K) on a log axis, as seed 004 draws it
    summary = tab.summary.text()
    assert f"E and I {s['e_and_i']['total_variation']:.3f} / {s['e_and_i']['kl']:.3f}" in summary
    assert tab.plot.titleLabel.text.endswith(", 2 unknown")  # no waveform width: not in the models
    shoot_every_size(viewer, qtbot, dock, screenshot_dir, "analyses_ei")

    csv, png, numbers = tab.export(tmp_path / "ei")
    pd.testing.assert_frame_equal(pd.read_csv(csv), core.table(), check_dtype=False)
    assert png.stat().st_size > 1000 and json.loads(numbers.read_text()) == json.loads(json.dumps(s))
    assert "Wrote ei.csv, ei.png and ei.json" in tab.message.text()
    get_state(viewer).raster = None  # the recording goes: its result goes too
    assert tab.result is None and not tab.plot.listDataItems() and not tab.export_button.isEnabled()


def test_stop_ends_the_training_and_keeps_nothing(make_napari_viewer, qtbot, classed):
    viewer = make_napari_viewer()
    _, tab = ei_tab(viewer, *classed)
    fill(tab, TRAIN | {"updates": 1_000_000})
    stop_midway(qtbot, tab)


def test_a_recording_without_classes_is_one_line(make_napari_viewer, qtbot, classed, notifications):
    session, raster = classed
    plain = raster.take(np.arange(raster.n_units))
    plain.classes[:] = "unknown"  # as the real recordings here: no waveform widths
    viewer = make_napari_viewer()
    _, tab = ei_tab(viewer, session, plain)
    need = tab.needs.text()
    assert not tab.needs.isHidden() and "\n" not in need
    assert "no unit has a spike waveform width, so all 16 units are of unknown class" in need
    with qtbot.waitSignal(tab.failed, timeout=WAIT) as blocker:
        qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0] == need and tab.worker is None
    assert any(str(n.message) == need for n in notifications)
    get_state(viewer).raster = raster  # a recording with classes: the tab can run
    assert tab.needs.isHidden()
