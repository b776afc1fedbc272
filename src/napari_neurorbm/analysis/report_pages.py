"""The report's pages for the analyses beyond the paper: the PC spectrum, DMD, multi-information and heat
capacity of the raster, the generated activity and the model, and seed 004's E/I experiment (report_ei),
each a PNG, a CSV of its curves and its headline numbers in index.html and summary.json. Modest settings
keep the report fast; an analysis that fails on this input (too few frames, no multi-information, no E/I
classes) leaves its page with the reason instead. matplotlib's Agg canvas only."""

from __future__ import annotations

import html
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from napari_neurorbm.analysis import report_ei, report_maxent, suite
from napari_neurorbm.analysis.baseline import iter_maxent
from napari_neurorbm.analysis.dmd import DMD, REAL_TOL
from napari_neurorbm.analysis.heat import HeatCurve
from napari_neurorbm.analysis.multiinfo import MultiInfo
from napari_neurorbm.analysis.spectrum import Spectrum
from napari_neurorbm.atomic import save_figure, write_csv
from napari_neurorbm.configs import DMDConfig, HeatConfig, MultiInfoConfig, SpectrumConfig
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.model import RBM

ANALYSES = ("spectrum", "dmd", "multiinfo", "heat", "maxent", "ei")
TITLES = {"spectrum": "PC variance spectrum", "dmd": "Dynamic mode decomposition",
          "multiinfo": "Multi-information I2/IN", "heat": "Heat capacity C(T)",
          "maxent": "Pairwise maximum-entropy baseline", "ei": "E/I: synchrony of the excitatory units"}
SPECTRUM, DMD_PCS = SpectrumConfig(), DMDConfig()
MULTIINFO = MultiInfoConfig(groups=20)  # a fifth of the command's groups
HEAT = HeatConfig(steps=16, sweeps=200)  # half the command's temperatures and steps
SERIES = {"recording": "black", "generated": "tab:green", "independent": "0.6", "time_shuffled": "tab:blue",
          "pairwise": "tab:orange"}  # the report's colours of what is compared (on white)
LABELS = {"recording": "recording", "generated": "generated", "independent": "independent neurons",
          "time_shuffled": "time-shuffled"}


@dataclass
class Page:
    """One analysis in the report: its figure and CSV (file names in the report's folder), its headline
    numbers, or the reason it could not be computed."""

    name: str
    image: str = ""
    table: str = ""
    numbers: dict = field(default_factory=dict)
    note: str = ""


def parse_analyses(text: str) -> tuple[str, ...]:
    """The analyses named in a comma-separated list ('none' for none); an unknown name is a one-line error."""
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    if names == ("none",):
        return ()
    unknown = [n for n in names if n not in ANALYSES]
    if unknown:
        raise NeuroRBMError(f"unknown analysis '{unknown[0]}' (use {', '.join(ANALYSES)} or none)")
    return names


def iter_pages(rbm: RBM, raster: Raster, generated: Raster, out: Path, which: tuple[str, ...] = ANALYSES
               ) -> Generator[Progress, None, list[Page]]:
    """Compute each analysis of ``which`` on the raster, ``generated`` (frames generated from ``rbm`` in time)
    and ``rbm``, and write <name>.png and <name>.csv into ``out``; the pages, in order."""
    pages = []
    for name in which:
        page = Page(name)
        try:
            result = yield from _job(name, rbm, raster, generated)
        except NeuroRBMError as exc:
            page.note = str(exc)
        else:
            figure, table, page.numbers = DRAW[name](result, rbm)
            page.image, page.table = f"{name}.png", f"{name}.csv"
            save_figure(figure, out / page.image, dpi=110)
            write_csv(out / page.table, table, index=False)
        pages.append(page)
    return pages


