"""The whole plugin on a real recording (Tkačik 2014 retina, 50 cells), clicked through in one napari viewer
as a neuroscientist would: Load & binarize, Train RBM, Generate, Clamp, Couplings; every result the GUI shows
equals what the ``neurorbm`` command line computes with the same settings and seed."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt

from conftest import save_viewer_screenshot
from napari_neurorbm._qt.raster_layers import layers_of
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.cli import main
from napari_neurorbm.data.raster import read_raster
from synthetic_model import one_torch_thread  # noqa: F401 (a fixture)

pytestmark = pytest.mark.gui
RETINA = "tkacik2014_retina50.npz"
WAIT = 60_000  # ms: generous for a shared 2-core machine
TRAIN = {"n_hidden": 8, "k": 5, "batch": 500, "chains": 500, "updates": 150, "eval_every": 50, "seed": 0}
FRAMES, TAU, CHAINS = 600, 5, 4  # Generate
CLAMPED, ONSET, CLAMP_FRAMES = (3, 17), 20, 400  # Clamp (raster rows)


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def click_and_wait(qtbot, widget, button, signal):
    """Click ``button``, wait for ``signal`` and for the widget's worker to end; return the signal's first
    argument."""
    with qtbot.waitSignal(signal, timeout=WAIT) as blocker:
        click(qtbot, button)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=WAIT)
    return blocker.args[0]


def dock(viewer, name: str):
    """Open a widget from the plugin manifest, as from napari's Plugins menu."""
    return viewer.window.add_plugin_dock_widget("napari-neurorbm", name, tabify=True)[1]


def load(qtbot, viewer, path):
    widget = dock(viewer, "Load & binarize")
    widget.set_source(path)
    widget.form.bin_ms.value = ""  # the file's native 20 ms bins
    widget.form.keep_every.value = 10  # 28k of the 283k frames: fast, and frames 200 ms apart
    return click_and_wait(qtbot, widget, widget.load_button, widget.loaded)


def train(qtbot, viewer):
    widget = dock(viewer, "Train RBM")
    for name, value in TRAIN.items():
        widget.form[name].value = value
    widget.form.optimizer.value = "adam"
    widget.form.lr.value = "0.01"
    widget.form.device.value = "cpu"
    with qtbot.waitSignal(widget.stopped, timeout=WAIT):
        click(qtbot, widget.train_button)
    assert widget.worker is None
    return widget


def same_sampling(widget) -> None:
    """The Clamp dock's sampling settings that the CLI calls below repeat: tau, chains, start, seed, cpu."""
    widget.form.tau.value = TAU
    widget.form.chains.value = CHAINS
    widget.form.init.value = "data"  # training frames
    widget.form.seed.value = 0
    widget.form.device.value = "cpu"


def generate(qtbot, viewer):
    widget = dock(viewer, "Generate")
    for name, value in {"frames": FRAMES, "tau": TAU, "chains": CHAINS, "init": "data", "seed": 0,
                        "device": "cpu"}.items():  # the sampling settings that the CLI calls below repeat
        widget.form[name].value = value
    return widget, click_and_wait(qtbot, widget, widget.generate_button, widget.generated)


def clamp(qtbot, viewer):
    widget = dock(viewer, "Clamp")
    widget.id_kind.setCurrentText("rows")
    widget.ids_edit.setText(", ".join(map(str, CLAMPED)))
    click(qtbot, widget.ids_button)
    widget.value.setCurrentText("1 (make them fire)")
    widget.form.onset.value = ONSET
    widget.form.frames.value = CLAMP_FRAMES
    same_sampling(widget)
    return widget, click_and_wait(qtbot, widget, widget.run_button, widget.shown)


def couplings(qtbot, viewer):
    widget = dock(viewer, "Couplings")
    click(qtbot, widget.compute_button)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=WAIT)
    return widget


def cli(*args) -> None:
    assert main([str(a) for a in args]) == 0


