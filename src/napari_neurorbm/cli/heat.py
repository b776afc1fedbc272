"""`neurorbm heat`: the heat capacity C(T) of a trained RBM over a grid of temperatures."""

from __future__ import annotations

import argparse

from napari_neurorbm.analysis.suite import heat_summary, heat_table, iter_heat_curve, write_csv
from napari_neurorbm.cli._common import add_results_options, out_path, print_results, run_shown
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.configs import HeatConfig
from napari_neurorbm.rbm.io import load_model

HELP = "heat capacity C(T) of a trained RBM (its marginal energy at temperatures around T = 1)"


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help=HELP, description=(
        "C(T) = Var_T(E) / (N T^2) per neuron, E the RBM's marginal energy (eq. 6 of paper 001), patterns "
        "weighted by exp(-E / T): exact up to 20 visible units, else Monte Carlo at all temperatures with "
        "replica exchange (paper 004; Tkacik et al. 2015). See docs/analyses.md."))
    p.add_argument("model", metavar="MODEL.npz", help="a model file written by `neurorbm train`")
    add_results_options(p, "HEAT.csv", "CSV with columns T and C", out_required=True)
    add_config_options(p, HeatConfig)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args, HeatConfig())
    out = out_path(args.out)
    rbm = load_model(args.model).rbm
    curve = run_shown(iter_heat_curve(rbm, cfg))
    write_csv(heat_table(curve), out)
    summary = heat_summary(curve, rbm.n_visible)
    print_results(args, summary, f"wrote {out}: C(T) peaks at T = {curve.peak_T:.3g} ({curve.method})")
    return 0
