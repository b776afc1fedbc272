"""The "Analyses" dock in a real viewer: a small synthetic recording, its ground-truth RBM as the model and
activity generated from it; each tab runs its analysis on a worker and draws its curves, with the numbers
the core computes; Stop, a missing input (one line), an input that changes, and the export (CSV + PNG).
Screenshots of every tab with its result at 1920 x 1080 and 1366 x 768 (tests/screenshots/analyses_*)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from qtpy.QtCore import Qt
from qtpy.QtGui import QImage
from qtpy.QtWidgets import QScrollArea

from conftest import save_viewer_screenshot
from napari_neurorbm._qt.analyses_spectrum import alpha_text
from napari_neurorbm._qt.analyses_widget import TABS, AnalysesWidget
from napari_neurorbm._qt.model_runs import model_raster
from napari_neurorbm._qt.raster_layers import add_raster_layers
from napari_neurorbm._qt.state import get_state
from napari_neurorbm._qt.wrapping import text_height
from napari_neurorbm.analysis.generation import iter_generate
from napari_neurorbm.analysis.spectrum import spectrum_of
from napari_neurorbm.analysis.suite import activity, iter_multiinfo, spectra_table
from napari_neurorbm.configs import MultiInfoConfig
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.sources import open_source
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.io import load_model
from napari_neurorbm.rbm.training import TrainConfig, iter_train
from synthetic_model import one_torch_thread, recording_and_model  # noqa: F401 (a fixture)
from test_gui_screens import SCREENS, show_dock

pytestmark = pytest.mark.gui
WAIT = 120_000
RETINA = "tkacik2014_retina50.npz"
SMALL = {"multiinfo": {"groups": 6}, "heat": {"steps": 11, "sweeps": 60, "chains": 8},
         "spectrum": {"min_area_units": 16},
         "maxent": {"updates": 20, "ais_betas": 100, "device": "cpu"},
         "ei": {"frames": 600, "n_hidden": 4, "updates": 40, "batch": 200, "device": "cpu"}}
# modest settings: each tab runs in a second or two


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """The synthetic recording (3 areas x 16 units, 100 ms bins), its ground-truth RBM's file and 900 frames
    generated from that RBM in 3 chains (a generated raster as the Generate dock leaves it)."""
    session, raster, path = recording_and_model(tmp_path_factory.mktemp("model"))
    run = drain(iter_generate(load_model(path).rbm, 900, chains=3, init="random", seed=1))
    return session, raster, path, model_raster(run.frames, run.segment_starts, raster, "generated")


def open_dock(viewer, recording, *, model: bool = True, generated: bool = True) -> AnalysesWidget:
    """The viewer holding the recording (and the model and generated activity), with the dock added as the
    Plugins menu adds it."""
    session, raster, path, gen = recording
    add_raster_layers(viewer, raster, session=session)
    state = get_state(viewer)
    state.model = load_model(path) if model else None
    state.generated = gen if generated else None
    return viewer.window.add_plugin_dock_widget("napari-neurorbm", "Analyses")[1]


def run_tab(qtbot, tab, settings: dict | None = None):
    """Fill in ``settings``, click Run and wait for the result; returns it."""
    fill(tab, settings or {})
    with qtbot.waitSignal(tab.shown, timeout=WAIT) as blocker:
        qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.worker is None, timeout=WAIT)
    return blocker.args[0]


def fill(tab, settings: dict) -> None:
    """Set the tab's fields: its config's, or those of its other form (the E/I tab's training settings)."""
    for field, value in settings.items():
        form = tab.form if field in {i.name for i in tab.form.infos} else tab.train
        getattr(form, field).value = value


def legend_texts(tab) -> list[str]:
    return [label.text for _, label in tab.legend.items]


def run_every_tab(viewer, qtbot, dock, settings: dict, tag: str, screenshot_dir, export_to=None) -> dict:
    """Run each tab that has its inputs in turn (with ``settings`` per tab; exported into the folder
    ``export_to``, if given) and screenshot the window with each tab (its result, or what it needs) at
    1920 x 1080 and 1366 x 768 (analyses_<tag>_<size>_<tab>.png); the results by tab."""
    viewer.window._qt_window.resize(*SCREENS[0])
    results = {}
    for i, tab in enumerate(dock.by_name.values()):
        dock.tabs.setCurrentIndex(i)
        if not tab.needs.isHidden():  # an input the recording lacks (E/I classes): the tab says so
            continue
        results[tab.name] = run_tab(qtbot, tab, settings.get(tab.name))
        assert tab.export_button.isEnabled() and tab.message.text() == "Done."
        if export_to is not None:  # its message names the folder: a few lines in a narrow dock
            assert tab.export(export_to / f"{tab.name}.csv")
    for width, height in SCREENS:
        viewer.window._qt_window.resize(width, height)
        for i, tab in enumerate(dock.by_name.values()):
            dock.tabs.setCurrentIndex(i)
            check_and_shoot(viewer, qtbot, dock, screenshot_dir, (width, height),
                            f"analyses_{tag}_{width}x{height}_{tab.name}")
    return results


def shoot_every_size(viewer, qtbot, dock, screenshot_dir, stem: str) -> None:
    """The window at each of SCREENS with the tab shown: it fits (:func:`assert_fits`) and its screenshot is
    saved as <stem>_<width>x<height>.png."""
    for width, height in SCREENS:
        viewer.window._qt_window.resize(width, height)
        check_and_shoot(viewer, qtbot, dock, screenshot_dir, (width, height), f"{stem}_{width}x{height}")


def check_and_shoot(viewer, qtbot, dock, screenshot_dir, size: tuple[int, int], name: str) -> None:
    """Let the window settle, check that it and the dock fit the screen ``size`` and save its screenshot
    ``name``."""
    qtbot.wait(100)
    assert_fits(viewer, dock, size)
    save_viewer_screenshot(viewer, screenshot_dir, name)


def assert_fits(viewer, dock: AnalysesWidget, size: tuple[int, int]) -> None:
    """The window within the screen, the dock's body not cut sideways, its tabs' labels all shown."""
    frame = viewer.window._qt_window.frameGeometry()
    assert frame.width() <= size[0] and frame.height() <= size[1]
    assert dock.body.minimumSizeHint().width() <= dock.findChild(QScrollArea).viewport().width()
    bar = dock.tabs.tabBar()
    assert bar.tabRect(bar.count() - 1).right() <= bar.width()
    tab = dock.tabs.currentWidget()  # message, figure and numbers one below the other, each label whole
    boxes = [part.geometry() for part in (tab.message, tab.view, tab.summary)]
    assert all(a.bottom() < b.top() for a, b in itertools.pairwise(boxes)), boxes
    assert all(label.height() >= text_height(label) for label in (tab.message, tab.summary))
    assert tab.result is None or all(text_height(label) > 0 for label in (tab.message, tab.summary))


def test_every_tab_draws_its_curves_and_numbers(make_napari_viewer, qtbot, recording, screenshot_dir,
                                                tmp_path):
    viewer = make_napari_viewer(show=True)
    dock = open_dock(viewer, recording)
    show_dock(qtbot, dock)
    _, raster, _, gen = recording
    assert [dock.tabs.tabText(i) for i in range(dock.tabs.count())] == [t.label for t in TABS]
    export_to = tmp_path / "a folder with a long name, so that the export message wraps"
    export_to.mkdir()
    results = run_every_tab(viewer, qtbot, dock, SMALL, "synthetic", screenshot_dir, export_to)
    assert list(results) == [t.name for t in dock.by_name.values()]  # every input is there

    spectra = results["spectrum"]  # recording, controls, generated, the three 16-unit areas
    assert list(spectra) == ["recording", "time_shuffled", "independent", "generated", "area:VISal",
                             "area:VISl", "area:VISp"]
    for name, source in (("recording", raster), ("generated", gen)):
        direct = spectrum_of(activity(source), 1, source.segment_starts)  # 100 ms blocks: 1 frame
        np.testing.assert_allclose(spectra[name].variance, direct.variance)
    spectrum = dock.tab("spectrum")
    assert len(spectrum.plot.listDataItems()) == 8  # four spectra and their fitted power laws
    texts = legend_texts(spectrum)
    assert texts[0] == f"recording: α = {alpha_text(spectra['recording'].alpha)}" and len(texts) == 4
    assert {t.split(":")[0] for t in texts} == {"recording", "generated", "independent neurons",
                                                "time-shuffled"}
    assert "Areas: " in spectrum.summary.text() and "VISp" in spectrum.summary.text()

    dmd = dock.tab("dmd")
    assert set(results["dmd"]) == {"recording", "generated"}
    assert len(results["dmd"]["recording"].eigenvalues) == 20
    assert [t.split(":")[0] for t in legend_texts(dmd)] == ["recording", "generated"]
    assert "% of 20 eigenvalues real" in dmd.summary.text()

    info = results["multiinfo"]
    data_only = drain(iter_multiinfo(raster, MultiInfoConfig(groups=6), None))
    np.testing.assert_allclose(info.i2_over_in, data_only.i2_over_in)  # the same groups, the same ratios
    assert info.model_over_in is not None
    texts = legend_texts(dock.tab("multiinfo"))
    assert texts[0] == f"pairwise I2/IN: {np.mean(info.i2_over_in):.2f} ± {np.std(info.i2_over_in):.2f}"
    assert texts[1].startswith("RBM I_RBM/IN: ")
    assert f"I2/IN = {np.mean(info.i2_over_in):.3f}" in dock.tab("multiinfo").summary.text()

    curve = results["heat"].curve
    heat = dock.tab("heat")
    assert len(curve.T) == 11 and curve.method == "monte carlo" and np.all(curve.C > 0)
    assert legend_texts(heat)[1] == f"peak: T = {curve.peak_T:.2f}, C = {curve.C.max():.3f}"
    assert f"peaks at T = {curve.peak_T:.2f}" in heat.summary.text()


def test_heat_with_subsets_draws_a_curve_per_size_and_exports_them(make_napari_viewer, qtbot, recording,
                                                                   tmp_path):
    viewer = make_napari_viewer()
    tab = open_dock(viewer, recording).tab("heat")
    result = run_tab(qtbot, tab, SMALL["heat"] | {"subsets": "3, 5", "subset_draws": 2})
    assert result.subsets.sizes == [3, 5]
    texts = legend_texts(tab)
    assert texts[2:] == ["pairwise, N = 3 (mean of 2)", "pairwise, N = 5 (mean of 2)"]
    assert len(tab.plot.listDataItems()) == 4 and "peak T by N: 3: " in tab.summary.text()
    table = pd.read_csv(tab.export(tmp_path / "heat.csv")[0])
    assert list(table.columns) == ["N", "draw", "units", "T", "C", "C_stderr"]
    assert len(table) == 11 * (1 + 2 * 2)
    model = table["units"] == "RBM"
    assert model.sum() == 11 and (table["C_stderr"][model] > 0).all()  # the RBM's is Monte Carlo
    assert table["C_stderr"][~model].isna().all()  # the subsets' by enumeration


def stop_midway(qtbot, tab, under_way=None) -> None:
    """Run the tab, click Stop once ``under_way()`` holds (by default: its progress moved), and check that the
    job ended and kept nothing: no result, no export, an empty plot."""
    qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    assert tab.run_button.text() == "Stop"
    qtbot.waitUntil(under_way or (lambda: tab.progress.value() > 0), timeout=WAIT)
    qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.worker is None, timeout=WAIT)
    assert tab.run_button.text() == "Run" and tab.message.text() == "Stopped."
    assert tab.result is None and not tab.export_button.isEnabled() and not tab.plot.listDataItems()