def _job(name: str, rbm: RBM, raster: Raster, generated: Raster) -> Generator[Progress, None, object]:
    if name == "spectrum":
        return suite.iter_spectra(raster, SPECTRUM, generated)
    if name == "dmd":
        return suite.iter_dmd(raster, DMD_PCS, generated)
    if name == "multiinfo":
        config = MULTIINFO.replace(group_size=min(MULTIINFO.group_size, raster.n_units))
        return suite.iter_multiinfo(raster, config, rbm, model_frames=generated.frames("all"))
    if name == "maxent":
        return iter_maxent(raster, report_maxent.MAXENT, rbm)
    if name == "ei":
        return report_ei.iter_ei_page(rbm, raster)
    return suite.iter_heat_curve(rbm, HEAT)


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _alpha(a: float) -> str:
    return f"{a:.2f}" if np.isfinite(a) else "no fit"


def spectrum_page(spectra: dict[str, Spectrum], rbm: RBM):
    """Spectra with their fitted power laws (dashed): recording and controls, then each large area."""
    areas = {k.removeprefix("area:"): s for k, s in spectra.items() if k.startswith("area:")}
    fig = _figure(12 if areas else 6.5, 4.8)
    axes = fig.subplots(1, 2 if areas else 1, squeeze=False)[0]
    groups = [({LABELS[k]: (s, SERIES[k]) for k, s in spectra.items() if k in LABELS}, "(a) recording, "
               "generated and controls")]
    if areas:
        groups.append(({a: (s, f"C{i}") for i, (a, s) in enumerate(areas.items())}, "(b) areas"))
    for ax, (curves, title) in zip(axes, groups, strict=True):
        for label, (s, colour) in curves.items():
            rank = np.arange(1, len(s.variance) + 1)
            positive = s.variance > 0
            ax.loglog(rank[positive], s.variance[positive], color=colour,
                      label=f"{label}: α = {_alpha(s.alpha)}")
            fit_rank, fit = s.power_law()
            ax.loglog(fit_rank, fit, "--", color=colour, lw=1)
        ax.set_title(title, loc="left")
        ax.set_xlabel("PC rank")
        ax.set_ylabel("cross-validated variance")
        ax.legend(fontsize="small")
    return fig, suite.spectra_table(spectra), suite.spectra_summary(spectra, rbm.n_visible)


def dmd_page(results: dict[str, DMD], rbm: RBM):
    """Eigenvalues in the complex plane beside the unit circle."""
    fig = _figure(5.5, 5)
    ax = fig.subplots()
    circle = np.exp(1j * np.linspace(0, 2 * np.pi, 361))
    ax.plot(circle.real, circle.imag, ":", color="0.5", lw=1)
    ax.axhline(0, color="0.8", lw=0.5)
    for (name, r), marker in zip(results.items(), "o^", strict=False):
        ev = r.eigenvalues
        ax.plot(ev.real, ev.imag, marker, ls="none", color=SERIES[name], alpha=0.8,
                label=f"{name}: {r.real_fraction:.0%} real, max |λ| {np.abs(ev).max():.3f}")
    ax.set_aspect("equal")
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    ax.set_title(f"DMD eigenvalues, top {next(iter(results.values())).k} PCs", loc="left")
    ax.legend(fontsize="small", loc="lower left")
    return fig, suite.dmd_table(results), suite.dmd_summary(results)


def multiinfo_page(info: MultiInfo, rbm: RBM):
    """Each group's share of the multi-information (sorted by I2/IN), the mean (line) and ± sd (band)."""
    fig = _figure(6.5, 4.5)
    ax = fig.subplots()
    order = np.argsort(info.i2_over_in)
    x = np.arange(1, len(order) + 1)
    for ratio, colour, label in ((info.i2_over_in, SERIES["pairwise"], "pairwise I2/IN"),
                                 (info.model_over_in, SERIES["generated"], "RBM I_RBM/IN")):
        mean, sd = float(np.mean(ratio)), float(np.std(ratio))
        ax.axhspan(mean - sd, mean + sd, color=colour, alpha=0.15, lw=0)
        ax.axhline(mean, color=colour, lw=1)
        ax.plot(x, ratio[order], "o", color=colour, label=f"{label}: {mean:.2f} ± {sd:.2f}")
    ax.axhline(1, color="0.5", ls=":", lw=1)
    ax.set_xlabel("group (sorted by I2/IN)")
    ax.set_ylabel("share of the multi-information")
    ax.set_title(f"{len(info.groups)} groups of {info.groups.shape[1]} units", loc="left")
    ax.legend(fontsize="small")
    return fig, suite.multiinfo_table(info), info.summary()


