"""The statistics report: generate from a model, compare with its raster, write Fig. 3- and Fig. 6-like PNGs
plus an index.html with the key numbers. matplotlib's Agg canvas only (no pyplot, no screen)."""

from __future__ import annotations

import html
import json
from collections.abc import Generator
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from napari_neurorbm.analysis import statistics as st
from napari_neurorbm.analysis.generation import (
    GEN,
    ClampResult,
    GeneratedRun,
    check_same_units,
    iter_generate,
)
from napari_neurorbm.analysis.report_pages import ANALYSES, SERIES, iter_pages, pages_html
from napari_neurorbm.analysis.timing import contiguous, iter_resolve_tau
from napari_neurorbm.atomic import save_figure, write_text
from napari_neurorbm.data.raster import Raster, read_raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, drain
from napari_neurorbm.rbm.io import ModelFile, load_model
from napari_neurorbm.rbm.model import pick_device

COLORS = {"train": SERIES["recording"], "test": "tab:red", **SERIES}
STAT_TITLES = {"means": "(b) firing probability", "pairs": "(c) connected 2-point",
               "triplets": "(d) connected 3-point"}
MAX_POINTS = 20_000  # points drawn per scatter (fits use all)
SNAPSHOT_FRAMES = 400


def agg_figure(width: float, height: float) -> Figure:
    """A constrained-layout figure on matplotlib's Agg canvas (no pyplot, no screen), to save as a PNG."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _thin(n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of at most MAX_POINTS of n points, drawn at random."""
    return np.arange(n) if n <= MAX_POINTS else np.sort(rng.choice(n, MAX_POINTS, replace=False))


# ---------------------------------------------------------------- Fig. 3


def _pca_panel(fig: Figure, cell, rep: st.StatsReport) -> None:
    grid = cell.subgridspec(2, 2, width_ratios=[4, 1], height_ratios=[1, 4], wspace=0.02, hspace=0.02)
    ax = fig.add_subplot(grid[1, 0])
    top, right = fig.add_subplot(grid[0, 0], sharex=ax), fig.add_subplot(grid[1, 1], sharey=ax)
    for name in ("train", "generated"):
        p = rep.projections[name]
        ax.scatter(p[:, 0], p[:, 1], s=2, alpha=0.3, color=COLORS[name], label=name, rasterized=True)
        top.hist(p[:, 0], bins=50, histtype="step", density=True, color=COLORS[name])
        right.hist(p[:, 1], bins=50, histtype="step", density=True, color=COLORS[name],
                   orientation="horizontal")
    top.axis("off")
    right.axis("off")
    top.set_title("(a) data PCs", loc="left")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(markerscale=5, fontsize="small")


def _moment_panel(ax, rep: st.StatsReport, stat: str, values: dict[str, np.ndarray], rng) -> None:
    x = values["train"]
    idx = _thin(len(x), rng)
    for name in st.COMPARED:
        fit = rep.fits[stat][name]
        ax.scatter(x[idx], values[name][idx], s=3, alpha=0.4, color=COLORS[name], rasterized=True,
                   label=f"{name}: m={fit.slope:.2f}, r={fit.r:.2f}")
    lo, hi = float(np.min(x)), float(np.max(x))
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
    ax.ticklabel_format(style="sci", scilimits=(-2, 3))
    ax.set_title(STAT_TITLES[stat], loc="left")
    ax.set_xlabel("train")
    ax.set_ylabel("test / generated / independent")
    ax.legend(fontsize="x-small", markerscale=3)


def _p_k_panel(ax, rep: st.StatsReport) -> None:
    for name in st.SETS:
        p = rep.p_k[name]
        k = np.flatnonzero(p)
        ax.plot(k, p[k], color=COLORS[name], label=name, lw=1.2)
    ax.set_yscale("log")
    ax.set_title("(e) P(K), active units per frame", loc="left")
    ax.set_xlabel("K")
    ax.legend(fontsize="x-small")


def _energy_panel(ax, rep: st.StatsReport) -> None:
    pooled = np.concatenate([rep.energies[n] for n in st.SETS])
    edges = np.linspace(*np.percentile(pooled, [0.1, 99.9]), 60)
    for name in st.SETS:
        ax.hist(rep.energies[name], bins=edges, histtype="step", density=True, color=COLORS[name], label=name)
    ax.set_yscale("log")
    ax.set_title("(f) free energy F(v)", loc="left")
    ax.set_xlabel("F(v)")
    ax.legend(fontsize="x-small")