def test_stop_ends_the_job_and_keeps_nothing(make_napari_viewer, qtbot, recording):
    viewer = make_napari_viewer()
    tab = open_dock(viewer, recording).tab("heat")
    tab.form.sweeps.value = 1_000_000
    stop_midway(qtbot, tab)


def test_a_missing_input_is_one_line(make_napari_viewer, qtbot, recording, notifications):
    viewer = make_napari_viewer()
    dock = AnalysesWidget(viewer)
    viewer.window.add_dock_widget(dock, name="Analyses")
    for tab in dock.by_name.values():
        need = tab.needs.text()
        assert need.startswith("Needs a ") and "\n" not in need and not tab.needs.isHidden()
        with qtbot.waitSignal(tab.failed, timeout=WAIT) as blocker:
            qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
        assert blocker.args[0] == need and tab.worker is None
    assert "recording" in dock.tab("spectrum").needs.text() and "model" in dock.tab("heat").needs.text()
    assert any(str(n.message) == dock.tab("heat").needs.text() for n in notifications)
    session, raster, _, _ = recording
    add_raster_layers(viewer, raster, session=session)  # the recording arrives: its tabs can run
    assert dock.tab("spectrum").needs.isHidden() and not dock.tab("heat").needs.isHidden()


def test_export_writes_the_curves_and_the_figure(make_napari_viewer, qtbot, recording, tmp_path,
                                                  atomic_writes):
    viewer = make_napari_viewer()
    tab = open_dock(viewer, recording, generated=False).tab("spectrum")
    with qtbot.waitSignal(tab.failed, timeout=WAIT) as blocker:
        assert tab.export(tmp_path / "early.csv") == []
    assert "run the pc spectrum before exporting it" in blocker.args[0]
    spectra = run_tab(qtbot, tab)
    assert "generated" not in spectra and len(legend_texts(tab)) == 3
    csv, png = tab.export(tmp_path / "spectrum")
    assert csv.name == "spectrum.csv" and png.name == "spectrum.png" and png.stat().st_size > 1000
    assert atomic_writes == [csv, png] and not QImage(str(png)).isNull()  # both written whole, the PNG reads
    pd.testing.assert_frame_equal(pd.read_csv(csv), spectra_table(spectra), check_dtype=False)
    assert "Wrote spectrum.csv and spectrum.png" in tab.message.text()
    with qtbot.waitSignal(tab.failed, timeout=WAIT) as blocker:
        assert tab.export(tmp_path / "no" / "such" / "folder.csv") == []
    assert blocker.args[0].startswith("cannot write") and "\n" not in blocker.args[0]