def heat_page(curve: HeatCurve, rbm: RBM):
    """C(T) per neuron with T = 1 and the peak marked."""
    fig = _figure(6, 4.2)
    ax = fig.subplots()
    ax.plot(curve.T, curve.C, ".-", color=SERIES["generated"], label=f"RBM, {rbm.n_visible} units")
    if curve.stderr is not None:
        ax.errorbar(curve.T, curve.C, yerr=2 * curve.stderr, fmt="none", color=SERIES["generated"], lw=0.8,
                    label="± 2 standard errors (Monte Carlo)")
    ax.axvline(1.0, color="0.5", ls=":", lw=1, label="T = 1 (the fitted model)")
    ax.plot(curve.peak_T, curve.C.max(), "*", ms=14, color=SERIES["generated"], mec="k",
            label=f"peak: T = {curve.peak_T:.2f}")
    ax.set_xlabel("temperature T")
    ax.set_ylabel("C(T) per neuron")
    ax.set_title(f"heat capacity ({curve.method})", loc="left")
    ax.legend(fontsize="small")
    return fig, suite.heat_table(curve), suite.heat_summary(curve, rbm.n_visible)


DRAW = {"spectrum": spectrum_page, "dmd": dmd_page, "multiinfo": multiinfo_page, "heat": heat_page,
        "maxent": report_maxent.maxent_page, "ei": report_ei.ei_page}
WHAT = {  # what each page shows, in a sentence (index.html)
    "spectrum": "Cross-validated PCA (Stringer et al. 2019; paper 002) of the spike counts, halves being "
                f"interleaved {SPECTRUM.block_ms:g} ms blocks; α of variance ~ rank^-α over ranks "
                f"{SPECTRUM.first_rank} to N/2 (dashed lines).",
    "dmd": f"Exact DMD (paper 002) of the top {DMD_PCS.pcs} PCs: eigenvalues of the best one-frame linear "
           f"map; 'real' means |Im λ| < {REAL_TOL:g}. Symmetric dynamics give real eigenvalues.",
    "multiinfo": f"{MULTIINFO.groups} random groups of {MULTIINFO.group_size} units (Schneidman et al. 2006; "
                 "paper 004): the share of each group's multi-information that the pairwise maximum-entropy "
                 "model (I2/IN) and the RBM explain; the retina's I2/IN is about 0.9.",
    "heat": f"C(T) = Var_T(E) / (N T^2) of the RBM's marginal energy over {HEAT.steps} temperatures from "
            f"{HEAT.t_min:g} to {HEAT.t_max:g} (paper 004; Tkacik et al. 2015), exact up to 20 units, else "
            f"{HEAT.sweeps} Monte Carlo steps with replica exchange.",
    "maxent": report_maxent.WHAT,
    "ei": report_ei.WHAT,
}


def pages_html(pages: list[Page]) -> str:
    """A section per page: what it shows, its headline numbers, its figure and CSV (or why it is missing)."""
    out = []
    for p in pages:
        body = (f"<p><b>Not computed:</b> {html.escape(p.note)}</p>" if p.note else
                f"<ul>{_numbers_html(p.numbers)}</ul><p><img src='{p.image}' style='max-width:100%'></p>"
                f"<p>Curves: <a href='{p.table}'>{p.table}</a></p>")
        out.append(f"<h2 id='{p.name}'>{TITLES[p.name]}</h2><p>{html.escape(WHAT[p.name])}</p>{body}")
    return "".join(out)


def _numbers_html(numbers: dict) -> str:
    items = []
    for key, value in numbers.items():
        items.append(f"<li>{html.escape(key)}: {html.escape(_number(value))}</li>")
    return "".join(items)


def _number(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_number(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.3g}" if np.isfinite(value) else "–"
    return str(value)
