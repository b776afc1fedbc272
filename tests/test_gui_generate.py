"""The "Generate" dock in a real viewer: a small synthetic recording and its ground-truth RBM as the model;
click Generate, wait for the worker, check the side-by-side rasters (same rows, strip, colormap and
contrast, linked), the shared state and the statistics panel; Stop, closing the viewer, and bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from qtpy.QtCore import Qt

from conftest import save_viewer_screenshot, save_widget_grab
from napari_neurorbm._qt.generate_widget import GenerateWidget
from napari_neurorbm._qt.raster_layers import KEY, add_raster_layers, layers_of
from napari_neurorbm._qt.raster_titles import TITLES
from napari_neurorbm._qt.state import get_state
from napari_neurorbm._qt.stats_plots import StatsPanel
from napari_neurorbm.rbm.io import ModelFile, load_model
from napari_neurorbm.rbm.model import RBM
from synthetic_model import one_torch_thread, recording_and_model  # noqa: F401 (a fixture)

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """The synthetic recording (3 areas x 16 units, 100 ms bins) and its ground-truth RBM's file."""
    return recording_and_model(tmp_path_factory.mktemp("model"))


@pytest.fixture
def dock(make_napari_viewer, recording):
    """A shown viewer holding the recording's layers and the model, with the Generate dock."""
    session, raster, path = recording
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1500, 1000)
    add_raster_layers(viewer, raster, session=session)
    state = get_state(viewer)
    state.model = load_model(path)
    widget = GenerateWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Generate", area="right")
    return viewer, widget


def full(layer) -> np.ndarray:
    """The full-resolution data of a (possibly multiscale) image layer."""
    return np.asarray(layer.data[0] if layer.multiscale else layer.data)


def click_generate(qtbot, widget: GenerateWidget, timeout: int = 60_000):
    with qtbot.waitSignal(widget.generated, timeout=timeout) as blocker:
        qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=timeout)
    return blocker.args[0]


def test_generate_shows_rasters_side_by_side_and_statistics(dock, qtbot, recording, screenshot_dir):
    viewer, widget = dock
    _, raster, _ = recording
    state = get_state(viewer)
    assert widget.form.frames.value == raster.test_frames.size  # default: as many frames as the test set
    widget.form.frames.value = 800
    widget.form.chains.value = 4
    assert widget.form.tau.value == ""  # tau auto: calibrated to the recording
    gen = click_generate(qtbot, widget)
    assert state.generated is gen and gen.counts.shape == (raster.n_units, 800)
    assert "(auto)" in widget.message.text() and "ms recorded" in widget.message.text()
    assert np.array_equal(gen.unit_ids, raster.unit_ids) and np.array_equal(gen.areas, raster.areas)
    assert set(np.unique(gen.counts)) <= {0, 1} and list(gen.segment_starts) == [0, 200, 400, 600]

    data, test, model = (layers_of(viewer, role=r, kind="binary")[0] for r in ("data", "test", "generated"))
    assert np.array_equal(full(test), raster.binary[:, raster.test_frames])
    assert np.array_equal(full(model), gen.counts)
    # same rows, left to right without overlap, same column width
    assert data.scale[0] == test.scale[0] == model.scale[0]
    assert data.translate[0] == test.translate[0] == model.translate[0]
    right_of_data = data.translate[1] + data.scale[1] * raster.n_frames
    assert test.translate[1] > right_of_data
    assert model.translate[1] > test.translate[1] + test.scale[1] * full(test).shape[1]
    assert test.scale[1] == model.scale[1] == data.scale[1]
    # the same look: colormap and contrast, each with its area strip, and linked display settings
    for layer in (test, model):
        assert layer.colormap.name == data.colormap.name and list(layer.contrast_limits) == [0, 1]
    for role in ("test", "generated"):
        strip = layers_of(viewer, role=role, kind="areas")[0]
        assert list(strip.features["area"][: raster.n_units]) == list(raster.areas)
    data.contrast_limits = (0, 0.5)
    data.colormap = "viridis"
    assert list(model.contrast_limits) == [0, 0.5] and model.colormap.name == "viridis"
    assert list(test.contrast_limits) == [0, 0.5]
    test_counts, data_counts = (layers_of(viewer, role=r, kind="counts")[0] for r in ("test", "data"))
    assert list(test_counts.contrast_limits) == list(data_counts.contrast_limits)
    assert not layers_of(viewer, role="generated", kind="counts")  # a model's raster is 0/1 only
    titles = list(viewer.layers[TITLES].features["title"])
    assert titles == ["recording · synthetic", "test frames", "generated"]
    data.contrast_limits = (0, 1)
    data.colormap = "gray"

    panels = [w for w in viewer.window.dock_widgets.values() if isinstance(w, StatsPanel)]
    assert len(panels) == 1
    panel = panels[0]
    rep = panel.report
    assert rep is not None and rep.n_samples == min(raster.train_frames.size, raster.test_frames.size, 800)
    fits = rep.fits
    assert fits["means"]["generated"].r > 0.9  # the true model reproduces the firing probabilities
    assert fits["pairs"]["test"].r > 0.4 and fits["pairs"]["generated"].r > 0.4  # and the correlations,
    assert abs(fits["pairs"]["independent"].r) < 0.2  # which independent neurons miss
    assert "recording" in rep.temporal  # contiguous 20 ms frames: statistics in time are compared
    for name, plot in panel.plots.items():
        assert plot.listDataItems(), f"plot {name} is empty"
    assert len(panel.pca.listDataItems()) == 3 and panel.pca_top.listDataItems()
    legend = [label.text for _, label in panel.plots["pairs"].legend.items]
    assert any(t.startswith("generated: m=") for t in legend)
    assert "frames per set" in panel.summary.text() and "r =" in widget.message.text()

    panel.parentWidget().setMinimumHeight(380)
    qtbot.wait(100)
    save_viewer_screenshot(viewer, screenshot_dir, "generate_side_by_side")
    assert panel.table.item(1, 1).text().startswith("r = ")
    for i, name in enumerate(("overview", "moments", "activity", "in_time")):
        panel.tabs.setCurrentIndex(i)
        panel.resize(1400, 420)
        qtbot.wait(50)
        save_widget_grab(panel, screenshot_dir, f"generate_stats_{name}")