def _conditional_panel(ax, rep: st.StatsReport) -> None:
    for name in st.SETS:
        c = rep.conditional[name]
        ax.errorbar(c.h, c.p, yerr=c.sem, fmt="o", ms=3, color=COLORS[name], label=name)
    h = np.linspace(*ax.get_xlim(), 200)
    ax.plot(h, 1 / (1 + np.exp(-h)), color="tab:blue", lw=1, label="sigmoid")
    ax.set_title("(g) P(v_i = 1 | rest)", loc="left")
    ax.set_xlabel("h_eff")
    ax.legend(fontsize="x-small")


def _numbers_panel(ax, rep: st.StatsReport) -> None:
    ax.axis("off")
    lines = [f"frames per set: {rep.n_samples}", "", "vs train    slope    r"]
    for stat, by_set in rep.fits.items():
        lines.append(stat)
        lines += [f"  {name:<11} {f.slope:6.3f} {f.r:6.3f}" for name, f in by_set.items()]
    ax.text(0, 1, "\n".join(lines), va="top", family="monospace", fontsize=8)


def fig3(rep: st.StatsReport, seed: int = 0) -> Figure:
    """Fig. 3-like panels: PCA, moments (means, pairs, triplets), P(K), energies, P(v_i=1|rest), numbers."""
    rng = np.random.default_rng(seed)
    fig = agg_figure(18, 8.5)
    grid = fig.add_gridspec(2, 4)
    _pca_panel(fig, grid[0, 0], rep)
    moments = {"means": rep.means, "pairs": rep.pairs, "triplets": rep.triplet_values}
    for col, (stat, values) in enumerate(moments.items(), start=1):
        _moment_panel(fig.add_subplot(grid[0, col]), rep, stat, values, rng)
    _p_k_panel(fig.add_subplot(grid[1, 0]), rep)
    _energy_panel(fig.add_subplot(grid[1, 1]), rep)
    _conditional_panel(fig.add_subplot(grid[1, 2]), rep)
    _numbers_panel(fig.add_subplot(grid[1, 3]), rep)
    return fig


# ---------------------------------------------------------------- Fig. 6


def _raster_panel(ax, frames: np.ndarray, title: str, frame_s: float) -> None:
    snap = np.asarray(frames[:SNAPSHOT_FRAMES]).T
    ax.imshow(snap, aspect="auto", cmap="gray_r", interpolation="nearest", vmin=0, vmax=1,
              extent=(0, snap.shape[1] * frame_s, snap.shape[0], 0))
    ax.set_title(title, loc="left")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("unit")


def _series(rep: st.StatsReport) -> list[str]:
    return [n for n in ("recording", "generated", "independent") if n in rep.temporal]


def _autocorr_panel(ax, rep: st.StatsReport, note: str) -> None:
    for name in _series(rep):
        t = rep.temporal[name]
        lag_s = np.arange(len(t.autocorr)) * t.frame_s
        ax.plot(lag_s, t.autocorr, color=COLORS[name], label=name, marker=".")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_title("(c) autocorrelation of K(t)", loc="left")
    ax.set_xlabel("lag (s)")
    ax.legend(fontsize="x-small", title=note, title_fontsize="x-small")