def test_retina_through_every_widget_equals_the_cli(make_napari_viewer, qtbot, real_data, tmp_path,
                                                    screenshot_dir):
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1600, 1000)
    state = get_state(viewer)

    # 1. Load & binarize: 50 cells, native bins, every 10th frame
    raster = load(qtbot, viewer, real_data / RETINA)
    assert state.raster is raster and raster.n_units == 50 and raster.bin_s == pytest.approx(0.02)
    assert len(raster.segment_starts) == 297 and layers_of(viewer, kind="binary")
    assert raster.n_frames == 297 * 96  # each 953-frame repeat of the movie keeps frames 0, 10, ..., 950

    # 2. Train RBM: the model beats independent neurons on held-out frames (the retina is correlated)
    train_widget = train(qtbot, viewer)
    trainer = train_widget.trainer
    assert trainer.update == TRAIN["updates"] and state.model is not None
    assert state.model.rbm.n_visible == 50 and state.model.rbm.n_hidden == 8
    assert trainer.best.test_ll > trainer.independent_test_ll + 0.1  # nats per frame (0.44 here)
    model_path = train_widget.save_model_file(tmp_path / "model.npz")
    raster_path = raster.save(tmp_path / "raster.npz")
    assert model_path == tmp_path / "model.npz"

    # 3. Generate, and the same run from the command line: frame for frame the same raster
    gen_widget, gen = generate(qtbot, viewer)
    assert state.generated is gen and gen.counts.shape == (50, FRAMES)
    assert np.array_equal(gen.unit_ids, raster.unit_ids)
    cli("sample", model_path, "--frames", FRAMES, "--tau", TAU, "--chains", CHAINS, "--init", "data",
        "--data", raster_path, "--seed", 0, "--device", "cpu", "--out", tmp_path / "gen.npz")
    from_cli = read_raster(tmp_path / "gen.npz")
    assert np.array_equal(from_cli.counts, gen.counts)
    assert np.array_equal(from_cli.segment_starts, gen.segment_starts)
    fits = gen_widget.stats.report.fits
    assert fits["pairs"]["generated"].r > fits["pairs"]["independent"].r

    # 4. Clamp two cells at 1: they fire in every frame after the onset; the CLI experiment agrees
    _, result = clamp(qtbot, viewer)
    assert state.selected_units == CLAMPED and result.is_clamped[list(CLAMPED)].all()
    per_chain = CLAMP_FRAMES // CHAINS
    frames = result.clamped.frames
    for start in range(0, CLAMP_FRAMES, per_chain):
        assert frames[start + ONSET : start + per_chain, list(CLAMPED)].all()
    assert not result.control.frames[:, list(CLAMPED)].all()
    assert result.delta.shape == (50,) and np.all(np.isfinite(result.delta[~result.is_clamped]))
    cli("sample", model_path, "--frames", CLAMP_FRAMES, "--tau", TAU, "--chains", CHAINS, "--init", "data",
        "--data", raster_path, "--seed", 0, "--device", "cpu",
        "--clamp", f"{CLAMPED[0]},{CLAMPED[1]}=1", "--clamp-onset", ONSET,
        "--experiment", tmp_path / "clamp", "--out", tmp_path / "clamped.npz")
    assert np.array_equal(read_raster(tmp_path / "clamp" / "clamped.npz").counts, frames.T)
    assert np.array_equal(read_raster(tmp_path / "clamp" / "control.npz").counts, result.control.frames.T)
    with np.load(tmp_path / "clamp" / "clamp_experiment.npz") as f:
        np.testing.assert_allclose(f["delta"], result.delta)

    # 5. Couplings: J of the GUI equals J of `neurorbm couplings`
    couplings(qtbot, viewer)
    assert state.couplings is not None and state.couplings.J.shape == (50, 50)
    cli("couplings", model_path, "--out", tmp_path / "c.npz")
    with np.load(tmp_path / "c.npz") as f:
        np.testing.assert_allclose(state.couplings.J, f["J"], rtol=1e-12, atol=1e-15)

    qtbot.wait(300)  # let the docks and plots lay out
    save_viewer_screenshot(viewer, screenshot_dir, "end_to_end_retina")
