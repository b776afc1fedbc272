"""The main job: the headless pipeline writes every product, and the napari demo docks every widget."""

from __future__ import annotations

import json

import numpy as np

from conftest import save_viewer_screenshot
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.cli import main
from napari_neurorbm.cli.demo import WIDGETS, show_demo
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.pipeline import DemoConfig, run_pipeline
from napari_neurorbm.rbm.io import load_model

TINY = DemoConfig(
    n_areas=3,
    units_per_area=12,
    duration_s=120.0,
    n_hidden=6,
    updates=60,
    eval_every=20,
    report_frames=2000,
)


def test_headless_pipeline_writes_every_product(tmp_path) -> None:
    summary = run_pipeline(tmp_path, TINY)
    for name in (
        "raster.npz",
        "model.npz",
        "couplings.npz",
        "area_couplings.csv",
        "summary.json",
        "report/index.html",
        "report/fig3.png",
        "report/fig6.png",
    ):
        assert (tmp_path / name).is_file(), name
    raster, model = read_raster(tmp_path / "raster.npz"), load_model(tmp_path / "model.npz")
    assert raster.n_units == model.rbm.n_visible == 36 and raster.n_frames == 6000
    assert list(model.areas) == list(raster.areas)
    with np.load(tmp_path / "couplings.npz") as c:
        assert c["J"].shape == (36, 36) and np.allclose(c["J"], c["J"].T) and len(c["area_names"]) == 3
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert summary["updates"] == 60 and np.isfinite(summary["test_loglik"])
    # the ground truth is the best model there is: the trained one is compared with it
    truth, indep = summary["ground_truth_test_loglik"], summary["independent_test_loglik"]
    assert truth > indep and summary["below_ground_truth"] == truth - summary["test_loglik"]


def test_demo_command_without_display_runs_headless(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("napari_neurorbm.cli.demo.DEMO", TINY)
    assert main(["demo", "--out", str(tmp_path / "out"), "--updates", "40"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["units"] == 36 and summary["updates"] == 40
    assert (tmp_path / "out" / "report" / "index.html").is_file()


def test_demo_viewer_has_the_session_and_every_widget(make_napari_viewer, qtbot, screenshot_dir) -> None:
    viewer = make_napari_viewer(show=True)
    show_demo(viewer)
    docked = set(viewer.window.dock_widgets)
    for widget in WIDGETS:
        assert any(widget in name for name in docked), (widget, docked)
    assert get_state(viewer).raster is not None and get_state(viewer).raster.n_units == 200
    assert any(layer.name.startswith("binarized") for layer in viewer.layers)
    viewer.window.resize(1600, 1000)
    qtbot.wait(100)
    save_viewer_screenshot(viewer, screenshot_dir, "demo_viewer")
