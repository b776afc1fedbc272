"""The model-selection report of a sweep folder (the paper's Fig. 2), as ``neurorbm report SWEEP_DIR`` writes
it: fig2.png (per raster, the train (dashed) and test (solid) log-likelihood of every run against updates,
coloured by N_h, a star at each run's maximum; and the best test LL against N_h, mean and spread over seeds,
the chosen N_h ringed), selection.json and an index.html with the choice and the tables of sizes and runs."""

from __future__ import annotations

import html
import json
from collections.abc import Generator
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from napari_neurorbm.analysis.report import agg_figure
from napari_neurorbm.atomic import save_figure, write_text
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, drain
from napari_neurorbm.sweep.folder import SweepFolder
from napari_neurorbm.sweep.selection import (
    OVERFIT_SHARE,
    Selection,
    focus_range,
    iter_read_selection,
    size_colors,
)

RUN_COLUMNS = {"name": "run", "status": "status", "n_hidden": "N_h", "seed": "seed", "lr": "lr",
               "half": "half", "best": "best test LL", "peak_update": "peak update", "updates": "updates",
               "wall_s": "wall (s)", "device": "device", "attempts": "attempts", "message": "message"}
SIZE_COLUMNS = {"raster": "raster", "lr": "lr", "n_hidden": "N_h", "mean": "best test LL (mean)",
                "spread": "spread (SD)", "n": "runs", "fall": "fall after peak", "overfits": "overfits"}


def fig2(sel: Selection) -> Figure:
    """One row per raster: the log-likelihood curves of its runs and its best test LL against N_h."""
    rasters = list(dict.fromkeys(sel.runs["raster"]))
    fig = agg_figure(14, 5 * len(rasters))
    grid = fig.add_gridspec(len(rasters), 2, width_ratios=[3, 2])
    colors = size_colors(sel.runs["n_hidden"])
    for row, raster in enumerate(rasters):
        names = sel.runs.index[sel.runs["raster"] == raster]
        curves_panel(fig.add_subplot(grid[row, 0]), [sel.curves[n] for n in names if n in sel.curves], colors,
                     Path(raster).stem)
        sizes_panel(fig.add_subplot(grid[row, 1]), sel.sizes[sel.sizes["raster"] == raster],
                    sel.chosen[sel.chosen["raster"] == raster], colors)
    return fig


def curves_panel(ax, curves: list, colors: dict, title: str) -> None:
    """Train (dashed) and test (solid, a dot at each evaluation) LL against updates (log axis: update 0 is
    left out; the range of :func:`focus_range`), stars at the maxima of the test LL; a legend of N_h and of
    the line styles."""
    for c in curves:
        shown = c.updates > 0
        color = colors[c.n_hidden]
        ax.plot(c.updates[shown], c.train_ll[shown], "--", color=color, lw=1)
        ax.plot(c.updates[shown], c.test_ll[shown], "-", color=color, lw=1.6, marker=".", ms=4)
        if c.peak is not None and c.peak[0] > 0:
            ax.plot(*c.peak, marker="*", ms=13, color=color, mec="black", mew=0.7, ls="none", zorder=5)
    shown = focus_range(curves)
    if shown is not None and shown[1] > shown[0]:
        pad = 0.05 * (shown[1] - shown[0])
        ax.set_ylim(shown[0] - pad, shown[1] + pad)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("updates")
    ax.set_ylabel("log-likelihood (nats / frame)")
    ax.set_title(f"(a) {title}: train (dashed) and test (solid) log-likelihood", loc="left")
    sizes = sorted({c.n_hidden for c in curves})
    handles = [Line2D([], [], color=colors[h], lw=2, label=f"N_h = {h}") for h in sizes]
    handles += [Line2D([], [], color="0.3", ls="--", label="train"),
                Line2D([], [], color="0.3", label="test"),
                Line2D([], [], color="0.3", marker="*", ms=10, mec="black", ls="none", label="max test LL")]
    ax.legend(handles=handles, fontsize="small", loc="upper left", ncol=2)