def _count_bins(values: list[np.ndarray], n: int = 50) -> np.ndarray:
    """Bin edges on whole numbers (a bin of one or more integer counts) covering every set."""
    hi = max((int(v.max()) for v in values if len(v)), default=1)
    step = max(1, -(-hi // n))
    return np.arange(0, hi + step + 1, step) - 0.5


def _window_panel(ax, rep: st.StatsReport, window: float, label: str) -> None:
    names = _series(rep)
    edges = _count_bins([rep.temporal[n].windows[window] for n in names])
    for name in names:
        counts = rep.temporal[name].windows[window]
        if len(counts):
            ax.hist(counts, bins=edges, histtype="step", density=True, color=COLORS[name], label=name)
    ax.set_title(f"{label} spike counts in {window * 1e3:g} ms windows", loc="left")
    ax.set_xlabel("population spike count")
    ax.legend(fontsize="x-small")


def _transition_panel(ax, rep: st.StatsReport) -> None:
    styles = {"recording": "-", "generated": "--"}
    for name in [n for n in _series(rep) if n in styles]:
        for j, tr in enumerate(rep.temporal[name].transitions):
            color = f"C{j}"
            ax.plot(tr.k, tr.mean, styles[name], color=color, label=f"{name}, Δ={tr.lag}")
            ax.fill_between(tr.k, tr.mean - tr.std, tr.mean + tr.std, color=color, alpha=0.07)
    ax.set_title("(f) K(t+Δ) given K(t), mean ± std", loc="left")
    ax.set_xlabel("K(t)")
    ax.set_ylabel("K(t+Δ)")
    ax.legend(fontsize="x-small", ncol=2)


def fig6(rep: st.StatsReport, recording: np.ndarray, generated: np.ndarray, bin_s: float,
         tau_note: str = "") -> Figure:
    """Fig. 6-like panels: rasters in time, autocorrelation of K (``tau_note``, e.g. the tau used, above its
    legend), window counts, K(t+Δ) given K(t)."""
    fig = agg_figure(18, 8.5)
    grid = fig.add_gridspec(2, 3)
    _raster_panel(fig.add_subplot(grid[0, 0]), recording, "(a) recording", bin_s)
    _raster_panel(fig.add_subplot(grid[0, 1]), generated, "(b) generated (first chain)", bin_s)
    _autocorr_panel(fig.add_subplot(grid[0, 2]), rep, tau_note)
    windows = list(rep.temporal["generated"].windows)[:2]
    for col, (window, label) in enumerate(zip(windows, ("(d)", "(e)"), strict=False)):
        _window_panel(fig.add_subplot(grid[1, col]), rep, window, label)
    _transition_panel(fig.add_subplot(grid[1, 2]), rep)
    return fig


def clamp_figure(result: ClampResult, bin_s: float) -> Figure:
    """The clamping experiment: clamped raster of the first chain, delta per unit, delta per area."""
    fig = agg_figure(16, 5)
    grid = fig.add_gridspec(1, 3)
    ax = fig.add_subplot(grid[0, 0])
    _raster_panel(ax, result.clamped.chain(0), "clamped run, chain 1", bin_s)
    ax.axvline(result.clamped.clamp_onset * bin_s, color="tab:orange", lw=1)
    for u in result.clamped.clamp_units:
        ax.axhline(u + 0.5, color="tab:orange", lw=0.5, alpha=0.6)
    ax = fig.add_subplot(grid[0, 1])
    rows = np.arange(len(result.delta))
    free = ~result.is_clamped
    ax.errorbar(rows[free], result.delta[free], yerr=result.delta_se[free], fmt=".", ms=2, color="0.5",
                elinewidth=0.5, label="within noise")
    hit = free & result.beyond
    ax.plot(rows[hit], result.delta[hit], "o", ms=3, color="tab:red", label=f"beyond {result.n_sigma:g} SE")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_title("Δ firing probability per unit (free units)", loc="left")
    ax.set_xlabel("unit (model order)")
    ax.legend(fontsize="x-small")
    ax = fig.add_subplot(grid[0, 2])
    x = np.arange(len(result.area_names))
    colors = np.where(result.area_beyond, "tab:red", "0.6")
    ax.bar(x, result.area_delta, yerr=result.area_se, color=colors, capsize=3)
    ax.set_xticks(x, result.area_names, rotation=60, fontsize="small")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_title("Δ per area, mean ± SE over chains", loc="left")
    return fig


# ---------------------------------------------------------------- the report


def _as_model(model: ModelFile | str | Path) -> ModelFile:
    return model if isinstance(model, ModelFile) else load_model(model)


def _as_raster(raster: Raster | str | Path) -> Raster:
    return raster if isinstance(raster, Raster) else read_raster(raster)


def _html(rep: st.StatsReport, params: dict, images: list[str], sections: str = "") -> str:
    rows = "".join(
        f"<tr><td>{stat}</td>" + "".join(f"<td>{by_set[n].slope:.3f}</td><td>{by_set[n].r:.3f}</td>"
                                         for n in st.COMPARED) + "</tr>"
        for stat, by_set in rep.fits.items()
    )
    head = "".join(f"<th colspan=2>train vs {n}</th>" for n in st.COMPARED)
    sub = "<th>slope</th><th>r</th>" * len(st.COMPARED)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in rep.notes)
    plist = "".join(f"<li>{html.escape(k)}: {html.escape(str(v))}</li>" for k, v in params.items())
    imgs = "".join(f'<p><img src="{i}" style="max-width:100%"></p>' for i in images)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>NeuroRBM statistics report</title>"
        "<style>body{font-family:sans-serif;margin:2em} td,th{padding:2px 8px;text-align:right}"
        "table{border-collapse:collapse} tr:nth-child(even){background:#eee}</style></head><body>"
        "<h1>Generated vs real statistics</h1>"
        f"<p>{rep.n_samples} frames per set. Slope and Pearson r of each statistic against train's; "
        "the independent-neuron model shows what the couplings add.</p>"
        f"<table><tr><th></th>{head}</tr><tr><th></th>{sub}</tr>{rows}</table>"
        f"<h2>Parameters</h2><ul>{plist}</ul>{f'<h2>Notes</h2><ul>{notes}</ul>' if notes else ''}"
        f"{imgs}{sections}</body></html>"
    )


