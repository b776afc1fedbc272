"""`neurorbm report SWEEP_DIR`: the Fig. 2 figure (curves, stars, best test LL against N_h), selection.json
and index.html of a hand-written sweep folder with a known choice; bad input as one line, exit status 2."""

from __future__ import annotations

import json

import pytest

from napari_neurorbm.cli import main
from napari_neurorbm.sweep.selection import read_selection
from napari_neurorbm.sweep.selection_report import fig2
from sweep_factory import hand_written_sweep
from test_sweep_selection import FIG2


@pytest.fixture
def sweep(tmp_path):
    raster = tmp_path / "rec.npz"
    raster.write_bytes(b"")
    return hand_written_sweep(tmp_path / "sweep", raster, FIG2)


def test_the_figure_has_every_curve_star_and_size(sweep) -> None:
    curves_ax, sizes_ax = fig2(read_selection(sweep)).axes
    styles = [line.get_linestyle() for line in curves_ax.lines]
    assert styles.count("--") == 6 and styles.count("-") == 6  # train and test of each run
    stars = [line for line in curves_ax.lines if line.get_marker() == "*"]
    assert sorted((float(s.get_xdata()[0]), float(s.get_ydata()[0])) for s in stars)[:2] == [(10, -5.4),
                                                                                               (20, -5.3)]
    assert len(stars) == 6
    assert len({line.get_color() for line in curves_ax.lines if line.get_linestyle() == "-"}) == 3  # by N_h
    assert [t.get_text() for t in curves_ax.get_legend().get_texts()][:3] == ["N_h = 2", "N_h = 4", "N_h = 8"]
    assert curves_ax.get_xscale() == "log"
    assert len(sizes_ax.containers) == 3  # one error bar per N_h
    assert "chosen: N_h = 4" in [t.get_text() for t in sizes_ax.get_legend().get_texts()]


def test_cli_writes_the_sweep_report(sweep, tmp_path, capsys) -> None:
    out = tmp_path / "report"
    assert main(["report", str(sweep.path), "--out", str(out)]) == 0
    assert f"wrote {out / 'index.html'}" in capsys.readouterr().out
    assert (out / "fig2.png").stat().st_size > 10_000
    summary = json.loads((out / "selection.json").read_text())
    assert [c["n_hidden"] for c in summary["chosen"]] == [4]
    assert summary["counts"]["done"] == 6 and len(summary["runs"]) == 6 and len(summary["sizes"]) == 3
    page = (out / "index.html").read_text()
    assert "N_h = 8 overfit" in page and 'src="fig2.png"' in page and page.count("<tr") == 1 + 3 + 1 + 6
    assert main(["report", str(sweep.path), "--out", str(out), "--overfit", "1"]) == 0
    assert [c["n_hidden"] for c in json.loads((out / "selection.json").read_text())["chosen"]] == [8]


@pytest.mark.parametrize("args, message", [
    (["{sweep}", "{sweep}/rec.npz"], "is a sweep folder: its runs name their rasters"),
    (["{sweep}", "--overfit", "0"], "--overfit must be positive"),
    (["{tmp}"], "not a sweep folder (no sweep.json)"),
    (["{tmp}/model.npz"], "give the raster the model was trained on"),
])
def test_bad_input_is_one_line(sweep, tmp_path, capsys, args, message) -> None:
    args = [a.format(sweep=sweep.path, tmp=tmp_path) for a in args]
    assert main(["report", *args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_a_sweep_without_model_files_has_nothing_to_report(sweep, tmp_path, capsys) -> None:
    for f in (sweep.path / "runs").iterdir():
        f.unlink()
    assert main(["report", str(sweep.path), "--out", str(tmp_path / "out")]) == 2
    assert "no run has written its model file yet" in capsys.readouterr().err