def test_regenerating_replaces_the_model_raster(dock, qtbot):
    viewer, widget = dock
    widget.form.frames.value = 300
    widget.form.chains.value = 3
    widget.form.init.value = "random"
    first = click_generate(qtbot, widget)
    widget.form.frames.value = 500
    second = click_generate(qtbot, widget)
    assert first is not second and get_state(viewer).generated is second
    (model,) = layers_of(viewer, role="generated", kind="binary")
    assert full(model).shape == (second.n_units, 500) and model.metadata[KEY]["raster"] is second
    assert len(layers_of(viewer, role="test", kind="binary")) == 1
    get_state(viewer).raster = dataclasses.replace(get_state(viewer).raster)  # another recording
    assert get_state(viewer).generated is None and not layers_of(viewer, role="generated")
    assert not layers_of(viewer, role="test")


def test_stop_leaves_nothing_half_done(dock, qtbot):
    viewer, widget = dock
    widget.form.frames.value = 200_000  # progress every 1000 frames per chain, far from the end
    widget.form.chains.value = 2
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    assert widget.generate_button.text() == "Stop"
    qtbot.waitUntil(lambda: widget.progress.value() > 0, timeout=30_000)
    qtbot.mouseClick(widget.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=30_000)
    assert widget.generate_button.text() == "Generate" and "Stopped" in widget.message.text()
    assert get_state(viewer).generated is None and not layers_of(viewer, role="generated")


def test_closing_the_viewer_stops_the_worker(make_napari_viewer, recording, qtbot):
    session, raster, path = recording
    viewer = make_napari_viewer(show=True)
    add_raster_layers(viewer, raster, session=session)
    get_state(viewer).model = load_model(path)
    widget = GenerateWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Generate")
    widget.form.frames.value = 200_000
    widget.form.chains.value = 2
    widget.generate()
    worker = widget.worker
    finished = []
    worker.finished.connect(lambda: finished.append(True))
    qtbot.waitUntil(lambda: worker.is_running, timeout=10_000)
    viewer.close()
    qtbot.waitUntil(lambda: bool(finished), timeout=30_000)
    assert worker.abort_requested


def test_bad_input_is_a_one_line_notification(make_napari_viewer, recording, notifications, qtbot):
    session, raster, _ = recording
    viewer = make_napari_viewer()
    add_raster_layers(viewer, raster, session=session)
    widget = GenerateWidget(viewer)
    assert "No model" in widget.model_label.text()
    with qtbot.waitSignal(widget.failed, timeout=10_000) as blocker:
        widget.generate()  # no model yet
    assert "model" in blocker.args[0]
    wrong = RBM.from_numpy(np.zeros((5, 3), np.float32), np.zeros(5, np.float32), np.zeros(3, np.float32))
    get_state(viewer).model = ModelFile(wrong)
    assert "5 visible" in widget.model_label.text()
    with qtbot.waitSignal(widget.failed, timeout=10_000) as blocker:
        widget.generate()
    assert "5 visible units" in blocker.args[0] and "\n" not in blocker.args[0]
    qtbot.waitUntil(lambda: widget.worker is None)
    assert any("5 visible units" in str(n.message) for n in notifications)
    assert not layers_of(viewer, role="generated")