def iter_generate_and_compare(model: ModelFile, raster: Raster, n_frames: int | None = None, *,
                              tau: int | None = None, chains: int = GEN.chains, init: str = GEN.init,
                              seed: int = GEN.seed, device: str | None = None, n_triplets: int = 20_000
                              ) -> Generator[Progress, None, tuple[GeneratedRun, st.StatsReport]]:
    """Generate ``n_frames`` (default: as many as the raster's test frames; chains start from its train frames
    or random states) and compare train, test, generated and independent frames, and K(t) of the recording
    when its frames are contiguous bins. ``tau`` None: calibrated to the recording (``timing``; its
    relaxation times go into the run's params, a fallback to the paper's tau into the notes). The pipeline
    behind the report and the Generate widget."""
    check_same_units(model, raster)
    train, test = raster.frames("train"), raster.frames("test")
    if len(train) < 2 or len(test) < 2:
        raise NeuroRBMError("the raster needs at least 2 train and 2 test frames (its train/test split)")
    n = len(test) if n_frames is None else n_frames
    rbm = model.rbm if device is None else model.rbm.to(pick_device(device))  # statistics run there too
    tau, calibration, fallback = yield from iter_resolve_tau(rbm, raster, tau, seed=seed)
    run = yield from iter_generate(rbm, n, tau=tau, chains=min(chains, n), init=init, data=train, seed=seed)
    if calibration is not None:
        run.timing = calibration.numbers()
    yield Progress("statistics", 0, 0, "comparing real and generated frames")  # of unknown length: busy
    in_time = contiguous(raster)
    rep = st.compare(train, test, run.frames, rbm, raster.bin_s, generated_segments=run.segment_starts,
                     recording_k=raster.binary.sum(axis=0, dtype=np.int64) if in_time else None,
                     recording_segments=raster.segment_starts, n_triplets=n_triplets, seed=seed)
    if not in_time:
        rep.notes.append("the raster's frames are not contiguous bins (keep-every > 1?), so its temporal "
                         "statistics are not shown; binarize with keep-every 1 to compare them")
    rep.notes += [fallback] if fallback else []
    yield Progress("statistics", 1, 1)
    return run, rep


def iter_write_report(model: ModelFile | str | Path, raster: Raster | str | Path, out_dir: str | Path, *,
                      n_frames: int | None = None, tau: int | None = None, chains: int = GEN.chains,
                      seed: int = GEN.seed, device: str | None = None, n_triplets: int = 20_000,
                      analyses: tuple[str, ...] = ANALYSES) -> Generator[Progress, None, Path]:
    """:func:`iter_generate_and_compare`, then write fig3.png, fig6.png, generated.npz, the pages of
    ``analyses`` (report_pages: <name>.png and .csv), summary.json and index.html into ``out_dir``; returns
    the path of index.html."""
    mf, ras = _as_model(model), _as_raster(raster)
    check_same_units(mf, ras)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NeuroRBMError(f"cannot create the folder {out}: {exc.strerror or exc}") from None
    run, rep = yield from iter_generate_and_compare(mf, ras, n_frames, tau=tau, chains=chains, seed=seed,
                                                    device=device, n_triplets=n_triplets)
    save_figure(fig3(rep, seed), out / "fig3.png", dpi=110)
    save_figure(fig6(rep, ras.binary[:, :SNAPSHOT_FRAMES].T, run.chain(0), ras.bin_s, tau_note(run)),
                out / "fig6.png", dpi=110)
    generated = run.to_raster(ras.bin_s, ras.areas, ras.unit_ids, "generated")
    generated.save(out / "generated.npz")
    pages = yield from iter_pages(mf.rbm, ras, generated, out, analyses)
    params = {"model": str(model) if not isinstance(model, ModelFile) else "(in memory)",
              "raster": ras.name, **run.params(), "bin_s": ras.bin_s, "n_triplets": len(rep.triplets)}
    beyond = {p.name: p.numbers or {"not_computed": p.note} for p in pages}
    write_text(out / "summary.json", json.dumps({"params": params, "n_samples": rep.n_samples,
                                                 "fits": rep.summary(), "notes": rep.notes,
                                                 "analyses": beyond}, indent=2))
    return write_text(out / "index.html", _html(rep, params, ["fig3.png", "fig6.png"], pages_html(pages)))


def tau_note(run: GeneratedRun) -> str:
    """The tau of a run in a few words; for tau auto with the relaxation times it matched (1/e of K's
    autocorrelation)."""
    t = run.timing
    if not t:
        return f"tau {run.tau} sweeps per frame"
    return (f"tau {run.tau} (auto): 1/e at {t['recording_relaxation_s'] * 1e3:.0f} ms recorded,\n"
            f"{t['generated_relaxation_sweeps']:.2f} sweeps = {t['generated_relaxation_s'] * 1e3:.0f} ms "
            "generated")


def write_report(model: ModelFile | str | Path, raster: Raster | str | Path, out_dir: str | Path,
                 **kw) -> Path:
    """Run :func:`iter_write_report` to its end."""
    return drain(iter_write_report(model, raster, out_dir, **kw))