def test_a_new_input_clears_the_result_of_the_old(make_napari_viewer, qtbot, recording):
    viewer = make_napari_viewer()
    dock = open_dock(viewer, recording)
    dmd = dock.tab("dmd")
    run_tab(qtbot, dmd, {"pcs": 5})
    assert dmd.plot.listDataItems()
    get_state(viewer).generated = None  # the generated activity is gone: the figure of it goes too
    assert dmd.result is None and not dmd.plot.listDataItems() and not dmd.export_button.isEnabled()
    assert dmd.summary.text() == "" and dmd.needs.isHidden()
    get_state(viewer).model = None
    assert not dock.tab("heat").needs.isHidden() and dock.tab("multiinfo").needs.isHidden()


@pytest.mark.real
def test_a_real_recording_in_every_tab(make_napari_viewer, qtbot, real_data, tmp_path, screenshot_dir):
    """The salamander retina (50 cells, 20 ms bins), an RBM of 16 hidden units fitted in 1500 updates and
    activity generated from it: the screenshots of docs/analyses.md (analyses_retina_*.png)."""
    raster = binarize(open_source(real_data / RETINA), BinningParams(bin_ms=None))
    config = TrainConfig(n_hidden=16, k=2, batch=500, chains=500, lr=0.05, updates=1500, eval_every=0,
                         checkpoints=0, ptt_sweeps=0, device="cpu", optimizer="adam")
    model = load_model(drain(iter_train(raster, config)).save(tmp_path / "retina.npz"))
    run = drain(iter_generate(model.rbm, 20_000, chains=10, init="data", data=raster.frames("train")))
    viewer = make_napari_viewer(show=True)
    add_raster_layers(viewer, raster)
    state = get_state(viewer)
    state.model, state.generated = model, model_raster(run.frames, run.segment_starts, raster, "generated")
    dock = viewer.window.add_plugin_dock_widget("napari-neurorbm", "Analyses")[1]
    show_dock(qtbot, dock)
    settings = {"multiinfo": {"groups": 20}, "maxent": {"ais_betas": 500}}
    results = run_every_tab(viewer, qtbot, dock, settings, "retina", screenshot_dir)
    assert "ei" not in results and "no unit has a spike waveform width" in dock.tab("ei").needs.text()
    alpha = results["spectrum"]["recording"].alpha
    info = results["multiinfo"].summary()
    curve = results["heat"].curve
    print(f"retina: alpha {alpha:.3f}, I2/IN {info['i2_over_in']:.3f} (sd {info['i2_over_in_sd']:.3f}), "
          f"RBM {info['model_over_in']:.3f}, C(T) peak at T = {curve.peak_T:.2f}, "
          f"DMD real {results['dmd']['recording'].real_fraction:.2f}")
    maxent = results["maxent"].summary()
    print(f"retina max-ent: test LL independent {maxent['independent_test_ll']:.4f}, pairwise "
          f"{maxent['pairwise_test_ll']:.4f}, RBM {maxent['rbm_test_ll']:.4f}, share "
          f"{maxent['share_of_rbm_gain']:.2f}, covariances r {maxent['pair_covariance_r']:.3f} slope "
          f"{maxent['pair_covariance_slope']:.2f}")
    assert maxent["pairwise_test_ll"] > maxent["independent_test_ll"]
    assert 0.5 < alpha < 1.5 and 0.7 < info["i2_over_in"] < 1.1  # published: about 0.9
    assert 0.5 < curve.peak_T < 2
