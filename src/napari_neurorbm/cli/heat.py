"""`neurorbm heat`: the heat capacity C(T) of a trained RBM over a grid of temperatures, or of pairwise models
fitted to random subsets of a recording's units (--subsets, with --raster)."""

from __future__ import annotations

import argparse
from pathlib import Path

from napari_neurorbm.analysis.heat import Energy
from napari_neurorbm.analysis.heat_subsets import subsets_summary, subsets_table
from napari_neurorbm.analysis.pairwise_file import load_energy_model
from napari_neurorbm.analysis.suite import (
    heat_summary,
    heat_table,
    iter_heat_curve,
    iter_heat_subset_curves,
)
from napari_neurorbm.atomic import write_csv
from napari_neurorbm.cli._common import add_results_options, out_path, print_results, run_shown
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.configs import HeatConfig
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.errors import NeuroRBMError

HELP = "heat capacity C(T) of a trained RBM, or of random subsets of N units (--subsets)"


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help=HELP, description=(
        "C(T) = Var_T(E) / (N T^2) per neuron, E the RBM's marginal energy (eq. 6 of paper 001) or a "
        "pairwise model's Ising energy (a model file of `neurorbm maxent`), patterns "
        "weighted by exp(-E / T): exact up to 20 visible units, else Monte Carlo at all temperatures with "
        "replica exchange (paper 004; Tkacik et al. 2015). With --subsets and --raster instead of MODEL: "
        "C(T) of the pairwise model fitted to random subsets of N units of the recording, per N (columns N, "
        "draw, units, T, C). See docs/analyses.md."))
    p.add_argument("model", metavar="MODEL.npz", nargs="?",
                   help="a model file written by `neurorbm train` or `neurorbm maxent`")
    p.add_argument("--raster", metavar="RASTER.npz", help="with --subsets: the recording to draw units from")
    add_results_options(p, "HEAT.csv", "CSV with columns T and C (with --subsets: N, draw, units, T, C)",
                        out_required=True)
    add_config_options(p, HeatConfig)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args, HeatConfig())
    if (args.model is None) == (cfg.subsets is None) or (cfg.subsets is None) != (args.raster is None):
        raise NeuroRBMError("give a MODEL.npz, or --subsets SIZES with --raster RASTER.npz (not both)")
    out = out_path(args.out)
    if cfg.subsets is not None:
        return _subsets(args, cfg, out)
    model = load_energy_model(args.model)
    curve = run_shown(iter_heat_curve(model, cfg))
    write_csv(out, heat_table(curve), index=False)
    summary = heat_summary(curve, Energy(model).n)
    se = "" if summary["peak_C_stderr"] is None else f" +- {summary['peak_C_stderr']:.2g}"
    print_results(args, summary, f"wrote {out}: C(T) peaks at T = {curve.peak_T:.3g}, C = "
                  f"{summary['peak_C']:.3g}{se} ({curve.method})")
    return 0


def _subsets(args: argparse.Namespace, cfg: HeatConfig, out: Path) -> int:
    result = run_shown(iter_heat_subset_curves(read_raster(args.raster), cfg))
    write_csv(out, subsets_table(result), index=False)
    summary = subsets_summary(result)
    peaks = ", ".join(f"N = {n}: {s['peak_T']:.2f}" for n, s in summary["sizes"].items())
    print_results(args, summary, f"wrote {out}: C(T) peaks at T = {peaks} (mean over {cfg.subset_draws})")
    return 0