def sizes_panel(ax, sizes: pd.DataFrame, chosen: pd.DataFrame, colors: dict) -> None:
    """Best test LL against N_h (log2 axis): mean with the spread over seeds as error bars, one line per
    learning rate; the chosen N_h ringed."""
    for lr, group in sizes.groupby("lr", sort=False):
        x, y = group["n_hidden"].to_numpy(float), group["mean"].to_numpy(float)
        ax.plot(x, y, "-", color="0.5", lw=1, label=None if sizes["lr"].nunique() == 1 else f"lr {lr:g}")
        for h, m, s in zip(x, y, np.nan_to_num(group["spread"].to_numpy(float)), strict=True):
            ax.errorbar(h, m, yerr=s, fmt="o", ms=6, capsize=4, color=colors[int(h)])
    for pick in chosen.itertuples():
        ax.plot(pick.n_hidden, pick.mean, "o", ms=16, mfc="none", mec="black", mew=1.5,
                label=f"chosen: N_h = {pick.n_hidden}")
    if len(sizes):
        ax.set_xscale("log", base=2)
        ticks = sorted(sizes["n_hidden"].unique())
        ax.set_xticks(ticks, [str(h) for h in ticks])
        ax.legend(fontsize="small", loc="lower right")
    ax.set_xlabel("hidden units N_h")
    ax.set_ylabel("best test LL (nats / frame)")
    ax.set_title("(b) best test LL, mean ± SD over seeds", loc="left")


def iter_write_sweep_report(folder: SweepFolder | str | Path, out_dir: str | Path,
                            tolerance: float = OVERFIT_SHARE) -> Generator[Progress, None, Path]:
    """Read ``folder``'s runs (one progress record per model file) and write fig2.png, selection.json and
    index.html into ``out_dir``; returns the path of index.html. A sweep none of whose runs has written its
    model file yet is a NeuroRBMError."""
    sel = yield from iter_read_selection(folder, tolerance)
    if not sel.curves:
        raise NeuroRBMError(f"{sel.folder}: no run has written its model file yet; nothing to report")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NeuroRBMError(f"cannot create the folder {out}: {exc.strerror or exc}") from None
    save_figure(fig2(sel), out / "fig2.png", dpi=110)
    summary = {"folder": str(sel.folder), "tolerance": tolerance, "counts": sel.counts(),
               "chosen": _records(sel.chosen), "sizes": _records(sel.sizes),
               "runs": _records(sel.runs[list(RUN_COLUMNS)].reset_index(drop=True))}
    write_text(out / "selection.json", json.dumps(summary, indent=1))
    index = out / "index.html"
    write_text(index, _html(sel, tolerance))
    return index


def write_sweep_report(folder: SweepFolder | str | Path, out_dir: str | Path,
                       tolerance: float = OVERFIT_SHARE) -> Path:
    """:func:`iter_write_sweep_report` run to its end."""
    return drain(iter_write_sweep_report(folder, out_dir, tolerance))


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts (NaN as null)."""
    return json.loads(frame.to_json(orient="records"))


def _html(sel: Selection, tolerance: float) -> str:
    counts = ", ".join(f"{n} {status}" for status, n in sel.counts().items() if n)
    choices = "".join(f"<li>{html.escape(Path(c.raster).stem)}"
                      f"{'' if sel.chosen['lr'].nunique() == 1 else f' (lr {c.lr:g})'}: "
                      f"{html.escape(c.reason)}</li>" for c in sel.chosen.itertuples())
    stems = sel.sizes["raster"].map(lambda r: Path(r).stem)
    sizes = sel.sizes.assign(raster=stems).rename(columns=SIZE_COLUMNS)
    runs = sel.runs[list(RUN_COLUMNS)].rename(columns=RUN_COLUMNS)
    table = {"float_format": lambda v: f"{v:.4f}", "index": False, "na_rep": "", "border": 0}
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>NeuroRBM model selection</title>"
        "<style>body{font-family:sans-serif;margin:2em} td,th{padding:2px 8px;text-align:right}"
        "table{border-collapse:collapse} tr:nth-child(even){background:#eee}</style></head><body>"
        f"<h1>Model selection (Fig. 2)</h1><p>Sweep {html.escape(str(sel.folder))}: {counts}.</p>"
        f"<h2>Chosen N_h</h2><ul>{choices or '<li>no run has a test log-likelihood yet</li>'}</ul>"
        f"<p>A size overfits when its test LL falls back after its peak by more than {tolerance:.0%} of what "
        "it gained (mean over its runs); the chosen N_h has the highest mean best test LL among the sizes "
        "that do not.</p>"
        '<p><img src="fig2.png" style="max-width:100%"></p>'
        f"<h2>Sizes</h2>{sizes.to_html(**table)}<h2>Runs</h2>{runs.to_html(**table)}</body></html>"
    )
