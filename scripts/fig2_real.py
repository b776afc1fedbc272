"""The paper's Fig. 2 on a real recording: binarize it, sweep N_h and seeds on the local Dask cluster, write
the sweep's report, and (with --screenshot) open the sweep in napari's Model selection dock, pick the chosen
N_h's first run and save a screenshot of the window. Prints how long each step took.

    .venv/bin/python scripts/fig2_real.py --out fig2-real
    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/fig2_real.py --out fig2-real --screenshot

Rerunning with the same --out continues an unfinished sweep (finished runs are kept).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from napari_neurorbm.cli import main as neurorbm

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
RECORDING = "steinmetz2019_hench_2017-06-15.npz"  # 1157 units, 10 ms bins, 10000 frames
# Cheaper updates (a quarter of the paper's minibatch and chains, k = 5) and more, cheaper evaluations than
# the defaults, so that a run of a couple of minutes on a busy 2-core machine has hundreds of updates and
# a test-LL curve of many points: the shape of Fig. 2, not the paper's precision.
QUICK = ["--batch", "500", "--chains", "500", "--gibbs-steps", "5", "--eval-every", "10",
         "--eval-share", "0.5", "--ais-chains", "64", "--ais-betas", "200"]


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recording", default=str(REAL / RECORDING), help=f"a binned npz (default {RECORDING})")
    p.add_argument("--hidden", default="4,16,64", help="N_h to sweep (default 4,16,64)")
    p.add_argument("--seeds", default="0,1", help="seeds (default 0,1)")
    p.add_argument("--minutes", default="2", help="time budget of each run in minutes (default 2)")
    p.add_argument("--updates", default="100000",
                   help="most updates of a run (default 100000: the time budget ends it)")
    p.add_argument("--workers", default="2", help="workers of the local Dask cluster (default 2)")
    p.add_argument("--out", required=True, type=Path, help="folder for the raster, the sweep and the report")
    p.add_argument("--screenshot", action="store_true", help="open the sweep in napari and save a screenshot")
    p.add_argument("--paper", action="store_true", help="the paper's training settings instead of QUICK's")
    return p.parse_args(argv)


def step(name: str, argv: list[str]) -> float:
    """Run one neurorbm command; stop the script if it fails; its wall time in seconds."""
    t0 = time.perf_counter()
    status = neurorbm(argv)
    seconds = time.perf_counter() - t0
    print(f"[fig2_real] {name}: {seconds:.0f} s", flush=True)
    if status:
        sys.exit(status)
    return seconds


def screenshot(sweep: Path, png: Path) -> None:
    """The Model selection dock on ``sweep`` in a 1920 x 1080 napari window, the chosen N_h's first run
    picked, saved as ``png``."""
    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer()
    viewer.window._qt_window.resize(1920, 1080)
    _, dock = viewer.window.add_plugin_dock_widget("napari-neurorbm", "Model selection")
    dock.open_folder(sweep)
    deadline = time.monotonic() + 300
    while (dock.selection is None or dock.worker is not None) and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.05)
    sel = dock.selection
    if sel is not None and not sel.chosen.empty:
        chosen = sel.runs[(sel.runs["n_hidden"] == sel.chosen.iloc[0]["n_hidden"]) & sel.runs["best"].notna()]
        dock.pick_run(chosen.index[0])
    for _ in range(20):
        QApplication.processEvents()
        time.sleep(0.05)
    viewer.screenshot(str(png), canvas_only=False, flash=False)
    dock.grab().save(str(png.with_name(png.stem + "_dock.png")))
    print(f"[fig2_real] screenshot: {png}; {dock.verdict.text()}", flush=True)
    viewer.close()


def run(argv: list[str] | None = None) -> None:
    args = parse(argv)
    out = args.out.expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    raster, sweep = out / f"{Path(args.recording).stem}.npz", out / "sweep"
    if not raster.exists():
        step("binarize", ["binarize", args.recording, "--out", str(raster)])
    total = step("sweep", ["sweep", str(raster), "--hidden", args.hidden, "--seeds", args.seeds,
                           "--minutes", args.minutes, "--updates", args.updates, "--workers", args.workers,
                           "--out", str(sweep), *([] if args.paper else QUICK)])
    total += step("report", ["report", str(sweep), "--out", str(out / "report")])
    if args.screenshot:
        screenshot(sweep, out / "model_selection_real.png")
    print(f"[fig2_real] sweep and report: {total:.0f} s; report: {out / 'report' / 'index.html'}")


if __name__ == "__main__":
    run()
