"""`neurorbm heat`: the heat capacity C(T) of a trained RBM or pairwise model over a grid of temperatures."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from napari_neurorbm.analysis.heat import Energy, iter_heat, temperatures
from napari_neurorbm.analysis.pairwise_file import load_energy_model
from napari_neurorbm.cli._common import add_results_options, out_path, print_results, run_shown
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.configs import HeatConfig

HELP = "heat capacity C(T) of an RBM or a pairwise model (its energy at temperatures around T = 1)"


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help=HELP, description=(
        "C(T) = Var_T(E) / (N T^2) per neuron, E the RBM's marginal energy (eq. 6 of paper 001) or the "
        "pairwise model's Ising energy, patterns "
        "weighted by exp(-E / T): exact up to 20 visible units, else Monte Carlo at all temperatures with "
        "replica exchange (paper 004; Tkacik et al. 2015). See docs/analyses.md."))
    p.add_argument("model", metavar="MODEL.npz",
                   help="a model file written by `neurorbm train` or `neurorbm maxent`")
    add_results_options(p, "HEAT.csv", "CSV with columns T and C", out_required=True)
    add_config_options(p, HeatConfig)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args, HeatConfig())
    out = out_path(args.out)
    grid = temperatures(cfg.t_min, cfg.t_max, cfg.steps)
    model = load_energy_model(args.model)
    curve = run_shown(iter_heat(model, grid, sweeps=cfg.sweeps, chains=cfg.chains, seed=cfg.seed))
    pd.DataFrame({"T": curve.T, "C": curve.C}).to_csv(out, index=False)
    at_one = float(np.interp(1.0, curve.T, curve.C)) if cfg.t_min <= 1 <= cfg.t_max else None
    summary = {"peak_T": curve.peak_T, "peak_C": float(curve.C.max()), "C_at_T1": at_one,
               "method": curve.method, "units": Energy(model).n}
    print_results(args, summary, f"wrote {out}: C(T) peaks at T = {curve.peak_T:.3g} ({curve.method})")
    return 0
